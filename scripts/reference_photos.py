"""Pick the page's reference photos: a few CCSN photos per genus that the bundled model agrees with.

    .venv/bin/python scripts/reference_photos.py [--data ../shared/data/ccsn] [--per-genus 3]

"Not sure" on the page shows real photos of each candidate genus beside the person's own. They
come from the *train* split of CCSN (its licence is CC0; the test split stays unseen by anything
the project ships), and only photos on which the label and the bundled model agree with high
confidence ("very likely" by the model's own measured threshold) are taken, the surest first and
at most one per near-duplicate group, so that each is a clear example of its genus. They are
written small (a centre square of --size pixels) into the page's static folder, with an
index.json that names where each came from; the service worker caches them for offline use.
Run it again after the bundled model changes.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

from PIL import Image

from cloudatlas.imageio import load_image
from cloudatlas.inference import Classifier
from cloudatlas.labels import GENERA

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "cloudatlas" / "server" / "static" / "reference"
SOURCE = {"name": "Cirrus Cumulus Stratus Nimbus (CCSN) Database, Liu (2019), Harvard Dataverse", "licence": "CC0 1.0",
          "url": "https://doi.org/10.7910/DVN/CADDPD", "split": "train"}


def train_rows(data: Path) -> list[dict]:
    with open(data / "split.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["split"] == "train" and r["label"] in GENERA]


def pick(clf: Classifier, data: Path, per_genus: int) -> dict[str, list[dict]]:
    """Per genus, the surest agreeing photos, one per near-duplicate group: at "very likely", or,
    for a genus the model is never that sure of, its surest one at "likely" (a page that compares
    needs at least one photo of every genus)."""
    likely = clf.thresholds["genus"]["likely"]
    found: dict[str, list[dict]] = {}
    for row in train_rows(data):
        pred = clf.predict(data / row["path"])
        if pred.verdict == "cloud" and pred.label == row["label"] and pred.probability >= likely:
            found.setdefault(row["label"], []).append({"from": row["path"], "group": row.get("group", ""),
                                                       "probability": pred.probability})
    sure = clf.thresholds["genus"]["very_likely"]
    picked = {}
    for code in GENERA:
        seen, chosen = set(), []
        candidates = sorted(found.get(code, []), key=lambda c: -c["probability"])
        if candidates and candidates[0]["probability"] >= sure:
            candidates = [c for c in candidates if c["probability"] >= sure]
        else:
            candidates = candidates[:1]
        for c in candidates:
            if c["group"] and c["group"] in seen:
                continue
            seen.add(c["group"])
            chosen.append(c)
            if len(chosen) == per_genus:
                break
        picked[code] = chosen
    return picked


def write_square(src: Path, dest: Path, size: int, quality: int) -> None:
    img = load_image(src, min_size=size)
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
    img.save(dest, "JPEG", quality=quality, optimize=True, progressive=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ccsn")
    ap.add_argument("--model", help="default: the bundled model")
    ap.add_argument("--per-genus", type=int, default=3)
    ap.add_argument("--size", type=int, default=240, help="side of the square written, in pixels")
    ap.add_argument("--quality", type=int, default=72)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    clf = Classifier.load(args.model, threads=2)
    picked = pick(clf, args.data, args.per_genus)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    index = {"source": SOURCE, "model": {"name": clf.name, "version": clf.version},
             "threshold": clf.thresholds["genus"]["very_likely"],
             "likely_threshold": clf.thresholds["genus"]["likely"],
             "chosen": f"train-split photos whose label the model names at 'very likely' "
                       f"(p >= {clf.thresholds['genus']['very_likely']:.2f}), surest first, one per "
                       f"near-duplicate group; a genus with none: its surest at 'likely' "
                       f"(p >= {clf.thresholds['genus']['likely']:.2f})", "genera": {}}
    for code, photos in picked.items():
        entries = []
        for i, photo in enumerate(photos, 1):
            name = f"{code}-{i}.jpg"
            write_square(args.data / photo["from"], args.out / name, args.size, args.quality)
            entries.append({"file": name, "from": photo["from"], "probability": round(photo["probability"], 3)})
        index["genera"][code] = entries
        print(f"{code}: {len(entries)} photo(s)" + ("" if len(entries) == args.per_genus else
                                                    f"  (fewer than {args.per_genus}: the model is rarely sure here)"))
    (args.out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    total = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"{args.out}: {total / 1024:.0f} kB")


if __name__ == "__main__":
    main()
