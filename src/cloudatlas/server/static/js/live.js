// Live sky: the camera's view classified on the device a few times a second. The probabilities
// are smoothed (an exponential moving average) so the name does not flicker from frame to frame;
// a wording that holds for a moment is "settled" (what "Say it" reads aloud); a tap keeps the
// answer and shows it in full, with the frame it was given for.
import { WORDS } from "./answer.js";
import { bitmapPixels } from "./decode.js";
import { capitalised } from "./dom.js";
import { toAnswer } from "./infer.js";

const INTERVAL_MS = 250; // at most 4 answers a second: enough to follow the sky, easy on the battery
const SMOOTHING = 0.35;  // weight of the newest frame in the moving average
const SETTLE_MS = 1500;  // a wording held this long is the answer, not a passing frame

export class LiveSky {
  constructor(engine, { video, label, rate, onSettled = () => {} }) {
    this.engine = engine;
    this.video = video;
    this.label = label;
    this.rate = rate;
    this.onSettled = onSettled;
    this.stream = null;
    this.running = false;
    this.ema = null;
    this.frames = [];   // times of recent answers, for the rate shown and measured
    this.answer = null; // the smoothed answer now on screen
    this.since = 0;     // when the wording on screen first appeared
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    this.ema = null;
    this.frames = [];
    this.running = true;
    this.label.textContent = "Looking…";
    this._loop();
  }

  /** Frames per second over the last few seconds. */
  get fps() {
    const recent = this.frames.filter((t) => t > performance.now() - 5000);
    if (recent.length < 2) return 0;
    return ((recent.length - 1) * 1000) / (recent[recent.length - 1] - recent[0]);
  }

  async _loop() {
    while (this.running) {
      const started = performance.now();
      if (this.video.readyState >= 2 && this.video.videoWidth) {
        try {
          const answer = await this.engine.classifyPixels(this._frame(), { cam: false });
          if (!this.running) break;
          this._update(answer);
        } catch (err) {
          this.label.textContent = "The model could not look at the camera's picture.";
          this.running = false;
          break;
        }
      }
      const wait = INTERVAL_MS - (performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    }
  }

  // The centre square at the model's size: what it would be given from a photo.
  _frame(size = this.engine.meta.img_size) {
    const w = this.video.videoWidth, h = this.video.videoHeight, side = Math.min(w, h);
    return bitmapPixels(this.video, size, size, { x: (w - side) / 2, y: (h - side) / 2, w: side, h: side });
  }

  _update(answer) {
    const meta = this.engine.meta;
    const probs = new Float32Array(meta.labels.length);
    for (const p of answer.predictions) probs[meta.labels.indexOf(p.label)] = p.probability;
    const now = { probabilities: probs, cloud_score: answer.cloud_score, clear_sky_score: answer.clear_sky_score };
    if (!this.ema) {
      this.ema = now;
    } else {
      const mix = (a, b) => (a == null || b == null ? b : SMOOTHING * b + (1 - SMOOTHING) * a);
      this.ema = {
        probabilities: this.ema.probabilities.map((a, i) => mix(a, probs[i])),
        cloud_score: mix(this.ema.cloud_score, now.cloud_score),
        clear_sky_score: mix(this.ema.clear_sky_score, now.clear_sky_score),
      };
    }
    this.answer = toAnswer(meta, { ...this.ema, heatmap: null, ms: answer.elapsed_ms });
    this.frames.push(performance.now());
    if (this.frames.length > 40) this.frames.shift();
    // Only a change of wording reaches the label (and screen readers), not every new frame.
    const text = describe(this.answer);
    if (this.label.textContent !== text) {
      this.label.textContent = text;
      this.since = performance.now();
    } else if (performance.now() - this.since >= SETTLE_MS) {
      this.onSettled(text, this.answer);
    }
    this.label.dataset.label = this.answer.verdict === "cloud" ? this.answer.predictions[0].label : "";
    this.rate.textContent = `${this.fps.toFixed(1)} answers a second, on this device. Tap the picture to keep this answer.`;
  }

  /** Stop on the current frame: the smoothed answer, the frame as a photo and its heat map. */
  async freeze() {
    if (!this.running && !this.answer) return null;
    this.running = false;
    const frame = this._frame();
    const canvas = document.createElement("canvas");
    canvas.width = frame.width;
    canvas.height = frame.height;
    canvas.getContext("2d").putImageData(new ImageData(frame.data.slice(), frame.width, frame.height), 0, 0);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    const still = await this.engine.classifyPixels(frame, { cam: true });
    this.stop();
    const answer = this.answer ? { ...this.answer, cam: still.cam } : still;
    return { answer, photo: blob };
  }

  stop() {
    this.running = false;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}

function describe(answer) {
  if (answer.verdict === "not_sky") return "Point the camera at the sky";
  if (answer.confidence === "unsure") return answer.headline; // the level first, or "Not sure"
  if (answer.verdict !== "cloud") return answer.headline;
  return `${capitalised(answer.predictions[0].name)}: ${WORDS[answer.confidence].toLowerCase()}`;
}
