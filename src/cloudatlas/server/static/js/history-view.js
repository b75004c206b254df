// The History view (#history): the kept answers, newest first, each with its thumbnail and a
// delete button; delete all (asked twice); downloads. Everything is read from this browser's
// own store, so it works offline.
import { $, download, el } from "./dom.js";
import { toCsv, toJson, toZip } from "./export.js";
import * as history from "./history.js";
import * as place from "./place.js";

const urls = []; // thumbnails' object URLs, released when the list is drawn again
const when = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
const today = () => new Date().toISOString().slice(0, 10);

function item(entry) {
  const li = el("li", "history-item");
  li.dataset.id = entry.id;
  const img = el("img", "history-thumb");
  img.alt = "";
  if (entry.thumb) {
    const url = URL.createObjectURL(entry.thumb);
    urls.push(url);
    img.src = url;
  } else {
    img.src = "/static/favicon.svg"; // a photo this browser could not read (HEIC): no thumbnail
  }
  const text = el("div", "history-text");
  text.append(el("p", "history-headline", entry.headline), el("p", "hint", when(entry.time)));
  if (entry.choice) text.append(el("p", "history-choice", `Your choice: ${entry.choice}`));
  if (entry.place) text.append(el("p", "hint", `Near ${entry.place.latitude}, ${entry.place.longitude}`));
  const del = el("button", "secondary delete", "Delete");
  del.type = "button";
  del.setAttribute("aria-label", `Delete ${entry.headline}, ${when(entry.time)}`);
  del.addEventListener("click", async () => {
    await history.remove(entry.id);
    await draw();
    say("Deleted.");
  });
  li.append(img, text, del);
  return li;
}

function say(text) { $("history-note").textContent = text; }

export async function draw() {
  for (const url of urls.splice(0)) URL.revokeObjectURL(url);
  const entries = await history.list();
  $("history-list").replaceChildren(...entries.map(item));
  $("history-empty").hidden = entries.length > 0;
  for (const id of ["history-clear", "export-csv", "export-json", "export-zip"]) $(id).disabled = !entries.length;
  resetClear();
  return entries;
}

function resetClear() {
  $("history-clear").textContent = "Delete all";
  delete $("history-clear").dataset.confirm;
}

export function open() {
  $("main").hidden = true;
  $("history").hidden = false;
  $("keep-place").checked = place.allowed();
  draw().then(() => $("history-title").focus());
}

export function close() {
  $("history").hidden = true;
  $("main").hidden = false;
}

export function wire() {
  $("history-close").addEventListener("click", () => { location.hash = ""; });
  $("history-clear").addEventListener("click", async () => {
    const button = $("history-clear");
    if (!button.dataset.confirm) { // a second press does it: nothing of this can be undone
      button.dataset.confirm = "1";
      button.textContent = "Really delete every answer? Press again";
      return;
    }
    await history.clear();
    await draw();
    say("Every answer is deleted.");
  });
  $("keep-place").addEventListener("change", (e) => {
    place.allow(e.target.checked);
    if (e.target.checked) place.currentPlace(); // asks for permission now, while the person is here
  });
  $("export-csv").addEventListener("click", async () => download(toCsv(await history.list()), `cloudatlas-${today()}.csv`));
  $("export-json").addEventListener("click", async () => download(toJson(await history.list()), `cloudatlas-${today()}.json`));
  $("export-zip").addEventListener("click", async () => {
    const { blob, photos } = await toZip(await history.list());
    download(blob, `cloudatlas-photos-${today()}.zip`);
    say(photos ? `${photos} photo(s), in one folder per genus: \`cloudatlas train --data\` reads the folder as it is.`
      : "No photo has a genus yet: choose one under “Not sure”, or keep answers the model is sure of.");
  });
}
