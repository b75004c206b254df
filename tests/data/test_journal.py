"""Journaled file operations: moves, deletes and undos never lose or overwrite a photo."""
from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudatlas.cli import main
from cloudatlas.data.journal import Journal
from cloudatlas.errors import JournalError

from .hostile_sets import fill_disk, non_utf8_name, read_only_folder, small_tmpfs

LABELS = ["Ac", "Cu", "Ns"]


def make_set(root: Path) -> None:
    """Six small distinct 'photos'; two share a name across labels so moves clash."""
    names = {"Ac": ["a.jpg", "same.jpg"], "Cu": ["b.jpg", "same.jpg"], "Ns": ["c.jpg", "same-1.jpg"]}
    for label, files in names.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for name in files:
            (root / label / name).write_bytes(f"{label}/{name}".encode() * 10)


def contents(root: Path) -> Counter:
    """Every photo's content, wherever it is (label folders and trash), with multiplicity."""
    found = Counter()
    for path in root.rglob("*.jpg"):
        if ".cloudatlas" not in path.parts:
            found[hashlib.sha256(path.read_bytes()).hexdigest()] += 1
    return found


def test_move_delete_undo_and_clashes(tmp_path):
    make_set(tmp_path)
    j = Journal(tmp_path)

    moved = j.move("Ac/same.jpg", "cumulus")  # an alias of Cu; Cu/same.jpg exists already
    assert moved.dest == "Cu/same-1.jpg" and moved.label == "Cu"
    assert (tmp_path / "Cu" / "same.jpg").read_bytes().startswith(b"Cu/same.jpg")  # untouched
    assert not (tmp_path / "Ac" / "same.jpg").exists()

    deleted = j.delete("Cu/b.jpg")
    assert deleted.dest == ".trash/Cu/b.jpg" and (tmp_path / ".trash" / "Cu" / "b.jpg").exists()
    kept = j.keep("Ns/c.jpg")
    assert kept.op == "keep"

    states = j.states()
    assert states["Cu/same-1.jpg"].status == "moved" and states["Cu/same-1.jpg"].original == "Ac/same.jpg"
    assert states[".trash/Cu/b.jpg"].status == "deleted" and states["Ns/c.jpg"].status == "kept"

    undo_keep = j.undo()  # the last change: the keep
    assert undo_keep.undoes == kept.id and "Ns/c.jpg" not in {p for p, s in j.states().items() if s.status == "kept"}
    undo_move = j.undo(moved.id)  # any entry, not only the last
    assert undo_move.dest == "Ac/same.jpg" and (tmp_path / "Ac" / "same.jpg").exists()
    j.undo()  # the delete
    assert (tmp_path / "Cu" / "b.jpg").exists() and not (tmp_path / ".trash" / "Cu" / "b.jpg").exists()
    with pytest.raises(JournalError, match="Nothing to undo"):
        j.undo()
    with pytest.raises(JournalError, match="already undone"):
        j.undo(moved.id)

    # The journal is on disk, one JSON object a line, and a new Journal reads it back.
    lines = (tmp_path / ".cloudatlas" / "journal.jsonl").read_text().splitlines()
    assert [json.loads(line)["op"] for line in lines] == ["move", "delete", "keep", "undo", "undo", "undo"]
    assert len(Journal(tmp_path).entries) == 6


def test_undo_follows_a_photo_through_later_changes(tmp_path):
    make_set(tmp_path)
    j = Journal(tmp_path)
    first = j.move("Ac/a.jpg", "Cu")
    j.move("Cu/a.jpg", "Ns")
    j.delete("Ns/a.jpg")
    undo = j.undo(first.id)  # back to where it was before the first move, from the trash
    assert (tmp_path / "Ac" / "a.jpg").exists()
    assert not list((tmp_path / ".trash").rglob("*.jpg"))
    assert undo.also == [first.id + 1, first.id + 2]  # the later move and delete built on it
    with pytest.raises(JournalError, match="Nothing to undo"):
        j.undo()
    assert j.states()["Ac/a.jpg"].status == "pending"


def test_restore_from_trash_by_moving_and_refusals(tmp_path):
    make_set(tmp_path)
    j = Journal(tmp_path)
    j.delete("Ns/c.jpg")
    restored = j.move(".trash/Ns/c.jpg", "Cu")
    assert restored.dest == "Cu/c.jpg"
    for bad in ("../outside.jpg", "Ac/../../etc/passwd", ".cloudatlas/journal.jsonl", "Ac", "Ac/missing.jpg"):
        with pytest.raises(JournalError):
            j.delete(bad)
    for label in ("", "../x", ".trash", "a/b"):
        with pytest.raises(JournalError):
            j.move("Ac/a.jpg", label)
    with pytest.raises(JournalError, match="already filed"):
        j.move("Ac/a.jpg", "altocumulus")
    j.delete(j.move("Ac/a.jpg", "Cu").dest)
    assert (tmp_path / ".trash" / "Cu" / "a.jpg").exists()
    with pytest.raises(JournalError, match="already in the trash"):
        j.delete(".trash/Cu/a.jpg")


def test_torn_journal_line_is_skipped_and_log_is_printed(tmp_path, capsys):
    make_set(tmp_path)
    j = Journal(tmp_path)
    j.move("Ac/a.jpg", "Cu")
    j.delete("Cu/b.jpg")
    with open(j.path, "a") as f:
        f.write('{"id": 3, "op": "mo')  # a crash in the middle of a write
    again = Journal(tmp_path)
    assert [e.op for e in again.entries] == ["move", "delete"]
    assert main(["clean", str(tmp_path), "--log"]) == 0
    out = capsys.readouterr().out
    assert "1 moved, 1 deleted" in out and "moved Ac/a.jpg -> Cu/a.jpg" in out and "Ac -> Cu: 1" in out
    assert "Lines 3 of" in out and "cannot be read" in out
    assert main(["clean", str(tmp_path / "nope"), "--log"]) == 2
    # The next change starts on a line of its own: it was glued to the torn bytes, unreadable.
    kept = again.keep("Ns/c.jpg")
    assert [e.id for e in Journal(tmp_path).entries] == [1, 2, kept.id]


# -- the property: nothing is ever lost ---------------------------------------------------------
op = st.one_of(
    st.tuples(st.just("move"), st.integers(0, 50), st.integers(0, len(LABELS) - 1)),
    st.tuples(st.just("delete"), st.integers(0, 50), st.just(0)),
    st.tuples(st.just("keep"), st.integers(0, 50), st.just(0)),
    st.tuples(st.just("undo"), st.integers(0, 50), st.booleans().map(int)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=25))
def test_any_sequence_of_changes_keeps_every_photo_exactly_once(ops):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_set(root)
        original = contents(root)
        j = Journal(root)
        for kind, index, arg in ops:
            photos = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jpg")
                            if ".cloudatlas" not in p.parts)
            path = photos[index % len(photos)]
            try:
                if kind == "move":
                    j.move(path, LABELS[arg])
                elif kind == "delete":
                    j.delete(path)
                elif kind == "keep":
                    j.keep(path)
                elif arg and j.entries:  # undo a chosen entry
                    j.undo(j.entries[index % len(j.entries)].id)
                else:
                    j.undo()
            except JournalError:
                pass  # refused (already there, already undone, ...): refusals change nothing
            assert contents(root) == original
        # Every photo is in a label folder or the trash, never anywhere else.
        for p in root.rglob("*.jpg"):
            rel = p.relative_to(root).parts
            assert (len(rel) == 2 and rel[0] in LABELS) or (len(rel) == 3 and rel[0] == ".trash")
        # Undoing everything still in effect puts every photo back in a folder of its own label.
        while True:
            try:
                j.undo()
            except JournalError:
                break
        assert contents(root) == original
        assert not list((root / ".trash").rglob("*.jpg"))
        for p in root.rglob("*.jpg"):
            if ".cloudatlas" not in p.parts:
                assert p.read_bytes().decode().startswith(p.parent.name + "/")


def test_a_change_that_cannot_be_journaled_is_reversed(tmp_path):
    make_set(tmp_path)
    j = Journal(tmp_path)
    (tmp_path / ".cloudatlas" / "journal.jsonl").mkdir(parents=True)  # cannot be appended to
    with pytest.raises(JournalError, match="the change was reversed"):
        j.move("Ac/a.jpg", "Cu")
    assert (tmp_path / "Ac" / "a.jpg").exists() and not (tmp_path / "Cu" / "a.jpg").exists()
    with pytest.raises(JournalError, match="cannot be written"):
        j.keep("Ac/a.jpg")
    assert j.entries == []


# -- a journal file is data, not orders: what it names is checked before anything moves ------------
def _append_raw(journal: Journal, raw: dict) -> None:
    with open(journal.path, "a", encoding="utf-8") as f:
        f.write(json.dumps(raw) + "\n")


@pytest.mark.parametrize("field", ["path", "dest"])
@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_undo_refuses_a_journal_entry_that_points_outside_the_data_set(tmp_path, field, where):
    root, outside = tmp_path / "set", tmp_path / "outside"
    make_set(root)
    outside.mkdir()
    bad = "../outside/evil.jpg" if where == "relative" else str(outside / "evil.jpg")
    j = Journal(root)
    j.keep("Ns/c.jpg")
    forged = {"id": 2, "op": "move", "path": "Ac/a.jpg", "dest": "Ac/a.jpg", "label": "Ac"}
    forged[field] = bad
    _append_raw(j, forged)
    before = contents(root)

    j = Journal(root)  # as the cleaner would read it at start
    assert [e.id for e in j.bad_entries()] == [2]
    for attempt in (j.undo, lambda: j.undo(2)):
        with pytest.raises(JournalError, match=r"#2 .*outside the data set.*nothing was moved"):
            attempt()
    assert contents(root) == before and not any(outside.iterdir())
    assert [e.id for e in j.entries] == [1, 2]  # a refusal is not journaled
    j.undo(1)  # a sound entry can still be undone by its number


def test_malformed_journal_lines_are_skipped_and_reported(tmp_path):
    make_set(tmp_path)
    j = Journal(tmp_path)
    j.keep("Ac/a.jpg")
    _append_raw(j, {"id": "two", "op": "move", "path": "Ac/a.jpg", "dest": "Cu/a.jpg"})
    _append_raw(j, {"id": 3, "op": "move", "path": ["Ac", "a.jpg"], "dest": "Cu/a.jpg"})
    _append_raw(j, {"id": 4, "op": "explode", "path": "Ac/a.jpg", "dest": "Cu/a.jpg"})
    again = Journal(tmp_path)
    assert [e.id for e in again.entries] == [1]
    assert again.skipped == [2, 3, 4]  # line numbers
    assert again.keep("Cu/b.jpg").id == 2


def test_a_label_with_control_characters_is_refused(tmp_path):
    make_set(tmp_path)
    j = Journal(tmp_path)
    before = contents(tmp_path)
    for label in ("Cu\x00", "a\nb", "\x7f"):
        with pytest.raises(JournalError, match="not a usable label"):
            j.move("Ac/a.jpg", label)
    assert contents(tmp_path) == before and j.entries == []


def test_undo_removes_the_empty_folders_its_change_created(tmp_path):
    make_set(tmp_path)
    (tmp_path / "Sc").mkdir()  # an empty folder of the user's: never removed
    j = Journal(tmp_path)
    first = j.move("Ac/a.jpg", "St")  # a label with no folder yet
    assert first.created == "St"
    j.move("St/a.jpg", "Sc")
    j.undo(first.id)  # withdraws both moves
    assert (tmp_path / "Ac" / "a.jpg").exists()
    assert not (tmp_path / "St").exists() and (tmp_path / "Sc").is_dir()

    j.move("Cu/b.jpg", "St")
    j.move("Ns/c.jpg", "St")
    j.undo()
    assert (tmp_path / "St").is_dir()  # still holds Cu's photo
    j.undo()
    assert not (tmp_path / "St").exists()

    j.delete("Ns/c.jpg")
    j.undo()
    assert not (tmp_path / ".trash" / "Ns").exists()


# -- issue 14: a disk that fills, folders that cannot change, links that lead out -----------------
def _pad_until_the_page_is_nearly_full(j: Journal, page: int = 4096, slack: int = 40) -> None:
    """Keep decisions until the journal ends fewer than ``slack`` bytes before a page boundary,
    so the next line needs a page the full disk cannot give: it is written in part, then fails."""
    while not 0 < page - j.path.stat().st_size % page < slack:
        j.keep("Ns/c.jpg")


def test_a_line_torn_by_a_full_disk_never_swallows_the_next_change(tmp_path):
    with small_tmpfs(tmp_path / "disk") as disk:
        root = disk / "set"
        make_set(root)
        j = Journal(root)
        j.keep("Ns/c.jpg")
        _pad_until_the_page_is_nearly_full(j)
        size = j.path.stat().st_size
        filler = fill_disk(disk)
        with pytest.raises(JournalError, match="No space left on device.*the change was reversed"):
            j.move("Ac/a.jpg", "Cu")
        assert (root / "Ac" / "a.jpg").exists() and not (root / "Cu" / "a.jpg").exists()
        assert j.path.stat().st_size == size  # the torn bytes are cut off again
        filler.unlink()
        moved = j.move("Ac/a.jpg", "Cu")  # the next change, once there is room again
        restarted = Journal(root)
        assert restarted.skipped == [] and restarted.entries[-1] == moved
        restarted.undo()  # journaled, so undoable after a restart
        assert (root / "Ac" / "a.jpg").exists()


def test_a_journal_with_a_byte_that_is_not_utf8_skips_that_line_with_a_note(tmp_path, capsys):
    make_set(tmp_path)
    j = Journal(tmp_path)
    j.move("Ac/a.jpg", "Cu")
    with open(j.path, "ab") as f:
        f.write(b'{"id": 2, "op": "keep", "path": "Ns/c\xff.jpg", "dest": "Ns/c.jpg"}\n')
    j = Journal(tmp_path)
    j.keep("Ns/c.jpg")
    again = Journal(tmp_path)
    assert [e.op for e in again.entries] == ["move", "keep"] and again.skipped == [2]
    assert main(["clean", str(tmp_path), "--log"]) == 0
    out = capsys.readouterr().out
    assert "moved Ac/a.jpg -> Cu/a.jpg" in out and "Lines 2 of" in out


def test_a_journal_path_that_is_a_folder_is_one_line_and_exit_2(tmp_path, capsys):
    make_set(tmp_path)
    (tmp_path / ".cloudatlas" / "journal.jsonl").mkdir(parents=True)
    for args in (["--log"], ["--no-browser", "--no-issues"]):
        assert main(["clean", "--data", str(tmp_path), *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot be the cleaner's journal: it is a folder" in err, err


@pytest.mark.parametrize("where", ["source", "destination"])
def test_a_read_only_folder_leaves_every_photo_exactly_once(tmp_path, where):
    """The link made before the old name is removed stayed when the removal failed: a photo
    'deleted' from a read-only folder was also in the trash, a moved one under two labels."""
    make_set(tmp_path)
    (tmp_path / ".trash" / "Ac").mkdir(parents=True)  # so a read-only source is the only obstacle
    j = Journal(tmp_path)
    before = contents(tmp_path)
    with contextlib.ExitStack() as stack:
        for folder in (["Ac"] if where == "source" else ["Cu", ".trash/Ac"]):
            stack.enter_context(read_only_folder(tmp_path / folder))
        for change in (lambda: j.delete("Ac/a.jpg"), lambda: j.move("Ac/a.jpg", "Cu")):
            with pytest.raises(JournalError, match="could not be moved.*nothing changed"):
                change()
            assert contents(tmp_path) == before and (tmp_path / "Ac" / "a.jpg").exists()
    assert j.entries == [] and not list((tmp_path / ".trash").rglob("*.jpg"))


def test_a_failed_move_leaves_no_folder_it_made(tmp_path):
    make_set(tmp_path)
    j = Journal(tmp_path)
    with read_only_folder(tmp_path / "Ac"):
        with pytest.raises(JournalError):
            j.delete("Ac/a.jpg")  # .trash and .trash/Ac were made for it
        with pytest.raises(JournalError):
            j.move("Ac/a.jpg", "stratus")
    assert not (tmp_path / ".trash").exists() and not (tmp_path / "St").exists()


def _outside(tmp_path: Path) -> Path:
    """A folder next to the data set, with photos of somebody else's (at the top and in Cu/)."""
    outside = tmp_path / "outside"
    (outside / "Cu").mkdir(parents=True)
    (outside / "o.jpg").write_bytes(b"a photo of somebody else")
    (outside / "Cu" / "o.jpg").write_bytes(b"another photo of somebody else")
    return outside


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _link_a_label_folder(root: Path, outside: Path) -> None:
    shutil.rmtree(root / "Ac")
    (root / "Ac").symlink_to(outside)


LINKS_OUT = {
    "a label folder": _link_a_label_folder,
    "the trash": lambda root, out: (root / ".trash").symlink_to(out),
    "a photo": lambda root, out: (root / "Cu" / "link.jpg").symlink_to(out / "o.jpg"),
}


@pytest.mark.parametrize("link", list(LINKS_OUT))
def test_nothing_is_moved_deleted_or_written_through_a_link_that_leaves_the_set(tmp_path, link):
    root = tmp_path / "set"
    make_set(root)
    outside = _outside(tmp_path)
    theirs = _files(outside)
    LINKS_OUT[link](root, outside)
    j = Journal(root)
    attempts = {"a label folder": [lambda: j.delete("Ac/o.jpg"), lambda: j.move("Ac/o.jpg", "Cu"),
                                   lambda: j.move("Cu/b.jpg", "Ac"), lambda: j.keep("Ac/o.jpg")],
                "the trash": [lambda: j.delete("Cu/b.jpg"), lambda: j.move(".trash/Cu/o.jpg", "Ns")],
                "a photo": [lambda: j.delete("Cu/link.jpg"), lambda: j.move("Cu/link.jpg", "Ns")]}[link]
    for attempt in attempts:
        with pytest.raises(JournalError, match="link|leads out of the data set"):
            attempt()
    assert _files(outside) == theirs
    assert j.entries == [] and (root / "Cu" / "b.jpg").exists()


@pytest.mark.parametrize("linked", [".cloudatlas/journal.jsonl", ".cloudatlas"])
def test_a_journal_that_is_a_link_out_of_the_set_is_never_written(tmp_path, linked):
    root = tmp_path / "set"
    make_set(root)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "journal.jsonl").write_text("a file of somebody else\n")
    target = victim / "journal.jsonl" if linked.endswith("jsonl") else victim
    j = Journal(root)  # opened while the journal was still its own
    (root / linked).parent.mkdir(exist_ok=True)
    (root / linked).symlink_to(target)
    with pytest.raises(JournalError, match="link .*the change was reversed"):
        j.move("Ac/a.jpg", "Cu")
    with pytest.raises(JournalError, match="link"):
        j.keep("Ac/a.jpg")
    with pytest.raises(JournalError, match="cannot be the cleaner's journal: it is a link"):
        Journal(root)  # and a cleaner started now refuses at once
    assert (victim / "journal.jsonl").read_text() == "a file of somebody else\n"
    assert (root / "Ac" / "a.jpg").exists()


def test_a_label_longer_than_a_folder_name_can_be_is_refused(tmp_path):
    """70 emoji are 70 characters (the page allows 100) but 280 bytes: ENAMETOOLONG was a 500."""
    make_set(tmp_path)
    j = Journal(tmp_path)
    before = contents(tmp_path)
    with pytest.raises(JournalError, match="at most 255 bytes .*280"):
        j.move("Ac/a.jpg", "\U0001F329" * 70)  # cloud with lightning: 70 x 4 bytes
    assert contents(tmp_path) == before and j.entries == []


@pytest.mark.parametrize("name", [b"new\nline.jpg", b"caf\xe9.jpg", b"tab\there.jpg"],
                         ids=["newline", "latin-1", "tab"])
def test_a_photo_with_any_name_the_disk_holds_can_be_kept_moved_deleted_and_undone(tmp_path, name):
    make_set(tmp_path)
    photo = non_utf8_name(tmp_path / "Cu", name, b"Cu/odd" * 10)
    rel = f"Cu/{photo.name}"
    j = Journal(tmp_path)
    j.keep(rel)
    moved = j.move(rel, "Ns")
    deleted = j.delete(moved.dest)
    assert (tmp_path / ".trash" / "Ns" / photo.name).read_bytes() == b"Cu/odd" * 10
    again = Journal(tmp_path)  # the names survive the journal's JSON
    assert again.entries == j.entries
    again.undo(moved.id)
    assert photo.read_bytes() == b"Cu/odd" * 10
    log = again.log_text()
    assert len(log.splitlines()) == 2 + 4  # the summary, then a line for each change
    assert deleted.id == 3 and ("\\n" in log or "\\xe9" in log or "\\t" in log)


def test_labels_typed_in_full_width_or_decomposed_land_in_the_existing_folder(tmp_path):
    """'Ｃｕ' (a Japanese keyboard) and an NFD 'Café' (macOS) made look-alike new folders."""
    import unicodedata

    make_set(tmp_path)
    nfd_cafe = unicodedata.normalize("NFD", "Café")
    (tmp_path / nfd_cafe).mkdir()
    j = Journal(tmp_path)
    wide = j.move("Ac/a.jpg", "Ｃｕ")
    assert wide.dest == "Cu/a.jpg" and wide.label == "Cu"
    cafe = j.move("Ns/c.jpg", unicodedata.normalize("NFC", "Café"))
    assert cafe.dest == f"{nfd_cafe}/c.jpg"
    new = j.move("Cu/b.jpg", unicodedata.normalize("NFD", "Thé"))
    assert new.dest == "Thé/b.jpg" and new.dest == unicodedata.normalize("NFC", new.dest)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == \
        sorted(["Ac", "Cu", "Ns", nfd_cafe, "Thé"])
