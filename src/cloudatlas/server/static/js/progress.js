// The model's download, in view from the first paint: index.html shows the box with a moving
// bar before any script runs; once the model's size is known it says how much really comes
// down (the model and the runtime), and the bar fills as it arrives.
import { $, megabytes } from "./dom.js";

const box = () => $("model-progress");

export function hideProgress() { box().hidden = true; }

/** Nothing known yet but that the model is coming: the bar moves without a value. */
export function startProgress(total) {
  box().hidden = false;
  $("progress-bar").removeAttribute("value");
  $("progress-text").textContent = total
    ? `Getting the model ready for this device: ${megabytes(total)} to download, once.`
    : "Getting the model ready for this device…";
}

export function showProgress(loaded, total, fromCache) {
  box().hidden = false;
  const bar = $("progress-bar");
  bar.max = total;
  bar.value = loaded;
  $("progress-text").textContent = fromCache
    ? "Starting the model stored on this device…"
    : `Getting the model ready for this device: ${megabytes(loaded)} of ${megabytes(total)}, once.`;
}

/** The model is running: the box goes at once (lingering, it would shift an answer shown below it). */
export function finishProgress() {
  $("progress-bar").max = 1;
  $("progress-bar").value = 1;
  hideProgress();
}

export function failProgress(text) {
  box().hidden = false;
  $("progress-bar").max = 1;
  $("progress-bar").value = 0;
  $("progress-text").textContent = text;
}
