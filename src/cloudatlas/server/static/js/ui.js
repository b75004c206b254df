// Showing an answer: the verdict, the genus with its confidence in words, the cards, the bars,
// the heat map and the one-line summary the status region reads out.

export const VERY_LIKELY = 0.8;
export const LIKELY = 0.5;
const CLOSE_RATIO = 0.6;   // runner-up at >= 60 % of the top probability: "more than one cloud type"
const THIRD_SHOWN = 0.1;   // an unsure answer compares a third genus only when it has some weight
const BARS_SHOWN = 3;      // the rest behind "Show all"

const $ = (id) => document.getElementById(id);
const els = Object.fromEntries([
  "main", "status", "error", "rejection", "clear-sky", "result", "thumb", "thumb-img", "thumb-cam",
  "confidence-word", "top-name", "confidence", "top-confidence", "mixed", "guess-warning", "compare",
  "genus-card", "card-img", "card-title", "card-look", "card-level", "card-precipitation", "cam-toggle",
  "cam-legend", "cam-img", "preview", "preview-img", "bars-section", "bars", "show-all", "where", "tips", "again",
].map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), $(id)]));

let genera = {}; // code -> {name, level, look, precipitation}, from /api/v1/labels
export function setGenera(list) { genera = Object.fromEntries(list.map((g) => [g.code, g])); }

export const percent = (p) => `${Math.round(p * 100)} %`;
const capitalised = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** "Very likely" at 80 % and above, "Likely" from 50 %, below that the model is not sure. */
export function confidenceWord(p) {
  if (p >= VERY_LIKELY) return "Very likely";
  if (p >= LIKELY) return "Likely";
  return "Not sure";
}

// -- status and messages ---------------------------------------------------------------------
export function setStatus(text, busy = false) {
  els.status.classList.remove("answered");
  els.status.textContent = text;
  els.status.classList.toggle("busy", busy);
}

export function showError(text) {
  els.error.textContent = text;
  els.error.hidden = false;
  els.again.hidden = false;
}

export function resetAnswer() {
  for (const el of [els.error, els.rejection, els.clearSky, els.result, els.tips, els.again, els.camImg, els.thumbCam]) {
    el.hidden = true;
  }
  els.camImg.removeAttribute("src");
  els.thumbCam.removeAttribute("src");
  els.camToggle.checked = false;
  els.result.classList.remove("show-cam");
  els.camLegend.hidden = true;
  els.main.classList.remove("answered");
}

// -- the photo -----------------------------------------------------------------------------
export function showPhoto(url) {
  for (const img of [els.previewImg, els.thumbImg]) {
    if (url) img.src = url; else img.removeAttribute("src");
  }
  els.preview.hidden = !url;
  els.thumb.hidden = !url;
}

// -- the answer ------------------------------------------------------------------------------
let current = null; // the answer on screen, for "Show me the guess anyway"

/** Show an answer in the API's shape; ``note`` adds a sentence about where it was computed. */
export function render(answer, note = "") {
  current = answer;
  resetAnswer();
  els.main.classList.add("answered");
  els.again.hidden = false;
  // The verdict decides what is shown; is_cloud only for servers older than the verdict.
  const verdict = answer.verdict || (answer.is_cloud === false ? "not_sky" : "cloud");
  if (verdict === "clear_sky") {
    els.clearSky.hidden = false;
    reveal(els.clearSky, $("clear-sky-title"), "Clear sky: no clouds to name");
  } else if (verdict === "not_sky") {
    els.rejection.hidden = false;
    els.tips.hidden = false;
    reveal(els.rejection, $("rejection-title"), "This does not look like a sky photo");
  } else {
    showResult(answer, { guess: false, note });
  }
}

/** The forced guess for a photo that is not a sky photo: a genus, worded as a guess, no numbers. */
export function showGuess() {
  if (!current) return;
  els.rejection.hidden = true;
  showResult(current, { guess: true });
}

function showResult(answer, { guess, note = "" }) {
  const preds = answer.predictions;
  const top = preds[0];
  const unsure = !guess && top.probability < LIKELY;
  const candidates = unsure ? preds.slice(0, 3).filter((p, i) => i < 2 || p.probability >= THIRD_SHOWN) : [top];

  els.result.hidden = false;
  els.result.dataset.level = guess ? "guess" : unsure ? "unsure" : top.probability >= VERY_LIKELY ? "very" : "likely";
  if (guess) {
    els.confidenceWord.textContent = "If this were a sky photo, it would be closest to";
    els.topName.textContent = top.name;
  } else if (unsure) {
    els.confidenceWord.textContent = "Not sure: compare these";
    els.topName.textContent = capitalised(candidates.map((p) => p.name).join(" or ")) + "?";
  } else {
    els.confidenceWord.textContent = confidenceWord(top.probability);
    els.topName.textContent = top.name;
  }
  els.confidence.hidden = guess || unsure;
  els.topConfidence.textContent = percent(top.probability);
  els.guessWarning.hidden = !guess;

  fillMixed(preds, { guess, unsure });
  els.compare.hidden = !unsure;
  els.compare.replaceChildren(...(unsure ? candidates.map(compareCard) : []));
  els.genusCard.hidden = unsure;
  fillGenusCard(top);
  els.tips.hidden = !(unsure || guess);

  // A guess shows no percentages at all: they would read as confidence in a photo of a banana.
  els.barsSection.hidden = guess;
  fillBars(preds);

  els.camToggle.disabled = !answer.cam;
  if (answer.cam) { els.camImg.src = answer.cam; els.thumbCam.src = answer.cam; }

  const where = answer.where === "server" ? "on the server" : `on this ${deviceWord()}`;
  els.where.textContent = `Answered ${where}` + (answer.where === "server" ? ": the photo was sent there and not kept." : ": the photo did not leave it.") + (note ? ` ${note}` : "");
  els.where.dataset.where = answer.where || "server";

  let summary;
  if (guess) summary = `Only a guess: if this were a sky photo, it would be closest to ${top.name}`;
  else if (unsure) summary = `Not sure: ${candidates.map((p) => `${p.name} ${percent(p.probability)}`).join(" or ")}`;
  else summary = `${capitalised(top.name)}, ${confidenceWord(top.probability).toLowerCase()}, ${percent(top.probability)}`;
  reveal(els.result, els.topName, summary);
}

export function deviceWord() {
  return window.matchMedia("(pointer: coarse)").matches ? "phone" : "device";
}

// Bring the answer into view (on phones it comes first, above the photo) and announce it.
function reveal(section, heading, summary) {
  setStatus(summary);
  els.status.classList.add("answered");
  section.scrollIntoView({ block: "start" });
  heading.focus({ preventScroll: true });
}

function fillMixed(preds, { guess, unsure }) {
  const [top, second] = preds;
  let text = "";
  if (unsure) {
    text = "The model is not sure about this photo. The sky may hold more than one cloud type, or the " +
      "model simply cannot tell these genera apart here: compare the pictures with the sky.";
  } else if (!guess && second && second.probability >= CLOSE_RATIO * top.probability) {
    text = `The sky may hold more than one cloud type: ${top.name} (${percent(top.probability)}) ` +
      `and ${second.name} (${percent(second.probability)}).`;
  }
  els.mixed.textContent = text;
  els.mixed.hidden = !text;
}

// -- genus cards -------------------------------------------------------------------------------
function genusPicture(img, code) {
  // The drawings are optional: a genus without one just shows its description.
  img.hidden = true;
  img.onload = () => { img.hidden = false; };
  img.onerror = () => { img.hidden = true; };
  img.src = `/static/genera/${code}.svg`;
}

function fillGenusCard(p) {
  const g = genera[p.label] || {};
  els.cardTitle.textContent = `${p.name} (${p.label})`;
  els.cardLook.textContent = g.look || "No description for this label.";
  els.cardLevel.textContent = g.level || "unknown";
  els.cardPrecipitation.textContent = g.precipitation || "unknown";
  genusPicture(els.cardImg, p.label);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** A genus card: picture, name, description; ``headingLevel`` keeps the outline in order. */
function genusCard(p, headingLevel = "h4") {
  const g = genera[p.label] || {};
  const card = el("article", "card small-card");
  const img = el("img", "genus-picture");
  img.alt = "";
  genusPicture(img, p.label);
  const body = el("div");
  body.append(el(headingLevel, "card-name", `${p.name} (${p.label})`));
  const dl = el("dl");
  for (const [term, value] of [["What it looks like", g.look], ["Level", g.level], ["Rain or snow?", g.precipitation]]) {
    dl.append(el("dt", null, term), el("dd", null, value || "unknown"));
  }
  body.append(dl);
  card.append(img, body);
  return card;
}

function compareCard(p) {
  const li = el("li");
  const card = genusCard(p, "h3");
  card.querySelector(".card-name").append(" ", el("span", "card-pct", percent(p.probability)));
  li.append(card);
  return li;
}

// -- the bars --------------------------------------------------------------------------------
function fillBars(preds) {
  els.bars.replaceChildren(...preds.map((p, i) => bar(p, i)));
  setShowAll(false);
  requestAnimationFrame(() => {
    els.bars.querySelectorAll(".fill").forEach((fill) => { fill.style.width = fill.dataset.width; });
  });
}

export function setShowAll(all) {
  const items = els.bars.children;
  for (let i = 0; i < items.length; i++) items[i].hidden = !all && i >= BARS_SHOWN;
  els.showAll.hidden = items.length <= BARS_SHOWN;
  els.showAll.setAttribute("aria-expanded", String(all));
  els.showAll.textContent = all ? "Show fewer" : `Show all ${items.length}`;
}

export function toggleShowAll() {
  setShowAll(els.showAll.getAttribute("aria-expanded") !== "true");
}

// Each bar opens its own card (a native <details>: keyboard and screen readers for free).
function bar(p, index) {
  const li = el("li", index === 0 ? "top" : "");
  const details = el("details");
  const summary = el("summary");
  const label = el("span", "label");
  label.append(el("span", "name", p.name), el("span", "code", ` ${p.label}`));
  const pct = el("span", "pct", p.probability < 0.005 && p.probability > 0 ? "<1 %" : percent(p.probability));
  const track = el("span", "track");
  track.setAttribute("aria-hidden", "true");
  const fill = el("span", "fill");
  fill.dataset.width = `${(p.probability * 100).toFixed(1)}%`;
  track.append(fill);
  summary.append(label, pct, track);
  details.append(summary);
  details.addEventListener("toggle", () => {
    if (details.open && details.children.length === 1) details.append(genusCard(p));
  });
  li.append(details);
  return li;
}

// -- "where the model looked" ------------------------------------------------------------------
/** Show the heat map where the person is looking: on the answer's thumbnail (which grows), and on
 *  the large photo beside the answer on wide screens, scrolled into view if it is not. */
export function showHeatmap(on) {
  const has = Boolean(els.camImg.getAttribute("src"));
  els.camImg.hidden = !on || !has;
  els.thumbCam.hidden = !on || !has;
  els.camLegend.hidden = !on || !has;
  els.result.classList.toggle("show-cam", on && has);
  if (!on || !has) return;
  const thumbShown = els.thumb.offsetParent !== null;
  const target = thumbShown ? els.thumb : els.preview;
  const box = target.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) target.scrollIntoView({ block: "nearest" });
}
