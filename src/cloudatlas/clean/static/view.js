// Drawing the cleaner: the filters, the grid of cards, the counts, the journal, the selection.
// What the buttons do is handed in (``onCard``), so drawing knows nothing of the server.
import { photoUrl } from "./server.js";
import { KIND_NAMES, PAGE, state } from "./state.js";

export const $ = (sel, root = document) => root.querySelector(sel);
let handlers = { keep() {}, delete() {}, move() {}, undo() {} };
/** What the card's buttons do: {keep(id), delete(id), move(id, label), undo(entry)}. */
export function onCard(h) { handlers = h; }

export function say(text, error = false) {
  const m = $("#message");
  m.textContent = text;
  m.classList.toggle("error", error);
}

export function buildFilters() {
  const labelSel = $("#label-filter");
  const present = [...new Set([...state.items.values()].map((v) => v.label))].sort();
  labelSel.replaceChildren(new Option("All labels", "all"), ...present.map((l) => new Option(l, l)));
  const kindSel = $("#kind-filter");
  const kinds = ["problems", "undecided", ...state.kinds, "decided", "all"];
  kindSel.replaceChildren(...kinds.map((k) => new Option(KIND_NAMES[k] || k, k)));
  if (![...labelSel.options].some((o) => o.value === state.filter.label)) state.filter.label = "all";
  if (!kinds.includes(state.filter.kind)) state.filter.kind = "problems";
  labelSel.value = state.filter.label;
  kindSel.value = state.filter.kind;
  const keys = state.labels.slice(0, 10).flatMap((l, i) => {
    const kbd = document.createElement("kbd");
    kbd.textContent = String((i + 1) % 10);
    return [kbd, ` ${l}  `];
  });
  $("#label-keys").replaceChildren("Move keys: ", ...keys);
}

export function renderGrid() {
  const ids = state.visible.slice(0, state.shown);
  $("#grid").replaceChildren(...ids.map((id) => makeCard(state.items.get(id))));
  $("#more").hidden = state.visible.length <= state.shown;
  $("#more").textContent = `Show more (${state.visible.length - state.shown} left)`;
  $("#empty").hidden = state.visible.length > 0;
  markSelected(false);
}

function makeCard(v) {
  const card = $("#card-template").content.firstElementChild.cloneNode(true);
  card.dataset.id = v.id;
  const img = $("img", card);
  img.addEventListener("error", () => img.classList.add("broken"));
  img.addEventListener("load", () => img.classList.remove("broken"));
  card.addEventListener("click", (ev) => {
    if (ev.target.closest("button, select, a")) return;
    select(v.id, false);
  });
  $(".keep", card).addEventListener("click", () => handlers.keep(v.id));
  $(".delete", card).addEventListener("click", () => handlers.delete(v.id));
  $(".undo", card).addEventListener("click", () => handlers.undo(state.items.get(v.id).last_entry));
  $(".move", card).addEventListener("change", (ev) => {
    if (ev.target.value) handlers.move(v.id, ev.target.value);
  });
  fillCard(card, v);
  return card;
}

export function fillCard(card, v) {
  card.dataset.path = v.path;
  card.dataset.status = v.status;
  card.dataset.label = v.label;
  card.classList.toggle("deleted", v.status === "deleted");
  const img = $("img", card);
  const src = photoUrl(v);
  if (img.getAttribute("src") !== src) img.setAttribute("src", src);
  img.alt = v.path;
  $(".thumb", card).href = photoUrl(v, 1600);
  $(".label", card).textContent = v.label;
  $(".path", card).textContent = v.path;
  const status = $(".status", card);
  status.textContent = v.status === "pending" ? "" : v.status;
  status.className = `status ${v.status}`;
  $(".problems", card).replaceChildren(...v.problems.map((p) => {
    const li = document.createElement("li");
    li.className = p.kind;
    li.textContent = p.message;
    return li;
  }));
  const options = [new Option(v.status === "deleted" ? "Restore to…" : "Move to…", "")];
  for (const l of state.labels) {
    if (l === v.label && v.status !== "deleted") continue;
    const n = state.labels.indexOf(l);
    const hint = v.suggested === l ? " (suggested)" : "";
    options.push(new Option(`${n < 10 ? (n + 1) % 10 + " " : ""}${l}${hint}`, l));
  }
  const move = $(".move", card);
  move.replaceChildren(...options);
  move.value = "";
  $(".keep", card).disabled = v.status === "deleted" || v.status === "kept";
  $(".delete", card).disabled = v.status === "deleted";
  $(".undo", card).hidden = v.status === "pending" || v.last_entry == null;
}

/** Redraw the cards of the photos a change touched, where they are on screen. */
export function refreshCards(views) {
  for (const v of views) {
    const card = document.querySelector(`.card[data-id="${v.id}"]`);
    if (card) fillCard(card, v);
  }
}

export function renderCounts() {
  const views = [...state.items.values()];
  const live = views.filter((v) => v.status !== "deleted");
  const parts = [`${live.length} photos`];
  for (const k of state.kinds) {
    const n = live.filter((v) => v.kinds.includes(k)).length;
    if (n) parts.push(`${n} ${(KIND_NAMES[k] || k).toLowerCase()}`);
  }
  parts.push(`${views.filter((v) => v.status !== "pending").length} reviewed`);
  parts.push(`showing ${state.visible.length}`);
  $("#counts").textContent = parts.join(" · ");
}

export function renderJournal() {
  $("#journal-list").replaceChildren(...state.journal.map((e) => {
    const li = document.createElement("li");
    li.value = e.id;
    li.className = e.undone ? "undone" : "";
    li.dataset.entry = e.id;
    li.append(document.createTextNode(`${e.text}`));
    if (e.undoable) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "undo";
      b.addEventListener("click", () => handlers.undo(e.id));
      li.append(b);
    }
    return li;
  }));
  $("#undo-last").disabled = !state.journal.some((e) => e.undoable);
}

export function markSelected(scroll) {
  for (const c of document.querySelectorAll(".card.selected")) c.classList.remove("selected");
  const card = document.querySelector(`.card[data-id="${state.selected}"]`);
  if (card) {
    card.classList.add("selected");
    if (scroll) card.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
}

export function select(id, scroll = true) {
  state.selected = id;
  const index = state.visible.indexOf(id);
  if (index >= state.shown) {
    state.shown = index + PAGE;
    renderGrid();
  }
  markSelected(scroll);
}

export function step(delta) {
  if (!state.visible.length) return;
  const i = state.visible.indexOf(state.selected);
  select(state.visible[Math.max(0, Math.min(state.visible.length - 1, i < 0 ? 0 : i + delta))]);
}

export function toggle(panel, button) {
  const el = $(panel);
  el.hidden = !el.hidden;
  $(button).setAttribute("aria-expanded", String(!el.hidden));
}
