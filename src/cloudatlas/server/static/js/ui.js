// Showing an answer: the verdict, the genus in the words the answer carries (answer.js's rule,
// worded the same on the device and on the server), the photo beside every message, the
// cards, the compare view, the bars, the heat map and the line the status region reads out.
import { candidatesOf, WORDS } from "./answer.js";
import { fillBars } from "./bars.js";
import { genusOf, genusPicture } from "./cards.js";
import { markChosen, showCandidates } from "./compare.js";
import { $, capitalised, deviceWord, percent } from "./dom.js";

const MESSAGES = ["waiting", "ask", "error", "rejection", "clear-sky", "result", "tips"];
const GUESS_WORDS = {
  not_sky: {
    eyebrow: "If this were a sky photo, it would be closest to",
    warning: "This is only a guess: the image does not look like a sky photo, so the model's numbers mean little here.",
  },
  clear_sky: {
    eyebrow: "If there is a cloud here, it is closest to",
    warning: "This is only a guess: the clear-sky check found no cloud to name in this photo.",
  },
};

let meta = null;     // /api/v1/model: the thresholds and the genera of each level
let current = null;  // the answer on screen, for "Show the guess anyway" and the compare view
export function setModel(info) { meta = info; }

// -- status and messages ---------------------------------------------------------------------
export function setStatus(text, busy = false) {
  const status = $("status");
  status.classList.remove("answered");
  status.textContent = text;
  status.classList.toggle("busy", busy);
}

export function resetAnswer() {
  for (const id of [...MESSAGES, "again", "cam-img", "thumb-cam", "cam-legend"]) $(id).hidden = true;
  $("cam-img").removeAttribute("src");
  $("thumb-cam").removeAttribute("src");
  $("cam-toggle").checked = false;
  $("result").classList.remove("show-cam", "comparing");
  $("main").classList.remove("answered");
  $("share-note").textContent = "";
  current = null;
}

/** Open ``section`` with the person's photo in it, in view (from ``top`` down), its heading
 *  focused; speak ``summary``. */
function reveal(section, focus, summary, top = section) {
  section.hidden = false;
  const slot = section.querySelector(".photo-slot");
  if (slot) slot.append($("thumb"));
  $("main").classList.add("answered");
  setStatus(summary);
  $("status").classList.add("answered");
  // Side by side (wide screens) the photo and the answer start together at the top of the layout.
  (window.matchMedia("(min-width: 60rem)").matches ? $("main") : top).scrollIntoView({ block: "start" });
  focus.focus({ preventScroll: true });
}

export function showError(text) {
  resetAnswer();
  $("error-text").textContent = text;
  reveal($("error"), $("error"), "");
  $("status").textContent = text; // role=alert speaks it too; the status line keeps it for later
  $("again").hidden = false;
}

/** The photo arrived before the model: it waits here, with the offer to send it instead. */
export function showWaiting() {
  resetAnswer();
  // the download's progress stays in view above it
  reveal($("waiting"), $("waiting-title"), "The model is still on its way. This photo will be named as soon as it is here.",
    $("model-progress").hidden ? $("waiting") : $("model-progress"));
}

/** Ask before a photo leaves the device; resolves true when the person says send. */
export function ask(why) {
  resetAnswer();
  $("ask-why").textContent = why;
  reveal($("ask"), $("ask-title"), `Send this photo to the server? ${why}`);
  return new Promise((resolve) => {
    const done = (yes) => {
      $("ask-send").onclick = $("ask-cancel").onclick = null;
      $("ask").hidden = true;
      resolve(yes);
    };
    $("ask-send").onclick = () => done(true);
    $("ask-cancel").onclick = () => done(false);
  });
}

// -- the photo -----------------------------------------------------------------------------
export function showPhoto(url) {
  for (const id of ["preview-img", "thumb-img"]) {
    if (url) $(id).src = url; else $(id).removeAttribute("src");
  }
  $("preview").hidden = !url;
  $("thumb").hidden = !url;
}

// -- the answer ------------------------------------------------------------------------------
/** Show an answer in the API's shape; ``note`` adds a sentence about where it was computed. */
export function render(answer, note = "") {
  resetAnswer();
  current = answer;
  $("again").hidden = false;
  if (answer.verdict === "clear_sky") {
    reveal($("clear-sky"), $("clear-sky-title"), answer.headline);
  } else if (answer.verdict === "not_sky") {
    $("tips").hidden = false;
    reveal($("rejection"), $("rejection-title"), answer.headline);
  } else {
    showResult(answer, { note });
  }
}

/** The guess behind a clear-sky or not-a-sky answer, worded as a guess. */
export function showGuess() {
  if (!current) return;
  const answer = current;
  resetAnswer();
  current = answer;
  $("again").hidden = false;
  showResult(answer, { guess: answer.verdict });
}

const levelFirst = (answer) => answer.confidence === "unsure" && answer.level_confidence
  && answer.level_confidence !== "unsure";

function showResult(answer, { guess = null, note = "" }) {
  const preds = answer.predictions;
  const top = preds[0];
  const unsure = !guess && answer.confidence === "unsure";
  const result = $("result");
  result.dataset.level = guess ? "guess" : answer.confidence;
  if (guess) {
    $("confidence-word").textContent = GUESS_WORDS[guess].eyebrow;
    $("top-name").textContent = top.name;
  } else if (unsure) {
    $("confidence-word").textContent = "Not sure: compare these";
    $("top-name").textContent = levelFirst(answer) ? answer.headline
      : capitalised(candidatesOf(answer, meta?.levels, meta?.thresholds).map((p) => p.name).join(" or ")) + "?";
  } else {
    $("confidence-word").textContent = WORDS[answer.confidence];
    $("top-name").textContent = top.name;
  }
  $("confidence").hidden = Boolean(guess) || unsure;
  $("top-confidence").textContent = percent(top.probability);
  $("guess-warning").hidden = !guess;
  $("guess-warning").textContent = guess ? GUESS_WORDS[guess].warning : "";
  $("mixed").hidden = !unsure;
  $("mixed").textContent = unsure ? "The model is not sure about this photo. The sky may hold more than one cloud type, " +
    "or the model cannot tell these genera apart here: compare the photos with your sky." : "";
  $("choice").hidden = true;

  setComparing(unsure);
  fillGenusCard(top);
  $("tips").hidden = !(unsure || guess === "not_sky");
  // A not-a-sky guess shows no percentages at all: they would read as confidence in a photo of a banana.
  $("bars-section").hidden = guess === "not_sky";
  fillBars(preds);

  $("cam-toggle").disabled = !answer.cam;
  if (answer.cam) { $("cam-img").src = answer.cam; $("thumb-cam").src = answer.cam; }
  $("share").hidden = Boolean(guess);

  const server = answer.where === "server";
  $("where").textContent = `Answered ${server ? "on the server" : `on this ${deviceWord()}`}` +
    (server ? ": the photo was sent there and not kept." : ": the photo did not leave it.") + (note ? ` ${note}` : "");
  $("where").dataset.where = answer.where || "server";
  reveal(result, $("top-name"), summaryOf(answer, { guess, unsure }));
}

function summaryOf(answer, { guess, unsure }) {
  const top = answer.predictions[0];
  if (guess) return `Only a guess: ${GUESS_WORDS[guess].eyebrow.toLowerCase()} ${top.name}`;
  if (unsure) {
    const cands = candidatesOf(answer, meta?.levels, meta?.thresholds).map((p) => `${p.name} ${percent(p.probability)}`);
    return levelFirst(answer) ? `${answer.headline} ${cands.join(" or ")}` : `Not sure: ${cands.join(" or ")}`;
  }
  return `${capitalised(top.name)}, ${WORDS[answer.confidence].toLowerCase()}, ${percent(top.probability)}`;
}

/** The compare view (candidates side by side, the photo pinned) or the single genus card. */
export function setComparing(on) {
  const answer = current;
  $("result").classList.toggle("comparing", on);
  $("compare-box").hidden = !on;
  $("genus-card").hidden = on;
  $("compare-open").hidden = on || !answer;
  if (on && answer) {
    const cands = answer.confidence === "unsure" ? candidatesOf(answer, meta?.levels, meta?.thresholds)
      : answer.predictions.slice(0, 3);
    showCandidates(cands, answer.choice || null);
  }
}

/** After "This one": the person's own choice, shown and marked. */
export function showChoice(label) {
  if (!current) return;
  current.choice = label;
  markChosen(label);
  const g = genusOf(label);
  $("choice").textContent = `You chose ${g.name || label}. It is saved in your history with the photo.`;
  $("choice").hidden = false;
  setStatus($("choice").textContent);
  $("status").classList.add("answered");
}

export const currentAnswer = () => current;

/** A link someone shared (#seen=Cu): the genus they saw and what it means for the weather. */
export function showShared(code) {
  const g = genusOf(code);
  if (!g.name) return;
  $("shared").textContent = `Shared with you: ${g.name}. ${g.weather || g.look || ""}`;
  $("shared").hidden = false;
}

function fillGenusCard(p) {
  const g = genusOf(p.label);
  $("card-title").textContent = `${p.name} (${p.label})`;
  $("card-look").textContent = g.look || "No description for this label.";
  $("card-level").textContent = g.level || "unknown";
  $("card-precipitation").textContent = g.precipitation || "unknown";
  $("card-weather").textContent = g.weather || "unknown";
  genusPicture($("card-img"), p.label, p.name);
}

// -- "where the model looked" ------------------------------------------------------------------
/** Show the heat map where the person is looking, with its legend on it: on the answer's
 *  thumbnail (which grows) on phones, on the large photo beside the answer on wide screens. */
export function showHeatmap(on) {
  const has = Boolean($("cam-img").getAttribute("src"));
  for (const id of ["cam-img", "thumb-cam", "cam-legend"]) $(id).hidden = !on || !has;
  $("result").classList.toggle("show-cam", on && has);
  if (!on || !has) return;
  const thumb = $("thumb");
  const target = thumb.offsetParent !== null ? thumb : $("preview");
  target.append($("cam-legend"));
  const box = target.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) target.scrollIntoView({ block: "nearest" });
}
