"""cloudatlas train: fine-tune a pretrained backbone on DATA/<label>/*.jpg."""
from __future__ import annotations

import argparse
from dataclasses import fields

DESCRIPTION = """\
Fine-tune a pretrained image model on a folder-per-class data set, fastai style: a few epochs
with the backbone frozen, then the network unfrozen with discriminative learning rates and a
one-cycle schedule. A validation part is carved from the training photos (never the test split)
and the best epoch on it is kept. The run folder gets config.json, data.json, metrics.csv,
curves.png, confusion_matrix.png, report.json and model.onnx."""
EPILOG = """\
examples:
  cloudatlas train --data ../shared/data/ccsn --out runs/quick --epochs 3 --img-size 160
  cloudatlas train --data my_photos --arch efficientnet_lite1 --out runs/lite1
  cloudatlas train --data my_photos --out runs/lite1 --resume        continue an interrupted run
  cloudatlas train --recipe recipes/bundled.toml --out runs/bundled  several sources, teacher, student

  The bundled model's exact recipe is in MODEL_CARD.md.
  Fast on a 2-core CPU: --freeze-to 4 --cache-views 8 keeps the first blocks frozen and
  computes them once per augmented view, so each epoch only runs the upper blocks.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..train.config import TrainConfig

    defaults = {f.name: f.default for f in fields(TrainConfig) if f.name != "data"}
    source = p.add_mutually_exclusive_group()
    source.add_argument("--data", help="folder with one sub-folder of photos per label")
    source.add_argument("--recipe", metavar="TOML",
                        help="a recipe naming several sources, their cleaning decisions, a teacher and the "
                             "student to distil (see recipes/bundled.toml); --out and --device apply")
    p.add_argument("--out", default=defaults["out"], help="run folder (default: %(default)s)")
    p.add_argument("--split", default="train", choices=["train", "all"],
                   help="'train': the train part of DATA/split.csv (or of an automatic split that "
                        "keeps near-duplicates together); 'all': every photo (default: %(default)s)")
    p.add_argument("--arch", default=defaults["arch"], help="backbone (default: %(default)s); see --list-archs")
    p.add_argument("--list-archs", action="store_true", help="list the available backbones and exit")
    p.add_argument("--weights", default="default",
                   help="pretrained weights: 'default' (the registry's), a .pth/.safetensors path, or 'none'")
    p.add_argument("--img-size", type=int, default=None, help="input size in pixels (default: the backbone's)")
    p.add_argument("--epochs", type=int, default=defaults["epochs"], help="unfrozen epochs (default: %(default)s)")
    p.add_argument("--freeze-epochs", type=int, default=defaults["freeze_epochs"],
                   help="head-only epochs first (default: %(default)s)")
    p.add_argument("--freeze-to", type=int, default=defaults["freeze_to"],
                   help="keep the stem and blocks before this index frozen (default: %(default)s = none)")
    p.add_argument("--cache-views", type=int, default=defaults["cache_views"],
                   help="precompute this many augmented views of the frozen blocks (needs --freeze-to)")
    p.add_argument("--feature-crop", type=float, default=defaults["feature_crop"], metavar="FRACTION",
                   help="with --cache-views: cache whole photos and train on random crops of their "
                        "feature maps, at least FRACTION of a side (e.g. 0.5)")
    p.add_argument("--batch-size", type=int, default=defaults["batch_size"])
    p.add_argument("--lr", type=float, default=defaults["lr"], help="head learning rate (default: %(default)s)")
    p.add_argument("--lr-ratio", type=float, default=defaults["lr_ratio"],
                   help="head LR / LR of the first trainable block (default: %(default)s)")
    p.add_argument("--weight-decay", type=float, default=defaults["weight_decay"])
    p.add_argument("--label-smoothing", type=float, default=defaults["label_smoothing"])
    p.add_argument("--valid-frac", type=float, default=defaults["valid_frac"],
                   help="share of the training photos held out for validation (default: %(default)s)")
    p.add_argument("--keep-conflicts", action="store_true",
                   help="train on photos whose near-duplicates carry another label too")
    p.add_argument("--seed", type=int, default=defaults["seed"], help="weights init and augmentation order")
    p.add_argument("--split-seed", type=int, default=defaults["split_seed"],
                   help="which photos form the validation part (keep it fixed to compare or ensemble runs)")
    p.add_argument("--workers", type=int, default=defaults["workers"], help="data loader processes")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    p.add_argument("--limit-per-class", type=int, default=None, help="use at most N photos per label (quick trials)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")


def run(args: argparse.Namespace) -> int:
    from ..data import DataError
    from ..model import list_backbones
    from ..train import TrainConfig, train
    from . import CliError

    if args.list_archs:
        print("\n".join(list_backbones()))
        return 0
    if args.recipe:
        return _train_recipe(args)
    if not args.data:
        raise CliError("say what to train on: --data DIR (one folder per label) or --recipe TOML.")
    if args.cache_views and not args.freeze_to:
        raise CliError("--cache-views needs --freeze-to N (the frozen blocks are what gets cached).")
    config = TrainConfig(
        data=args.data, out=args.out, split=args.split, arch=args.arch,
        weights=None if args.weights == "none" else args.weights, img_size=args.img_size,
        epochs=args.epochs, freeze_epochs=args.freeze_epochs, freeze_to=args.freeze_to,
        cache_views=args.cache_views, feature_crop=args.feature_crop, batch_size=args.batch_size, lr=args.lr, lr_ratio=args.lr_ratio,
        weight_decay=args.weight_decay, label_smoothing=args.label_smoothing, valid_frac=args.valid_frac,
        drop_conflicts=not args.keep_conflicts, seed=args.seed, split_seed=args.split_seed, workers=args.workers, device=args.device,
        limit_per_class=args.limit_per_class)
    try:
        result = train(config, resume=args.resume)
    except (DataError, FileExistsError, FileNotFoundError, ValueError, RuntimeError) as err:
        raise CliError(str(err)) from None
    print(f"{result.model_path}  valid accuracy {result.report.accuracy:.3f}  macro-F1 {result.report.macro_f1:.3f}")
    return 0


def _train_recipe(args: argparse.Namespace) -> int:
    from ..data import DataError
    from ..train.distill import train_recipe
    from . import CliError

    try:
        result = train_recipe(args.recipe, args.out, device=args.device)
    except (DataError, FileNotFoundError, ValueError, RuntimeError) as err:
        raise CliError(str(err)) from None
    print(f"{result['model']}  ({result['seconds'] / 60:.1f} min)")
    return 0
