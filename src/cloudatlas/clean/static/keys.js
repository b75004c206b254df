// The cleaner's keyboard: j/k to move, Enter/y keep, d delete, 1-9/0 move to a label, s the
// suggested label, m the list, u or Ctrl+Z undo, l/f cycle the filters, o open, ? help.
import { act, setFilter, undo } from "./actions.js";
import { photoUrl } from "./server.js";
import { state } from "./state.js";
import { $, step, toggle } from "./view.js";

function cycle(sel, apply) {
  sel.selectedIndex = (sel.selectedIndex + 1) % sel.options.length;
  apply(sel.value);
}

function onKey(ev) {
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
      try { sel.showPicker(); } catch { /* older browsers: the focused list still works */ }
    }
  } else if (key === "u") undo();
  else if (key === "l") cycle($("#label-filter"), (val) => setFilter(val, state.filter.kind));
  else if (key === "f") cycle($("#kind-filter"), (val) => setFilter(state.filter.label, val));
  else if (key === "o" && v) window.open(photoUrl(v, 1600), "_blank");
  else if (key === "?") toggle("#help", "#toggle-help");
  else handled = false;
  if (handled) ev.preventDefault();
}

export function wireKeys() { document.addEventListener("keydown", onKey); }
