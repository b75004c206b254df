"""A real (tiny) training run: photos -> fine-tune -> ONNX -> predictions, and resume."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cloudatlas.inference import Classifier
from cloudatlas.train import TrainConfig, train


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, ccsn_dir):
    from tests.conftest import copy_subset

    data = copy_subset(ccsn_dir, tmp_path_factory.mktemp("data"), ["Ci", "Cu", "Ns"], 8)
    out = tmp_path_factory.mktemp("runs") / "tiny"
    config = TrainConfig(data=str(data), out=str(out), img_size=64, epochs=1, freeze_epochs=1,
                         batch_size=8, freeze_to=3, cache_views=2, valid_frac=0.2)
    return data, out, train(config)


def test_run_folder_describes_itself(tiny_run):
    _, out, result = tiny_run
    for name in ("config.json", "data.json", "metrics.csv", "curves.png", "confusion_matrix.png",
                 "report.json", "model.onnx", "last.pt"):
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert config["img_size"] == 64 and config["arch"] == "efficientnet_lite0"
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

    from cloudatlas.export import CloudNet
    from cloudatlas.model import create_model

    data, out, _ = tiny_run
    ckpt = torch.load(out / "last.pt", weights_only=True)
    model = create_model("efficientnet_lite0", 3, weights=None)
    model.load_state_dict(ckpt["best_weights"])
    clf = Classifier.load(out / "model.onnx")
    pixels = np.stack([clf.preprocess(p) for p in sorted((data / "Ns").glob("*.jpg"))[:4]])
    with torch.no_grad():
        expected = CloudNet(model.eval(), (0.5,) * 3, (0.5,) * 3)(torch.from_numpy(pixels))[0].numpy()
    got = clf.session.run(["probabilities"], {"image": pixels})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_resume_continues_instead_of_starting_over(tiny_run, capsys):
    data, out, first = tiny_run
    config = TrainConfig.load(out / "config.json")
    config.epochs = 2  # one more unfrozen epoch than was run
    again = train(config, resume=True)
    assert len((out / "metrics.csv").read_text().splitlines()) == 4
    assert "Resuming" in capsys.readouterr().err
    assert again.model_path.exists()


def test_refuses_to_overwrite_a_run(tiny_run):
    data, out, _ = tiny_run
    with pytest.raises(FileExistsError, match="--resume"):
        train(TrainConfig(data=str(data), out=str(out)))


def test_cli_train_reports_bad_data_without_traceback(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "-m", "cloudatlas", "train", "--data", str(tmp_path / "empty"),
                           "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "no photos found" in proc.stderr and "Traceback" not in proc.stderr


def test_ensemble_of_two_seeds_averages_its_members(tiny_run, tmp_path):
    from cloudatlas.export import export_ensemble

    data, out, _ = tiny_run
    config = TrainConfig.load(out / "config.json")
    config.out, config.seed, config.epochs = str(tmp_path / "seed1"), 1, 1
    second = train(config)
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
    config = TrainConfig.load(out / "config.json")
    config.out, config.arch, config.img_size, config.freeze_to = str(tmp_path / "lite1"), "efficientnet_lite1", 72, 2
    other = train(config)
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
    config = TrainConfig.load(out / "config.json")
    config.out, config.split_seed = str(tmp_path / "other-split"), 7
    other = train(config)
    with pytest.raises(ValueError, match="split_seed"):
        export_ensemble([out, other.out], tmp_path / "bad.onnx")


def _torch_probabilities(run, arch, pixels):
    """What a run's best weights say about ``pixels`` at their size, computed in torch."""
    import torch

    from cloudatlas.export import CloudNet
    from cloudatlas.model import create_model

    model = create_model(arch, 3, weights=None)
    model.load_state_dict(torch.load(run / "last.pt", weights_only=True)["best_weights"])
    with torch.no_grad():
        return CloudNet(model.eval(), (0.5,) * 3, (0.5,) * 3)(torch.from_numpy(pixels))[0].numpy()


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
