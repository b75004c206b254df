"""cloudatlas predict and the Python API, on real photos and broken files."""
import json
import subprocess
import sys

import pytest
from PIL import Image

from cloudatlas import Classifier, ImageLoadError
from cloudatlas.inference import bundled_model_path


@pytest.fixture(scope="module")
def model_path():
    path = bundled_model_path()
    assert path.exists(), "the bundled model must ship with the package"
    return path


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "cloudatlas", *map(str, args)], capture_output=True, text=True)


def test_predict_json_answers_good_photos_and_reports_bad_ones(tmp_path, ccsn_dir, model_path):
    good = ccsn_dir / "Cb" / "Cb-N001.jpg"
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.read_bytes()[:2000])
    proc = run_cli("predict", good, text, truncated, tmp_path / "missing.jpg", "--json")
    assert proc.returncode == 1
    records = json.loads(proc.stdout)
    assert [r["file"] for r in records] == [str(good), str(text), str(truncated), str(tmp_path / "missing.jpg")]
    first = records[0]
    assert len(first["predictions"]) == 11
    probs = [p["probability"] for p in first["predictions"]]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-3
    assert {"label", "name", "probability"} <= set(first["predictions"][0])
    assert "is_cloud" in first and "cloud_score" in first
    assert "text file" in records[1]["error"]
    assert "truncated" in records[2]["error"]
    assert "no such file" in records[3]["error"]


def test_predict_text_output_and_top(ccsn_dir, model_path):
    proc = run_cli("predict", ccsn_dir / "Ct" / "Ct-N001.jpg", "--top", "2")
    assert proc.returncode == 0
    assert proc.stdout.count("%") == 3  # headline + two genera


def test_python_api_accepts_paths_bytes_and_pil_images(ccsn_dir, model_path):
    clf = Classifier.load()
    path = ccsn_dir / "Cu" / "Cu-N002.jpg"
    by_path = clf.predict(path)
    by_bytes = clf.predict(path.read_bytes())
    by_pil = clf.predict(Image.open(path))
    assert by_path.label == by_bytes.label == by_pil.label
    assert abs(by_path.probability - by_bytes.probability) < 1e-5
    assert by_path.name == dict(zip(clf.labels, clf.names))[by_path.label]
    with pytest.raises(ImageLoadError):
        clf.predict(b"GIF89a-broken")


def test_inference_does_not_import_torch(ccsn_dir, model_path):
    code = ("import sys; from cloudatlas import Classifier; import cloudatlas.cli.predict;"
            f"Classifier.load().predict({str(ccsn_dir / 'Sc' / 'Sc-N001.jpg')!r});"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'timm', 'torchvision')];"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_model_file_is_a_clear_error(tmp_path, ccsn_dir):
    proc = run_cli("predict", ccsn_dir / "Cu" / "Cu-N001.jpg", "--model", tmp_path / "nope.onnx")
    assert proc.returncode == 2 and "Model file not found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("top", ["0", "-1", "two"])
def test_top_below_one_is_a_usage_error(ccsn_dir, top):
    proc = run_cli("predict", ccsn_dir / "Cu" / "Cu-N001.jpg", "--top", top)
    assert proc.returncode == 2 and "--top" in proc.stderr and proc.stdout == ""
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args,message", [
    (["--resume"], "--resume needs --out"),
    (["--workers", "2"], "--workers needs --out"),
    (["--out", "r.csv", "--json"], "--json shapes the answers on the screen"),
    (["--out", "r.csv", "--top", "2"], "--top shapes the answers on the screen"),
    (["--out", "r.csv", "--workers", "0"], "must be at least 1"),
    (["--out", "r.xlsx"], "must end in .parquet, .csv or .jsonl"),
])
def test_archive_flags_that_do_not_go_together_are_usage_errors(tmp_path, ccsn_dir, args, message):
    args = [str(tmp_path / a) if a.startswith("r.") else a for a in args]
    proc = run_cli("predict", ccsn_dir / "Cu" / "Cu-N001.jpg", *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_a_folder_without_out_is_walked_and_answered_on_the_screen(tmp_path, ccsn_dir):
    for name in ("Ci-N001.jpg", "Ci-N002.jpg"):
        (tmp_path / "sky" / "2024").mkdir(parents=True, exist_ok=True)
        (tmp_path / "sky" / "2024" / name).write_bytes((ccsn_dir / "Ci" / name).read_bytes())
    proc = run_cli("predict", tmp_path / "sky", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [r["file"] for r in json.loads(proc.stdout)] == [str(tmp_path / "sky" / "2024" / n)
                                                             for n in ("Ci-N001.jpg", "Ci-N002.jpg")]
