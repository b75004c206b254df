// Share an answer: the photo, the genus and one line, through the phone's share sheet (Web
// Share API); where the browser cannot share (most desktops), the line and a link are copied.
// The link opens CloudAtlas on the genus (#seen=Cu), which the page shows as "shared with you".

export function shareLine(answer) {
  return `${answer.headline}, named with CloudAtlas.`;
}

export const seenLink = (code) => `${location.origin}/#seen=${encodeURIComponent(code)}`;

/** Resolves "shared", "copied", "cancelled" or "failed". */
export async function share(answer, photo) {
  const line = shareLine(answer);
  const url = seenLink(answer.choice || answer.predictions[0].label);
  const files = photo ? [new File([photo], "sky.jpg", { type: photo.type || "image/jpeg" })] : [];
  const data = { title: "CloudAtlas", text: line, url };
  if (navigator.share) {
    const withPhoto = files.length && navigator.canShare && navigator.canShare({ files }) ? { ...data, files } : data;
    try {
      await navigator.share(withPhoto);
      return "shared";
    } catch (err) {
      if (err.name === "AbortError") return "cancelled";
    }
  }
  try {
    await navigator.clipboard.writeText(`${line} ${url}`);
    return "copied";
  } catch {
    return "failed";
  }
}
