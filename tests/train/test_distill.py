"""A tiny real recipe run: several sources -> decisions -> teacher -> distilled student -> ONNX."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cloudatlas.data.recipe import read_decisions
from cloudatlas.inference import Classifier
from cloudatlas.recipe import Recipe

LABELS = ["Cb", "Ci", "Ct"]


def _copy(src: Path, dest: Path, labels, per_label, offset=0, split=None) -> Path:
    rows = []
    if split:
        with open(src / "split.csv") as f:
            rows = [r for r in csv.DictReader(f) if r["split"] == split]
    for label in labels:
        (dest / label).mkdir(parents=True, exist_ok=True)
        names = sorted(p.name for p in (src / label).glob("*.jpg"))
        if split:
            names = [n for n in names if any(r["path"] == f"{label}/{n}" for r in rows)]
        for name in names[offset:offset + per_label]:
            shutil.copy(src / label / name, dest / label / name)
    return dest


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory, ccsn_dir):
    root = tmp_path_factory.mktemp("recipe")
    extra = ccsn_dir.parent / "extra"
    _copy(ccsn_dir, root / "a", LABELS, 12, split="train")
    _copy(extra / "curated", root / "b", LABELS, 10)
    _copy(extra / "scrape", root / "c", ["Cb", "Ci"], 8)
    # a benchmark whose one photo is also in source a: it must never train anything
    leak = sorted((root / "a" / "Ct").glob("*.jpg"))[0]
    (root / "bench" / "Ct").mkdir(parents=True)
    shutil.copy(leak, root / "bench" / "Ct" / leak.name)
    (root / "bench" / "split.csv").write_text(f"path,label,split,group\nCt/{leak.name},Ct,test,0\n")
    (root / "decisions.csv").write_text(
        "source,path,action,label,reason\n"
        f"a,Cb/{sorted((root / 'a' / 'Cb').glob('*.jpg'))[0].name},drop,,test drop\n"
        f"b,Ci/{sorted((root / 'b' / 'Ci').glob('*.jpg'))[0].name},relabel,Cb,test relabel\n")
    path = root / "tiny.toml"
    path.write_text("""
name = "tiny"
[data]
valid_frac = 0.25
decisions = "decisions.csv"
benchmark = { path = "bench", split = "test" }
[[data.source]]
name = "a"
path = "a"
[[data.source]]
name = "b"
path = "b"
holdout = 0.3
weight = 1.5
[[data.source]]
name = "c"
path = "c"
trust = "teacher"
[teacher]
folds = 2
probes = [{ arch = "efficientnet_lite0", img_size = 64 }]
[student]
img_size = 64
freeze_to = 4
cache_views = 2
epochs = 2
batch_size = 16
[distill]
refit = true
""")
    return path, leak


def test_recipe_assembles_sources_with_decisions_and_no_benchmark_leak(recipe_file):
    from cloudatlas.data.recipe import assemble

    path, leak = recipe_file
    recipe = Recipe.load(path)
    data = assemble(recipe.data)
    ids = {s.id for part in data.parts().values() for s in part}
    assert f"a:Ct/{leak.name}" not in ids  # the benchmark photo is left out of every part
    assert data.left_out["near-duplicate of a benchmark photo"] == [f"a:Ct/{leak.name}"]
    assert any("test drop" in reason for reason in data.left_out)
    relabelled = [s for part in data.parts().values() for s in part if s.source == "b" and s.label == "Cb"
                  and s.path.parent.name == "Ci"]
    assert len(relabelled) == 1
    assert {s.source for s in data.transfer} == {"c"} and not any(s.trusted for s in data.transfer)
    assert {s.source for s in data.holdout} == {"b"}
    assert {s.source for s in data.valid} == {"a", "b"}  # validation drawn from every trusted source
    assert all(s.weight == 1.5 for s in data.train if s.source == "b")
    groups = lambda part: {s.group for s in part}
    assert not groups(data.train) & (groups(data.valid) | groups(data.holdout))


def test_decisions_file_is_validated(tmp_path):
    from cloudatlas.data import DataError

    bad = tmp_path / "d.csv"
    bad.write_text("source,path,action,label,reason\na,Cu/x.jpg,burn,,\n")
    with pytest.raises(DataError, match="action"):
        read_decisions(bad)


@pytest.mark.slow
def test_train_recipe_distils_one_network_with_its_recipe_inside(recipe_file, tmp_path):
    from cloudatlas.train.distill import train_recipe

    path, _ = recipe_file
    result = train_recipe(path, tmp_path / "runs" / "tiny")
    model = Path(result["model"])
    clf = Classifier.load(model)
    assert clf.labels == LABELS and clf.img_size == 64
    meta = clf.metadata
    assert meta["recipe"]["name"] == "tiny" and meta["recipe"]["file"].endswith("tiny.toml")
    assert meta["training"]["refit"] is True
    assert set(result["teacher"]) == {"valid", "holdout"}
    report = json.loads((model.parent / "report.json").read_text())
    assert set(report["student"]["valid"]) == {"a", "b"}  # validation reported per source
    photo = sorted((path.parent / "b" / "Ct").glob("*.jpg"))[-1]
    probs = [p.probability for p in clf.predict(photo).predictions]
    assert abs(sum(probs) - 1) < 1e-4
    # one backbone pass per photo (and its mirror image): a single network, not an ensemble
    assert "ensemble" not in meta and meta["test_time_augmentation"] == "horizontal flip"
    # the held-out part of the recipe is measured per source, labels as the decisions left them
    from cloudatlas.evaluate.evaluate import evaluate_recipe_part

    held = evaluate_recipe_part(model, path, "holdout", progress=False)
    assert set(held.per_source) == {"b"} and held.report.n == held.per_source["b"]["n"] > 0


@pytest.mark.slow
def test_verdict_gates_go_into_the_student(recipe_file, tmp_path, clear_sky_dir, not_cloud_dir):
    """Sky gate + clear-sky gate fitted on a recipe's photos, written into the model file."""
    from cloudatlas.gate.verdict import fit_verdict
    from cloudatlas.inference.verdict import verdict_of
    from cloudatlas.train.distill import train_recipe

    path, _ = recipe_file
    model = Path(train_recipe(path, tmp_path / "runs" / "tiny")["model"])
    clear = _copy(clear_sky_dir.parent, tmp_path / "clear", [clear_sky_dir.name], 20) / clear_sky_dir.name
    other = tmp_path / "other"
    other.mkdir()
    for p in sorted(not_cloud_dir.glob("*.jpg"))[:30]:
        shutil.copy(p, other / p.name)
    gated = tmp_path / "gated.onnx"
    report = fit_verdict(model, path, clear, other, out_path=gated, n_synthetic=24, n_synthetic_heldout=12)
    clf = Classifier.load(gated)
    assert clf.gate_threshold == pytest.approx(report.gate.threshold)
    assert clf.clear_threshold == pytest.approx(report.clear.threshold)
    assert {"cloud_score", "clear_sky_score"} <= clf.outputs
    assert "heldout" in clf.metadata["gate"] and clf.metadata["clear_sky"]["threshold"] == clf.clear_threshold
    for photo in sorted(clear.glob("*.jpg"))[:3] + sorted(other.glob("*.jpg"))[:3]:
        pred = clf.predict(photo)
        assert pred.verdict == verdict_of(pred.cloud_score, pred.clear_sky_score, clf.gate_threshold,
                                          clf.clear_threshold)
        assert pred.is_cloud == (pred.verdict == "cloud")
