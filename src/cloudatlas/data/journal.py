"""Undoable file operations on a folder-per-class data set, written to a journal.

Every change the cleaner makes goes through :class:`Journal`: *move* a photo to another label,
*delete* it (which moves it into ``DATA/.trash/<label>/``; nothing is ever unlinked), *keep* it
(a decision without a file change), and *undo* any of these. Each change is applied at once and
appended to ``DATA/.cloudatlas/journal.jsonl`` (one JSON object a line), so a crash, a closed tab
or a restarted server loses nothing, and ``cloudatlas clean DATA --log`` can say what changed.

Two rules keep every photo safe:

* a move never replaces a file: a clash gets a free name (``x.jpg`` -> ``x-1.jpg``), claimed
  atomically with a hard link where the file system has them;
* photos only ever move inside the data set, so the set of files under ``DATA/<label>/`` and
  ``DATA/.trash/`` is always the set of photos you started with. A link that leads out of the
  data set (a label folder, ``.trash``, a photo or the journal itself) is never moved, deleted
  or written through.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from ..errors import JournalError
from ..imageio import is_image_file
from ..labels import canonical_label
from .layout import TRASH_DIR, journal_path, label_folder, name_candidates, normalise_label, printable

OPS = ("move", "delete", "keep", "undo")
NAME_MAX = 255  # bytes in one file or folder name (ext4, XFS, APFS, tmpfs): 70 emoji are 280


@dataclass
class Entry:
    """One line of the journal."""

    id: int
    op: str  # "move" | "delete" | "keep" | "undo"
    path: str  # where the photo was before (relative to the data set, '/'-separated)
    dest: str  # where it is after (== path for keep)
    time: str = ""
    label: str | None = None  # move: the label it was given
    undoes: int | None = None  # undo: the entry it reverses
    also: list[int] | None = None  # undo: later changes to the same photo, withdrawn with it
    created: str | None = None  # the folder this change had to create (its undo removes it if empty)

    def describe(self) -> str:
        if self.op == "move":
            return f"moved {self.path} -> {self.dest}"
        if self.op == "delete":
            return f"deleted {self.path} (kept in {self.dest})"
        if self.op == "keep":
            return f"kept {self.path}"
        if self.path == self.dest:
            return f"undid #{self.undoes} ({self.path})"
        return f"undid #{self.undoes}: {self.path} -> {self.dest}"

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _entry_from(raw: object) -> Entry | None:
    """An entry from one parsed journal line, or None when its fields have the wrong types.

    The journal is a file anyone can edit: types are checked here, paths before each undo.
    """
    if not isinstance(raw, dict):
        return None
    fields = {k: raw[k] for k in Entry.__dataclass_fields__ if k in raw}
    also = fields.get("also")
    well_typed = (
        _is_int(fields.get("id")) and fields.get("op") in OPS
        and all(isinstance(fields.get(k), str) for k in ("path", "dest"))
        and all(fields.get(k) is None or isinstance(fields[k], str) for k in ("time", "label", "created"))
        and (fields.get("undoes") is None or _is_int(fields["undoes"]))
        and (also is None or (isinstance(also, list) and all(map(_is_int, also)))))
    return Entry(**fields) if well_typed else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def has_control_chars(text: str) -> bool:
    # NUL cannot be in a file name at all (Python raises ValueError, not OSError); the others
    # make names that cannot be typed or shown.
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def photo_parts(rel: str) -> tuple[str, ...] | None:
    """``LABEL/name`` or ``.trash/LABEL/name`` split into parts; None for any other path
    (absolute, with ``..``, into a hidden folder), so it can never name a place outside the set.

    Any name a file system holds is a name: a photo called ``new\\nline.jpg`` is listed, so it can
    be kept, moved and deleted too. Only NUL, which no file name can hold, is refused."""
    parts = PurePosixPath(str(rel).replace("\\", "/")).parts
    if (len(parts) not in (2, 3) or any(p in ("", ".", "..") or "\x00" in p for p in parts)
            or (len(parts) == 3 and parts[0] != TRASH_DIR)
            or (len(parts) == 2 and parts[0].startswith((".", "_")))):
        return None
    return parts


def folder_parts(rel: str) -> tuple[str, ...] | None:
    """``LABEL`` or ``.trash/LABEL`` split into parts; None for any other folder."""
    parts = photo_parts(f"{rel}/x")
    return parts[:-1] if parts else None


def _remove_folders(folders: list[Path]) -> None:
    """Remove the folders a change that did not happen made, innermost first, if they are empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def move_no_clobber(src: Path, folder: Path, name: str) -> Path:
    """Move ``src`` into ``folder`` as ``name`` (or ``name-1``, ...); never replaces a file.

    A hard link claims the new name atomically (it fails if the name exists) before the old name
    is removed, so at every instant the photo exists under at least one name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for candidate in name_candidates(name):
        dest = folder / candidate
        if dest.exists() or dest.is_symlink():
            continue
        try:
            os.link(src, dest, follow_symlinks=False)
        except FileExistsError:
            continue  # taken between the check and the link: try the next name
        except OSError as err:
            if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            # No hard links here (FAT, some network shares): a checked rename is the best we have.
            if dest.exists():
                continue
            os.rename(src, dest)
            return dest
        try:
            os.unlink(src)
        except OSError:
            # The old name cannot go (a read-only folder): take the new one back, or the photo
            # would be in two places, under two labels or also in the trash.
            os.unlink(dest)
            raise
        return dest
    raise AssertionError("unreachable")  # name_candidates never ends


@dataclass
class PhotoState:
    """What the journal says about the photo now at ``path``."""

    path: str
    original: str  # where it was before the first journaled change
    status: str  # "pending" | "kept" | "moved" | "deleted"
    last_entry: int | None = None


class Journal:
    """File operations on ``root`` with an append-only, replayable log. Thread-safe."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise JournalError(f"{root}: no such folder.")
        self.path = journal_path(self.root)
        self.skipped: list[int] = []  # line numbers of journal lines that are not entries
        self._check_journal_path()
        self.entries: list[Entry] = self._read()
        self._lock = threading.RLock()

    # -- the log ---------------------------------------------------------------------------------
    def _journal_path_problem(self) -> str | None:
        """Why the journal cannot be written where it is: it must be a file inside the data set,
        never a folder, never a link that leads out (lines were appended to whatever it named)."""
        if self.path.is_symlink() or not self.inside(self.path):
            return f"it is a link to {self.path.resolve()}, and the cleaner writes only inside the data set"
        if self.path.is_dir():
            return "it is a folder, not a file"
        return None

    def _check_journal_path(self) -> None:
        problem = self._journal_path_problem()
        if problem:
            raise JournalError(f"{self.path} cannot be the cleaner's journal: {problem}. Move it out of the way; "
                               f"the cleaner writes its journal itself.")

    def _read(self) -> list[Entry]:
        if not self.path.exists():
            return []
        try:
            data = self.path.read_bytes()
        except OSError as err:
            raise JournalError(f"{self.path} cannot be read ({err.strerror or err}).") from None
        entries = []
        for number, line in enumerate(data.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                entry = _entry_from(json.loads(line.decode("utf-8")))
            except ValueError:  # UnicodeDecodeError included: a byte edited in by hand
                entry = None  # a torn line after a crash: the change before it is still on disk
            if entry is None:
                self.skipped.append(number)
            else:
                entries.append(entry)
        return entries

    def _append(self, entry: Entry) -> None:
        """Write one line and sync it. A line cut short (the disk filled up) is cut off again, and
        a line always starts after a newline: the next change is never glued to torn bytes."""
        problem = self._journal_path_problem()
        if problem:  # made since the journal was opened
            raise OSError(errno.EPERM, problem)
        self.path.parent.mkdir(exist_ok=True)
        line = (json.dumps(entry.to_dict()) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # after a torn line that could not be cut off
            try:
                _write_all(fd, line)
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)
        self.entries.append(entry)

    def _next_id(self) -> int:
        return max((e.id for e in self.entries), default=0) + 1

    # -- paths -----------------------------------------------------------------------------------
    def _resolve(self, rel: str) -> Path:
        """A photo given by its path relative to the data set; refuses anything outside it."""
        parts = photo_parts(rel)
        if parts is None:
            raise JournalError(f"{printable(rel)}: not a photo of this data set (expected LABEL/name.jpg).")
        path = self.root.joinpath(*parts)
        problem = self.link_problem(path)
        if problem:
            raise JournalError(f"{printable(rel)} {problem}; nothing changed.")
        if not path.is_file():
            raise JournalError(f"{printable(rel)}: no such photo (was it moved outside the cleaner?).")
        return path

    def inside(self, path: Path) -> bool:
        """Whether ``path``, every link on the way followed, stays inside the data set."""
        try:
            return path.resolve().is_relative_to(self.root)
        except (OSError, RuntimeError):  # a loop of links
            return False

    def link_problem(self, path: Path) -> str | None:
        """Why the photo at ``path`` must not be moved: it is a link, or a link on its way leads
        out of the data set (``DATA/Ac -> /elsewhere``); None when it is a file of the set."""
        if path.is_symlink():
            return "is a link, not a photo file: the cleaner moves only the data set's own files"
        if not self.inside(path):
            return f"is in a folder that leads out of the data set (to {printable(str(path.resolve().parent))})"
        return None

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    @staticmethod
    def in_trash(rel: str) -> bool:
        return rel.startswith(TRASH_DIR + "/")

    def _apply(self, op: str, rel: str, dest_folder: Path, name: str, **extra) -> Entry:
        src = self._resolve(rel)
        if not self.inside(dest_folder):
            raise JournalError(f"{printable(self.rel(dest_folder))} leads out of the data set (to "
                               f"{printable(str(dest_folder.resolve()))}); nothing changed.")
        new_folders = [f for f in (dest_folder, *dest_folder.parents) if f.is_relative_to(self.root)
                       and f != self.root and not f.exists()]
        if dest_folder in new_folders:
            extra["created"] = self.rel(dest_folder)
        try:
            dest = move_no_clobber(src, dest_folder, name)
        except OSError as err:
            _remove_folders(new_folders)
            raise JournalError(f"{printable(self.rel(src))} could not be moved ({err.strerror or err}); "
                               f"nothing changed.") from None
        entry = Entry(self._next_id(), op, self.rel(src), self.rel(dest), _now(), **extra)
        try:
            self._append(entry)
        except OSError as err:
            move_no_clobber(dest, src.parent, src.name)  # an unjournaled change would not be undoable
            _remove_folders(new_folders)
            raise JournalError(f"The journal {self.path} cannot be written ({err.strerror or err}); "
                               f"the change was reversed.") from None
        return entry

    # -- changes ---------------------------------------------------------------------------------
    def move(self, rel: str, label: str) -> Entry:
        """File the photo at ``rel`` under ``label`` (a genus code or any folder name): in the
        folder that holds that label already, however it is spelt (see layout.label_folder)."""
        label = str(label).strip()
        if (not label or has_control_chars(label) or "/" in label or "\\" in label
                or label.startswith((".", "_")) or label in ("..",)):
            raise JournalError(f"{label!r}: not a usable label name.")
        label = normalise_label(label)
        if len(os.fsencode(label)) > NAME_MAX:
            raise JournalError(f"{label[:20]}...: a label becomes a folder name, which can have at most "
                               f"{NAME_MAX} bytes (this one has {len(os.fsencode(label))}); choose a shorter label.")
        with self._lock:
            src = self._resolve(rel)
            folder = label_folder(self.root, label)
            if src.parent == folder:
                raise JournalError(f"{printable(rel)} is already filed under {canonical_label(label)}.")
            return self._apply("move", rel, folder, src.name, label=canonical_label(label))

    def delete(self, rel: str) -> Entry:
        """Move the photo into ``DATA/.trash/<its label folder>/``; undo brings it back."""
        with self._lock:
            src = self._resolve(rel)
            if self.in_trash(rel):
                raise JournalError(f"{rel} is already in the trash.")
            return self._apply("delete", rel, self.root / TRASH_DIR / src.parent.name, src.name)

    def keep(self, rel: str) -> Entry:
        """Record that the photo was reviewed and is right as it is."""
        with self._lock:
            rel = self.rel(self._resolve(rel))
            entry = Entry(self._next_id(), "keep", rel, rel, _now())
            try:
                self._append(entry)
            except OSError as err:
                raise JournalError(f"The journal {self.path} cannot be written ({err.strerror or err}).") from None
            return entry

    def undone(self) -> set[int]:
        """Ids of the changes that are no longer in effect."""
        out: set[int] = set()
        for e in self.entries:
            if e.op == "undo":
                out.update(i for i in [e.undoes, *(e.also or [])] if i is not None)
        return out

    def _chain(self, entry: Entry) -> list[Entry]:
        """``entry`` and every later entry that changed the same photo, in order.

        Moves never overwrite, so at any moment a path names at most one photo: a later change
        whose source is the photo's position at that moment is a change of this photo.
        """
        chain = [entry]
        for later in self.entries:
            if later.id > entry.id and later.path == chain[-1].dest:
                chain.append(later)
        return chain

    def _follow(self, entry: Entry, done: set[int]) -> tuple[str, list[int]]:
        """Where the photo that ``entry`` changed is now, and the later changes still in effect
        that were made to that same photo."""
        chain = self._chain(entry)
        later_changes = [e.id for e in chain[1:] if e.op != "undo" and e.id not in done]
        return chain[-1].dest, later_changes

    def current_path(self, entry: Entry) -> str:
        return self._follow(entry, self.undone())[0]

    def entry_problem(self, entry: Entry) -> str | None:
        """Why ``entry`` cannot be trusted to move a photo, or None: every path it names must be
        a photo (or label folder) inside the data set, whatever was written into the file."""
        bad = [p for p in (entry.path, entry.dest) if photo_parts(p) is None]
        if entry.created is not None and folder_parts(entry.created) is None:
            bad.append(entry.created)
        if not bad:
            return None
        return (f"Change #{entry.id} in {self.path} names {bad[0]!r}, which is outside the data set "
                f"(expected LABEL/name.jpg)")

    def bad_entries(self) -> list[Entry]:
        """Entries whose paths point outside the data set (an edited or forged journal)."""
        return [e for e in self.entries if self.entry_problem(e) is not None]

    def _check_chain(self, chain: list[Entry]) -> None:
        # Checked as a whole before the first file moves: a bad entry anywhere in the chain
        # means the journal cannot say where the photo is, or where it belongs.
        for e in chain:
            problem = self.entry_problem(e)
            if problem is not None:
                raise JournalError(f"{problem}; nothing was moved. Correct or remove that line of the journal.")

    def _remove_empty_folders(self, chain: list[Entry]) -> None:
        """Remove the folders the photo of ``chain`` passed through that a journaled change
        created and that are empty now, so an undone move to a new label leaves no trace."""
        created = {e.created for e in self.entries if e.created}
        passed = {str(PurePosixPath(e.dest).parent) for e in chain if e.dest != e.path}
        for rel in sorted(passed & created):
            parts = folder_parts(rel)
            if parts is None:
                continue
            try:
                os.rmdir(self.root.joinpath(*parts))  # refuses a folder that is not empty
            except OSError:
                pass  # another photo, a hidden file, or already gone: leave it

    def undo(self, entry_id: int | None = None) -> Entry:
        """Reverse the last change still in effect, or the change ``entry_id``.

        The photo returns to the folder it was in before that change (under a free name if its
        old name has been taken since), and later changes to the same photo, which built on it,
        are withdrawn with it; a keep is simply withdrawn. Undos are journaled too.
        """
        with self._lock:
            done = self.undone()
            if entry_id is None:
                candidates = [e for e in self.entries if e.op != "undo" and e.id not in done]
                if not candidates:
                    raise JournalError("Nothing to undo.")
                target = candidates[-1]
            else:
                target = next((e for e in self.entries if e.id == entry_id), None)
                if target is None:
                    raise JournalError(f"No change #{entry_id} in the journal.")
                if target.op == "undo":
                    raise JournalError(f"#{entry_id} is itself an undo; make that change again instead.")
                if target.id in done:
                    raise JournalError(f"#{entry_id} was already undone.")
            chain = self._chain(target)
            self._check_chain(chain)
            now, later = self._follow(target, done)
            extra = {"undoes": target.id, "also": later or None}
            back = photo_parts(target.path)  # checked above: inside the data set
            if PurePosixPath(now).parent.parts == back[:-1]:
                # A keep changes no file; a photo already back in its old folder stays put.
                self._resolve(now)
                entry = Entry(self._next_id(), "undo", now, now, _now(), **extra)
                try:
                    self._append(entry)
                except OSError as err:
                    raise JournalError(f"The journal {self.path} cannot be written ({err.strerror or err}).") from None
                return entry
            entry = self._apply("undo", now, self.root.joinpath(*back[:-1]), back[-1], **extra)
            self._remove_empty_folders(chain)
            return entry

    # -- reading the state -------------------------------------------------------------------------
    def states(self) -> dict[str, PhotoState]:
        """Replay the journal: the state of every photo it touched, keyed by where it is now."""
        done = self.undone()
        origin: dict[str, str] = {}
        keeps_at: dict[str, set[int]] = {}
        last: dict[str, int] = {}
        for e in self.entries:
            if e.dest != e.path:  # a file moved: carry what we know about it along
                origin[e.dest] = origin.pop(e.path, e.path)
                if e.path in keeps_at:
                    keeps_at[e.dest] = keeps_at.pop(e.path)
                last.pop(e.path, None)
                last[e.dest] = e.id
            else:
                if e.op == "keep":
                    keeps_at.setdefault(e.path, set()).add(e.id)
                last[e.path] = e.id
        kept = {path for path, ids in keeps_at.items() if ids - done}
        out = {}
        for path in set(origin) | set(keeps_at) | set(last):
            orig = origin.get(path, path)
            if self.in_trash(path):
                status = "deleted"
            elif PurePosixPath(orig).parent != PurePosixPath(path).parent:
                status = "moved"
            elif path in kept:
                status = "kept"
            else:
                status = "pending"  # changed and changed back
            out[path] = PhotoState(path, orig, status, last.get(path))
        return out

    def moved_from(self) -> dict[str, str]:
        """Where each photo the cleaner moved was before its first change (current path ->
        original path); what ``split.csv`` needs to follow a relabelled photo."""
        return {path: state.original for path, state in self.states().items() if state.original != path}

    def summary(self) -> dict:
        done = self.undone()
        active = [e for e in self.entries if e.op != "undo" and e.id not in done]
        counts = Counter(e.op for e in active)
        moves = Counter(f"{PurePosixPath(e.path).parent.name} -> {e.label or PurePosixPath(e.dest).parent.name}"
                        for e in active if e.op == "move")
        trash = self.root / TRASH_DIR
        return {
            "journal": str(self.path),
            "changes": len(self.entries),
            "undone": len(done),
            "moved": counts["move"], "deleted": counts["delete"], "kept": counts["keep"],
            "moves_by_label": dict(moves.most_common()),
            "in_trash": sum(1 for p in trash.rglob("*") if p.is_file() and is_image_file(p))
            if trash.is_dir() and self.inside(trash) else 0,
        }

    def skipped_note(self) -> str | None:
        """What to tell the user about lines of the journal that are not entries."""
        if not self.skipped:
            return None
        return (f"Lines {', '.join(map(str, self.skipped))} of {self.path} cannot be read (a write cut short by "
                f"a crash, or an edit by hand); they are ignored.")

    def log_text(self, limit: int | None = None) -> str:
        """What ``cloudatlas clean DATA --log`` prints: one line per change, names shown printable
        (a newline or a byte that is not UTF-8 in a file name cannot break a line or the terminal)."""
        note = [self.skipped_note()] if self.skipped else []
        if not self.entries:
            where = "no entries in" if self.path.exists() else "no"
            return "\n".join(map(printable, [f"No changes recorded for {self.root} ({where} {self.path}).", *note]))
        s = self.summary()
        done = self.undone()
        lines = [f"{s['changes']} changes recorded in {self.path} ({s['undone']} undone).",
                 f"In effect: {s['moved']} moved, {s['deleted']} deleted (in {self.root / TRASH_DIR}), "
                 f"{s['kept']} kept."]
        for route, n in s["moves_by_label"].items():
            lines.append(f"  {route}: {n}")
        shown = self.entries if limit is None else self.entries[-limit:]
        if limit is not None and len(self.entries) > limit:
            lines.append(f"... {len(self.entries) - limit} earlier changes not shown")
        for e in shown:
            flag = "  (undone)" if e.id in done else ""
            lines.append(f"#{e.id:<4} {e.time}  {e.describe()}{flag}")
        return "\n".join(map(printable, lines + note))
