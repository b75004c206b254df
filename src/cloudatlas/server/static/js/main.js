// CloudAtlas web page: choose, drop, paste or film the sky; the model names the cloud genus.
// ES modules, no build step, nothing from other origins (the Content-Security-Policy forbids it).
//   infer.js  the model on this device (onnxruntime-web in a worker), or the server's API
//   ui.js     showing the answer          live.js   live camera mode
//   offline.js / ../sw.js                 working offline after one visit
import { API, CannotDecode, DeviceEngine, ServerEngine } from "./infer.js";
import { LiveSky } from "./live.js";
import { modelCached, registerServiceWorker, serviceWorkerSettled } from "./offline.js";
import * as ui from "./ui.js";

const SETTING = "cloudatlas.useServer";
const $ = (id) => document.getElementById(id);
const useServerBox = $("use-server");

// What tests and benchmarks/page.py read: the last answer and how the page is running.
const state = { lastAnswer: null, engine: null, live: null, modelReady: null };
window.cloudatlas = state;

registerServiceWorker();
const server = new ServerEngine();
let device = null; // DeviceEngine once the model's description has arrived
let deviceFailed = false; // the runtime could not start here: the server answers from then on
let photoUrl = null;
let inFlight = 0;  // number of the newest photo: an older answer arriving late is dropped

const generaReady = fetch(`${API}/labels`)
  .then((r) => (r.ok ? r.json() : { labels: [] }))
  .then((data) => ui.setGenera(data.labels))
  .catch(() => { /* the cards then show only names */ });

useServerBox.checked = localStorage.getItem(SETTING) === "1";
useServerBox.addEventListener("change", () => {
  localStorage.setItem(SETTING, useServerBox.checked ? "1" : "0");
  updateEngine();
});

// -- which engine ----------------------------------------------------------------------------
const metaReady = DeviceEngine.supported()
  ? fetch(`${API}/model`).then((r) => (r.ok ? r.json() : null)).catch(() => null)
  : Promise.resolve(null);

// Warm up once the service worker has cached everything (so nothing downloads twice), then say
// whether the page will work offline. Resolves true when the model is ready on this device.
// Someone who chose the server is not made to download the model.
state.modelReady = metaReady.then(async (meta) => {
  if (meta) device = new DeviceEngine(meta);
  updateEngine();
  if (!device || useServerBox.checked) return false;
  try {
    await serviceWorkerSettled();
    await device.load();
    if (await modelCached(device.meta)) {
      $("offline-note").textContent = "Ready to work offline: the model is stored on this device.";
    }
    return true;
  } catch {
    return false;
  }
});

function useDevice() {
  return Boolean(device) && !deviceFailed && !useServerBox.checked;
}

function updateEngine() {
  state.engine = useDevice() ? "device" : "server";
  $("live-start").hidden = !(useDevice() && LiveSky.supported());
}

// -- a photo -----------------------------------------------------------------------------------
async function handleFile(file) {
  if (!file) return;
  const ticket = ++inFlight;
  stopLive();
  ui.resetAnswer();
  ui.setStatus("Looking at the sky…", true);
  if (photoUrl) URL.revokeObjectURL(photoUrl);
  photoUrl = URL.createObjectURL(file);
  ui.showPhoto(null);
  const probe = new Image();
  probe.onload = () => { if (ticket === inFlight) ui.showPhoto(photoUrl); };
  probe.src = photoUrl; // shown only if the browser can display it (not HEIC on most)
  try {
    const { answer, note } = await classify(file);
    if (ticket !== inFlight) return;
    await show(answer, note);
  } catch (err) {
    if (ticket !== inFlight || err.name === "AbortError") return;
    ui.setStatus("");
    ui.showError(err.message || "That photo could not be used. Please try another one.");
  }
}

async function classify(file) {
  await metaReady;
  if (!useDevice()) return { answer: await server.classifyFile(file), note: "" };
  try {
    if (!device.loading) ui.setStatus(`Getting the model ready (first time only, ${mb(device.meta.bytes)})…`, true);
    await serviceWorkerSettled();
    const answer = await device.classifyFile(file);
    return { answer, note: "" };
  } catch (err) {
    // The server can read formats this browser cannot (HEIC) and explains files that are not photos.
    if (err instanceof CannotDecode) {
      return { answer: await server.classifyFile(file), note: "This browser cannot read this file, so it went to the server." };
    }
    console.warn("on-device model failed; using the server", err);
    deviceFailed = true;
    updateEngine();
    return { answer: await server.classifyFile(file), note: "The model could not run in this browser." };
  }
}

async function show(answer, note = "") {
  await generaReady; // the cards' descriptions
  state.lastAnswer = answer;
  ui.render(answer, note);
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;

// -- live sky ----------------------------------------------------------------------------------
const liveSection = $("live");
const dropSection = $("drop");

async function startLive() {
  ui.resetAnswer();
  ui.setStatus("Opening the camera…", true);
  try {
    await device.load();
    state.live = new LiveSky(device, { video: $("live-video"), label: $("live-label"), rate: $("live-rate") });
    liveSection.hidden = false;
    dropSection.hidden = true;
    await state.live.start();
    ui.setStatus("Live sky: the answer follows the camera.");
    $("live-freeze").focus();
  } catch (err) {
    stopLive();
    ui.setStatus("");
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
  if (photoUrl) URL.revokeObjectURL(photoUrl);
  photoUrl = URL.createObjectURL(frozen.photo);
  ui.showPhoto(photoUrl);
  await show(frozen.answer);
}

function stopLive() {
  if (state.live) state.live.stop();
  liveSection.hidden = true;
  dropSection.hidden = false;
}

$("live-start").addEventListener("click", startLive);
$("live-freeze").addEventListener("click", freezeLive);
$("live-video").addEventListener("click", freezeLive);
$("live-stop").addEventListener("click", () => { stopLive(); ui.setStatus(""); $("live-start").focus(); });

// -- wiring ------------------------------------------------------------------------------------
$("show-anyway").addEventListener("click", ui.showGuess);
$("show-all").addEventListener("click", ui.toggleShowAll);
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
