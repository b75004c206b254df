// What the page knows of each genus: the field-guide words of /api/v1/labels, and the reference
// photos from CCSN (static/reference, chosen by scripts/reference_photos.py) with the drawings
// as a fallback. A genus card shows them; the compare view and the bars reuse it.
import { el } from "./dom.js";

let genera = {};    // code -> {name, level, look, precipitation, weather}
let references = {}; // code -> [{file, from}]

export function setGenera(list) { genera = Object.fromEntries(list.map((g) => [g.code, g])); }
export function setReferences(index) { references = (index && index.genera) || {}; }
export const genusOf = (code) => genera[code] || {};
export const allGenera = () => Object.values(genera);

/** The reference photos of a genus as {src, alt}; none when the genus has none. */
export function referencePhotos(code, name) {
  return (references[code] || []).map((r, i) => ({
    src: `/static/reference/${r.file}`,
    alt: `Reference photo ${i + 1} of ${name || code} (CCSN, ${r.from})`,
  }));
}

/** Show a genus's first reference photo in ``img``, or its drawing, or nothing. */
export function genusPicture(img, code, name) {
  const [photo] = referencePhotos(code, name);
  img.hidden = true;
  img.onload = () => { img.hidden = false; };
  img.onerror = () => { img.hidden = true; };
  img.alt = photo ? photo.alt : "";
  img.src = photo ? photo.src : `/static/genera/${code}.svg`;
}

export const FACTS = [["What it looks like", "look"], ["Level", "level"], ["Rain or snow?", "precipitation"],
  ["What it means for the weather", "weather"]];

/** The field-guide list of a genus (``keys``: which of FACTS). */
export function factsList(code, keys = FACTS.map(([, key]) => key)) {
  const g = genusOf(code);
  const dl = el("dl");
  for (const [term, key] of FACTS.filter(([, k]) => keys.includes(k))) dl.append(el("dt", null, term), el("dd", null, g[key] || "unknown"));
  return dl;
}

/** A genus card: picture, name, facts; ``headingLevel`` keeps the page's outline in order. */
export function genusCard(p, headingLevel = "h4") {
  const card = el("article", "card small-card");
  const img = el("img", "genus-picture");
  genusPicture(img, p.label, p.name);
  const body = el("div");
  body.append(el(headingLevel, "card-name", `${p.name} (${p.label})`), factsList(p.label));
  card.append(img, body);
  return card;
}
