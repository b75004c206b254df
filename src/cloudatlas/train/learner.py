"""The training loop: fastai-style ``fine_tune`` (frozen phase, then discriminative LRs).

A timm model is cut in two at ``freeze_to``: a ``lower`` part (stem + first blocks) that stays
frozen, and an ``upper`` part that learns. With ``cache_views`` the frozen part runs once per
augmented view up front (``views.ViewStore``), so each epoch costs only the upper part: on a
2-core CPU that is what makes high-resolution fine-tuning affordable.
"""
from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..config import StudentConfig
from ..evaluate.metrics import classification_report
from ..model.registry import Structure
from . import distributed
from .datasets import FeatureDataset, PhotoDataset, RandomFeatureCrop


@dataclass
class EpochRecord:
    epoch: int
    phase: str
    train_loss: float
    train_acc: float
    valid_loss: float
    valid_acc: float
    valid_macro_f1: float
    lr: float
    seconds: float
    watched: dict = field(default_factory=dict)  # accuracy on parts watched but not chosen on


@dataclass
class FitState:
    history: list[EpochRecord] = field(default_factory=list)
    best_score: float = -1.0
    best_epoch: int = -1


class SplitModel(nn.Module):
    """A network seen as ``lower`` (stem + the first ``freeze_to`` blocks: frozen) and ``upper``
    (trained), cut where its backbone's :class:`Structure` says."""

    def __init__(self, model: nn.Module, structure: Structure, freeze_to: int):
        super().__init__()
        self.model, self.structure, self.freeze_to = model, structure, freeze_to

    def lower(self, x: torch.Tensor) -> torch.Tensor:
        return self.structure.lower(self.model, x, self.freeze_to) if self.freeze_to else x

    def upper(self, x: torch.Tensor) -> torch.Tensor:
        if not self.freeze_to:
            return self.model(x)
        return self.model.forward_head(self.structure.upper_features(self.model, x, self.freeze_to))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upper(self.lower(x))

    def lower_modules(self) -> list[nn.Module]:
        return self.structure.lower_modules(self.model, self.freeze_to)

    def trainable_groups(self) -> list[list[nn.Parameter]]:
        """Parameter groups from input side to head, for discriminative learning rates."""
        return self.structure.parameter_groups(self.model, self.freeze_to)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


class Learner:
    """Data + model + loss + schedule, like fastai's Learner, for one run folder."""

    def __init__(self, model: nn.Module, structure: Structure, config: StudentConfig, n_classes: int):
        self.config, self.n_classes = config, n_classes
        self.device = pick_device(config.device)
        self.net = SplitModel(model, structure, config.freeze_to).to(self.device)
        self.net.to(memory_format=torch.channels_last)
        self.state = FitState()
        self.best_weights = copy.deepcopy(self.net.model.state_dict())
        self.amp = self.device.type == "cuda"
        self.world = distributed.world()
        distributed.share_buffers(self.net.model, parameters=True)  # every process starts from rank 0's weights

    # -- data --------------------------------------------------------------------------------
    def _loader(self, dataset, shuffle: bool, collate_fn=None) -> DataLoader:
        pin = self.device.type == "cuda"
        if shuffle and self.world.active:  # each process its shard of the epoch and its share of the batch
            from torch.utils.data.distributed import DistributedSampler

            sampler = DistributedSampler(dataset, self.world.size, self.world.rank, shuffle=True,
                                         seed=self.config.seed, drop_last=True)
            return DataLoader(dataset, batch_size=max(1, self.config.batch_size // self.world.size), sampler=sampler,
                              num_workers=self.config.workers, drop_last=True, pin_memory=pin, collate_fn=collate_fn)
        return DataLoader(dataset, batch_size=self.config.batch_size, shuffle=shuffle,
                          num_workers=self.config.workers, drop_last=shuffle and len(dataset) > self.config.batch_size,
                          pin_memory=pin, collate_fn=collate_fn)

    @torch.no_grad()
    def precompute(self, dataset: PhotoDataset, views: int, desc: str) -> torch.Tensor:
        """Run the frozen part over ``views`` passes of ``dataset``: [views, N, C, H, W] fp16."""
        self._set_mode(train=False)
        out = None
        bar = tqdm(total=views * len(dataset), desc=desc, unit="img", file=sys.stderr, leave=False)
        for v in range(views):
            start = 0
            for xb, _ in self._loader(dataset, shuffle=False):
                feats = self._lower(xb).to("cpu", torch.float16)
                if out is None:
                    out = torch.empty((views, len(dataset), *feats.shape[1:]), dtype=torch.float16)
                out[v, start:start + len(feats)] = feats
                start += len(feats)
                bar.update(len(feats))
        bar.close()
        return out

    def _lower(self, xb: torch.Tensor) -> torch.Tensor:
        xb = xb.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            return self.net.lower(xb)

    def _upper(self, xb: torch.Tensor) -> torch.Tensor:
        xb = xb.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            return self.net.upper(xb).float()

    # -- modes and optimiser -----------------------------------------------------------------
    def _set_mode(self, train: bool, head_only: bool = False) -> None:
        self.net.train(train)
        for module in self.net.lower_modules():
            module.eval()  # frozen BN keeps its ImageNet statistics
        if train and head_only:
            # The backbone's BatchNorm statistics stay fixed while only the head learns, but the
            # model itself stays in training mode: timm applies the head's dropout in
            # forward_head, gated by the *model's* training flag.
            for module in self.net.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()

    def _optimizer(self, head_only: bool) -> torch.optim.Optimizer:
        groups = self.net.trainable_groups()
        if head_only:
            groups = groups[-1:]
        for p in self.net.model.parameters():
            p.requires_grad_(False)
        n = len(groups)
        param_groups = []
        for i, params in enumerate(groups):
            for p in params:
                p.requires_grad_(True)
            # Geometric spacing from lr/lr_ratio (input side) to lr (head).
            scale = self.config.lr_ratio ** (-(n - 1 - i) / max(n - 1, 1)) if n > 1 else 1.0
            param_groups.append({"params": params, "lr": self.config.lr * scale})
        return torch.optim.AdamW(param_groups, lr=self.config.lr, weight_decay=self.config.weight_decay)

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, train_ds, valid_ds, valid_targets: list[int], checkpoint: Path | None = None,
            watch: dict | None = None) -> FitState:
        """Head-only epochs, then the unfrozen network, one-cycle schedule in each phase. The best
        epoch on ``valid_ds`` is kept; ``watch`` (name -> (dataset, targets)) is only reported."""
        cfg = self.config
        resume = self._load_checkpoint(checkpoint) if checkpoint and checkpoint.exists() else None
        cached = isinstance(train_ds, FeatureDataset)  # the frozen blocks' views, computed once
        phases = [("frozen", cfg.freeze_epochs, True), ("unfrozen", cfg.epochs, False)]
        epoch_no = 0
        for phase, n_epochs, head_only in phases:
            if n_epochs <= 0:
                continue
            opt = self._optimizer(head_only)
            crop = RandomFeatureCrop(cfg.feature_crop) if cached and cfg.feature_crop else None
            loader = self._loader(train_ds, shuffle=True, collate_fn=crop)
            total = n_epochs * len(loader)
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=total,
                pct_start=0.3 if head_only else 0.2, div_factor=10.0, final_div_factor=100.0)
            for _ in range(n_epochs):
                epoch_no += 1
                if resume and epoch_no <= resume["done"]:
                    with warnings.catch_warnings():  # stepping without training is the point here
                        warnings.simplefilter("ignore")
                        for _ in range(len(loader)):
                            sched.step()  # fast-forward the schedule to where the run stopped
                    continue
                if resume and resume["phase"] == phase:
                    opt.load_state_dict(resume["optimizer"])
                resume = None
                if hasattr(loader.sampler, "set_epoch"):
                    loader.sampler.set_epoch(epoch_no)  # another shuffle every epoch, the same in every process
                record = self._train_epoch(epoch_no, phase, loader, opt, sched, head_only, cached)
                distributed.share_buffers(self.net.model)
                record = self._validate(record, valid_ds, valid_targets, cached)
                for name, (ds, targets) in (watch or {}).items():
                    logits = self.predict_logits(ds, cached)
                    record.watched[name] = round(float((logits.argmax(1) == np.asarray(targets)).mean()), 4)
                self.state.history.append(record)
                self._print(record)
                # Without a validation part (a refit on everything) the last epoch is kept.
                score = record.valid_macro_f1 + 1e-3 * record.valid_acc if len(valid_targets) else epoch_no
                if score > self.state.best_score:
                    self.state.best_score, self.state.best_epoch = score, epoch_no
                    self.best_weights = copy.deepcopy(self.net.model.state_dict())
                if checkpoint and self.world.main:
                    self._save_checkpoint(checkpoint, phase, epoch_no, opt)
        self.net.model.load_state_dict(self.best_weights)
        return self.state

    def _train_epoch(self, epoch_no, phase, loader, opt, sched, head_only, cached) -> EpochRecord:
        self._set_mode(train=True, head_only=head_only)
        start, losses, correct, seen = time.time(), [], 0, 0
        bar = tqdm(loader, desc=f"epoch {epoch_no} ({phase})", unit="batch", file=sys.stderr, leave=False,
                   disable=not self.world.main)
        for xb, yb in bar:
            yb = yb.to(self.device)
            if not cached:
                with torch.no_grad():
                    xb = self._lower(xb)
            logits = self._upper(xb)
            loss = self.loss(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            distributed.average_gradients(self.net.model.parameters())
            opt.step()
            sched.step()
            losses.append(loss.item())
            correct += (logits.argmax(1) == (yb.argmax(1) if yb.ndim == 2 else yb)).sum().item()
            seen += len(yb)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", acc=f"{correct / seen:.3f}")
        return EpochRecord(epoch_no, phase, float(np.mean(losses)), correct / max(seen, 1), math.nan,
                           math.nan, math.nan, opt.param_groups[-1]["lr"], time.time() - start)

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy against class indices (with label smoothing), or against soft targets
        ``[N, C]`` (distillation): each row a distribution scaled by the photo's weight, so a
        row summing to 0.5 counts half."""
        if targets.ndim == 1:
            return F.cross_entropy(logits, targets, label_smoothing=self.config.label_smoothing)
        return -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()

    @torch.no_grad()
    def predict_logits(self, dataset, cached: bool = False) -> np.ndarray:
        self._set_mode(train=False)
        chunks = []
        for xb, _ in self._loader(dataset, shuffle=False):
            feats = xb if cached else self._lower(xb)
            chunks.append(self._upper(feats).cpu())
        return torch.cat(chunks).numpy() if chunks else np.zeros((0, self.n_classes), np.float32)

    def _validate(self, record: EpochRecord, valid_ds, valid_targets, cached) -> EpochRecord:
        if not len(valid_targets):
            return record
        start = time.time()
        logits = self.predict_logits(valid_ds, cached)
        targets = torch.tensor(valid_targets)
        record.valid_loss = F.cross_entropy(torch.from_numpy(logits), targets).item()
        report = classification_report(valid_targets, logits.argmax(1), list(map(str, range(self.n_classes))))
        record.valid_acc, record.valid_macro_f1 = report.accuracy, report.macro_f1
        record.seconds += time.time() - start
        return record

    def _print(self, r: EpochRecord) -> None:
        if not self.world.main:
            return
        watched = "".join(f" {name} acc {acc:.3f} |" for name, acc in r.watched.items())
        print(f"epoch {r.epoch:>3} {r.phase:<8} train loss {r.train_loss:.3f} acc {r.train_acc:.3f} | "
              f"valid loss {r.valid_loss:.3f} acc {r.valid_acc:.3f} macro-F1 {r.valid_macro_f1:.3f} |{watched} "
              f"{r.seconds:.0f}s", file=sys.stderr, flush=True)

    # -- checkpoints (resume after interruption) ---------------------------------------------
    def _save_checkpoint(self, path: Path, phase: str, done: int, opt) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save({"model": self.net.model.state_dict(), "optimizer": opt.state_dict(),
                    "phase": phase, "done": done,
                    "history": [r.__dict__ for r in self.state.history],
                    "best_score": self.state.best_score, "best_epoch": self.state.best_epoch,
                    "best_weights": self.best_weights}, tmp)
        tmp.replace(path)  # atomic: an interruption never leaves half a checkpoint

    def _load_checkpoint(self, path: Path) -> dict:
        ckpt = torch.load(path, map_location=self.device, weights_only=True)
        self.net.model.load_state_dict(ckpt["model"])
        self.best_weights = ckpt["best_weights"]
        self.state = FitState([EpochRecord(**r) for r in ckpt["history"]], ckpt["best_score"],
                              ckpt["best_epoch"])
        print(f"Resuming {path.parent} after epoch {ckpt['done']}", file=sys.stderr)
        return {"phase": ckpt["phase"], "done": ckpt["done"], "optimizer": ckpt["optimizer"]}
