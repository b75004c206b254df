// The model on the device: onnxruntime-web (WebAssembly) in a worker, so the page stays responsive
// while a photo is classified. Messages in: load, warm, classify; out: progress, ready, result, error.
//
// "load" is sent as soon as the page knows the model (not on the first photo): the worker
// downloads or reads the model and the runtime and starts the session. "warm" runs it once on a
// blank input, so that the first real photo gets the speed of the second (the first run of a
// session pays for memory and compiled code). Messages are handled one at a time, in order.
import { modelInput } from "./preprocess.js";
import { heatmapPixels } from "./heatmap.js";
import { modelCache, runtimeCache, storedBytes } from "./stored.js";

const RUNTIME = "/static/vendor/ort/ort.wasm.bundle.min.mjs";
let ort = null;
let session = null;
let meta = null;

/** Progress in bytes as they travel: the runtime arrives gzip-compressed, its body decompressed. */
function progressReporter(info, id) {
  const parts = { model: { got: 0, scale: 1 }, runtime: { got: 0, scale: info.runtime.bytes / info.runtime.decoded_bytes } };
  const total = info.bytes + info.runtime.bytes;
  let last = 0;
  return (part) => (n, fromCache) => {
    parts[part].got += n * parts[part].scale;
    const loaded = Math.min(total, parts.model.got + parts.runtime.got);
    const now = performance.now();
    if (now - last > 100 || loaded >= total) { // a few updates a second are enough for a bar
      last = now;
      self.postMessage({ type: "progress", id, loaded: Math.round(loaded), total, fromCache });
    }
  };
}

async function load({ info, id }) {
  const report = progressReporter(info, id);
  const [model, wasm, runtime] = await Promise.all([
    storedBytes(info.url, modelCache(info.sha256), report("model")),
    storedBytes(info.runtime.url, runtimeCache(info.runtime.sha256), report("runtime")),
    import(RUNTIME),
  ]);
  ort = runtime;
  // One thread: more would need a cross-origin-isolated page, and the worker already keeps the
  // page free. The binary comes from the cache or the download above, never fetched twice.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmBinary = wasm;
  session = await ort.InferenceSession.create(new Uint8Array(model), {
    executionProviders: ["wasm"], graphOptimizationLevel: "all",
  });
  meta = info;
}

async function warm() {
  const out = await run(new Uint8Array(meta.img_size * meta.img_size * 3), true);
  for (const t of Object.values(out)) t.dispose?.();
}

async function run(pixels, cam) {
  const size = meta.img_size;
  const wanted = ["probabilities", "cloud_score", "clear_sky_score"].filter((n) => meta.outputs.includes(n));
  if (cam && meta.outputs.includes("cam")) wanted.push("cam");
  const feeds = { [meta.input]: new ort.Tensor("uint8", pixels, [1, size, size, 3]) };
  return session.run(feeds, wanted);
}

async function classify({ image, cam }) {
  const started = performance.now();
  const out = await run(modelInput(image, meta.img_size), cam);
  const probabilities = Float32Array.from(out.probabilities.data);
  const result = {
    probabilities,
    cloud_score: out.cloud_score ? out.cloud_score.data[0] : null,
    clear_sky_score: out.clear_sky_score ? out.clear_sky_score.data[0] : null,
    heatmap: null,
    ms: 0,
  };
  if (out.cam) {
    // The heat map of the most likely genus, as the server draws it (classifier.py, service.py).
    const [, , h, w] = out.cam.dims;
    const top = probabilities.indexOf(Math.max(...probabilities));
    result.heatmap = heatmapPixels(out.cam.data.subarray(top * h * w, (top + 1) * h * w), w, h);
  }
  for (const t of Object.values(out)) t.dispose?.();
  result.ms = performance.now() - started;
  return result;
}

async function handle(data) {
  try {
    if (data.type === "load") {
      await load(data);
      self.postMessage({ type: "ready", id: data.id });
    } else if (data.type === "warm") {
      await warm();
      self.postMessage({ type: "warm", id: data.id });
    } else if (data.type === "classify") {
      const result = await classify(data);
      const transfer = [result.probabilities.buffer];
      if (result.heatmap) transfer.push(result.heatmap.data.buffer);
      self.postMessage({ type: "result", id: data.id, result }, transfer);
    }
  } catch (err) {
    self.postMessage({ type: "error", id: data.id, message: String((err && err.message) || err) });
  }
}

let queue = Promise.resolve(); // one session, one run at a time
self.onmessage = ({ data }) => { queue = queue.then(() => handle(data)); };
