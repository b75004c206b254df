"""``cloudatlas`` command line: one verb per stage, a thin layer over the Python API.

Each verb lives in its own module with ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only for the verb being run, so ``cloudatlas predict`` never imports torch.
Every failure a user can fix is a :class:`cloudatlas.errors.CloudAtlasError`: it is caught here,
once, and printed as one line (exit status 2), never as a traceback.

The same flag means the same thing in every verb: ``--data DIR`` a folder of photos (one
sub-folder per label), ``--recipe TOML`` a recipe, ``--model PATH`` a model file, ``--json`` one
JSON document on stdout, ``--workers N`` worker processes, ``--threads N`` threads; ``--out``
is one kind of thing per verb, and each verb's ``--help`` says which.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import CloudAtlasError

# verb -> (module, one-line help). Order is the pipeline's order.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("cloudatlas.cli.data", "collect, audit, judge and inspect labelled photo sets"),
    "clean": ("cloudatlas.cli.clean", "review suspicious photos in a web page; undoable"),
    "train": ("cloudatlas.cli.train", "fine-tune a model on a folder of photos or a recipe"),
    "evaluate": ("cloudatlas.cli.evaluate", "accuracy, top-3, levels, calibration, confusion matrix"),
    "export": ("cloudatlas.cli.export", "show a model's metadata, combine runs, make an int8 copy"),
    "gate": ("cloudatlas.cli.gate", "fit the sky and clear-sky gates of a model"),
    "predict": ("cloudatlas.cli.predict", "name the cloud genus in photos"),
    "serve": ("cloudatlas.cli.serve", "start the web app and JSON API"),
}
ALIASES = {"val": "evaluate"}

EPILOG = """\
pipeline:
  cloudatlas data audit --data DATA              find corrupt files, duplicates, conflicts
  cloudatlas train --data DATA --out runs/mine   fine-tune (writes config, metrics, plots, model)
  cloudatlas data decide --recipe RECIPE         clean several sources: a decisions file to review
  cloudatlas train --recipe RECIPE --out runs/x  several sources -> teacher -> one distilled network + gates
  cloudatlas evaluate --model runs/x/model.onnx --recipe RECIPE    every validation part, calibration
  cloudatlas predict sky.jpg                     uses the bundled model unless --model is given
  cloudatlas serve                               web app on http://127.0.0.1:8000

Run 'cloudatlas VERB --help' for the options of each verb.
"""


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    from ..version import __version__

    parser = argparse.ArgumentParser(
        prog="cloudatlas", description="Identify cloud genera in sky photos, and train your own model.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cloudatlas {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="VERB")
    for name, (module_name, help_text) in COMMANDS.items():
        if verb is not None and name != verb:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue  # verb not part of this installation
        p = sub.add_parser(name, help=help_text, description=getattr(module, "DESCRIPTION", help_text),
                           epilog=getattr(module, "EPILOG", None),
                           aliases=[a for a, v in ALIASES.items() if v == name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verb = next((a for a in argv if not a.startswith("-")), None)
    verb = ALIASES.get(verb, verb)
    parser = build_parser(verb if verb in COMMANDS else None)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _refuse_unknown(parser, verb, unknown)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 0 if not argv else 2
    args._argv = argv  # a verb that re-runs itself (train --nproc) needs its own words
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except CloudAtlasError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _refuse_unknown(parser: argparse.ArgumentParser, verb: str | None, unknown: list[str]) -> None:
    """An option no verb has: say which, and the nearest one the verb does have (exit 2)."""
    import difflib

    sub = next((a.choices.get(verb) for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    target = sub or parser
    known = [o for a in target._actions for o in a.option_strings if a.help != argparse.SUPPRESS]
    flag = next((u.split("=")[0] for u in unknown if u.startswith("-")), unknown[0])
    near = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    target.error(f"unknown option {flag}" + (f"; did you mean {near[0]}?" if near else f" (see {target.prog} --help)"))


class CliError(CloudAtlasError):
    """A usage error the command line itself finds (a flag without the one it needs)."""


if __name__ == "__main__":
    sys.exit(main())
