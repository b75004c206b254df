// What the cleaner shows: every photo's view from the server, the filter, the selection. The
// server is the only store of decisions; this is a copy for drawing, refreshed after each change.

export const PAGE = 60;
export const KIND_NAMES = {
  problems: "Any problem", undecided: "Problems not yet reviewed", all: "All photos",
  conflict: "Conflicts", duplicate: "Duplicates", suspicious: "Suspicious labels",
  unreadable: "Unreadable", tiny: "Tiny", non_photo: "Not photos", decided: "Reviewed (kept, moved, deleted)",
};

export const state = {
  items: new Map(), order: [], labels: [], kinds: [], journal: [],
  filter: { label: "all", kind: "problems" }, visible: [], shown: PAGE, selected: null,
};

/** Take the server's whole state (on load, and after a failed change). */
export function takeState(data) {
  state.labels = data.labels;
  state.kinds = data.kinds;
  state.journal = data.journal;
  state.items = new Map(data.items.map((v) => [v.id, v]));
  state.order = data.items.map((v) => v.id); // already most suspicious first
}

/** Take the photos a change touched, and the journal. */
export function takeChanges(data) {
  for (const v of data.items) state.items.set(v.id, v);
  state.journal = data.journal;
}

export function matches(v) {
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

export function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("label")) state.filter.label = params.get("label");
  if (params.get("kind")) state.filter.kind = params.get("kind");
}

export function writeHash() {
  history.replaceState(null, "", `#label=${encodeURIComponent(state.filter.label)}&kind=${state.filter.kind}`);
}

/** The filter's photos, fixed when the filter changes: acting on a photo updates its card in
 *  place instead of making it vanish, so you can see (and undo) what you just did. */
export function filterNow(keepSelection) {
  state.visible = state.order.filter((id) => matches(state.items.get(id)));
  state.shown = PAGE;
  if (!keepSelection || !state.visible.includes(state.selected)) state.selected = state.visible[0] ?? null;
  writeHash();
}
