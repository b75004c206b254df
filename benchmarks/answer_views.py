"""What the network sees at answer time: input size and view of the photo, on the expert photos.

    .venv/bin/python benchmarks/answer_views.py [--model PATH] [--part expert_dev] [--sizes 224,256,288,320,352]

The shipped model answers on the centre square of the photo at its training size, averaged with
the mirror image (inside the graph). This measures the alternatives with the same network, the
same calibration and the evaluation's own metrics (``probability_report``):

* more (or fewer) pixels: the centre square at other sizes (train-test resolution discrepancy:
  random-resized-crop training makes objects look larger than the centre square does), and the
  geometric mean over all sizes;
* more of the photo: the whole photo squashed to a square, and three squares along its long
  side (left, centre, right), averaged.

A copy of the graph with a free input height and width is written to a temporary folder; the
model file itself is not changed. Photos come from the bundled recipe's part (validation only).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image
from tqdm.auto import tqdm

from _common import ROOT
from cloudatlas.config import Recipe
from cloudatlas.data.assemble import recipe_part
from cloudatlas.evaluate import probability_report
from cloudatlas.imageio import center_square, load_image
from cloudatlas.inference import Classifier

RECIPE = ROOT / "recipes" / "bundled.toml"


def free_size_session(model: Path, folder: Path) -> ort.InferenceSession:
    """The same graph with symbolic height and width, so that it runs at any input size."""
    graph = onnx.load(str(model))
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    dims[1].dim_param, dims[2].dim_param = "height", "width"
    path = folder / "free_size.onnx"
    onnx.save(graph, str(path))
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def squares(img: Image.Image, size: int, n: int = 3) -> np.ndarray:
    """``n`` squares from one end of the long side to the other, together covering the photo."""
    width, height = img.size
    side = min(width, height)
    out = []
    for k in range(n):
        left, top = ((width - side) * k / (n - 1), 0) if width >= height else (0, (height - side) * k / (n - 1))
        out.append(np.asarray(img.resize((size, size), Image.BILINEAR, box=(left, top, left + side, top + side),
                                         reducing_gap=2.0)))
    return np.stack(out)


def geometric_mean(probs: list[np.ndarray]) -> np.ndarray:
    p = np.exp(np.mean([np.log(q + 1e-9) for q in probs], axis=0))
    return p / p.sum(-1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="ONNX model (default: the bundled one)")
    ap.add_argument("--part", default="expert_dev", help="a validation part of the bundled recipe")
    ap.add_argument("--sizes", default="224,256,288,320,352", help="centre-square sizes to try")
    args = ap.parse_args()
    clf = Classifier.load(args.model) if args.model else Classifier.load()
    samples = recipe_part(Recipe.load(RECIPE), args.part)
    samples = [s for s in samples if s.label in clf.labels]
    y = np.array([clf.labels.index(s.label) for s in samples])
    sizes = sorted({int(x) for x in args.sizes.split(",")} | {clf.img_size})
    views: dict[str, list[np.ndarray]] = {f"centre {n} px": [] for n in sizes}
    views["squashed whole photo"], views["3 squares along the photo"] = [], []
    with tempfile.TemporaryDirectory() as tmp:
        session = free_size_session(Path(clf.path), Path(tmp))
        run = lambda batch: geometric_mean(list(session.run(["probabilities"], {"image": batch})[0]))
        for sample in tqdm(samples, desc=f"{args.part}: {len(views)} views", unit="photo"):
            img = load_image(sample.path, min_size=max(sizes))
            for n in sizes:
                views[f"centre {n} px"].append(run(center_square(img, n)[None]))
            squashed = img.resize((clf.img_size, clf.img_size), Image.BILINEAR, reducing_gap=2.0)
            views["squashed whole photo"].append(run(np.asarray(squashed)[None]))
            views["3 squares along the photo"].append(run(squares(img, clf.img_size)))
    views["mean over sizes"] = [geometric_mean(list(p)) for p in zip(*(views[f"centre {n} px"] for n in sizes))]
    print(f"{args.part} ({len(y)} photos), {clf.path}; shipped: centre {clf.img_size} px")
    print(f"{'view':28s} {'top-1':>6s} {'top-3':>6s} {'level':>6s} {'ECE':>6s}  recall")
    for name, probs in views.items():
        r = probability_report(np.stack(probs), y, clf.labels)
        recall = " ".join(f"{k} {v:.2f}" for k, v in r["recall"].items())
        level = r.get("level", float("nan"))
        print(f"{name:28s} {r['top1']:6.3f} {r['top3']:6.3f} {level:6.3f} {r['ece']:6.3f}  {recall}")


if __name__ == "__main__":
    main()
