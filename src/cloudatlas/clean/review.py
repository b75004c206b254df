"""What the cleaner shows: every photo with its problems, most suspicious first.

Problems come from the audit (unreadable, not a photo, tiny, duplicate, conflict) and, when a
model is at hand, from confident learning (suspicious label, with a suggested label). Duplicate
and conflict are *live*: they are recomputed from where the photos of a group are now, so
filing one copy under the right label or deleting it clears the badge of the whole group.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..data.audit import AuditReport, audit, first_others, name_some
from ..data.dataset import scan_folder
from ..errors import DataError
from ..labels import GENERA, canonical_label
from ..data.journal import Journal
from ..data.layout import TRASH_DIR, printable
from ..errors import JournalError

KINDS = ("conflict", "duplicate", "suspicious", "unreadable", "tiny", "non_photo")
# Base suspicion of each kind of problem; a flagged label issue adds its own (1 - quality).
_WEIGHT = {"unreadable": 1.0, "conflict": 0.9, "non_photo": 0.8, "suspicious": 0.5, "duplicate": 0.4,
           "tiny": 0.3}


@dataclass
class ReviewItem:
    id: int
    path: str  # where the photo is now, relative to the data set
    original: str  # where it was when the cleaner started (or before its first journaled change)
    problems: list[dict] = field(default_factory=list)  # static ones: unreadable, tiny, suspicious...
    group: int | None = None  # index of its group of same-picture photos
    quality: float | None = None  # label quality from confident learning
    suggested: str | None = None
    suggested_probability: float | None = None

    @property
    def label(self) -> str:
        parent = PurePosixPath(self.path).parent
        return canonical_label(parent.name)

    @property
    def deleted(self) -> bool:
        return self.path.startswith(TRASH_DIR + "/")


def _count(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{'s' if len(items) != 1 else ''}"


def _some(rels: list[str], limit: int = 3) -> str:
    return name_some([printable(r) for r in rels[:limit]], len(rels))


class Review:
    """The cleaner's model: items, their live problems, and the journal that changes them."""

    def __init__(self, root: str | Path, report: AuditReport | None = None, issues=None,
                 notes: list[str] | None = None):
        self.root = Path(root).resolve()
        self.journal = Journal(self.root)
        self.report = report if report is not None else audit(self.root, progress=False)
        self.notes = list(notes or []) + self._journal_notes()
        self.lock = threading.RLock()
        self.items: list[ReviewItem] = []
        self.by_path: dict[str, ReviewItem] = {}
        self.groups: list[list[int]] = []
        self._build(issues)

    # -- construction ---------------------------------------------------------------------------
    def _journal_notes(self) -> list[str]:
        """A journal someone edited by hand is said on the page, not silently trusted."""
        out = [self.journal.skipped_note()] if self.journal.skipped else []
        out.extend(f"{self.journal.entry_problem(e)}: it cannot be undone until that line is corrected or removed."
                   for e in self.journal.bad_entries())
        return out

    def _build(self, issues) -> None:
        states = self.journal.states()
        shown = self._own_files(self._photo_paths() + self._trash_paths())
        problems = self.report.problems_by_file()
        for rel in shown:
            state = states.get(rel)
            item = ReviewItem(len(self.items), rel, state.original if state else rel,
                              [p for p in problems.get(rel, []) if p["kind"] not in ("conflict", "duplicate")])
            self.items.append(item)
            self.by_path[rel] = item
        for gid, group in enumerate(self.report.groups):
            members = [self.by_path[f].id for f in group.files if f in self.by_path]
            self.groups.append(members)
            for i in members:
                self.items[i].group = gid
        if issues is not None:
            for r in issues.ranked:
                item = self.by_path.get(r.path)
                if item is None:
                    continue
                item.quality, item.suggested = r.quality, r.suggested
                item.suggested_probability = r.suggested_probability
                if r.is_issue:
                    item.problems.append({"kind": "suspicious", "related": [], "message":
                                          f"label looks wrong: the model suggests {r.suggested} "
                                          f"({r.suggested_probability:.0%})"})

    def _own_files(self, rels: list[str]) -> list[str]:
        """The photos that are the data set's own files; the others (links, or in a folder that
        leads out of the set) are neither shown nor changed, and a note says so. Names a page
        cannot show as they are (not UTF-8, a newline) are shown escaped, with a note."""
        own = [rel for rel in rels if self.journal.link_problem(self.root / rel) is None]
        kept = set(own)
        left_out = [rel for rel in rels if rel not in kept]
        if left_out:
            self.notes.append(f"{_count(left_out, 'photo')} ({_some(left_out)}) are links, or in folders that "
                              f"lead out of {self.root}: the cleaner neither shows nor changes them.")
        odd = [rel for rel in own if printable(rel) != rel]
        if odd:
            self.notes.append(f"{_count(odd, 'file name')} ({_some(odd)}) are not UTF-8 or hold control "
                              f"characters; they are shown with escapes, and keep, move and delete work as for "
                              f"any photo. Other tools may not read such names: rename them.")
        return own

    def _photo_paths(self) -> list[str]:
        try:
            return [s.key for s in scan_folder(self.root)]
        except DataError:
            return []

    def _trash_paths(self) -> list[str]:
        trash = self.root / TRASH_DIR
        if not trash.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in trash.glob("*/*") if p.is_file())

    # -- views ----------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """Labels to offer for a move: those in the set, plus every genus for a genus data set."""
        present = set(self.report.counts)
        if present & set(GENERA):
            present |= set(GENERA)
        return sorted(present)

    def _live_groups(self, items: list[ReviewItem]) -> dict[int, tuple[list[ReviewItem], set[str]]]:
        """Per group of ``items``: its members not in the trash, and their labels. Computed once
        per answer, so the views of a group of n copies cost n, not n x n."""
        out = {}
        for gid in {i.group for i in items if i.group is not None}:
            alive = [self.items[i] for i in self.groups[gid] if not self.items[i].deleted]
            out[gid] = (alive, {o.label for o in alive})
        return out

    def live_problems(self, item: ReviewItem, live=None) -> list[dict]:
        out = list(item.problems)
        if item.group is not None and not item.deleted:
            alive, labels = (live or self._live_groups([item]))[item.group]
            if len(alive) > 1:
                paths = [o.path for o in first_others(alive, item)]
                named = name_some(paths, len(alive) - 1)
                if len(labels) > 1:  # a conflict is a duplicate too; one message says both
                    out.insert(0, {"kind": "conflict", "related": paths,
                                   "message": f"same picture filed as {', '.join(sorted(labels))}: " + named})
                else:
                    out.append({"kind": "duplicate", "related": paths, "message": "same picture as " + named})
        return out

    def status(self, item: ReviewItem) -> tuple[str, int | None]:
        state = self.journal.states().get(item.path)
        if state is None:
            return ("deleted" if item.deleted else "pending"), None
        return state.status, state.last_entry

    def view(self, item: ReviewItem, states=None, live=None) -> dict:
        problems = self.live_problems(item, live)
        kinds = {p["kind"] for p in problems}
        if "conflict" in kinds:
            kinds.add("duplicate")
        kinds = sorted(kinds, key=KINDS.index)
        score = max((_WEIGHT[k] for k in kinds), default=0.0)
        if item.quality is not None:
            doubt = 1.0 - item.quality
            score = max(score, 0.5 * doubt)  # unflagged photos: ordered by doubt, below flagged ones
            if "suspicious" in kinds:
                score = max(score, 0.5 + 0.5 * doubt)
        state = (states if states is not None else self.journal.states()).get(item.path)
        status = state.status if state else ("deleted" if item.deleted else "pending")
        return {
            "id": item.id, "path": item.path, "original": item.original, "label": item.label,
            "name": PurePosixPath(item.path).name, "status": status,
            "last_entry": state.last_entry if state else None,
            "kinds": kinds, "problems": problems, "score": round(score, 4),
            "quality": None if item.quality is None else round(item.quality, 4),
            "suggested": item.suggested,
            "suggested_probability": (None if item.suggested_probability is None
                                      else round(item.suggested_probability, 3)),
        }

    def views(self, items: list[ReviewItem] | None = None) -> list[dict]:
        states = self.journal.states()
        chosen = self.items if items is None else items
        live = self._live_groups(chosen)
        out = [self.view(i, states, live) for i in chosen]
        if items is None:
            # Copies of one picture side by side (ranked by the most suspicious of them), so a
            # conflict is decided looking at both photos.
            group_score: dict[int, float] = {}
            for v in out:
                g = self.items[v["id"]].group
                if g is not None:
                    group_score[g] = max(group_score.get(g, 0.0), v["score"])

            def order(v: dict) -> tuple:
                g = self.items[v["id"]].group
                if g is None:
                    return (-v["score"], v["path"], 0, "")
                first = self.items[self.groups[g][0]].original
                return (-group_score[g], first, 1, v["path"])

            out.sort(key=order)
        return out

    def journal_view(self, limit: int = 200) -> list[dict]:
        done = self.journal.undone()
        return [{**e.to_dict(), "text": e.describe(), "undone": e.id in done,
                 "undoable": e.op != "undo" and e.id not in done}
                for e in reversed(self.journal.entries[-limit:])]

    # -- changes --------------------------------------------------------------------------------
    def _affected(self, item: ReviewItem) -> list[ReviewItem]:
        """The item and its group: a change to one copy changes the badges of the others."""
        if item.group is None:
            return [item]
        return [self.items[i] for i in self.groups[item.group]]

    def _relocate(self, old: str, new: str) -> ReviewItem | None:
        item = self.by_path.pop(old, None)
        if item is not None:
            item.path = new
            self.by_path[new] = item
        return item

    def act(self, item_id: int, action: str, label: str | None = None) -> list[dict]:
        """Apply keep / move / delete to one photo at once; returns the views that changed."""
        with self.lock:
            if not 0 <= item_id < len(self.items):
                raise KeyError(item_id)
            item = self.items[item_id]
            if action == "keep":
                self.journal.keep(item.path)
            elif action == "delete":
                entry = self.journal.delete(item.path)
                self._relocate(entry.path, entry.dest)
            elif action == "move":
                if not label:
                    raise JournalError("Choose a label to move the photo to.")
                entry = self.journal.move(item.path, label)
                self._relocate(entry.path, entry.dest)
            else:
                raise JournalError(f"Unknown action {action!r}: use keep, move or delete.")
            return self.views(self._affected(item))

    def undo(self, entry_id: int | None = None) -> list[dict]:
        with self.lock:
            entry = self.journal.undo(entry_id)
            item = self._relocate(entry.path, entry.dest) if entry.path != entry.dest else self.by_path.get(entry.path)
            return self.views(self._affected(item)) if item is not None else []
