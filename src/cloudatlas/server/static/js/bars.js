// Every genus as a bar, most likely first; the top three shown, the rest behind "Show all".
// Each bar opens its own card (a native <details>: keyboard and screen readers for free).
import { genusCard } from "./cards.js";
import { $, el, percent } from "./dom.js";

const BARS_SHOWN = 3;

export function fillBars(preds) {
  $("bars").replaceChildren(...preds.map((p, i) => bar(p, i)));
  setShowAll(false);
  requestAnimationFrame(() => {
    $("bars").querySelectorAll(".fill").forEach((fill) => { fill.style.width = fill.dataset.width; });
  });
}

export function setShowAll(all) {
  const items = $("bars").children;
  for (let i = 0; i < items.length; i++) items[i].hidden = !all && i >= BARS_SHOWN;
  const button = $("show-all");
  button.hidden = items.length <= BARS_SHOWN;
  button.setAttribute("aria-expanded", String(all));
  button.textContent = all ? "Show fewer" : `Show all ${items.length}`;
}

export function toggleShowAll() {
  setShowAll($("show-all").getAttribute("aria-expanded") !== "true");
}

function bar(p, index) {
  const li = el("li", index === 0 ? "top" : "");
  const details = el("details");
  const summary = el("summary");
  const label = el("span", "label");
  label.append(el("span", "name", p.name), el("span", "code", ` ${p.label}`));
  const pct = el("span", "pct", p.probability < 0.005 && p.probability > 0 ? "<1 %" : percent(p.probability));
  const track = el("span", "track");
  track.setAttribute("aria-hidden", "true");
  const fill = el("span", "fill");
  fill.dataset.width = `${(p.probability * 100).toFixed(1)}%`;
  track.append(fill);
  summary.append(label, pct, track);
  details.append(summary);
  details.addEventListener("toggle", () => {
    if (details.open && details.children.length === 1) details.append(genusCard(p));
  });
  li.append(details);
  return li;
}
