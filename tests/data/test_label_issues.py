"""`cloudatlas data issues`: a photo filed under the wrong genus is ranked near the top."""
from __future__ import annotations

import json

import pytest

from cloudatlas.cli import main
from cloudatlas.errors import DataError
from cloudatlas.data.label_issues import find_label_issues

from .tools_fixtures import cache_env, copy_photo, feature_model  # noqa: F401  (fixtures)

PER_LABEL = 20


@pytest.fixture
def mislabelled(tmp_path, ccsn_dir):
    """20 contrails, 20 cumulus, 20 nimbostratus, plus one more contrail filed as cumulus."""
    root = tmp_path / "subset"
    for label in ("Ct", "Cu", "Ns"):
        for p in sorted((ccsn_dir / label).glob("*.jpg"))[:PER_LABEL]:
            copy_photo(p, root / label / p.name)
    wrong = sorted((ccsn_dir / "Ct").glob("*.jpg"))[PER_LABEL]
    copy_photo(wrong, root / "Cu" / wrong.name)
    return root, f"Cu/{wrong.name}"


def test_deliberately_mislabelled_photo_ranks_high(mislabelled, feature_model, cache_env, capsys):
    root, planted = mislabelled
    report = find_label_issues(root, model=feature_model, progress=False)

    assert report.n_images == 3 * PER_LABEL + 1 and report.labels == ["Ct", "Cu", "Ns"]
    assert report.folds == 5
    found = next(r for r in report.ranked if r.path == planted)
    assert found.is_issue, found
    assert found.rank <= 6, [(r.rank, r.path, r.suggested) for r in report.ranked[:8]]  # top 10 %
    assert found.suggested == "Ct" and found.label == "Cu"
    assert found.quality < 0.5
    assert report.cv_accuracy > 0.6
    assert list(cache_env.rglob("embeddings-*.npz"))  # embeddings cached for the next run

    # The CLI gives the same ranking from the cached embeddings.
    assert main(["data", "issues", str(root), "--model", str(feature_model), "--json", "--top", "10"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert planted in [r["path"] for r in data["issues"]]
    assert {"path", "label", "suggested", "quality", "rank"} <= set(data["ranked"][0])


def test_unreadable_photos_are_reported_not_fatal(mislabelled, feature_model, cache_env):
    root, _ = mislabelled
    (root / "Ns" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    report = find_label_issues(root, model=feature_model, progress=False)
    assert [u["path"] for u in report.unreadable] == ["Ns/broken.jpg"]
    assert "Ns/broken.jpg" not in [r.path for r in report.ranked]


def test_too_little_data_and_missing_model_are_clear_errors(tmp_path, ccsn_dir, feature_model, cache_env, capsys):
    root = tmp_path / "one-label"
    for p in sorted((ccsn_dir / "Cu").glob("*.jpg"))[:3]:
        copy_photo(p, root / "Cu" / p.name)
    copy_photo(sorted((ccsn_dir / "Ci").glob("*.jpg"))[0], root / "Ci" / "lonely.jpg")
    with pytest.raises(DataError, match="at least two labels"):
        find_label_issues(root, model=feature_model, progress=False)
    assert main(["data", "issues", str(root), "--model", str(tmp_path / "missing.onnx")]) == 2
    assert "Model file not found" in capsys.readouterr().err
