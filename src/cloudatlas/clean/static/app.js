// CloudAtlas cleaner: review photos most-suspicious-first; every decision is saved at once.
// The server is the only store of decisions, so filters and reloads can never lose one.
//   server.js  the cleaner's API (through the API client shared with the phone page)
//   state.js   the copy drawn from    view.js  drawing    actions.js  decisions, in order
//   keys.js    the keyboard
import { act, load, setFilter, undo } from "./actions.js";
import { wireKeys } from "./keys.js";
import { PAGE, readHash, state } from "./state.js";
import { $, onCard, renderGrid, say, toggle } from "./view.js";

onCard({
  keep: (id) => act(id, "keep"),
  delete: (id) => act(id, "delete"),
  move: (id, label) => act(id, "move", label),
  undo: (entry) => undo(entry),
});
wireKeys();

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

readHash();
load()
  .then(() => { document.body.dataset.ready = "1"; })
  .catch((err) => say(`Could not load: ${err.message}`, true));
