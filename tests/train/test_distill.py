"""A tiny real recipe run: several sources -> decisions -> teacher -> distilled student -> gates -> ONNX,
all from one ``train(recipe)``."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cloudatlas.config import Recipe
from cloudatlas.data.assemble import read_decisions
from cloudatlas.inference import Classifier

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
def recipe_file(tmp_path_factory, ccsn_dir, clear_sky_dir, not_cloud_dir):
    root = tmp_path_factory.mktemp("recipe")
    extra = ccsn_dir.parent / "extra"
    _copy(clear_sky_dir.parent, root, [clear_sky_dir.name], 20)
    (root / "other").mkdir()
    for p in sorted(not_cloud_dir.glob("*.jpg"))[:30]:
        shutil.copy(p, root / "other" / p.name)
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
conflicts = "soft"
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
flip_tta = true
[gate]
not_sky = "other"
clear_sky = "clear_sky"
synthetic = 24
synthetic_heldout = 12
""")
    return path, leak


def test_recipe_assembles_sources_with_decisions_and_no_benchmark_leak(recipe_file):
    from cloudatlas.data import assemble

    path, leak = recipe_file
    data = assemble(Recipe.load(path))
    ids = {s.id for name, part in data.parts().items() if name != "test" for s in part}
    assert f"a:Ct/{leak.name}" not in ids  # the benchmark photo is left out of every part
    assert data.left_out["near-duplicate of a benchmark photo"] == [f"a:Ct/{leak.name}"]
    assert [s.path.name for s in data.test] == [leak.name]
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


@pytest.fixture(scope="module")
def trained(recipe_file, tmp_path_factory):
    from cloudatlas.train import train

    path, _ = recipe_file
    return path, train(path, out=tmp_path_factory.mktemp("runs") / "tiny")


@pytest.mark.slow
def test_one_train_distils_one_network_with_its_recipe_inside(trained):
    path, result = trained
    clf = Classifier.load(result.model_path)
    assert clf.labels == LABELS and clf.img_size == 64
    meta = clf.metadata
    assert meta["recipe"]["name"] == "tiny" and meta["recipe"]["file"].endswith("tiny.toml")
    assert meta["training"]["refit"] is True and meta["training"]["config"]["data"]["conflicts"] == "soft"
    assert set(result.summary["teacher"]) == {"valid", "holdout"}
    report = json.loads((result.out / "report.json").read_text())
    assert set(report["student"]["valid"]) == {"a", "b"}  # validation reported per source
    # refit on train + valid when the chosen epoch trained the whole network
    assert ("refit" in report["student"]) == (result.best_epoch > 1) == (result.out / "refit.pt").exists()
    photo = sorted((path.parent / "b" / "Ct").glob("*.jpg"))[-1]
    probs = [p.probability for p in clf.predict(photo).predictions]
    assert abs(sum(probs) - 1) < 1e-4
    # one backbone pass per photo (and its mirror image): a single network, not an ensemble
    assert "ensemble" not in meta and meta["test_time_augmentation"] == "horizontal flip"
    config = json.loads((result.out / "config.json").read_text())
    assert config["student"]["img_size"] == 64 and config["world_size"] == 1
    # the held-out part of the recipe is measured per source, labels as the decisions left them
    from cloudatlas.evaluate import evaluate

    held = evaluate(result.model_path, path, "holdout", progress=False)
    assert set(held.per_source) == {"b"} and held.report.n == held.per_source["b"]["n"] > 0


@pytest.mark.slow
def test_the_recipes_gates_go_into_the_student(trained):
    """[gate] in the recipe: the sky gate and the clear-sky gate are fitted on the student's own
    embedding and written into its file by the same train() call."""
    from cloudatlas.inference.verdict import verdict_of

    path, result = trained
    clf = Classifier.load(result.model_path)
    gate = result.summary["gate"]
    assert clf.gate_threshold == pytest.approx(gate["threshold"])
    assert clf.clear_threshold == pytest.approx(gate["clear_sky_threshold"])
    assert {"cloud_score", "clear_sky_score"} <= clf.outputs
    assert "heldout" in clf.metadata["gate"] and clf.metadata["clear_sky"]["threshold"] == clf.clear_threshold
    photos = sorted((path.parent / "clear_sky").glob("*.jpg"))[:3] + sorted((path.parent / "other").glob("*.jpg"))[:3]
    for photo in photos:
        pred = clf.predict(photo)
        assert pred.verdict == verdict_of(pred.cloud_score, pred.clear_sky_score, clf.gate_threshold,
                                          clf.clear_threshold)
        assert pred.is_cloud == (pred.verdict == "cloud")
