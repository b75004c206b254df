// Two ways to get an answer, both returning the API's JSON shape (schemas.ClassifyResponse):
//   DeviceEngine: the model runs in this browser (worker.js); the photo never leaves the device.
//   ServerEngine: the photo is uploaded to POST /api/v1/classify: when the browser cannot run
//                 the model (no WebAssembly, no workers) or the person chooses it.
import { decodePhoto } from "./decode.js";
import { heatmapDataUrl } from "./heatmap.js";

export const API = "/api/v1";
const WASM = "/static/vendor/ort/ort-wasm-simd-threaded.wasm";

/** The verdict rule of cloudatlas.inference.verdict, the same on every client. */
export function verdictOf(cloudScore, clearScore, gateThreshold, clearThreshold) {
  if (cloudScore != null && gateThreshold != null && cloudScore < gateThreshold) return "not_sky";
  if (clearScore != null && clearThreshold != null && clearScore >= clearThreshold) return "clear_sky";
  return "cloud";
}

/** Raw model outputs -> the API's answer (predictions most likely first, verdict, scores). */
export function toAnswer(meta, out) {
  const order = [...out.probabilities.keys()].sort((a, b) => out.probabilities[b] - out.probabilities[a] || a - b);
  const verdict = verdictOf(out.cloud_score, out.clear_sky_score, meta.cloud_threshold, meta.clear_sky_threshold);
  const gated = meta.cloud_threshold != null && out.cloud_score != null;
  return {
    verdict,
    is_cloud: gated ? verdict === "cloud" : null,
    cloud_score: out.cloud_score,
    cloud_threshold: meta.cloud_threshold,
    clear_sky_score: out.clear_sky_score,
    clear_sky_threshold: meta.clear_sky_threshold,
    predictions: order.map((i) => ({ label: meta.labels[i], name: meta.names[i], probability: out.probabilities[i] })),
    model: { name: meta.name, version: meta.version },
    elapsed_ms: out.ms,
    cam: out.heatmap ? heatmapDataUrl(out.heatmap) : null,
    where: "device",
  };
}

export class CannotDecode extends Error {}

export class DeviceEngine {
  static supported() {
    return typeof WebAssembly === "object" && "Worker" in window && "createImageBitmap" in window;
  }

  constructor(meta) {
    this.meta = meta;
    this.worker = null;
    this.pending = new Map();
    this.nextId = 1;
    this.loading = null;
  }

  /** Fetch the model and the runtime (from the service worker's cache after the first visit). */
  load() {
    this.loading ??= (async () => {
      const [model, wasm] = await Promise.all([fetchBytes(this.meta.url), fetchBytes(WASM)]);
      this.worker = new Worker("/static/js/worker.js", { type: "module" });
      this.worker.onmessage = ({ data }) => this._settle(data);
      this.worker.onerror = (e) => this._failAll(new Error(e.message || "the model worker failed"));
      await this._call({ type: "load", model, wasm, info: this.meta }, [model, wasm]);
    })();
    this.loading.catch(() => { this.loading = null; }); // a failed load may be tried again
    return this.loading;
  }

  /** A photo file -> answer; CannotDecode when this browser cannot read it (the server may). */
  async classifyFile(blob, { cam = true } = {}) {
    await this.load();
    const image = await decodePhoto(blob, this.meta.img_size);
    if (!image) throw new CannotDecode("this browser cannot read the photo");
    return this.classifyPixels(image, { cam });
  }

  /** Decoded RGBA pixels -> answer. */
  async classifyPixels(image, { cam = true } = {}) {
    await this.load();
    const out = await this._call({ type: "classify", image, cam }, [image.data.buffer]);
    return toAnswer(this.meta, out.result);
  }

  _call(message, transfer) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  _settle(data) {
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

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

// -- the server ---------------------------------------------------------------------------------
const MAX_SIDE = 1280;            // the model needs a few hundred pixels; this keeps uploads small
const SHRINK_ABOVE_BYTES = 1.5e6; // smaller files that are not too large in pixels go as they are

export class ServerEngine {
  async classifyFile(file, { cam = true, signal } = {}) {
    const upload = await shrinkForUpload(file);
    const form = new FormData();
    form.append("file", upload.blob, upload.name || "photo.jpg");
    let response;
    try {
      response = await fetch(`${API}/classify?cam=${cam}`, { method: "POST", body: form, signal });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new Error("Could not reach CloudAtlas. Check your connection and try again.");
    }
    let body = null;
    try { body = await response.json(); } catch { /* not JSON: handled below */ }
    if (!response.ok) throw new Error((body && body.message) || friendlyStatus(response.status));
    return { ...body, where: "server" };
  }
}

function friendlyStatus(status) {
  if (status === 413) return "That file is too large. Try a smaller copy of the photo.";
  if (status === 415) return "That file is not a photo. Choose a JPEG, PNG, WebP or HEIC photo.";
  if (status >= 500) return "Something went wrong on the server. Please try again in a moment.";
  return "That photo could not be used. Please try another one.";
}

// Large photos are shrunk before upload: the server would only shrink them again, after a slow
// upload. Whatever the browser cannot decode goes unchanged, and the server explains the problem.
async function shrinkForUpload(file) {
  let bitmap = null;
  try { bitmap = await createImageBitmap(file, { imageOrientation: "from-image" }); } catch { /* see above */ }
  if (!bitmap) return { blob: file, name: file.name };
  const longest = Math.max(bitmap.width, bitmap.height);
  let blob = file;
  if (longest > MAX_SIDE || file.size > SHRINK_ABOVE_BYTES) {
    const scale = Math.min(1, MAX_SIDE / longest);
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    blob = (await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9))) || file;
  }
  bitmap.close();
  const name = blob === file ? file.name : file.name.replace(/\.[^.]*$/, "") + ".jpg";
  return { blob, name };
}
