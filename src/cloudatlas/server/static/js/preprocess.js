// The Python Classifier's preprocessing, pixel for pixel: the model must see the same input in the
// browser as on the server, or the two would give different answers for the same photo.
//
// Python (cloudatlas.imageio): load_image() box-averages photos more than twice the needed size
// (Image.reduce), then center_square() resizes the centre square to S x S with Pillow's BILINEAR
// filter and reducing_gap=2.0 (another integer reduce first, then the filtered resize). Pillow's
// BILINEAR is not plain bilinear sampling: when shrinking, its triangle filter widens with the
// scale, so every source pixel counts. Canvas scaling cannot reproduce that, so this module ports
// Pillow's C code (libImaging/Resample.c and Reduce.c), fixed-point rounding included.
//
// Images are {width, height, data}: data is RGBA, 4 bytes a pixel (as from getImageData; Pillow
// also keeps RGB in 4 bytes). Alpha is ignored: decode.js composites onto white first, as Python does.

const PRECISION_BITS = 32 - 8 - 2; // Resample.c: 8-bit pixels, fixed-point coefficients
const HALF = 1 << (PRECISION_BITS - 1);
const REDUCING_GAP = 2.0; // center_square's reducing_gap

/** JPEG draft mode (JpegImageFile.draft): the DCT scale Pillow decodes a large JPEG at. */
export function draftScale(width, height, size) {
  const scale = Math.min(Math.floor(width / size), Math.floor(height / size));
  return [8, 4, 2, 1].find((s) => scale >= s) || 1;
}

/** load_image's _shrink: the integer box-average step for photos over twice the needed size. */
export function shrinkFactor(width, height, size) {
  const factor = Math.floor(Math.min(width, height) / (2 * size));
  return factor >= 2 ? factor : 1;
}

// division_UINT32 in Reduce.c: a float32 reciprocal scaled so that (sum * m) >> 24 divides by n.
const reciprocal = (n) => Math.trunc(Math.fround(4294967296 / (256 * n)));

/** Image.reduce((fx, fy), box): the average of each fx x fy block; partial blocks at the edges
 *  average the pixels they have. box = [x0, y0, x1, y1] in integers. */
export function reduce(img, fx, fy, box = [0, 0, img.width, img.height]) {
  const [x0, y0, x1, y1] = box;
  const bw = x1 - x0, bh = y1 - y0;
  const ow = Math.ceil(bw / fx), oh = Math.ceil(bh / fy);
  const out = new Uint8ClampedArray(ow * oh * 4);
  const src = img.data, stride = img.width * 4;
  for (let y = 0; y < oh; y++) {
    const ya = y0 + y * fy, yb = Math.min(ya + fy, y0 + bh);
    for (let x = 0; x < ow; x++) {
      const xa = x0 + x * fx, xb = Math.min(xa + fx, x0 + bw);
      const n = (yb - ya) * (xb - xa);
      const amend = Math.floor(n / 2), m = reciprocal(n);
      let s0 = amend, s1 = amend, s2 = amend;
      for (let yy = ya; yy < yb; yy++) {
        let i = yy * stride + xa * 4;
        for (let xx = xa; xx < xb; xx++, i += 4) { s0 += src[i]; s1 += src[i + 1]; s2 += src[i + 2]; }
      }
      const o = (y * ow + x) * 4;
      out[o] = Math.floor((s0 * m) / 16777216);
      out[o + 1] = Math.floor((s1 * m) / 16777216);
      out[o + 2] = Math.floor((s2 * m) / 16777216);
      out[o + 3] = 255;
    }
  }
  return { width: ow, height: oh, data: out };
}

const triangle = (x) => { x = Math.abs(x); return x < 1 ? 1 - x : 0; };

// precompute_coeffs + normalize_coeffs_8bpc: for each output pixel, the first source pixel, how
// many it uses, and their weights in fixed point. in0/in1 are float32 in Pillow's C code.
function coefficients(inSize, in0, in1, outSize) {
  const scale = Math.fround(in1 - in0) / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1.0 * filterscale; // BILINEAR's support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    const ss = 1.0 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) { w[x] = triangle((x + xmin - center + 0.5) * ss); ww += w[x]; }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? w[x] / ww : w[x];
      kk[xx * ksize + x] = Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

const clip8 = (v) => (v >= 256 << PRECISION_BITS ? 255 : v <= 0 ? 0 : v >> PRECISION_BITS);

/** Pillow's resize((outW, outH), BILINEAR, box) without reducing_gap: horizontal pass, then vertical. */
export function resample(img, outW, outH, box) {
  const [b0, b1, b2, b3] = box.map(Math.fround);
  const needH = outW !== img.width || b0 !== 0 || b2 !== outW;
  const needV = outH !== img.height || b1 !== 0 || b3 !== outH;
  const horiz = coefficients(img.width, b0, b2, outW);
  const vert = coefficients(img.height, b1, b3, outH);
  let cur = img;
  let first = 0;
  if (needH) {
    first = vert.bounds[0];
    const last = vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1];
    const rows = last - first;
    const out = new Uint8ClampedArray(outW * rows * 4);
    const src = img.data, stride = img.width * 4, { ksize, bounds, kk } = horiz;
    for (let yy = 0; yy < rows; yy++) {
      const row = (yy + first) * stride;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1], k = xx * ksize;
        let s0 = HALF, s1 = HALF, s2 = HALF;
        for (let x = 0; x < xmax; x++) {
          const i = row + (x + xmin) * 4, c = kk[k + x];
          s0 += src[i] * c; s1 += src[i + 1] * c; s2 += src[i + 2] * c;
        }
        const o = (yy * outW + xx) * 4;
        out[o] = clip8(s0); out[o + 1] = clip8(s1); out[o + 2] = clip8(s2); out[o + 3] = 255;
      }
    }
    cur = { width: outW, height: rows, data: out };
  }
  if (!needV) return cur;
  const out = new Uint8ClampedArray(cur.width * outH * 4);
  const src = cur.data, stride = cur.width * 4, { ksize, bounds, kk } = vert;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2] - first, ymax = bounds[yy * 2 + 1], k = yy * ksize;
    for (let xx = 0; xx < cur.width; xx++) {
      let s0 = HALF, s1 = HALF, s2 = HALF;
      for (let y = 0; y < ymax; y++) {
        const i = (y + ymin) * stride + xx * 4, c = kk[k + y];
        s0 += src[i] * c; s1 += src[i + 1] * c; s2 += src[i + 2] * c;
      }
      const o = (yy * cur.width + xx) * 4;
      out[o] = clip8(s0); out[o + 1] = clip8(s1); out[o + 2] = clip8(s2); out[o + 3] = 255;
    }
  }
  return { width: cur.width, height: outH, data: out };
}

/** imageio.center_square: the centre square resized to size x size, as Image.resize with
 *  reducing_gap=2.0 does it (an integer reduce over a safe box first when shrinking a lot). */
export function centerSquare(img, size) {
  const { width, height } = img;
  const side = Math.min(width, height);
  const left = (width - side) / 2, top = (height - side) / 2;
  let box = [left, top, left + side, top + side];
  if (width === size && height === size) return img; // Pillow copies; nothing to resample
  const factor = Math.trunc((box[2] - box[0]) / size / REDUCING_GAP) || 1;
  if (factor > 1) {
    const support = 0.5 * ((box[2] - box[0]) / size); // _get_safe_box: (support 1 - 0.5) * scale
    const safe = [Math.max(0, Math.trunc(box[0] - support)), Math.max(0, Math.trunc(box[1] - support)),
      Math.min(width, Math.ceil(box[2] + support)), Math.min(height, Math.ceil(box[3] + support))];
    img = reduce(img, factor, factor, safe);
    box = [(box[0] - safe[0]) / factor, (box[1] - safe[1]) / factor,
      (box[2] - safe[0]) / factor, (box[3] - safe[1]) / factor];
  }
  return resample(img, size, size, box);
}

/** The model's input for one decoded photo: load_image's shrink, then center_square; RGB bytes. */
export function modelInput(img, size) {
  const f = shrinkFactor(img.width, img.height, size);
  const square = centerSquare(f > 1 ? reduce(img, f, f) : img, size);
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = square.data[i]; rgb[j + 1] = square.data[i + 1]; rgb[j + 2] = square.data[i + 2];
  }
  return rgb;
}
