"""Result files: one row per photo in every format, torn tails cut, kills leave readable files."""
import json

import pytest

from cloudatlas.archive import ArchiveError, columns
from cloudatlas.archive.writers import open_writer

from .helpers import read_results

LABELS = ["Ac", "Cu", "St"]
FORMATS = [".jsonl", ".csv", ".parquet"]


def rows(start: int, n: int, error_every: int = 4) -> list[dict]:
    out = []
    for i in range(start, start + n):
        row = dict.fromkeys(columns(LABELS))
        if i % error_every == 0:
            row.update(file=f"/a/{i}, \"odd\"\nname.jpg", error="notes.jpg: this is a text file, not an image.")
        else:
            row.update(file=f"/a/{i}.jpg", verdict="cloud", label="Cu", probability=0.5, confidence="likely",
                       level="low", p_Ac=0.25, p_Cu=0.5, p_St=0.25)
        out.append(row)
    return out


def results_file(tmp_path, suffix: str, n: int):
    """A finished results file of ``n`` rows."""
    out = tmp_path / f"r{suffix}"
    with open_writer(out, LABELS) as writer:
        writer.write(rows(0, n))
    return out


@pytest.mark.parametrize("suffix", FORMATS)
def test_rows_round_trip_with_nulls_commas_quotes_and_newlines(tmp_path, suffix):
    out = results_file(tmp_path, suffix, 10)
    assert read_results(out) == rows(0, 10)
    assert not (tmp_path / "r.parquet.parts").exists()


@pytest.mark.parametrize("suffix", FORMATS)
def test_an_existing_output_needs_resume_and_resume_adds_to_it(tmp_path, suffix):
    out = results_file(tmp_path, suffix, 5)
    with pytest.raises(ArchiveError, match="already exists: add --resume"):
        open_writer(out, LABELS)
    with open_writer(out, LABELS, resume=True) as writer:
        assert writer.done == {r["file"] for r in rows(0, 5)}
        writer.write(rows(5, 5))
    assert read_results(out) == rows(0, 10)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_torn_last_batch_is_cut_off_on_resume(tmp_path, suffix):
    out = results_file(tmp_path, suffix, 6)
    whole = out.read_bytes()
    with open_writer(out, LABELS, resume=True) as writer:
        writer.write(rows(6, 3))
    torn = out.read_bytes()[:len(whole) + (len(out.read_bytes()) - len(whole)) // 2]  # a kill mid-batch
    out.write_bytes(torn)
    with open_writer(out, LABELS, resume=True) as writer:
        first, all_nine = {r["file"] for r in rows(0, 6)}, {r["file"] for r in rows(0, 9)}
        assert first <= writer.done < all_nine  # whole lines of the torn batch count, the torn one not
        assert out.read_bytes().endswith(b"\n") and len(out.read_bytes()) < len(torn)
        writer.write([r for r in rows(6, 3) if r["file"] not in writer.done])
    assert sorted(read_results(out), key=str) == sorted(rows(0, 9), key=str)


def test_a_torn_quoted_name_at_the_end_of_a_csv_is_cut_off(tmp_path):
    out = tmp_path / "r.csv"
    with open_writer(out, LABELS) as writer:
        writer.write(rows(1, 3))
    size = out.stat().st_size
    with open(out, "ab") as f:
        f.write(b'"/a/4, ""odd""\n')  # stops inside a quoted name, just after its newline
    with open_writer(out, LABELS, resume=True) as writer:
        assert writer.done == {r["file"] for r in rows(1, 3)}
    assert out.stat().st_size == size


@pytest.mark.parametrize("suffix", FORMATS)
def test_another_models_file_is_refused_not_mixed_in(tmp_path, suffix):
    out = results_file(tmp_path, suffix, 2)
    with pytest.raises(ArchiveError, match="not this model's"):
        open_writer(out, ["Ac", "Cu", "Ns"], resume=True)


def test_a_jsonl_file_of_something_else_is_refused(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text("not json\n" + json.dumps(rows(0, 1)[0]) + "\n")
    with pytest.raises(ArchiveError, match="line 1: not a result row"):
        open_writer(out, LABELS, resume=True)


def test_unsupported_suffix_is_an_error(tmp_path):
    with pytest.raises(ArchiveError, match="must end in .parquet, .csv or .jsonl"):
        open_writer(tmp_path / "r.xlsx", LABELS)


def test_parquet_parts_left_by_a_kill_are_read_on_resume_and_merged(tmp_path):
    out = tmp_path / "r.parquet"
    writer = open_writer(out, LABELS)
    writer.write(rows(0, 4))
    writer.flush()
    writer.write(rows(4, 4))
    writer.flush()  # then the process dies: no close, no merge
    assert not out.exists() and len(list((tmp_path / "r.parquet.parts").glob("part-*.parquet"))) == 2
    (tmp_path / "r.parquet.parts" / ".part-000002.tmp").write_bytes(b"PAR1 half a file")  # killed mid-part
    (tmp_path / ".r.parquet.tmp").write_bytes(b"PAR1 half a merge")  # a second Ctrl-C during the merge
    assert read_results(tmp_path / "r.parquet.parts") == rows(0, 8)  # readable as it is, too
    with open_writer(out, LABELS, resume=True) as writer:
        assert writer.done == {r["file"] for r in rows(0, 8)}
        writer.write(rows(8, 2))
    assert read_results(out) == rows(0, 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.parquet"]


def test_parquet_parts_already_merged_before_a_kill_are_not_counted_twice(tmp_path):
    out = tmp_path / "r.parquet"
    with open_writer(out, LABELS) as writer:
        writer.write(rows(0, 4))
        writer.flush()
        parts = tmp_path / "r.parquet.parts"
        kept = (parts / "part-000000.parquet").read_bytes()
    parts.mkdir()  # a kill between the merge's rename and the removal of the parts
    (parts / "part-000000.parquet").write_bytes(kept)
    with open_writer(out, LABELS, resume=True) as writer:
        assert writer.done == {r["file"] for r in rows(0, 4)}
    assert read_results(out) == rows(0, 4)
