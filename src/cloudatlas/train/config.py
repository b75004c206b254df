"""Training configuration: one plain dataclass, saved as config.json in every run folder."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass
class TrainConfig:
    data: str
    out: str = "runs/train"
    split: str = "train"               # 'train' uses split.csv's train part; 'all' every photo
    arch: str = "efficientnet_lite0"
    weights: str = "default"           # 'default' = the registry's pretrained weights, or a path
    img_size: int | None = None        # None = the backbone's own size
    epochs: int = 12                   # epochs with the backbone unfrozen
    freeze_epochs: int = 1             # head-only epochs first (fastai's fine_tune)
    freeze_to: int = 0                 # stages before this block index stay frozen throughout
    cache_views: int = 0               # >0: precompute that many augmented views of the frozen part
    feature_crop: float = 0.0          # >0: views are whole photos; each step trains on a random
                                       # crop of their feature maps, at least this share of a side
    batch_size: int = 32
    lr: float = 2e-3                   # head learning rate; lower blocks get less
    lr_ratio: float = 10.0             # discriminative LRs: first trainable block gets lr / lr_ratio
    weight_decay: float = 0.02
    label_smoothing: float = 0.1
    drop_rate: float = 0.3
    valid_frac: float = 0.15
    drop_conflicts: bool = True        # leave out photos outvoted by their own near-duplicates
    seed: int = 0                      # weights init and augmentation order
    split_seed: int = 0                # which photos form the validation part: keep it fixed
                                       # across seeds so runs can be ensembled and compared
    workers: int = 0
    device: str = "auto"
    limit_per_class: int | None = None  # for quick experiments and tests

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        raw = json.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})
