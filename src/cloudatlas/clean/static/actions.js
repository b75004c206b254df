// Decisions: each is sent as it is made and the server's answer redrawn. Requests run one after
// another, in the order they were made, so a fast reviewer's key presses are neither dropped nor
// reordered; the selection moves on at once, not after the answer.
import * as server from "./server.js";
import { filterNow, state, takeChanges, takeState } from "./state.js";
import { $, buildFilters, refreshCards, renderCounts, renderGrid, renderJournal, say, select, step } from "./view.js";

let queue = Promise.resolve();
function enqueue(task) {
  queue = queue.then(task, task);
  return queue;
}

export async function load() {
  const data = await server.loadState();
  takeState(data);
  $("#root").textContent = data.root;
  $("#notes").textContent = data.notes.join(" ");
  buildFilters();
  applyFilter(true);
  renderJournal();
}

export function applyFilter(keepSelection) {
  filterNow(keepSelection);
  renderGrid();
  renderCounts();
}

export function setFilter(label, kind) {
  state.filter = { label, kind };
  $("#label-filter").value = label;
  $("#kind-filter").value = kind;
  applyFilter(true);
}

function absorb(data) {
  takeChanges(data);
  refreshCards(data.items);
  renderCounts();
  renderJournal();
}

export function act(id, action, label) {
  if (id === state.selected) step(+1);
  return enqueue(async () => {
    try {
      absorb(await server.act(id, action, label));
      const entry = state.journal[0];
      say(entry ? `Saved: ${entry.text}` : "Saved.");
    } catch (err) {
      say(err.message, true); // the server's sentence ({status, error, message})
      await load().catch(() => {});
    }
  });
}

export function undo(entryId) {
  return enqueue(async () => {
    try {
      const data = await server.undo(entryId);
      absorb(data);
      const entry = state.journal[0];
      say(entry ? `Undone: ${entry.text}` : "Undone.");
      if (data.items.length && state.visible.includes(data.items[0].id)) select(data.items[0].id);
    } catch (err) {
      say(err.message, true);
    }
  });
}
