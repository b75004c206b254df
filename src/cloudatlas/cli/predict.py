"""cloudatlas predict: name the cloud genus in one or more photos."""
from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = "Name the cloud genus in photos, with a confidence for every genus."
EPILOG = """\
examples:
  cloudatlas predict sky.jpg
  cloudatlas predict photos/*.jpg --top 3
  cloudatlas predict IMG_0042.HEIC --json        one JSON array, one object per photo
  cloudatlas predict sky.jpg --model runs/mine/model.onnx

exit status: 0 when every photo was answered, 1 when some could not be read, 2 on usage errors.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="image files (JPEG, PNG, WebP, HEIC, ...)")
    p.add_argument("--model", help="ONNX model file (default: the bundled model)")
    p.add_argument("--top", type=int, default=None, metavar="K",
                   help="show only the K most likely genera (default: 3 in text, all in --json)")
    p.add_argument("--json", action="store_true", help="print one JSON array instead of text")


def run(args: argparse.Namespace) -> int:
    from ..imageio import ImageLoadError
    from ..inference import Classifier

    clf = Classifier.load(args.model)
    results = clf.predict_batch(args.photos)
    failed = 0
    records = []
    for path, res in zip(args.photos, results):
        if isinstance(res, ImageLoadError):
            failed += 1
            records.append({"file": path, "error": str(res)})
        else:
            records.append(res.to_dict(top=args.top))
    if args.json:
        json.dump(records, sys.stdout, indent=2)
        print()
    else:
        for rec in records:
            _print_text(rec, args.top or 3)
    return 1 if failed else 0


def _print_text(rec: dict, top: int) -> None:
    if "error" in rec:
        print(f"{rec['file']}: error: {rec['error']}", file=sys.stderr)
        return
    best = rec["predictions"][0]
    if rec.get("verdict") == "clear_sky":
        print(f"{rec['file']}: clear sky: no clouds to name (clear-sky score {rec['clear_sky_score']:.2f})")
        return
    verdict = ""
    if rec.get("verdict") == "not_sky":
        verdict = f"  (does not look like a sky photo: cloud score {rec['cloud_score']:.2f}; only a guess)"
    print(f"{rec['file']}: {rec['headline']} ({best['label']} {best['probability']:.0%}){verdict}")
    for p in rec["predictions"][:top]:
        bar = "#" * round(p["probability"] * 30)
        print(f"    {p['label']:>3} {p['name']:<14} {p['probability']:6.1%} {bar}")
