"""cloudatlas data: collect, audit and inspect a folder-per-class photo set."""
from __future__ import annotations

import argparse
import json
import sys

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
  cloudatlas data fetch ccsn --dest data/ccsn
  cloudatlas data download --urls cumulus.txt --label Cu --dest data/mine
  cloudatlas data audit data/ccsn --html audit.html
  cloudatlas data issues data/ccsn --top 30
  cloudatlas clean data/ccsn                     then fix what they found, in a web page

Run 'cloudatlas data SUBCOMMAND --help' for the options of each.
"""

FETCH_EPILOG = """\
The archive is downloaded into DEST/.cloudatlas/downloads/ first (as NAME.part while in
progress); run the same command again after an interruption and it resumes. The checksum the
Dataverse record publishes is verified before anything is unpacked.

examples:
  cloudatlas data fetch ccsn --dest data/ccsn
  cloudatlas data fetch ccsn --dest data/ccsn --checksum md5:0123...   pin the exact file
"""

DOWNLOAD_EPILOG = """\
URLS is a text file with one image URL a line (blank lines and # comments are ignored).
Only files that decode as images are kept; duplicates of photos already anywhere in DEST
(byte-identical or the same picture by perceptual hash) are skipped. Every skipped URL is
listed with the reason: invalid-url, http-error, timeout, network-error, too-large,
not-an-image, too-small or duplicate.

exit status: 0 when at least one photo was saved or the list was empty, 1 when none was.

examples:
  cloudatlas data download --urls cumulus.txt --label Cu --dest data/mine
  cloudatlas data download --urls urls.txt --label cirrus --dest data/mine --workers 16 --json
"""

AUDIT_EPILOG = """\
Reports: unreadable or truncated files, files that are not photos, tiny images, exact
duplicates (same bytes), near-duplicates (pHash within --max-distance bits), conflicts
(the same picture under different labels), class counts and imbalance.
Hashes are cached (DATA/.cloudatlas/, or ~/.cache/cloudatlas for read-only data), so a
second audit is instant.

examples:
  cloudatlas data audit data/ccsn
  cloudatlas data audit data/ccsn --json > audit.json
  cloudatlas data audit data/ccsn --html audit.html        thumbnails of every problem
"""

ISSUES_EPILOG = """\
Each photo is judged by a logistic regression trained, in cross-validation, on the other
photos' backbone features (frozen; embeddings are cached per model). cleanlab's confident
learning flags the photos whose label disagrees with the rest of the set (marked *) and ranks
all photos by label quality (0 = surely wrong, 1 = surely right), with a suggested label.

examples:
  cloudatlas data issues data/ccsn
  cloudatlas data issues data/ccsn --model runs/mine/model.onnx --top 50
  cloudatlas data issues data/ccsn --json > issues.json
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
    f.add_argument("--dest", required=True, metavar="DIR", help="folder to unpack into (created if missing)")
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
    d.add_argument("--dest", required=True, metavar="DIR", help="the data set (photos go to DIR/<label>/)")
    d.add_argument("--workers", type=int, default=8, metavar="N", help="parallel downloads (8)")
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
    a.add_argument("data", metavar="DIR", help="the data set: DIR/<label>/*.jpg")
    a.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a.add_argument("--html", metavar="FILE", help="also write a report with thumbnails to FILE")
    a.add_argument("--max-distance", type=int, default=6, metavar="BITS",
                   help="pHash bits within which two photos are the same picture (6 of 64)")
    a.add_argument("--min-size", type=int, default=128, metavar="PX", help="smaller shorter side = tiny (128)")
    a.add_argument("--workers", type=int, default=1, metavar="N", help="threads for hashing (1)")
    a.add_argument("--no-cache", action="store_true", help="rehash every file")

    i = sub.add_parser("issues", help="rank photos by how likely their label is wrong",
                       description="Find likely label errors with cross-validated predictions and "
                                   "cleanlab's confident learning.",
                       epilog=ISSUES_EPILOG, formatter_class=fmt)
    i.add_argument("data", metavar="DIR", help="the data set: DIR/<label>/*.jpg")
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
                        epilog="example:\n  cloudatlas data decide recipes/bundled.toml "
                               "--out recipes/bundled.decisions.csv", formatter_class=fmt)
    dc.add_argument("recipe", metavar="RECIPE", help="training recipe (TOML)")
    dc.add_argument("--out", metavar="CSV", help="decisions file (default: the recipe's [data] decisions)")
    dc.add_argument("--probes", metavar="DIR", default="runs/probes",
                    help="where the teacher's probe models are kept (exported there on first use)")


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "data_command", None)
    if command is None:
        args._data_parser.print_help(sys.stderr)
        return 2
    return {"fetch": _fetch, "download": _download, "audit": _audit, "issues": _issues,
            "decide": _decide}[command](args)


def _decide(args) -> int:
    from ..data.dataset import DataError
    from ..data.decide import decide
    from ..data.recipe import write_decisions
    from ..recipe import Recipe
    from . import CliError

    try:
        recipe = Recipe.load(args.recipe)
        out = args.out or (recipe.data.resolve(recipe.data.decisions) if recipe.data.decisions else None)
        if out is None:
            raise CliError("the recipe names no decisions file: pass --out CSV.")
        report = decide(recipe, args.probes)
    except (DataError, FileNotFoundError, ValueError) as err:
        raise CliError(str(err)) from None
    except ModuleNotFoundError as err:
        raise CliError(f"{err.name} is missing: pip install 'cloudatlas[data]' (probe models are exported "
                       f"with 'cloudatlas[train]' the first time).") from None
    write_decisions(out, report.decisions)
    print(report.summary())
    print(f"{len(report.decisions)} decisions -> {out}")
    return 0


def _fetch(args) -> int:
    from ..data.fetch import Checksum, FetchError, fetch_dataset
    from . import CliError

    try:
        checksum = Checksum.parse(args.checksum) if args.checksum else None
        result = fetch_dataset(args.dataset, args.dest, base_url=args.base_url, checksum=checksum,
                               keep_archive=args.keep_archive, progress=None if not args.json else False,
                               timeout=args.timeout)
    except (FetchError, ValueError) as err:
        raise CliError(str(err)) from None
    except OSError as err:  # e.g. DEST not writable, disk full
        raise CliError(f"{args.dest}: {err.strerror or err}.") from None
    if args.json:
        print(json.dumps({"dest": result.dest, "files": result.files, "n_images": result.n_images,
                          "counts": result.counts, "already_there": result.already_there,
                          "skipped": result.skipped}, indent=2))
    else:
        print(f"{result.n_images} photos in {len(result.counts)} labels unpacked into {result.dest}"
              + (f" ({result.already_there} already there)" if result.already_there else ""))
        for label, n in result.counts.items():
            print(f"  {label:<6} {n}")
        print(f"next: cloudatlas data audit {result.dest}")
    return 0


def _download(args) -> int:
    from ..data.dataset import DataError
    from ..data.download import DownloadOptions, download_images, read_url_list
    from . import CliError

    try:
        urls = read_url_list(args.urls)
        options = DownloadOptions(workers=args.workers, timeout=args.timeout, deadline=args.deadline,
                                  max_bytes=int(args.max_mb * 1024 * 1024), min_size=args.min_size,
                                  max_distance=args.max_distance)
        report = download_images(urls, args.dest, args.label, options, progress=None if not args.json else False)
    except (DataError, OSError) as err:
        raise CliError(str(err)) from None
    print(report.to_json() if args.json else report.summary())
    return 0 if report.saved or not urls else 1


def _audit(args) -> int:
    from ..data.audit import audit, write_html
    from ..data.dataset import DataError
    from . import CliError

    try:
        report = audit(args.data, max_distance=args.max_distance, min_size=args.min_size, workers=args.workers,
                       progress=None if not args.json else False, cache=not args.no_cache)
    except DataError as err:
        raise CliError(str(err)) from None
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
            print(f"fix them in a web page: cloudatlas clean {args.data}")
    return 0


def _issues(args) -> int:
    from ..data.dataset import DataError
    from ..data.label_issues import find_label_issues
    from ..inference import ModelError
    from . import CliError

    try:
        report = find_label_issues(args.data, model=args.model, folds=args.folds,
                                   progress=None if not args.json else False, cache=not args.no_cache)
    except ModelError as err:
        raise CliError(f"{err} Pass --model PATH (e.g. a model from cloudatlas train).") from None
    except DataError as err:
        raise CliError(str(err)) from None
    if args.json:
        print(json.dumps(report.to_dict(top=args.top), indent=2))
    else:
        print(report.summary(top=args.top))
    return 0
