// Small DOM and wording helpers every view of the page uses.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export const percent = (p) => `${Math.round(p * 100)} %`;
export const capitalised = (s) => s.charAt(0).toUpperCase() + s.slice(1);
export const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** "phone" on a touch screen, "device" elsewhere: "Answered on this phone". */
export function deviceWord() {
  return window.matchMedia("(pointer: coarse)").matches ? "phone" : "device";
}

/** Save ``blob`` as a download called ``name`` (works offline: nothing is fetched). */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
