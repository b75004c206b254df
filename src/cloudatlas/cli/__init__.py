"""``cloudatlas`` command line: one verb per stage, a thin layer over the Python API.

Each verb lives in its own module with ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only for the verb being run, so ``cloudatlas predict`` never imports torch.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# verb -> (module, one-line help). Order is the pipeline's order.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("cloudatlas.cli.data", "collect, audit and inspect a labelled photo set"),
    "clean": ("cloudatlas.cli.clean", "review suspicious photos in a web page; undoable"),
    "train": ("cloudatlas.cli.train", "fine-tune a pretrained model on DATA/<label>/*.jpg"),
    "evaluate": ("cloudatlas.cli.evaluate", "accuracy, F1, confusion matrix and top losses"),
    "export": ("cloudatlas.cli.export", "show a model's metadata, combine runs, make an int8 copy"),
    "gate": ("cloudatlas.cli.gate", "calibrate the is-it-a-cloud gate of a model"),
    "predict": ("cloudatlas.cli.predict", "name the cloud genus in photos"),
    "serve": ("cloudatlas.cli.serve", "start the web app and JSON API"),
}
ALIASES = {"val": "evaluate"}

EPILOG = """\
pipeline:
  cloudatlas data audit DATA                     find corrupt files, duplicates, conflicts
  cloudatlas train --data DATA --out runs/mine   fine-tune (writes config, metrics, plots, model)
  cloudatlas data decide RECIPE                  clean several sources: a decisions file to review
  cloudatlas train --recipe RECIPE --out runs/x  several sources -> teacher -> one distilled network
  cloudatlas evaluate --model runs/mine/model.onnx --data DATA --split test --out runs/mine/eval
  cloudatlas predict sky.jpg                     uses the bundled model unless --model is given
  cloudatlas serve                               web app on http://127.0.0.1:8000

Run 'cloudatlas VERB --help' for the options of each verb.
"""


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    from .. import __version__

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
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 0 if not argv else 2
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


class CliError(Exception):
    """An error the user can fix; printed as one line, without a traceback."""


if __name__ == "__main__":
    sys.exit(main())
