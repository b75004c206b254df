"""cloudatlas predict: name the cloud genus in photos, a few on the screen or a whole archive into a file."""
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

a whole archive, into a file (.parquet, .csv or .jsonl), one row per photo:
  cloudatlas predict archive/ --out results.parquet              folders are walked recursively
  cloudatlas predict 'cams/**/2024-*.jpg' --out results.csv      a quoted pattern; ** spans folders
  cloudatlas predict archive/ --out results.parquet --resume     after Ctrl-C or a crash: the rest
  cloudatlas predict archive/ --out results/ --ray auto          on a Ray cluster: a Parquet folder

exit status: 0 when every photo was answered, 1 when some could not be read, 2 on usage errors.
"""


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("photos", nargs="+", metavar="PHOTO",
                   help="image files (JPEG, PNG, WebP, HEIC, ...), folders (walked recursively) or quoted "
                        "glob patterns")
    p.add_argument("--model", help="ONNX model file (default: the bundled model)")
    p.add_argument("--top", type=_at_least_one, default=None, metavar="K",
                   help="show only the K most likely genera (default: 3 in text, all in --json)")
    p.add_argument("--json", action="store_true", help="print one JSON array instead of text")
    archive = p.add_argument_group("archives")
    archive.add_argument("--out", metavar="FILE",
                         help="write one row per photo to FILE as it goes (.parquet, .csv or .jsonl; with --ray "
                              "a folder of Parquet files), with a progress bar")
    archive.add_argument("--resume", action="store_true",
                         help="skip the photos --out already holds and add the rest (after an interrupted run)")
    archive.add_argument("--workers", type=_at_least_one, default=None, metavar="N",
                         help="worker processes (default: one per core; 1 works in this process, its threads "
                              "decoding while the network runs)")
    archive.add_argument("--ray", metavar="ADDRESS",
                         help="run on the Ray cluster at ADDRESS (host:port, or 'auto' for the one this machine "
                              "belongs to); needs pip install 'cloudatlas[ray]'")


def run(args: argparse.Namespace) -> int:
    from . import CliError

    archive_flags = [flag for flag, given in (("--resume", args.resume), ("--workers", args.workers),
                                               ("--ray", args.ray)) if given]
    if args.out is None:
        if archive_flags:
            raise CliError(f"{archive_flags[0]} needs --out (the results file).")
        return _show(args)
    screen_flags = [flag for flag, given in (("--top", args.top), ("--json", args.json)) if given]
    if screen_flags:
        raise CliError(f"{screen_flags[0]} shapes the answers on the screen; --out writes every genus.")
    if args.ray and args.workers:
        raise CliError("--workers is for this machine; on Ray the cluster's CPUs decide.")
    from ..archive import classify_archive

    summary = classify_archive(args.photos, args.out, model=args.model, workers=args.workers, resume=args.resume,
                               ray=args.ray)
    print(summary.line(), file=sys.stderr)
    return 1 if summary.unreadable else 0


def _show(args: argparse.Namespace) -> int:
    """A few photos: answers on the screen, as text or one JSON array."""
    from ..archive import find_photos
    from ..imageio import ImageLoadError
    from ..inference import Classifier

    photos = find_photos(args.photos)
    clf = Classifier.load(args.model)
    results = clf.predict_batch(photos)
    failed = 0
    records = []
    for path, res in zip(photos, results):
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
