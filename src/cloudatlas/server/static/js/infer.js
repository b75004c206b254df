// Two ways to get an answer, both returning the API's JSON shape (schemas.ClassifyResponse):
//   DeviceEngine: the model runs in this browser (worker.js); the photo never leaves the device.
//   ServerEngine: the photo is uploaded to POST /api/v1/classify, only when the person chose the
//                 server or said yes for this photo (main.js asks).
import { claims } from "./answer.js";
import { decodePhoto, scaledJpeg } from "./decode.js";
import { heatmapDataUrl } from "./heatmap.js";
import { whyUnreadable } from "./sniff.js";
import { isStored, modelCache, runtimeCache } from "./stored.js";
import { request } from "../shared/api.js";

export const API = "/api/v1";

/** Raw model outputs -> the API's answer (predictions most likely first, verdict, words, scores). */
export function toAnswer(meta, out) {
  const said = claims(meta, out);
  const gated = meta.cloud_threshold != null && out.cloud_score != null;
  return {
    ...said,
    is_cloud: gated ? said.verdict === "cloud" : null,
    cloud_score: out.cloud_score,
    cloud_threshold: meta.cloud_threshold,
    clear_sky_score: out.clear_sky_score,
    clear_sky_threshold: meta.clear_sky_threshold,
    model: { name: meta.name, version: meta.version },
    elapsed_ms: out.ms,
    cam: out.heatmap ? heatmapDataUrl(out.heatmap) : null,
    where: "device",
  };
}

/** An answer from a server older than the confidence words gets them by the same rule here
 *  (its verdict stands). */
export function worded(meta, answer) {
  if (answer.confidence || !meta || answer.predictions.some((p) => !meta.labels.includes(p.label))) return answer;
  const probabilities = meta.labels.map((label) => answer.predictions.find((p) => p.label === label)?.probability ?? 0);
  return { ...answer, ...claims(meta, { probabilities }, answer.verdict || "cloud") };
}

/** This browser could not read the photo; ``reason`` says why, in the page's words. */
export class CannotDecode extends Error {}

export class DeviceEngine {
  static supported(meta) {
    return typeof WebAssembly === "object" && "Worker" in window && "createImageBitmap" in window
      && Boolean(meta && meta.runtime);
  }

  constructor(meta) {
    this.meta = meta;
    this.worker = null;
    this.pending = new Map();
    this.nextId = 1;
    this.loading = null;
    this.ready = false;
    this.waiting = 0;       // photos waiting for the model
    this.onprogress = null; // (loaded, total, fromCache) while the model and runtime arrive
  }

  /** Whether the model and the runtime are stored on this device (it then works offline). */
  async stored() {
    const { meta } = this;
    return (await isStored(meta.url, modelCache(meta.sha256)))
      && (await isStored(meta.runtime.url, runtimeCache(meta.runtime.sha256)));
  }

  /** Start the worker: download or read the model and runtime, start and warm up the session. */
  load() {
    this.loading ??= (async () => {
      this.worker = new Worker("/static/js/worker.js", { type: "module" });
      this.worker.onmessage = ({ data }) => this._settle(data);
      this.worker.onerror = (e) => this._failAll(new Error(e.message || "the model worker failed"));
      await this._call({ type: "load", info: this.meta });
      this.ready = true;
      // The session's first run is its slowest: spend it on a blank input now, unless a photo is
      // already waiting (its own run is then the first, and nothing is run twice).
      if (!this.waiting) this._call({ type: "warm" }).catch(() => {});
    })();
    this.loading.catch(() => { // a failed load may be tried again, by a fresh worker
      this.loading = null;
      this.worker?.terminate();
    });
    return this.loading;
  }

  /** A photo file -> answer; CannotDecode when this browser cannot read it. */
  async classifyFile(blob, { cam = true } = {}) {
    this.waiting++;
    try {
      const image = await decodePhoto(blob, this.meta.img_size); // while the model may still be loading
      if (!image) throw new CannotDecode(await whyUnreadable(blob));
      return await this.classifyPixels(image, { cam });
    } finally {
      this.waiting--;
    }
  }

  /** Decoded RGBA pixels -> answer. */
  async classifyPixels(image, { cam = true } = {}) {
    this.waiting++;
    try {
      await this.load();
      const out = await this._call({ type: "classify", image, cam }, [image.data.buffer]);
      return toAnswer(this.meta, out.result);
    } finally {
      this.waiting--;
    }
  }

  _call(message, transfer = []) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  _settle(data) {
    if (data.type === "progress") {
      this.onprogress?.(data.loaded, data.total, data.fromCache);
      return;
    }
    const call = this.pending.get(data.id);
    if (!call) return;
    this.pending.delete(data.id);
    if (data.type === "error") call.reject(new Error(data.message));
    else call.resolve(data);
  }

  _failAll(err) {
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
  }
}

// -- the server ---------------------------------------------------------------------------------
const MAX_SIDE = 1280;            // the model needs a few hundred pixels; this keeps uploads small
const SHRINK_ABOVE_BYTES = 1.5e6; // smaller files that are not too large in pixels go as they are

function friendlyStatus(status) {
  if (status === 413) return "That file is too large. Try a smaller copy of the photo.";
  if (status === 415) return "That file is not a photo. Choose a JPEG, PNG, WebP or HEIC photo.";
  if (status >= 500) return "Something went wrong on the server. Please try again in a moment.";
  return "That photo could not be used. Please try another one.";
}

export class ServerEngine {
  /** Upload one photo; rejects with an ApiError (``network`` when the server was not reached). */
  async classifyFile(file, { cam = true, signal } = {}) {
    const upload = await shrinkForUpload(file);
    const form = new FormData();
    form.append("file", upload.blob, upload.name || "photo.jpg");
    const body = await request(`${API}/classify?cam=${cam}`, { method: "POST", body: form, signal, fallback: friendlyStatus });
    return { ...body, where: "server" };
  }
}

// Large photos are shrunk before upload: the server would only shrink them again, after a slow
// upload. Whatever the browser cannot decode goes unchanged, and the server explains the problem.
async function shrinkForUpload(file) {
  let bitmap = null;
  try { bitmap = await createImageBitmap(file, { imageOrientation: "from-image" }); } catch { /* see above */ }
  if (!bitmap) return { blob: file, name: file.name };
  let blob = file;
  if (Math.max(bitmap.width, bitmap.height) > MAX_SIDE || file.size > SHRINK_ABOVE_BYTES) {
    blob = (await scaledJpeg(bitmap, MAX_SIDE, 0.9)) || file;
  }
  bitmap.close();
  const name = blob === file ? file.name : (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
  return { blob, name };
}
