"""Every setting of CloudAtlas, as dataclasses, in one torch-free module.

A model is described by one :class:`Recipe` (a TOML file, see ``recipes/bundled.toml``)::

    name = "cloudatlas-bundled"
    [data]        sources, their weights and trust, the decisions file, the benchmark  (DataConfig)
    [student]     the network that ships: backbone, size, epochs, learning rates       (StudentConfig)
    [teacher]     frozen-probe backbones whose linear heads teach the student          (TeacherConfig)
    [distill]     how labels and teacher mix; refit; what the exported file does       (DistillConfig)
    [gate]        the sky and clear-sky gates written into the model file              (GateConfig)
    [calibration] the temperature and the words' thresholds, chosen on validation      (CalibrationConfig)

A folder of photos (``DATA/<label>/*.jpg``) is the one-source recipe :meth:`Recipe.from_folder`,
so there is one trainer, one gate fit and one evaluation path for both. Every section is read by
one function, :func:`from_dict`, which names an unknown key and the nearest valid one. The
command line's options are made from the same fields and their ``help`` (``cli.options``).
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from .errors import ConfigError


def option(default=dataclasses.MISSING, help: str = "", flag: str | None = None, factory=None, **extra):
    """A dataclass field with the help text the command line shows for it."""
    meta = {"help": help, "flag": flag, **extra}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


# -- data -------------------------------------------------------------------------------------
Trust = Literal["label", "teacher", "coarse", "validation"]
Conflicts = Literal["drop", "soft", "keep"]


@dataclass
class SourceSpec:
    """One labelled folder of a recipe (``[[data.source]]``)."""

    name: str = option(help="short name of the source, used in reports and the decisions file")
    path: str = option(help="the folder: one sub-folder of photos per label")
    split: Literal["all", "train", "test"] = option(
        "all", help="'train' or 'test': only that part of the folder's split.csv (or of an automatic "
                    "split that keeps near-duplicates together)")
    weight: float = option(1.0, help="loss weight of its photos")
    trust: Trust = option("label", help="label: its labels are learned (and cleaned); teacher: only the "
                                        "teacher's soft targets; coarse: a label names a group of genera "
                                        "(see groups); validation: never trained on or cleaned, only measured")
    holdout: float = option(0.0, help="share kept aside as a held-out part, never trained on or cleaned")
    drop_below: float = option(0.0, help="data decide: drop a flagged photo whose label's out-of-fold "
                                         "probability is below this")
    relabel_above: float | None = option(None, help="data decide: relabel a flagged photo when another "
                                                    "label's out-of-fold probability reaches this")
    groups: dict[str, list[str]] = option(
        factory=dict, help="trust = coarse: folder name -> the genera a photo filed there may show")


@dataclass
class BenchmarkSpec:
    """The benchmark whose photos (and near-duplicates, crops included) must never train anything."""

    path: str = option(help="the benchmark's folder (with split.csv)")
    split: str = option("test", help="its part that judges models")


@dataclass
class DataConfig:
    """``[data]``: which photos, and how they are divided into parts."""

    sources: list[SourceSpec] = option(factory=list, help="the labelled folders", flag="")
    valid_frac: float = option(0.15, help="share of each source's training photos held out for validation "
                                          "(whole near-duplicate groups)")
    split_seed: int = option(0, help="which photos form the validation part (keep it fixed to compare runs)")
    decisions: str | None = option(None, help="reviewed drop / relabel decisions (cloudatlas data decide)",
                                   flag="")
    benchmark: BenchmarkSpec | None = option(None, help="photos that must never train", flag="")
    conflicts: Conflicts = option("drop", help="near-duplicates filed under different labels: drop the "
                                               "outvoted ones, learn the group's labels softly, or keep them")
    limit_per_class: int | None = option(None, help="use at most N training (and N validation) photos per "
                                                    "label: quick trials")


# -- the networks ---------------------------------------------------------------------------------
@dataclass
class StudentConfig:
    """``[student]``: the network that is fine-tuned and shipped."""

    arch: str = option("efficientnet_lite0", help="backbone (cloudatlas train --list-archs)", metavar="NAME")
    weights: str | None = option("default", help="pretrained weights: 'default' (the registry's), a "
                                                 ".pth/.safetensors path, or none", metavar="PATH")
    img_size: int | None = option(None, help="input size in pixels (default: the backbone's)")
    epochs: int = option(12, help="epochs with the backbone unfrozen")
    freeze_epochs: int = option(1, help="head-only epochs first (fastai's fine_tune)")
    freeze_to: int = option(0, help="keep the stem and blocks before this index frozen throughout")
    cache_views: int = option(0, help="precompute this many augmented views of the frozen blocks "
                                      "(needs freeze_to): each epoch then runs only the upper blocks")
    feature_crop: float = option(0.0, help="with cache_views: cache whole photos and train on random crops "
                                           "of their feature maps, at least this share of a side")
    batch_size: int = option(32, help="photos per step, over all processes together")
    lr: float = option(2e-3, help="head learning rate; lower blocks get less")
    lr_ratio: float = option(10.0, help="head LR / LR of the first trainable block")
    weight_decay: float = option(0.02, help="AdamW weight decay")
    label_smoothing: float = option(0.1, help="label smoothing of hard labels")
    drop_rate: float = option(0.3, help="dropout before the classifier")
    select_on: str = option("valid", help="the part whose macro-F1 chooses the epoch: valid, or a "
                                          "validation-only source's name", metavar="PART")
    seed: int = option(0, help="weights init and augmentation order")
    workers: int = option(0, help="data-loading worker processes")
    device: str = option("auto", help="auto, cpu, cuda or mps", metavar="DEVICE")


@dataclass
class ProbeSpec:
    arch: str = option(help="a registered backbone")
    img_size: int = option(help="the probe's input size")

    @property
    def name(self) -> str:
        return f"{self.arch}-{self.img_size}"


@dataclass
class TeacherConfig:
    """``[teacher]``: linear heads on frozen multi-level features of pretrained backbones."""

    probes: list[ProbeSpec] = option(factory=list, help="the backbones that teach (none: no teacher)", flag="")
    C: float = option(0.05, help="inverse L2 strength of its logistic regressions", flag="teacher-c")
    folds: int = option(5, help="out-of-fold predictions for the photos a head was fitted on",
                        flag="teacher-folds")


@dataclass
class DistillConfig:
    """``[distill]``: how labels and the teacher mix, and what the exported file does."""

    alpha: float = option(0.5, help="share of the teacher in a trusted photo's target (rest: its label)")
    transfer_weight: float = option(0.5, help="weight of a photo whose labels are not trusted")
    refit: bool = option(False, help="after choosing the epoch count on validation, train again on "
                                     "train + validation")
    flip_tta: bool = option(False, help="the exported model also looks at the mirror image")
    fp16_weights: bool = option(False, help="store weights as float16 (half the file; computed in float32)")


@dataclass
class GateConfig:
    """``[gate]``: the sky gate (is it a sky photo?) and the clear-sky gate (is the sky clear?)."""

    not_sky: str = option(help="photos of anything but the sky", flag="not-cloud", metavar="DIR")
    clear_sky: str | None = option(None, help="photos of skies with no cloud: adds the clear-sky gate",
                                   flag="clear-sky", metavar="DIR")
    target_accept: float = option(0.985, help="share of validation cloud photos the sky gate lets through")
    max_cloud_as_clear: float = option(0.001, help="largest share of validation cloud photos the clear-sky "
                                                  "gate may call clear")
    seed: int = option(0, help="seed of the gates' split of not-sky and clear-sky photos and of the "
                               "generated negatives", flag="gate-seed")
    synthetic: int = option(520, help="generated charts, screens and drawings to fit on")
    synthetic_heldout: int = option(285, help="generated images to measure on", flag="")
    limit: int | None = option(None, help="at most N images of each part: a quick trial, not a calibration",
                               flag="gate-limit")


@dataclass
class CalibrationConfig:
    """``[calibration]``: confidence that means what it says, chosen on validation photos."""

    parts: list[str] = option(factory=lambda: ["valid"], help="the parts (or validation-only sources) the "
                                                             "temperature and the thresholds are fitted on",
                              flag="")
    very_likely: float = option(0.9, help="precision the 'very likely' answers must reach on validation",
                                flag="")
    likely: float = option(0.7, help="precision the 'likely' answers must reach on validation", flag="")
    max_prior_power: float = option(1.0, help="how far the genus prior may shift towards the calibration photos' "
                                              "frequencies (0: temperature only; 1: all the way)", flag="")


# -- the recipe -----------------------------------------------------------------------------------
SECTIONS = {"data": DataConfig, "student": StudentConfig, "teacher": TeacherConfig,
            "distill": DistillConfig, "gate": GateConfig, "calibration": CalibrationConfig}


@dataclass
class Recipe:
    """How to build a model: data, student, teacher, distillation, gates, calibration."""

    name: str
    data: DataConfig
    student: StudentConfig = field(default_factory=StudentConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    gate: GateConfig | None = None
    calibration: CalibrationConfig | None = None
    path: Path | None = None   # the recipe file; None for a folder's one-source recipe
    root: Path = Path(".")     # relative paths are relative to this (the recipe file's folder)

    def resolve(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        return path if path.is_absolute() else (self.root / path).resolve()

    @classmethod
    def of(cls, recipe: "Recipe | str | os.PathLike") -> "Recipe":
        """``recipe`` itself, or the recipe read from that path."""
        return recipe if isinstance(recipe, cls) else cls.load(recipe)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Recipe":
        path = Path(path).resolve()
        raw = _read(path, tomllib.loads, f"{path}: no such recipe file.")
        return cls.from_dict(raw, root=path.parent, path=path)

    @classmethod
    def from_dict(cls, raw: Mapping, root: Path = Path("."), path: Path | None = None) -> "Recipe":
        where = str(path or "recipe")
        check_keys(raw, ["name", *SECTIONS], where)
        data_raw = dict(raw.get("data", {}))
        data_raw["sources"] = data_raw.pop("source", data_raw.get("sources", []))
        sections = {name: from_dict(kind, raw[name], f"{where} [{name}]")
                    for name, kind in SECTIONS.items() if name != "data" and name in raw}
        recipe = cls(name=raw.get("name", path.stem if path else "recipe"),
                     data=from_dict(DataConfig, data_raw, f"{where} [data]"), path=path, root=root, **sections)
        recipe.validate()
        return recipe

    @classmethod
    def from_folder(cls, data_dir: str | os.PathLike, split: str = "train") -> "Recipe":
        """The one-source recipe of ``DATA/<label>/*.jpg``: ``split='train'`` learns from the
        train part of its split.csv (or of an automatic, near-duplicate-aware split) and keeps
        the rest as its ``test`` part; ``split='all'`` learns from every photo."""
        folder = Path(data_dir)
        name = folder.resolve().name or "data"
        benchmark = BenchmarkSpec(path=str(folder.resolve()), split="test") if split == "train" else None
        data = DataConfig(sources=[SourceSpec(name=name, path=str(folder.resolve()), split=split)],
                          benchmark=benchmark)
        return cls(name=f"cloudatlas-{name}", data=data, root=Path.cwd())

    def validate(self) -> None:
        sources = self.data.sources
        if not sources:
            raise ConfigError(f"{self.path or 'the recipe'} names no [[data.source]]")
        if len({s.name for s in sources}) != len(sources):
            raise ConfigError("recipe sources need distinct names")
        for s in sources:
            if s.trust == "coarse" and not s.groups:
                raise ConfigError(f"source {s.name}: trust = 'coarse' needs groups = {{folder = [genera]}}")
        # What may choose anything: validation parts, never the benchmark's test part.
        parts = {"valid", "holdout"} | {s.name for s in sources if s.trust == "validation"}
        if self.student.select_on not in parts:
            raise ConfigError(f"[student] select_on = {self.student.select_on!r}: use valid, holdout or the "
                              f"name of a validation-only source ({', '.join(sorted(parts))})")
        if self.calibration:
            unknown = [p for p in self.calibration.parts if p not in parts]
            if unknown:
                raise ConfigError(f"[calibration] parts {unknown}: choose among {sorted(parts)}")

    def override(self, **changes: Any) -> "Recipe":
        """Apply ``section.field=value`` changes (what command-line flags say), each checked
        like a recipe's own value; a missing ``[gate]`` or ``[calibration]`` is created when the
        changes give what it needs. Returns self."""
        for dotted, value in sorted(changes.items(), key=lambda kv: kv[0] != "gate.not_sky"):
            section_name, _, key = dotted.partition(".")
            kind = SECTIONS.get(section_name)
            if kind is None:
                check_keys({section_name: None}, list(SECTIONS), "settings")
            check_keys({key: value}, [f.name for f in dataclasses.fields(kind)], f"[{section_name}]")
            value = convert(typing.get_type_hints(kind)[key], value, f"{dotted}")
            section = getattr(self, section_name)
            if section is None:
                try:
                    section = kind(**({key: value} if section_name == "gate" else {}))
                except TypeError:
                    raise ConfigError(f"{dotted} needs a [{section_name}] table: the recipe has none, and "
                                      f"{section_name}.not_sky (--not-cloud DIR) was not given") from None
                setattr(self, section_name, section)
            setattr(section, key, value)
        self.validate()
        return self

    def to_dict(self) -> dict:
        """The recipe as plain JSON-able data (what a run folder's config.json records)."""
        out: dict[str, Any] = {"name": self.name, "file": str(self.path) if self.path else None,
                               "root": str(self.root.resolve())}
        for name in SECTIONS:
            value = getattr(self, name)
            if value is not None:
                out[name] = dataclasses.asdict(value)
        return out

    @classmethod
    def from_run(cls, run_dir: str | os.PathLike) -> "Recipe":
        """The recipe a training run recorded in its ``config.json`` (for ``--resume``)."""
        raw = _read(Path(run_dir) / "config.json", json.loads, f"{run_dir}: no config.json; is it a training run folder?")
        recipe_raw = {k: v for k, v in raw.items() if k in ("name", *SECTIONS)}
        file = raw.get("file")
        return cls.from_dict(recipe_raw, root=Path(raw.get("root", ".")), path=Path(file) if file else None)


# -- reading ----------------------------------------------------------------------------------------
def _read(path: Path, parse, missing: str) -> dict:
    try:
        return parse(path.read_text())
    except FileNotFoundError:
        raise ConfigError(missing) from None
    except (OSError, ValueError) as err:  # unreadable, not UTF-8, not valid TOML or JSON
        raise ConfigError(f"{path}: cannot be read ({err}).") from None


def check_keys(raw: Mapping, valid: list[str], where: str) -> None:
    """Refuse keys that are not settings, naming the nearest one that is."""
    for key in raw:
        if key not in valid:
            near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
            hint = f"; did you mean {near[0]!r}?" if near else f"; valid keys: {', '.join(valid)}"
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")


def _strip_optional(tp):
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def convert(tp, value, where: str):
    """``value`` as type ``tp`` (a dataclass, a list or dict of them, a Literal or a plain type)."""
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where}: a value is needed")
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, not {value!r}")
        return from_dict(tp, value, where)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, not {value!r}")
        (item,) = typing.get_args(tp)
        return [convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, not {value!r}")
        _, item = typing.get_args(tp)
        return {str(k): convert(item, v, f"{where}.{k}") for k, v in value.items()}
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, choices))}")
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is bool and isinstance(value, bool) or tp in (int, str) and type(value) is tp:
        return value
    raise ConfigError(f"{where}: expected {getattr(tp, '__name__', tp)}, not {value!r}")


def from_dict(cls, raw: Mapping, where: str | None = None):
    """Build the dataclass ``cls`` from ``raw``, checking every key and every value's type."""
    where = where or cls.__name__
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    check_keys(raw, names, where)
    values = {k: convert(hints[k], v, f"{where} {k}") for k, v in raw.items()}
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    return cls(**values)


def field_types(cls) -> dict[str, Any]:
    """Each field's type, Optional stripped: what the command line converts a flag's text to."""
    return {name: _strip_optional(tp)[0] for name, tp in typing.get_type_hints(cls).items()}


def dumps(obj) -> str:
    """JSON of a config (dataclasses and paths included)."""
    return json.dumps(obj, indent=2, default=lambda o: dataclasses.asdict(o) if dataclasses.is_dataclass(o)
                      else str(o)) + "\n"


# Flat names (``train(data=..., epochs=3)``, ``--epochs 3``) are looked up in this order; a
# name two sections share (``seed``) means the first, the other is reached as ``gate.seed``.
FLAT_ORDER = ("student", "data", "distill", "teacher", "gate", "calibration")


def qualify(name: str) -> str:
    """``epochs`` -> ``student.epochs``; a dotted name is returned as it is."""
    if "." in name:
        return name
    for section in FLAT_ORDER:
        if name in {f.name for f in dataclasses.fields(SECTIONS[section])}:
            return f"{section}.{name}"
    every = sorted({f.name for kind in SECTIONS.values() for f in dataclasses.fields(kind)})
    check_keys({name: None}, every, "settings")
    raise AssertionError("unreachable")
