// "Where the model looked": a class activation map -> a small RGBA picture, drawn like the
// server's heat map (service.cam_png): purple -> magenta -> red -> orange -> yellow, transparent
// where cold. No blue, cyan, white or grey anywhere on the scale: laid over a sky, "little
// attention" must not look like the sky itself (every stop has more red than blue).
export const HEATMAP_SIZE = 56; // smooth enough that the browser's upscaling looks the same as more

export const STOPS = [[0.0, 90, 0, 90], [0.35, 170, 0, 140], [0.6, 225, 30, 60], [0.8, 255, 130, 0], [1.0, 255, 230, 0]];

function colour(v) {
  for (let i = 1; i < STOPS.length; i++) {
    const [v1, ...c1] = STOPS[i];
    if (v <= v1) {
      const [v0, ...c0] = STOPS[i - 1];
      const t = (v - v0) / (v1 - v0);
      return c0.map((c, k) => c + t * (c1[k] - c));
    }
  }
  return STOPS[STOPS.length - 1].slice(1);
}

/** cam [h, w] (raw activations) -> {width, height, data (RGBA)} of HEATMAP_SIZE square. */
export function heatmapPixels(cam, w, h, size = HEATMAP_SIZE) {
  let max = 0;
  for (const v of cam) if (v > max) max = v;
  const at = (x, y) => Math.max(0, cam[y * w + x]) / (max || 1);
  const data = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    // bilinear, pixel centres aligned, as Pillow's upscaling of the map
    const fy = Math.min(Math.max((y + 0.5) * (h / size) - 0.5, 0), h - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, h - 1), ty = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (w / size) - 0.5, 0), w - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, w - 1), tx = fx - x0;
      const v = Math.min(1, (at(x0, y0) * (1 - tx) + at(x1, y0) * tx) * (1 - ty) + (at(x0, y1) * (1 - tx) + at(x1, y1) * tx) * ty);
      const [r, g, b] = colour(v);
      const o = (y * size + x) * 4;
      data[o] = r; data[o + 1] = g; data[o + 2] = b;
      data[o + 3] = Math.min(1, Math.max(0, (v - 0.15) / 0.85)) ** 0.8 * 200;
    }
  }
  return { width: size, height: size, data };
}

/** Heat-map pixels -> a PNG data URL, the form the API returns. */
export function heatmapDataUrl({ width, height, data }) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(data, width, height), 0, 0);
  return canvas.toDataURL("image/png");
}
