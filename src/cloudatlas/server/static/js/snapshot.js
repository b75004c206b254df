// Small copies of a photo for the history: a thumbnail for the list, and a photo large enough
// to train on (the model looks at a square of a few hundred pixels) for the ZIP export.
const THUMB_SIDE = 160;
const PHOTO_SIDE = 768;

async function jpegOf(bitmap, longest, quality) {
  const scale = Math.min(1, longest / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

/** {thumb, photo} JPEG blobs of ``blob``, or nulls when this browser cannot read it (HEIC). */
export async function snapshots(blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch {
    return { thumb: null, photo: null };
  }
  try {
    return { thumb: await jpegOf(bitmap, THUMB_SIDE, 0.8), photo: await jpegOf(bitmap, PHOTO_SIDE, 0.88) };
  } finally {
    bitmap.close();
  }
}
