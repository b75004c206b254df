"""cloudatlas train: fine-tune a pretrained backbone on a folder of photos or on a recipe."""
from __future__ import annotations

import argparse

from .options import add_config_options, deprecated, overrides

DESCRIPTION = """\
Fine-tune a pretrained image model, fastai style: a few epochs with the backbone frozen, then the
network unfrozen with discriminative learning rates and a one-cycle schedule; the best epoch on
a validation part carved from the training photos (never the test part) is kept.

A folder (--data DIR, one sub-folder per label) is a one-source recipe; a recipe (--recipe TOML,
see recipes/bundled.toml) names several sources, a teacher to distil, the gates and the
calibration. Every option below overrides the recipe's own setting of the same name.

--out is the run folder: config.json (the whole recipe as run), data.json, metrics.csv,
curves.png, confusion_matrix.png, report.json, model.onnx and last.pt (for --resume)."""
EPILOG = """\
examples:
  cloudatlas train --data ../shared/data/ccsn --out runs/quick --epochs 3 --img-size 160
  cloudatlas train --data my_photos --arch efficientnet_lite1 --out runs/lite1
  cloudatlas train --out runs/lite1 --resume                        continue an interrupted run
  cloudatlas train --recipe recipes/bundled.toml --out runs/bundled  the shipped model, gates included
  cloudatlas train --recipe recipes/bundled.toml --out runs/gpu --device cuda --batch-size 128
  cloudatlas train --data my_photos --out runs/two --nproc 2        two processes (GPUs, or CPU cores)
  torchrun --nnodes 2 --node_rank 0 --rdzv_endpoint host:29500 --nproc_per_node 4 -m cloudatlas train ...

  Fast on a 2-core CPU: --freeze-to 4 --cache-views 8 keeps the first blocks frozen and
  computes them once per augmented view, so each epoch only runs the upper blocks.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="DIR", help="a folder with one sub-folder of photos per label")
    source.add_argument("--recipe", metavar="TOML", help="a recipe: sources, teacher, student, gates")
    p.add_argument("--out", metavar="DIR", default="runs/train", help="the run folder (default: %(default)s)")
    p.add_argument("--split", default="train", choices=["train", "all"],
                   help="with --data: 'train' learns from the train part of DIR/split.csv (or of an automatic "
                        "split that keeps near-duplicates together); 'all' from every photo (default: %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train with N processes on this machine (torch.distributed: NCCL on GPUs, gloo on CPUs); "
                        "--batch-size stays the global batch. The same as: torchrun --nproc_per_node N -m "
                        "cloudatlas train ...; for several machines add torchrun's --nnodes, --node_rank and "
                        "--rdzv_endpoint (default: 1)")
    p.add_argument("--list-archs", action="store_true", help="list the available backbones and exit")
    add_config_options(p, "student", "the student network (recipe [student])")
    add_config_options(p, "data", "the data (recipe [data])")
    add_config_options(p, "distill", "distillation and export (recipe [distill])")
    add_config_options(p, "teacher", "the teacher (recipe [teacher])")
    add_config_options(p, "gate", "the gates (recipe [gate]; --not-cloud DIR adds them to a run)")
    deprecated(p, "--keep-conflicts", dest="keep_conflicts", new="--conflicts keep", nargs=0, const=True)


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def run(args: argparse.Namespace) -> int:
    import os

    from . import CliError

    if args.nproc < 1:
        raise CliError("--nproc must be at least 1.")
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        from ..train.distributed import launch

        return launch(args.nproc, _without_nproc(args._argv))
    from ..train import train

    if args.list_archs:
        from ..model import list_backbones

        print("\n".join(list_backbones()))
        return 0
    if not (args.data or args.recipe or args.resume):
        raise CliError("say what to train on: --data DIR (one folder per label) or --recipe TOML.")
    changes = overrides(args)
    if getattr(args, "keep_conflicts", None):
        changes["data.conflicts"] = "keep"
    if args.data and args.split != "train":
        from ..config import Recipe

        recipe = Recipe.from_folder(args.data, split=args.split)
        result = train(recipe, out=args.out, resume=args.resume, **changes)
    else:
        result = train(args.recipe, data=args.data, out=args.out, resume=args.resume, **changes)
    r = result.report
    if os.environ.get("RANK", "0") == "0":
        print(f"{result.model_path}  valid accuracy {r.accuracy:.3f}  macro-F1 {r.macro_f1:.3f}  "
              f"({result.seconds / 60:.1f} min)")
    return 0
