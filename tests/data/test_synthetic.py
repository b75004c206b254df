"""The synthetic not-cloud images: deterministic, varied, and held-out styles kept apart; their
plotting library (matplotlib) belongs to the training install, never to the runtime one."""
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

from cloudatlas.data.synthetic import (ALL_STYLES, FIT_STYLES, HELDOUT_STYLES, STYLES, render_negative,
                                       synthetic_specs)


@pytest.fixture(scope="module")
def one_of_each():
    specs = synthetic_specs(len(ALL_STYLES), seed=11, styles=ALL_STYLES)
    return specs, [render_negative(s) for s in specs]


def test_the_issue_s_kinds_of_non_photo_are_all_generated():
    families = {STYLES[s].family for s in ALL_STYLES}
    assert families == {"chart", "screenshot", "document", "drawing", "flat", "noise"}
    for style in ("confusion_matrix", "bar_chart", "line_chart", "ui_screenshot", "document",
                  "line_drawing", "cartoon", "flat_colour", "noise"):
        assert style in FIT_STYLES


def test_same_seed_gives_the_same_pixels_and_another_seed_other_pixels(one_of_each):
    specs, images = one_of_each
    again = [render_negative(s) for s in synthetic_specs(len(ALL_STYLES), seed=11, styles=ALL_STYLES)]
    other = [render_negative(s) for s in synthetic_specs(len(ALL_STYLES), seed=12, styles=ALL_STYLES)]
    for spec, a, b, c in zip(specs, images, again, other):
        assert a.tobytes() == b.tobytes(), spec.style
        assert a.size != c.size or a.tobytes() != c.tobytes(), spec.style


def test_images_have_their_drawn_sizes_and_differ_in_size_and_content(one_of_each):
    specs, images = one_of_each
    for spec, img in zip(specs, images):
        assert img.mode == "RGB" and img.size == (spec.width, spec.height), spec
    sizes = {img.size for img in images}
    assert len(sizes) == len(images)  # every image its own size
    widths = [w for w, _ in sizes]
    assert min(widths) < 600 and max(widths) > 1000
    aspects = [w / h for w, h in sizes]
    assert min(aspects) < 0.9 and max(aspects) > 1.2  # portrait and landscape
    # content varies: small thumbnails of different styles are far apart
    thumbs = np.stack([np.asarray(img.resize((32, 32)), dtype=np.float32) for img in images])
    diffs = [np.abs(thumbs[i] - thumbs[j]).mean() for i in range(len(thumbs)) for j in range(i)]
    assert min(diffs) > 2 and np.median(diffs) > 20


def test_charts_and_screens_contain_text_like_detail(one_of_each):
    specs, images = one_of_each
    for spec, img in zip(specs, images):
        if spec.family in ("chart", "screenshot", "document"):
            grey = np.asarray(img.convert("L"), dtype=np.float32)
            edges = np.abs(np.diff(grey, axis=1)) > 40
            assert edges.mean() > 0.002, spec.style  # lines, glyphs and borders, not flat fields


def test_unknown_style_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown synthetic styles"):
        synthetic_specs(3, styles=["watercolour"])


# -- matplotlib stays out of the runtime install (`pip install cloudatlas`, what `make serve` runs) ---
ROOT = Path(__file__).resolve().parents[2]
RUNTIME_MODULES = ("cloudatlas.server.app", "cloudatlas.inference", "cloudatlas.cli.serve",
                   "cloudatlas.cli.predict", "cloudatlas.cli.evaluate", "cloudatlas.evaluate",
                   "cloudatlas.data.synthetic", "cloudatlas.gate")  # the gates import the style lists
# Run before anything else in a subprocess: matplotlib behaves as if it were not installed.
WITHOUT_MATPLOTLIB = """
import sys
class NoMatplotlib:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoMatplotlib())
"""


def run_python(code: str, *args: str, without_matplotlib: bool = False) -> subprocess.CompletedProcess:
    code = (WITHOUT_MATPLOTLIB if without_matplotlib else "") + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_runtime_dependencies_leave_matplotlib_to_the_plots_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = lambda reqs: {r.split(">")[0].split("=")[0].split("[")[0].strip().lower() for r in reqs}
    assert "matplotlib" not in names(project["dependencies"])
    extras = project["optional-dependencies"]
    assert "matplotlib" in names(extras["plots"])
    for extra in ("train", "dev"):  # training, gate fitting and the tests still draw figures
        assert "cloudatlas[plots]" in extras[extra], extra


def test_runtime_import_path_never_imports_matplotlib():
    result = run_python(f"""
        import importlib, sys
        for name in {RUNTIME_MODULES!r}:
            importlib.import_module(name)
        print(sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib"))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_runtime_works_without_matplotlib_and_a_plot_names_the_extra(tiny_ccsn, tmp_path):
    result = run_python("""
        import importlib, sys
        from pathlib import Path
        for name in sys.argv[3].split(","):
            importlib.import_module(name)
        from cloudatlas.cli import main
        from cloudatlas.evaluate import evaluate
        from cloudatlas.evaluate.plots import plot_confusion_matrix
        from cloudatlas.data.synthetic import render_negative, synthetic_specs
        from cloudatlas.inference import Classifier

        data, out = Path(sys.argv[1]), Path(sys.argv[2])
        clf = Classifier.load()
        print("predict", clf.predict(next(data.glob("*/*.jpg"))).label)
        print("evaluate", evaluate(clf, data, "all", progress=False).report.n)
        try:
            plot_confusion_matrix([[1]], ["Cu"], out / "cm.png")
        except ImportError as err:
            print("plot error:", err)
        try:
            render_negative(synthetic_specs(1, seed=0, styles=["bar_chart"])[0])
        except ImportError as err:
            print("gate error:", err)
        code = main(["evaluate", "--data", str(data), "--split", "all", "--out", str(out / "eval")])
        print("cli exit", code)
    """, str(tiny_ccsn), str(tmp_path), ",".join(RUNTIME_MODULES), without_matplotlib=True)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["evaluate"] == "18"  # predict and evaluate (no plots) need no matplotlib
    for kind in ("plot", "gate"):
        assert "pip install 'cloudatlas[plots]'" in lines[kind], result.stdout
    assert lines["cli"] == "exit 2"  # `evaluate --out` ends with the one-line message, no traceback
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cloudatlas[plots]" in errors[0] and "Traceback" not in result.stderr
