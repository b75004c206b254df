// The model on the device: onnxruntime-web (WebAssembly) in a worker, so the page stays responsive
// while a photo is classified. Messages in: load, classify; out: ready, result, error.
import { modelInput } from "./preprocess.js";
import { heatmapPixels } from "./heatmap.js";

const RUNTIME = "/static/vendor/ort/ort.wasm.bundle.min.mjs";
let ort = null;
let session = null;
let meta = null;

async function load({ model, wasm, info }) {
  ort = await import(RUNTIME);
  // One thread: more would need a cross-origin-isolated page, and the worker already keeps the
  // page free. The binary comes from the page (from the service worker's cache when offline).
  ort.env.wasm.numThreads = 1;
  if (wasm) ort.env.wasm.wasmBinary = wasm;
  session = await ort.InferenceSession.create(new Uint8Array(model), {
    executionProviders: ["wasm"], graphOptimizationLevel: "all",
  });
  meta = info;
}

async function classify({ image, cam }) {
  const started = performance.now();
  const size = meta.img_size;
  const pixels = modelInput(image, size);
  const wanted = ["probabilities", "cloud_score", "clear_sky_score"].filter((n) => meta.outputs.includes(n));
  if (cam && meta.outputs.includes("cam")) wanted.push("cam");
  const feeds = { [meta.input]: new ort.Tensor("uint8", pixels, [1, size, size, 3]) };
  const out = await session.run(feeds, wanted);
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

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "load") {
      await load(data);
      self.postMessage({ type: "ready", id: data.id });
    } else if (data.type === "classify") {
      const result = await classify(data);
      const transfer = [result.probabilities.buffer];
      if (result.heatmap) transfer.push(result.heatmap.data.buffer);
      self.postMessage({ type: "result", id: data.id, result }, transfer);
    }
  } catch (err) {
    self.postMessage({ type: "error", id: data.id, message: String((err && err.message) || err) });
  }
};
