"""cloudatlas clean: review suspicious photos in a local web page; every change is undoable."""
from __future__ import annotations

import argparse
import sys

from .options import deprecated, positional_or_flag
from .serve import check_port_number

DESCRIPTION = """\
Open a local web page that shows the photos of DATA most-suspicious-first (conflicts,
duplicates, likely label errors, unreadable files), filterable by label and by problem. For
each photo: keep, move to another label, or delete. Changes are applied at once and written to
DATA/.cloudatlas/journal.jsonl; delete moves the photo to DATA/.trash/; any change can be undone.
"""
EPILOG = """\
keyboard (press ? in the page):
  j/k next/previous   Enter keep   d delete   1-9,0 move to label N   s move to suggestion
  m pick a label      u undo       l/f next label/problem filter

examples:
  cloudatlas clean --data data/ccsn
  cloudatlas clean --data data/ccsn --model runs/mine/model.onnx --port 8800
  cloudatlas clean --data data/ccsn --no-issues          audit problems only, no model needed
  cloudatlas clean --data data/ccsn --log                what has been changed so far
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", help="the data set: DIR/<label>/*.jpg")
    deprecated(p, dest="data", new="--data")
    p.add_argument("--port", type=int, default=8765, help="port of the local page (8765)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (127.0.0.1: only this computer can change your data)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--model", metavar="PATH", help="ONNX model for suspicious labels (default: the bundled model)")
    p.add_argument("--no-issues", action="store_true", help="skip the label-issue search (no model needed)")
    p.add_argument("--log", action="store_true", help="print a summary of the changes made so far and exit")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import CliError

    data = positional_or_flag(args, "data")
    if not data:
        raise CliError("say which data set to clean: --data DIR")
    if not args.log:
        check_port_number(args.port)  # before the audit, which can take minutes
    root = Path(data)
    if not root.is_dir():
        raise CliError(f"{root}: no such folder.")
    from ..data.journal import Journal

    journal = Journal(root)  # one that cannot be read or written is said now, not after the audit
    if args.log:
        print(journal.log_text())
        return 0
    from ..cache import writable

    if not writable(root):
        raise CliError(f"{root}: not writable; the cleaner moves files. Copy the data set first.")

    import threading
    import webbrowser

    import uvicorn

    from ..clean.app import build_review, create_app

    print(f"Auditing {root} ...", file=sys.stderr)
    review = build_review(root, model=args.model, find_issues=not args.no_issues, progress=None)
    for note in review.notes:
        print(note, file=sys.stderr)
    app = create_app(root, review=review, hosts=(args.host,))
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/"
    print(f"Cleaner for {root} at {url}  (Ctrl+C to stop; changes are saved as you make them)", file=sys.stderr)
    if not args.no_browser:
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    except OSError as err:
        raise CliError(f"cannot listen on {args.host}:{args.port} ({err.strerror}); try --port.") from None
    print(_summary_line(root), file=sys.stderr)
    return 0


def _summary_line(root) -> str:
    from ..data.journal import Journal

    s = Journal(root).summary()
    return (f"In effect: {s['moved']} moved, {s['deleted']} deleted, {s['kept']} kept "
            f"(details: cloudatlas clean --data {root} --log)")
