// CloudAtlas cleaner: review photos most-suspicious-first; every decision is saved at once.
// The server is the only store of decisions, so filters and reloads can never lose one.
"use strict";

const PAGE = 60;
const KIND_NAMES = {
  problems: "Any problem", undecided: "Problems not yet reviewed", all: "All photos",
  conflict: "Conflicts", duplicate: "Duplicates", suspicious: "Suspicious labels",
  unreadable: "Unreadable", tiny: "Tiny", non_photo: "Not photos", decided: "Reviewed (kept, moved, deleted)",
};
const state = {
  items: new Map(), order: [], labels: [], kinds: [], journal: [],
  filter: { label: "all", kind: "problems" }, visible: [], shown: PAGE, selected: null,
};
const $ = (sel, root = document) => root.querySelector(sel);

// ---- server ----------------------------------------------------------------------------------
// The server writes a secret into this page; only requests carrying it may change files, so
// other web pages open in the browser cannot drive the cleaner.
const TOKEN = document.querySelector('meta[name="cloudatlas-token"]').content;

async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (method !== "GET") opts.headers["X-CloudAtlas-Token"] = TOKEN;
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok) throw new Error((data && data.message) || `${res.status} ${res.statusText}`);
  return data;
}

async function loadState() {
  const data = await api("GET", "/api/state");
  state.labels = data.labels;
  state.kinds = data.kinds;
  state.journal = data.journal;
  state.items = new Map(data.items.map((v) => [v.id, v]));
  state.order = data.items.map((v) => v.id);  // already most suspicious first
  $("#root").textContent = data.root;
  $("#notes").textContent = data.notes.join(" ");
  buildFilters();
  applyFilter(true);
  renderJournal();
}

function absorb(data) {
  for (const v of data.items) state.items.set(v.id, v);
  state.journal = data.journal;
  for (const v of data.items) {
    const card = document.querySelector(`.card[data-id="${v.id}"]`);
    if (card) fillCard(card, v);
  }
  renderCounts();
  renderJournal();
}

// ---- filters ---------------------------------------------------------------------------------
function matches(v) {
  const f = state.filter;
  if (f.label !== "all" && v.label !== f.label) return false;
  switch (f.kind) {
    case "all": return true;
    case "problems": return v.kinds.length > 0;
    case "undecided": return v.kinds.length > 0 && v.status === "pending";
    case "decided": return v.status !== "pending";
    default: return v.kinds.includes(f.kind);
  }
}

function buildFilters() {
  const labelSel = $("#label-filter");
  const present = [...new Set([...state.items.values()].map((v) => v.label))].sort();
  labelSel.replaceChildren(new Option("All labels", "all"), ...present.map((l) => new Option(l, l)));
  const kindSel = $("#kind-filter");
  const kinds = ["problems", "undecided", ...state.kinds, "decided", "all"];
  kindSel.replaceChildren(...kinds.map((k) => new Option(KIND_NAMES[k] || k, k)));
  readHash();
  if (![...labelSel.options].some((o) => o.value === state.filter.label)) state.filter.label = "all";
  if (!kinds.includes(state.filter.kind)) state.filter.kind = "problems";
  labelSel.value = state.filter.label;
  kindSel.value = state.filter.kind;
  $("#label-keys").innerHTML = "Move keys: " + state.labels.slice(0, 10)
    .map((l, i) => `<kbd>${(i + 1) % 10}</kbd> ${escapeHtml(l)}`).join(" &nbsp;");
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("label")) state.filter.label = params.get("label");
  if (params.get("kind")) state.filter.kind = params.get("kind");
}

function applyFilter(keepSelection) {
  // The list is fixed when the filter changes: acting on a photo updates its card in place
  // instead of making it vanish, so you can see (and undo) what you just did.
  state.visible = state.order.filter((id) => matches(state.items.get(id)));
  state.shown = PAGE;
  if (!keepSelection || !state.visible.includes(state.selected)) state.selected = state.visible[0] ?? null;
  history.replaceState(null, "", `#label=${encodeURIComponent(state.filter.label)}&kind=${state.filter.kind}`);
  renderGrid();
  renderCounts();
}

function setFilter(label, kind) {
  state.filter = { label, kind };
  $("#label-filter").value = label;
  $("#kind-filter").value = kind;
  applyFilter(true);
}

// ---- rendering -------------------------------------------------------------------------------
function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function renderGrid() {
  const grid = $("#grid");
  const ids = state.visible.slice(0, state.shown);
  grid.replaceChildren(...ids.map((id) => makeCard(state.items.get(id))));
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
  $(".keep", card).addEventListener("click", () => act(v.id, "keep"));
  $(".delete", card).addEventListener("click", () => act(v.id, "delete"));
  $(".undo", card).addEventListener("click", () => undo(state.items.get(v.id).last_entry));
  $(".move", card).addEventListener("change", (ev) => {
    const label = ev.target.value;
    if (label) act(v.id, "move", label);
  });
  fillCard(card, v);
  return card;
}

function fillCard(card, v) {
  card.dataset.path = v.path;
  card.dataset.status = v.status;
  card.dataset.label = v.label;
  card.classList.toggle("deleted", v.status === "deleted");
  const version = encodeURIComponent(v.path);
  const img = $("img", card);
  const src = `/api/photo/${v.id}?v=${version}`;
  if (img.getAttribute("src") !== src) img.setAttribute("src", src);
  img.alt = v.path;
  $(".thumb", card).href = `/api/photo/${v.id}?size=1600&v=${version}`;
  $(".label", card).textContent = v.label;
  $(".path", card).textContent = v.path;
  const status = $(".status", card);
  status.textContent = v.status === "pending" ? "" : v.status;
  status.className = `status ${v.status}`;
  const problems = $(".problems", card);
  problems.replaceChildren(...v.problems.map((p) => {
    const li = document.createElement("li");
    li.className = p.kind;
    li.textContent = p.message;
    return li;
  }));
  const move = $(".move", card);
  const options = [new Option(v.status === "deleted" ? "Restore to…" : "Move to…", "")];
  for (const l of state.labels) {
    if (l === v.label && v.status !== "deleted") continue;
    const n = state.labels.indexOf(l);
    const hint = v.suggested === l ? " (suggested)" : "";
    options.push(new Option(`${n < 10 ? (n + 1) % 10 + " " : ""}${l}${hint}`, l));
  }
  move.replaceChildren(...options);
  move.value = "";
  $(".keep", card).disabled = v.status === "deleted" || v.status === "kept";
  $(".delete", card).disabled = v.status === "deleted";
  const undoBtn = $(".undo", card);
  undoBtn.hidden = v.status === "pending" || v.last_entry == null;
}

function renderCounts() {
  const views = [...state.items.values()];
  const live = views.filter((v) => v.status !== "deleted");
  const parts = [`${live.length} photos`];
  for (const k of state.kinds) {
    const n = live.filter((v) => v.kinds.includes(k)).length;
    if (n) parts.push(`${n} ${(KIND_NAMES[k] || k).toLowerCase()}`);
  }
  const changed = views.filter((v) => v.status !== "pending").length;
  parts.push(`${changed} reviewed`);
  parts.push(`showing ${state.visible.length}`);
  $("#counts").textContent = parts.join(" · ");
}

function renderJournal() {
  const list = $("#journal-list");
  list.replaceChildren(...state.journal.map((e) => {
    const li = document.createElement("li");
    li.value = e.id;
    li.className = e.undone ? "undone" : "";
    li.dataset.entry = e.id;
    li.append(document.createTextNode(`${e.text}`));
    if (e.undoable) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "undo";
      b.addEventListener("click", () => undo(e.id));
      li.append(b);
    }
    return li;
  }));
  $("#undo-last").disabled = !state.journal.some((e) => e.undoable);
}

function markSelected(scroll) {
  for (const c of document.querySelectorAll(".card.selected")) c.classList.remove("selected");
  const card = document.querySelector(`.card[data-id="${state.selected}"]`);
  if (card) {
    card.classList.add("selected");
    if (scroll) card.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }
}

function select(id, scroll = true) {
  state.selected = id;
  const index = state.visible.indexOf(id);
  if (index >= state.shown) {
    state.shown = index + PAGE;
    renderGrid();
  }
  markSelected(scroll);
}

function step(delta) {
  if (!state.visible.length) return;
  const i = state.visible.indexOf(state.selected);
  const next = Math.max(0, Math.min(state.visible.length - 1, (i < 0 ? 0 : i + delta)));
  select(state.visible[next]);
}

function say(text, error = false) {
  const m = $("#message");
  m.textContent = text;
  m.classList.toggle("error", error);
}

// ---- actions ---------------------------------------------------------------------------------
// Requests run one after another, in the order they were made, so a fast reviewer's key presses
// are neither dropped nor reordered; the selection moves on at once, not after the answer.
let queue = Promise.resolve();

function enqueue(task) {
  queue = queue.then(task, task);
  return queue;
}

function act(id, action, label) {
  if (id === state.selected && action !== "undo") step(+1);
  return enqueue(async () => {
    try {
      const url = `/api/items/${id}/${action}`;
      const data = await api("POST", url, action === "move" ? { label } : undefined);
      absorb(data);
      const entry = state.journal[0];
      say(entry ? `Saved: ${entry.text}` : "Saved.");
    } catch (err) {
      say(err.message, true);
      await loadState().catch(() => {});
    }
  });
}

function undo(entryId) {
  return enqueue(async () => {
    try {
      const data = await api("POST", "/api/undo", entryId == null ? {} : { entry: entryId });
      absorb(data);
      const entry = state.journal[0];
      say(entry ? `Undone: ${entry.text}` : "Undone.");
      if (data.items.length && state.visible.includes(data.items[0].id)) select(data.items[0].id);
    } catch (err) {
      say(err.message, true);
    }
  });
}

// ---- keyboard --------------------------------------------------------------------------------
document.addEventListener("keydown", (ev) => {
  const inField = ev.target.closest && ev.target.closest("select, input, textarea");
  if (inField) {
    if (ev.key === "Escape") ev.target.blur();
    return;
  }
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "z") {
    ev.preventDefault();
    undo();
    return;
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const id = state.selected;
  const v = id == null ? null : state.items.get(id);
  const key = ev.key;
  let handled = true;
  if (key === "j" || key === "ArrowDown") step(+1);
  else if (key === "k" || key === "ArrowUp") step(-1);
  else if ((key === "Enter" || key === "y") && v) act(id, "keep");
  else if ((key === "d" || key === "Delete" || key === "Backspace") && v) act(id, "delete");
  else if (/^[0-9]$/.test(key) && v) {
    const label = state.labels[(Number(key) + 9) % 10];
    if (label && (label !== v.label || v.status === "deleted")) act(id, "move", label);
  } else if (key === "s" && v && v.suggested && v.suggested !== v.label) act(id, "move", v.suggested);
  else if (key === "m" && v) {
    const sel = document.querySelector(`.card[data-id="${id}"] .move`);
    if (sel) {
      sel.focus();
      // An open list changes nothing until Enter; a merely focused one would move on each arrow key.
      try { sel.showPicker(); } catch (e) { /* older browsers: the focused list still works */ }
    }
  } else if (key === "u") undo();
  else if (key === "l") cycle($("#label-filter"), (val) => setFilter(val, state.filter.kind));
  else if (key === "f") cycle($("#kind-filter"), (val) => setFilter(state.filter.label, val));
  else if (key === "o" && v) window.open(`/api/photo/${id}?size=1600&v=${encodeURIComponent(v.path)}`, "_blank");
  else if (key === "?") toggle("#help", "#toggle-help");
  else handled = false;
  if (handled) ev.preventDefault();
});

function cycle(sel, apply) {
  const i = sel.selectedIndex;
  sel.selectedIndex = (i + 1) % sel.options.length;
  apply(sel.value);
}

function toggle(panel, button) {
  const el = $(panel);
  el.hidden = !el.hidden;
  $(button).setAttribute("aria-expanded", String(!el.hidden));
}

// ---- wiring ----------------------------------------------------------------------------------
$("#label-filter").addEventListener("change", (ev) => setFilter(ev.target.value, state.filter.kind));
$("#kind-filter").addEventListener("change", (ev) => setFilter(state.filter.label, ev.target.value));
$("#undo-last").addEventListener("click", () => undo());
$("#toggle-journal").addEventListener("click", () => toggle("#journal", "#toggle-journal"));
$("#toggle-help").addEventListener("click", () => toggle("#help", "#toggle-help"));
$("#more").addEventListener("click", () => { state.shown += PAGE; renderGrid(); });
window.addEventListener("hashchange", () => {
  readHash();
  setFilter(state.filter.label, state.filter.kind);
});
loadState().then(() => document.body.dataset.ready = "1").catch((err) => say(`Could not load: ${err.message}`, true));
