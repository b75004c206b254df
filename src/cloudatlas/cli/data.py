"""cloudatlas data: collect, audit and inspect a folder-per-class photo set."""
from __future__ import annotations

import argparse
import json
import sys

from .options import deprecated, positional_or_flag

DESCRIPTION = """\
Collect, check and inspect a labelled photo set laid out one folder per label:
DATA/Cu/photo1.jpg, DATA/Ci/photo2.jpg, ... (folder names such as 'cumulus' work too).

  fetch     download a public data set (CCSN) and unpack it into DATA/<label>/
  download  fetch image URLs (e.g. from an image search) into DATA/<label>/
  audit     find corrupt files, tiny images, duplicates and cross-label conflicts
  issues    rank photos by how likely their label is wrong (needs a model)
  decide    audit + label issues over every source of a training recipe -> a decisions file
"""
EPILOG = """\
examples:
  cloudatlas data fetch ccsn --data data/ccsn
  cloudatlas data download --urls cumulus.txt --label Cu --data data/mine
  cloudatlas data audit --data data/ccsn --html audit.html
  cloudatlas data issues --data data/ccsn --top 30
  cloudatlas data decide --recipe recipes/bundled.toml
  cloudatlas clean --data data/ccsn              then fix what they found, in a web page

Run 'cloudatlas data SUBCOMMAND --help' for the options of each.
"""

FETCH_EPILOG = """\
The archive is downloaded into DIR/.cloudatlas/downloads/ first (as NAME.part while in
progress); run the same command again after an interruption and it resumes. The checksum the
Dataverse record publishes is verified before anything is unpacked.

examples:
  cloudatlas data fetch ccsn --data data/ccsn
  cloudatlas data fetch ccsn --data data/ccsn --checksum md5:0123...   pin the exact file
"""

DOWNLOAD_EPILOG = """\
URLS is a text file with one image URL a line (blank lines and # comments are ignored).
Only files that decode as images are kept; duplicates of photos already anywhere in DIR
(byte-identical or the same picture by perceptual hash) are skipped. Every skipped URL is
listed with the reason: invalid-url, http-error, timeout, network-error, too-large,
not-an-image, too-small or duplicate.

exit status: 0 when at least one photo was saved or the list was empty, 1 when none was.

examples:
  cloudatlas data download --urls cumulus.txt --label Cu --data data/mine
  cloudatlas data download --urls urls.txt --label cirrus --data data/mine --connections 16 --json
"""

AUDIT_EPILOG = """\
Reports: unreadable or truncated files, files that are not photos, tiny images, exact
duplicates (same bytes), near-duplicates (pHash within --max-distance bits), conflicts
(the same picture under different labels), class counts and imbalance.
Hashes are cached in the user cache (~/.cache/cloudatlas; the data set itself is never
written), so a second audit is instant.

examples:
  cloudatlas data audit --data data/ccsn
  cloudatlas data audit --data data/ccsn --json > audit.json
  cloudatlas data audit --data data/ccsn --html audit.html        thumbnails of every problem
"""

ISSUES_EPILOG = """\
Each photo is judged by a logistic regression trained, in cross-validation, on the other
photos' backbone features (frozen; embeddings are cached per model). cleanlab's confident
learning flags the photos whose label disagrees with the rest of the set (marked *) and ranks
all photos by label quality (0 = surely wrong, 1 = surely right), with a suggested label.

examples:
  cloudatlas data issues --data data/ccsn
  cloudatlas data issues --data data/ccsn --model runs/mine/model.onnx --top 50
  cloudatlas data issues --data data/ccsn --json > issues.json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.set_defaults(_data_parser=p)
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    f = sub.add_parser("fetch", help="download a public data set into DEST/<label>/",
                       description="Download a public cloud-photo data set and unpack it one folder per label.",
                       epilog=FETCH_EPILOG, formatter_class=fmt)
    f.add_argument("dataset", choices=["ccsn"], help="ccsn: Cirrus Cumulus Stratus Nimbus, 2543 photos, 11 genera "
                                                      "(Harvard Dataverse doi:10.7910/DVN/CADDPD)")
    f.add_argument("--data", metavar="DIR", help="the data set to unpack into (created if missing)")
    deprecated(f, "--dest", dest="data", new="--data")
    f.add_argument("--base-url", metavar="URL",
                   help="Dataverse server (default: https://dataverse.harvard.edu or $CLOUDATLAS_DATAVERSE_URL)")
    f.add_argument("--checksum", metavar="ALGO:HEX",
                   help="expected checksum of the archive (md5:..., sha256:...), instead of the record's")
    f.add_argument("--keep-archive", action="store_true", help="keep the downloaded zip after unpacking")
    f.add_argument("--timeout", type=float, default=60.0, metavar="S", help="network timeout in seconds (60)")
    f.add_argument("--json", action="store_true", help="print the result as one JSON object")

    d = sub.add_parser("download", help="fetch a list of image URLs into DEST/<label>/",
                       description="Download image URLs in parallel, keep real photos, skip duplicates.",
                       epilog=DOWNLOAD_EPILOG, formatter_class=fmt)
    d.add_argument("--urls", required=True, metavar="FILE", help="text file, one URL a line")
    d.add_argument("--label", required=True, help="label of these photos, e.g. Cu or cumulus")
    d.add_argument("--data", metavar="DIR", help="the data set (photos go to DIR/<label>/)")
    deprecated(d, "--dest", dest="data", new="--data")
    d.add_argument("--connections", type=int, default=8, metavar="N", help="parallel downloads (8)")
    deprecated(d, "--workers", dest="connections", new="--connections", type=int)
    d.add_argument("--timeout", type=float, default=15.0, metavar="S",
                   help="seconds to wait for a server, and between two chunks of data (15)")
    d.add_argument("--deadline", type=float, default=60.0, metavar="S", help="seconds for one whole download (60)")
    d.add_argument("--max-mb", type=float, default=25.0, metavar="MB", help="skip files larger than this (25)")
    d.add_argument("--min-size", type=int, default=128, metavar="PX",
                   help="skip images whose shorter side is smaller (128)")
    d.add_argument("--max-distance", type=int, default=6, metavar="BITS",
                   help="pHash distance counted as the same picture; -1 skips only exact copies (6)")
    d.add_argument("--json", action="store_true", help="print the report as one JSON object")

    a = sub.add_parser("audit", help="find corrupt files, duplicates and cross-label conflicts",
                       description="Check a folder-per-class photo set for problems that hurt training.",
                       epilog=AUDIT_EPILOG, formatter_class=fmt)
    a.add_argument("--data", metavar="DIR", help="the data set: DIR/<label>/*.jpg")
    deprecated(a, dest="data", new="--data")
    a.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a.add_argument("--html", metavar="FILE", help="also write a report with thumbnails to FILE")
    a.add_argument("--max-distance", type=int, default=6, metavar="BITS",
                   help="pHash bits within which two photos are the same picture (6 of 64)")
    a.add_argument("--min-size", type=int, default=128, metavar="PX", help="smaller shorter side = tiny (128)")
    a.add_argument("--threads", type=int, default=1, metavar="N", help="threads for hashing (1)")
    deprecated(a, "--workers", dest="threads", new="--threads", type=int)
    a.add_argument("--no-cache", action="store_true", help="rehash every file")

    i = sub.add_parser("issues", help="rank photos by how likely their label is wrong",
                       description="Find likely label errors with cross-validated predictions and "
                                   "cleanlab's confident learning.",
                       epilog=ISSUES_EPILOG, formatter_class=fmt)
    i.add_argument("--data", metavar="DIR", help="the data set: DIR/<label>/*.jpg")
    deprecated(i, dest="data", new="--data")
    i.add_argument("--model", metavar="PATH", help="ONNX model whose backbone gives the features "
                                                   "(default: the bundled model)")
    i.add_argument("--top", type=int, default=20, metavar="N", help="show the N most suspicious photos (20)")
    i.add_argument("--folds", type=int, default=5, metavar="K", help="cross-validation folds (5)")
    i.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    i.add_argument("--no-cache", action="store_true", help="recompute every embedding")

    dc = sub.add_parser("decide", help="write a recipe's decisions file (drop / relabel per photo)",
                        description="Audit every source of a training recipe and judge every label with "
                                    "out-of-fold teacher predictions and confident learning; write the "
                                    "verdicts (source, path, action, label, reason) as a CSV to review "
                                    "and commit. The recipe's per-source drop_below / relabel_above "
                                    "say how hard each source is cleaned. The sources are not modified.",
                        epilog="example:\n  cloudatlas data decide --recipe recipes/bundled.toml "
                               "--out recipes/bundled.decisions.csv", formatter_class=fmt)
    dc.add_argument("--recipe", metavar="TOML", help="training recipe (TOML)")
    deprecated(dc, dest="recipe", new="--recipe")
    dc.add_argument("--out", metavar="CSV", help="the decisions file to write (default: the recipe's [data] decisions)")
    dc.add_argument("--probes", metavar="DIR", default="runs/probes",
                    help="where the teacher's probe models are kept (exported there on first use)")


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "data_command", None)
    if command is None:
        args._data_parser.print_help(sys.stderr)
        return 2
    return {"fetch": _fetch, "download": _download, "audit": _audit, "issues": _issues,
            "decide": _decide}[command](args)


def _need(args, name: str, what: str) -> str:
    from . import CliError

    value = positional_or_flag(args, name)
    if not value:
        raise CliError(f"say which {what}: --{name} {'TOML' if name == 'recipe' else 'DIR'}")
    return value


def _decide(args) -> int:
    from ..clean.decide import decide
    from ..config import Recipe
    from ..data.assemble import write_decisions
    from . import CliError

    recipe = Recipe.load(_need(args, "recipe", "recipe"))
    out = args.out or (recipe.resolve(recipe.data.decisions) if recipe.data.decisions else None)
    if out is None:
        raise CliError("the recipe names no decisions file: pass --out CSV.")
    report = decide(recipe, args.probes)
    write_decisions(out, report.decisions)
    print(report.summary())
    print(f"{len(report.decisions)} decisions -> {out}")
    return 0


def _fetch(args) -> int:
    from ..data.fetch import Checksum, fetch_dataset
    from . import CliError

    dest = _need(args, "data", "folder to unpack into")
    checksum = Checksum.parse(args.checksum) if args.checksum else None
    try:
        result = fetch_dataset(args.dataset, dest, base_url=args.base_url, checksum=checksum,
                               keep_archive=args.keep_archive, progress=None if not args.json else False,
                               timeout=args.timeout)
    except OSError as err:  # e.g. DIR not writable, disk full
        raise CliError(f"{dest}: {err.strerror or err}.") from None
    if args.json:
        print(json.dumps({"dest": result.dest, "files": result.files, "n_images": result.n_images,
                          "counts": result.counts, "already_there": result.already_there,
                          "skipped": result.skipped}, indent=2))
    else:
        print(f"{result.n_images} photos in {len(result.counts)} labels unpacked into {result.dest}"
              + (f" ({result.already_there} already there)" if result.already_there else ""))
        for label, n in result.counts.items():
            print(f"  {label:<6} {n}")
        print(f"next: cloudatlas data audit --data {result.dest}")
    return 0


def _download(args) -> int:
    from ..data.download import DownloadOptions, download_images, read_url_list
    from . import CliError

    dest = _need(args, "data", "data set to download into")
    urls = read_url_list(args.urls)
    options = DownloadOptions(workers=args.connections, timeout=args.timeout, deadline=args.deadline,
                              max_bytes=int(args.max_mb * 1024 * 1024), min_size=args.min_size,
                              max_distance=args.max_distance)
    try:
        report = download_images(urls, dest, args.label, options, progress=None if not args.json else False)
    except OSError as err:
        raise CliError(f"{dest}: {err.strerror or err}.") from None
    print(report.to_json() if args.json else report.summary())
    return 0 if report.saved or not urls else 1


def _audit(args) -> int:
    from ..data.audit import audit, write_html
    from . import CliError

    data = _need(args, "data", "data set")
    report = audit(data, max_distance=args.max_distance, min_size=args.min_size, workers=args.threads,
                   progress=None if not args.json else False, cache=not args.no_cache)
    if args.html:
        try:
            path = write_html(report, args.html)
        except OSError as err:
            raise CliError(f"{args.html}: cannot write the report ({err.strerror}).") from None
        print(f"HTML report: {path}", file=sys.stderr)
    if args.json:
        print(report.to_json())
    else:
        print(report.summary())
        if report.conflicts or report.duplicates or report.unreadable:
            print(f"fix them in a web page: cloudatlas clean --data {data}")
    return 0


def _issues(args) -> int:
    from ..data.label_issues import find_label_issues

    report = find_label_issues(_need(args, "data", "data set"), model=args.model, folds=args.folds,
                               progress=None if not args.json else False, cache=not args.no_cache)
    if args.json:
        print(json.dumps(report.to_dict(top=args.top), indent=2))
    else:
        print(report.summary(top=args.top))
    return 0
