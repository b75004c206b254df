"""A real (tiny) training run: photos -> fine-tune -> ONNX -> predictions, and resume."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cloudatlas.inference import Classifier
from cloudatlas.train import train

TINY = dict(img_size=64, epochs=1, freeze_epochs=1, batch_size=8, freeze_to=3, cache_views=2, valid_frac=0.2)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, ccsn_dir):
    from tests.conftest import copy_subset

    data = copy_subset(ccsn_dir, tmp_path_factory.mktemp("data"), ["Ci", "Cu", "Ns"], 8)
    out = tmp_path_factory.mktemp("runs") / "tiny"
    return data, out, train(data=data, out=out, **TINY)


def test_run_folder_describes_itself(tiny_run):
    _, out, result = tiny_run
    for name in ("config.json", "data.json", "metrics.csv", "curves.png", "confusion_matrix.png",
                 "report.json", "model.onnx", "last.pt"):
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert config["student"]["img_size"] == 64 and config["student"]["arch"] == "efficientnet_lite0"
    assert config["data"]["valid_frac"] == 0.2 and config["world_size"] == 1
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert metrics[0].startswith("epoch,phase") and len(metrics) == 3  # frozen + unfrozen epoch
    assert result.report.labels == ["Ci", "Cu", "Ns"]


def test_exported_model_predicts_without_torch_and_matches_metadata(tiny_run):
    data, out, _ = tiny_run
    photo = sorted((data / "Cu").glob("*.jpg"))[0]
    code = (
        "import sys, json; from cloudatlas import Classifier;"
        f"c = Classifier.load({str(out / 'model.onnx')!r}); p = c.predict({str(photo)!r});"
        "print(json.dumps([c.labels, c.img_size, [x.probability for x in p.predictions], 'torch' in sys.modules]))"
    )
    labels, size, probs, torch_loaded = json.loads(subprocess.check_output([sys.executable, "-c", code]))
    assert labels == ["Ci", "Cu", "Ns"] and size == 64
    assert abs(sum(probs) - 1) < 1e-4 and probs == sorted(probs, reverse=True)
    assert torch_loaded is False


def test_onnx_matches_the_torch_model(tiny_run):
    import torch

    data, out, _ = tiny_run
    clf = Classifier.load(out / "model.onnx")
    pixels = np.stack([clf.preprocess(p) for p in sorted((data / "Ns").glob("*.jpg"))[:4]])
    expected = _torch_probabilities(out, "efficientnet_lite0", pixels)
    got = clf.session.run(["probabilities"], {"image": pixels})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_resume_continues_instead_of_starting_over(tiny_run, capsys):
    data, out, first = tiny_run
    again = train(out=out, resume=True, epochs=2)  # the run's own recipe, one more unfrozen epoch
    assert len((out / "metrics.csv").read_text().splitlines()) == 4
    assert "Resuming" in capsys.readouterr().err
    assert again.model_path.exists()


def test_refuses_to_overwrite_a_run(tiny_run):
    data, out, _ = tiny_run
    with pytest.raises(FileExistsError, match="--resume"):
        train(data=data, out=out)


def test_cli_train_reports_bad_data_without_traceback(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "-m", "cloudatlas", "train", "--data", str(tmp_path / "empty"),
                           "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "no photos found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv, message", [
    (["--data", "{data}", "--epocs", "3"], "--epochs"),                      # argparse names the flag
    (["--data", "{data}", "--conflicts", "sometimes"], "invalid choice"),
    (["--recipe", "{recipe}"], "did you mean 'epochs'"),                     # a recipe's typo, and its fix
])
def test_cli_train_names_a_wrong_setting_and_its_nearest_valid_one(tmp_path, tiny_run, argv, message):
    data, _, _ = tiny_run
    recipe = tmp_path / "typo.toml"
    recipe.write_text(f'[data]\n[[data.source]]\nname = "a"\npath = "{data}"\n[student]\nepoch = 3\n')
    argv = [a.format(data=data, recipe=recipe) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "cloudatlas", "train", *argv, "--out", str(tmp_path / "r")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_every_flag_takes_effect(tiny_run, tmp_path):
    """A flag is an override of the recipe's setting: what the run records is what was asked."""
    data, _, _ = tiny_run
    out = tmp_path / "flags"
    proc = subprocess.run([sys.executable, "-m", "cloudatlas", "train", "--data", str(data), "--out", str(out),
                           "--img-size", "64", "--epochs", "1", "--freeze-epochs", "0", "--batch-size", "8",
                           "--lr", "0.001", "--valid-frac", "0.3", "--split-seed", "2", "--conflicts", "keep",
                           "--label-smoothing", "0.05", "--no-refit", "--flip-tta"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["student"] | {"img_size": 64, "epochs": 1, "freeze_epochs": 0, "batch_size": 8, "lr": 0.001,
                                "label_smoothing": 0.05} == config["student"]
    assert config["data"]["valid_frac"] == 0.3 and config["data"]["split_seed"] == 2
    assert config["data"]["conflicts"] == "keep"
    assert config["distill"]["refit"] is False and config["distill"]["flip_tta"] is True
    assert Classifier.load(out / "model.onnx").metadata["test_time_augmentation"] == "horizontal flip"
    assert len((out / "metrics.csv").read_text().splitlines()) == 2  # one unfrozen epoch, no head-only one


def test_ensemble_of_two_seeds_averages_its_members(tiny_run, tmp_path):
    from cloudatlas.export import export_ensemble

    data, out, _ = tiny_run
    second = train(data=data, out=tmp_path / "seed1", **{**TINY, "seed": 1})
    ensemble = export_ensemble([out, second.out], tmp_path / "ensemble.onnx")
    clf = Classifier.load(ensemble)
    assert clf.metadata["ensemble"]["members"] == 2 and "valid" in clf.metadata["metrics"]
    photos = sorted((data / "Ci").glob("*.jpg"))[:3]
    pixels = np.stack([clf.preprocess(p) for p in photos])
    members = [Classifier.load(r / "model.onnx").session.run(["probabilities"], {"image": pixels})[0]
               for r in (out, second.out)]
    got = clf.session.run(["probabilities"], {"image": pixels})[0]
    np.testing.assert_allclose(got, (members[0] + members[1]) / 2, atol=1e-4)


def test_flip_tta_averages_each_photo_with_its_mirror_image(tiny_run, tmp_path):
    from cloudatlas.export import export_ensemble

    data, out, _ = tiny_run
    model = Classifier.load(export_ensemble([out], tmp_path / "tta.onnx", flip_tta=True))
    plain = Classifier.load(out / "model.onnx")
    pixels = np.stack([plain.preprocess(p) for p in sorted((data / "Cu").glob("*.jpg"))[:2]])
    run = lambda clf, x: clf.session.run(["probabilities"], {"image": np.ascontiguousarray(x)})[0]
    expected = (run(plain, pixels) + run(plain, pixels[:, :, ::-1])) / 2
    np.testing.assert_allclose(run(model, pixels), expected, atol=1e-4)
    assert model.metadata["test_time_augmentation"] == "horizontal flip"


def test_ensemble_of_two_backbones_runs_both_on_one_input(tiny_run, tmp_path):
    """A lite1 run at 72 px joins the lite0 run at 64 px: both see the ensemble's 72 px input,
    and each member's probabilities count once."""
    from cloudatlas.export import export_ensemble

    data, out, _ = tiny_run
    other = train(data=data, out=tmp_path / "lite1", **{**TINY, "arch": "efficientnet_lite1", "img_size": 72,
                                                         "freeze_to": 2})
    ensemble = Classifier.load(export_ensemble([out, other.out], tmp_path / "mixed.onnx"))
    meta = ensemble.metadata
    assert ensemble.img_size == 72 and meta["arch"] == "efficientnet_lite0+efficientnet_lite1"
    assert meta["ensemble"]["shared_blocks"] == {"efficientnet_lite0": 3, "efficientnet_lite1": 2}
    photos = sorted((data / "Ns").glob("*.jpg"))[:3]
    pixels = np.stack([ensemble.preprocess(p) for p in photos])
    members = [_torch_probabilities(run, arch, pixels)
               for run, arch in ((out, "efficientnet_lite0"), (other.out, "efficientnet_lite1"))]
    got, cam = ensemble.session.run(["probabilities", "cam"], {"image": pixels})
    np.testing.assert_allclose(got, (members[0] + members[1]) / 2, atol=1e-4)
    assert cam.shape[:2] == (3, 3) and np.isfinite(cam).all()


def test_ensemble_refuses_runs_with_different_validation_parts(tiny_run, tmp_path):
    from cloudatlas.export import export_ensemble

    data, out, _ = tiny_run
    other = train(data=data, out=tmp_path / "other-split", **{**TINY, "split_seed": 7})
    with pytest.raises(ValueError, match="split_seed"):
        export_ensemble([out, other.out], tmp_path / "bad.onnx")


def _torch_probabilities(run, arch, pixels):
    """What a run's best weights say about ``pixels`` at their size, computed in torch."""
    import torch

    from cloudatlas.export import CloudNet
    from cloudatlas.export.ensemble import run_weights
    from cloudatlas.model import get_backbone

    spec = get_backbone(arch)
    model = spec.create(3, weights=None)
    model.load_state_dict(run_weights(run))
    with torch.no_grad():
        net = CloudNet(model.eval(), spec.mean, spec.std, structure=spec.structure)
        return net(torch.from_numpy(pixels))[0].numpy()


def test_fp16_weights_halve_the_file_and_keep_the_predictions(tiny_run, tmp_path):
    from cloudatlas.export import export_ensemble

    data, out, _ = tiny_run
    full = Classifier.load(export_ensemble([out], tmp_path / "float32.onnx"))
    half = Classifier.load(export_ensemble([out], tmp_path / "float16.onnx", fp16_weights=True))
    assert half.path.stat().st_size < 0.55 * full.path.stat().st_size
    assert half.metadata["weights_storage"] == "float16, computed in float32"
    pixels = np.stack([half.preprocess(p) for p in sorted((data / "Ci").glob("*.jpg"))[:4]])
    run = lambda clf: clf.session.run(["probabilities"], {"image": pixels})[0]
    np.testing.assert_allclose(run(half), run(full), atol=1e-3)
