// Decoding a photo in the browser the way Python's load_image does, up to the pixels that
// preprocess.js then resizes exactly as Pillow would.
import { draftScale } from "./preprocess.js";

// Upright (EXIF orientation applied, as load_image does), and the file's own colours: Pillow
// ignores embedded colour profiles, so the browser must not convert them either.
const DECODE = { imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none" };
const MAX_CANVAS_PIXELS = 16e6; // iOS Safari refuses larger canvases

async function isJpeg(blob) {
  const head = new Uint8Array(await blob.slice(0, 3).arrayBuffer());
  return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
}

/** A photo file -> {width, height, data (RGBA)}, or null when this browser cannot read it. */
export async function decodePhoto(blob, size) {
  if (!("createImageBitmap" in window)) return null;
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, DECODE);
  } catch {
    return null; // not an image, or a format this browser cannot read (HEIC outside Safari)
  }
  // Python decodes a large JPEG at a reduced DCT scale (draft mode), which averages 8x8, 4x4 or
  // 2x2 blocks. The browser's high-quality downscale to the same size is the closest it offers;
  // it also keeps huge photos within canvas limits. Other formats are reduced exactly later.
  const s = draftScale(bitmap.width, bitmap.height, size);
  const tooBig = bitmap.width * bitmap.height > MAX_CANVAS_PIXELS;
  if (s > 1 && (tooBig || (await isJpeg(blob)))) {
    const step = tooBig ? Math.max(s, Math.ceil(Math.sqrt((bitmap.width * bitmap.height) / MAX_CANVAS_PIXELS))) : s;
    const small = await createImageBitmap(bitmap, {
      resizeWidth: Math.ceil(bitmap.width / step), resizeHeight: Math.ceil(bitmap.height / step),
      resizeQuality: "high",
    });
    bitmap.close();
    bitmap = small;
  }
  const pixels = bitmapPixels(bitmap);
  bitmap.close();
  return pixels;
}

/** Any drawable (bitmap, video frame, canvas) -> RGBA pixels, transparent parts on white like Python. */
export function bitmapPixels(source, width = source.width, height = source.height, crop = null) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  if (crop) {
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(source, crop.x, crop.y, crop.w, crop.h, 0, 0, width, height);
  } else {
    ctx.drawImage(source, 0, 0);
  }
  const { data } = ctx.getImageData(0, 0, width, height);
  return { width, height, data };
}

/** A JPEG of ``bitmap`` no longer than ``longest`` pixels on its longer side (the server's upload,
 *  the history's copies); null when the browser cannot encode one. */
export function scaledJpeg(bitmap, longest, quality) {
  const scale = Math.min(1, longest / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}
