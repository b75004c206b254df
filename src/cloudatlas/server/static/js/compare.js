// "Not sure": the candidate genera side by side, each with real reference photos, swiped one
// after another on a phone (a scroll-snapping row) while the person's photo stays pinned above;
// "This one" records the person's own choice, as does the list of every other genus.
import { allGenera, factsList, referencePhotos } from "./cards.js";
import { $, el, percent } from "./dom.js";

let onChoose = () => {};
/** ``handler(label)`` is called with the genus the person chose. */
export function whenChosen(handler) { onChoose = handler; }

function candidateCard(p, index, count) {
  const li = el("li", "candidate");
  li.dataset.label = p.label;
  const card = el("article", "card compare-card");
  card.setAttribute("aria-label", `${index + 1} of ${count}: ${p.name}`);
  const photos = el("div", "ref-photos");
  const refs = referencePhotos(p.label, p.name);
  for (const ref of refs) {
    const img = el("img");
    img.src = ref.src;
    img.alt = ref.alt;
    img.loading = "lazy";
    photos.append(img);
  }
  if (!refs.length) {
    const img = el("img");
    img.src = `/static/genera/${p.label}.svg`;
    img.alt = `A drawing of ${p.name}`;
    photos.append(img);
  }
  const name = el("h3", "card-name", `${p.name} (${p.label}) `);
  name.append(el("span", "card-pct", percent(p.probability)));
  const choose = el("button", "choose", "This one");
  choose.type = "button";
  choose.setAttribute("aria-label", `This one: ${p.name}`);
  choose.addEventListener("click", () => onChoose(p.label));
  // what tells genera apart, and what it means; the level is in the heading above
  card.append(photos, name, choose, factsList(p.label, ["look", "weather"]));
  li.append(card);
  return li;
}

/** Fill the compare view with ``candidates`` (predictions) and every genus for "None of these". */
export function showCandidates(candidates, chosen = null) {
  $("compare").replaceChildren(...candidates.map((p, i) => candidateCard(p, i, candidates.length)));
  $("compare").scrollLeft = 0;
  const other = $("choose-other");
  other.replaceChildren(new Option("Choose a genus…", ""),
    ...allGenera().map((g) => new Option(`${g.name} (${g.code})`, g.code)));
  other.value = "";
  other.onchange = () => { if (other.value) onChoose(other.value); };
  markChosen(chosen);
}

/** Show which card the person chose (pressed), or none. */
export function markChosen(label) {
  for (const li of $("compare").children) {
    const button = li.querySelector("button.choose");
    const on = li.dataset.label === label;
    li.classList.toggle("chosen", on);
    button.setAttribute("aria-pressed", String(on));
  }
}
