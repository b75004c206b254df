// Small copies of a photo for the history: a thumbnail for the list, and a photo large enough
// to train on (the model looks at a square of a few hundred pixels) for the ZIP export.
import { scaledJpeg } from "./decode.js";

const THUMB_SIDE = 160;
const PHOTO_SIDE = 768;

/** {thumb, photo} JPEG blobs of ``blob``, or nulls when this browser cannot read it (HEIC). */
export async function snapshots(blob) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch {
    return { thumb: null, photo: null };
  }
  try {
    return { thumb: await scaledJpeg(bitmap, THUMB_SIDE, 0.8), photo: await scaledJpeg(bitmap, PHOTO_SIDE, 0.88) };
  } finally {
    bitmap.close();
  }
}
