// What a file is, from its first bytes, and why this browser may not read it: so that the page
// can say so ("this browser cannot read HEIC photos") and ask before it sends a photo anywhere.

const ascii = (bytes, from, to) => String.fromCharCode(...bytes.slice(from, to));

/** "jpeg", "png", "gif", "webp", "heic", "avif", "bmp", "tiff" or null (not a photo we know). */
export async function photoKind(blob) {
  const head = new Uint8Array(await blob.slice(0, 32).arrayBuffer());
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "jpeg";
  if (head[0] === 0x89 && ascii(head, 1, 4) === "PNG") return "png";
  if (ascii(head, 0, 3) === "GIF") return "gif";
  if (ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 12) === "WEBP") return "webp";
  if (ascii(head, 0, 2) === "BM") return "bmp";
  if (ascii(head, 0, 4) === "II*\0" || ascii(head, 0, 4) === "MM\0*") return "tiff";
  if (ascii(head, 4, 8) === "ftyp") {
    const brands = ascii(head, 8, Math.min(head.length, 32));
    if (/avi[fs]/.test(brands)) return "avif";
    if (/hei[cmsx]|hev[cmsx]|mif1|msf1/.test(brands)) return "heic";
  }
  return null;
}

/** A JPEG whose end-of-image marker is missing: cut off while copying or uploading. */
export async function truncatedJpeg(blob) {
  const tail = new Uint8Array(await blob.slice(Math.max(0, blob.size - 16)).arrayBuffer());
  for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return false;
  return true;
}

/** Why this browser could not read ``blob`` (which it failed to decode), in the page's words. */
export async function whyUnreadable(blob) {
  const kind = await photoKind(blob);
  if (kind === "heic") return "This browser cannot read HEIC photos (the iPhone's usual format).";
  if (kind === "avif") return "This browser cannot read AVIF photos.";
  if (kind === "tiff") return "This browser cannot read TIFF images.";
  if (kind === "jpeg" && (await truncatedJpeg(blob))) {
    return "This photo seems cut off (its file is incomplete), so this browser cannot read all of it.";
  }
  return "This browser cannot read this photo.";
}

/** A sentence for a file that is no photo at all, or null when it may be one. */
export async function notAPhoto(file) {
  if (await photoKind(file)) return null;
  if (file.type && file.type.startsWith("image/")) return null; // a format we do not sniff: let the decoder try
  const name = file.name || "This file";
  return `${name} is not a photo. Choose a JPEG, PNG, WebP or HEIC photo.`;
}
