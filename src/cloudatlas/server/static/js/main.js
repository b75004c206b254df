// CloudAtlas web page: choose, drop, paste or film the sky; the model names the cloud genus.
// ES modules, no build step, nothing from other origins (the Content-Security-Policy forbids it).
//   infer.js  the model on this device (worker.js), or the server's API (../shared/api.js)
//   ui.js     showing the answer       compare.js "Not sure"     live.js  live camera mode
//   history.js / history-view.js       what the person saw, kept in this browser
//   offline.js / ../sw.js              working offline after one visit
// What is not needed for a first answer (history, sharing, live mode) is imported when first
// used: on a slow first visit every module is a request the page waits for.
//
// The photo never leaves the device unless the person chose the server (the footer's setting)
// or said yes for this photo: when this browser cannot read it, cannot run the model, or the
// model is still downloading ("Answer now on the server").
import { request } from "../shared/api.js";
import { toggleShowAll } from "./bars.js";
import { setGenera, setReferences } from "./cards.js";
import { whenChosen } from "./compare.js";
import { $, megabytes } from "./dom.js";
import { API, CannotDecode, DeviceEngine, ServerEngine, worded } from "./infer.js";
import { wireInstall } from "./install.js";
import { registerServiceWorker, serviceWorkerSettled } from "./offline.js";
import { failProgress, finishProgress, hideProgress, showProgress, startProgress } from "./progress.js";
import { notAPhoto } from "./sniff.js";
import * as ui from "./ui.js";

const history = () => import("./history.js");
const historyView = () => import("./history-view.js").then((view) => { view.wire(); return view; });
const canFilm = () => Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
const canSpeak = () => "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;

const SETTING = "cloudatlas.useServer";
const useServerBox = $("use-server");

// What tests and benchmarks/page.py read: the last answer and how the page is running.
const state = { lastAnswer: null, engine: null, live: null, modelReady: null, meta: null, saved: null };
window.cloudatlas = state;

registerServiceWorker();
wireInstall();
const server = new ServerEngine();
let speaker = null;       // "Say it", made with live mode
let views = null;         // the History view, once opened
let device = null;        // DeviceEngine once the model's description has arrived
let deviceFailed = false; // the runtime could not start here: each photo then asks before it is sent
let photo = null;         // {blob, url} of the photo on screen
let inFlight = 0;         // number of the newest photo: an older answer arriving late is dropped

useServerBox.checked = localStorage.getItem(SETTING) === "1";
if (useServerBox.checked) hideProgress(); // server mode: no model, so no download to show

const generaReady = request(`${API}/labels`).then((data) => setGenera(data.labels)).catch(() => {});
const referencesReady = request("/static/reference/index.json").then(setReferences).catch(() => {});

const downloadBytes = (meta) => meta.bytes + meta.runtime.bytes;

// -- which engine ----------------------------------------------------------------------------
const metaReady = request(`${API}/model`).catch(() => null).then((meta) => {
  state.meta = meta;
  ui.setModel(meta);
  if (DeviceEngine.supported(meta)) device = new DeviceEngine(meta);
  updateEngine();
  return meta;
});

// The model starts as soon as the page loads (not on the first photo), unless the person chose
// the server. Resolves true once it is ready on this device.
state.modelReady = metaReady.then(startDevice);

async function startDevice() {
  if (!device || deviceFailed || useServerBox.checked) {
    hideProgress();
    return false;
  }
  if (device.ready) return true;
  startProgress((await device.stored()) ? 0 : downloadBytes(device.meta));
  device.onprogress = showProgress;
  try {
    await device.load();
  } catch (err) {
    console.warn("the model could not start on this device", err);
    if (navigator.onLine) {
      deviceFailed = true;
      failProgress("The model could not start in this browser. A photo can still be sent to the server: you will be asked.");
    } else {
      failProgress(`You are offline: the model (${megabytes(downloadBytes(device.meta))}) downloads once you are online again.`);
    }
    updateEngine();
    return false;
  }
  updateEngine();
  finishProgress();
  if (await serviceWorkerSettled() && await device.stored()) {
    $("offline-note").textContent = "Ready to work offline: the model is stored on this device.";
  }
  return true;
}

function useDevice() {
  return Boolean(device) && !deviceFailed && !useServerBox.checked;
}

function updateEngine() {
  state.engine = useDevice() ? "device" : "server";
  $("live-start").hidden = !(useDevice() && canFilm());
}

useServerBox.addEventListener("change", () => {
  localStorage.setItem(SETTING, useServerBox.checked ? "1" : "0");
  updateEngine();
  if (!useServerBox.checked) state.modelReady = startDevice();
  else if (!device || !device.ready) hideProgress();
});

// -- a photo -----------------------------------------------------------------------------------
function setPhoto(blob, ticket) {
  if (photo) URL.revokeObjectURL(photo.url);
  photo = { blob, url: URL.createObjectURL(blob) };
  ui.showPhoto(null);
  const probe = new Image();
  const url = photo.url;
  probe.onload = () => { if (ticket === inFlight) ui.showPhoto(url); };
  probe.src = url; // shown only if the browser can display it (not HEIC on most)
}

async function handleFile(file) {
  if (!file) return;
  const ticket = ++inFlight;
  stopLive();
  ui.resetAnswer();
  setPhoto(file, ticket);
  ui.setStatus("Looking at the sky…", true);
  try {
    const result = await classify(file, ticket);
    if (!result || ticket !== inFlight) return;
    await show(result.answer, result.note);
  } catch (err) {
    if (ticket !== inFlight || err.name === "AbortError") return;
    ui.showError(err.message || "That photo could not be used. Please try another one.");
  }
}

async function classify(file, ticket) {
  await metaReady;
  const junk = await notAPhoto(file);
  if (junk) throw new Error(junk); // nothing to name, and nothing worth sending
  if (useServerBox.checked) return serverMode(file);
  if (!device || deviceFailed) {
    return askThenSend(file, ticket, device ? "The model could not run in this browser."
      : "This browser cannot run the model on the device.");
  }
  // Decoding starts at once (a HEIC photo is known to be unreadable before the model is here).
  const onDevice = device.classifyFile(file).then((answer) => ({ answer }), (error) => ({ error }));
  if (!device.ready) ui.showWaiting();
  const first = await Promise.race([onDevice, serverButton(ticket)]);
  if (ticket !== inFlight) return null;
  if (first.server) {
    ui.setStatus("Sending the photo to the server…", true);
    return { answer: await server.classifyFile(file), note: "You sent it while the model was downloading." };
  }
  if (first.answer) return { answer: first.answer, note: "" };
  const err = first.error;
  if (err instanceof CannotDecode) return askThenSend(file, ticket, err.message);
  if (!navigator.onLine && !device.ready) {
    throw new Error(`You are offline, and the model is not on this device yet: it downloads once you are online ` +
      `(${megabytes(downloadBytes(device.meta))}).`);
  }
  console.warn("on-device model failed", err);
  deviceFailed = true;
  updateEngine();
  return askThenSend(file, ticket, "The model could not run in this browser.");
}

/** Resolves {server: true} when the person presses "Answer now on the server" for this photo. */
function serverButton(ticket) {
  return new Promise((resolve) => {
    $("answer-on-server").onclick = () => { if (ticket === inFlight) resolve({ server: true }); };
  });
}

/** The photo goes to the server only if the person says yes, told why. */
async function askThenSend(file, ticket, why) {
  const yes = await ui.ask(why);
  if (ticket !== inFlight) return null;
  if (!yes) {
    ui.setStatus("Nothing was sent: the photo stayed on this device.");
    $("again").hidden = false;
    return null;
  }
  ui.setStatus("Sending the photo to the server…", true);
  return { answer: await server.classifyFile(file), note: `You chose to send it: ${why.charAt(0).toLowerCase()}${why.slice(1)}` };
}

/** The person chose the server; offline, the model stored on this device answers if there is one. */
async function serverMode(file) {
  try {
    return { answer: await server.classifyFile(file), note: "" };
  } catch (err) {
    if (!err.network) throw err;
    if (device && !deviceFailed && (device.ready || (await device.stored()))) {
      ui.setStatus("The server cannot be reached: asking the model stored on this device…", true);
      return { answer: await device.classifyFile(file), note: "The server could not be reached, so the model stored here answered." };
    }
    throw new Error("Classifying on the server needs the network, and the server cannot be reached. Try again " +
      "when you are online" + (device ? `, or turn off “Classify on the server” to keep the model ` +
      `(${megabytes(downloadBytes(device.meta))}) on this device for offline use.` : "."));
  }
}

async function show(answer, note = "") {
  await Promise.all([generaReady, referencesReady]); // the cards' words and photos
  answer = worded(state.meta, answer);
  state.lastAnswer = answer;
  ui.render(answer, note);
  state.saved = remember(answer, photo && photo.blob);
}

/** Keep the answer in the history, with small copies of its photo and, if allowed, the place. */
async function remember(answer, blob) {
  try {
    const [log, { snapshots }, { currentPlace }] = await Promise.all([history(), import("./snapshot.js"), import("./place.js")]);
    const [{ thumb, photo: small }, place] = await Promise.all([
      blob ? snapshots(blob) : { thumb: null, photo: null }, currentPlace()]);
    answer.historyId = await log.add(log.entryOf(answer, { thumb, photo: small, place }));
    return answer.historyId;
  } catch (err) {
    console.warn("the answer could not be kept in the history", err);
    return null;
  }
}

whenChosen(async (label) => {
  const answer = ui.currentAnswer();
  if (!answer) return;
  ui.showChoice(label);
  const id = answer.historyId ?? (await state.saved);
  if (id != null) state.saved = history().then((log) => log.update(id, { choice: label })).then(() => id);
});

$("share").addEventListener("click", async () => {
  const answer = ui.currentAnswer();
  if (!answer) return;
  const { share } = await import("./share.js");
  const outcome = await share(answer, photo && photo.blob);
  $("share-note").textContent = {
    shared: "Shared.", copied: "The answer and a link are copied: paste them where you like.",
    cancelled: "", failed: "This browser cannot share or copy here.",
  }[outcome];
});

// -- live sky ----------------------------------------------------------------------------------
async function startLive() {
  ui.resetAnswer();
  ui.setStatus("Opening the camera…", true);
  try {
    const [{ LiveSky }, { Speaker }] = await Promise.all([import("./live.js"), import("./speech.js"), device.load()]);
    speaker ??= new Speaker();
    speaker.set($("say-it").checked);
    state.live = new LiveSky(device, {
      video: $("live-video"), label: $("live-label"), rate: $("live-rate"), onSettled: (text) => speaker.say(text),
    });
    $("live").hidden = false;
    $("drop").hidden = true;
    await state.live.start();
    ui.setStatus("Live sky: the answer follows the camera.");
    $("live-freeze").focus();
  } catch (err) {
    stopLive();
    ui.showError(err && err.name === "NotAllowedError"
      ? "The camera is not allowed for this page. Allow it in the browser's settings, or take a photo instead."
      : "The camera could not be opened. Take a photo instead.");
  }
}

async function freezeLive() {
  if (!state.live) return;
  const frozen = await state.live.freeze();
  stopLive();
  if (!frozen) return;
  const ticket = ++inFlight;
  setPhoto(frozen.photo, ticket);
  ui.showPhoto(photo.url); // the kept frame, in view with its answer
  await show(frozen.answer);
}

function stopLive() {
  if (state.live) state.live.stop();
  $("live").hidden = true;
  $("drop").hidden = false;
}

$("say-it-switch").hidden = !canSpeak();
$("say-it").addEventListener("change", (e) => speaker?.set(e.target.checked));
$("live-start").addEventListener("click", startLive);
$("live-freeze").addEventListener("click", freezeLive);
$("live-video").addEventListener("click", freezeLive);
$("live-stop").addEventListener("click", () => { stopLive(); ui.setStatus(""); $("live-start").focus(); });

// -- views: the answer, the history, a shared genus -----------------------------------------------
function route() {
  if (location.hash === "#history") (views ??= historyView()).then((view) => view.open());
  else views?.then((view) => view.close());
  const seen = /^#seen=(\w+)$/.exec(location.hash);
  if (seen) generaReady.then(() => ui.showShared(seen[1]));
}
window.addEventListener("hashchange", route);
route();

// -- wiring ------------------------------------------------------------------------------------
$("show-anyway").addEventListener("click", ui.showGuess);
$("show-anyway-clear").addEventListener("click", ui.showGuess);
$("compare-open").addEventListener("click", () => { ui.setComparing(true); $("compare-box").scrollIntoView({ block: "nearest" }); });
$("show-all").addEventListener("click", toggleShowAll);
$("cam-toggle").addEventListener("change", (e) => ui.showHeatmap(e.target.checked));
$("again").addEventListener("click", () => {
  $("photo").click(); // opens the file chooser (or the camera roll) straight away
  window.scrollTo({ top: 0 });
});

for (const input of [$("photo"), $("camera")]) {
  input.addEventListener("change", () => {
    handleFile(input.files && input.files[0]);
    input.value = ""; // choosing the same file again still gives a new answer
  });
}

// Drag and drop anywhere on the page: a clear "drop the photo here" over everything.
let dragDepth = 0;
const dragging = (on) => document.body.classList.toggle("dragging", on);
window.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth++; dragging(true); });
window.addEventListener("dragleave", () => { if (--dragDepth <= 0) { dragDepth = 0; dragging(false); } });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  dragging(false);
  const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
  if (file) handleFile(file);
});

// Pasting a screenshot or a copied image works too.
window.addEventListener("paste", (e) => {
  const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === "file");
  if (item) handleFile(item.getAsFile());
});
