"""Several labelled folders, one data set: the recipe file and what it assembles (torch-free).

A recipe (TOML) names the sources, a weight and a trust level for each, the reviewed decisions
file (drop / relabel per photo), the benchmark whose photos must never leak into training, and
how validation is carved::

    [data]
    valid_frac = 0.15
    split_seed = 0
    decisions = "decisions.csv"            # relative to the recipe file
    benchmark = { path = "../../shared/data/ccsn", split = "test" }

    [[data.source]]
    name = "ccsn"
    path = "../../shared/data/ccsn"
    split = "train"                         # only split.csv's train part
    [[data.source]]
    name = "curated"
    path = "../../shared/data/extra/curated"
    holdout = 0.3                           # a second validation set, never trained on
    [[data.source]]
    name = "scrape"
    path = "../../shared/data/extra/scrape"
    trust = "teacher"                       # labels not trusted: learn the teacher's soft targets

``assemble(recipe)`` returns train / valid / holdout / transfer lists of :class:`SourcedSample`.
Every photo within a few pHash bits of a benchmark photo, or of a crop of one, is left out
whatever its source. Near-duplicates filed under several labels get soft labels over all of them.
"""
from __future__ import annotations

import csv
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from .audit import hash_photos
from .phash import DEFAULT_MAX_DISTANCE, near_duplicate_groups, phash_image, popcount
from .dataset import DataError, Sample, group_label_votes, group_split, read_split_file, scan_folder

TRUST_LEVELS = ("label", "teacher")
ACTIONS = ("keep", "drop", "relabel")
DECISION_FIELDS = ["source", "path", "action", "label", "reason"]
BENCHMARK_CROPS = (1.0, 0.85, 0.7, 0.55)  # a photo that is a centre crop of a test photo is the test photo


@dataclass
class SourceSpec:
    name: str
    path: str
    split: str = "all"        # "train": only the train part of the folder's split.csv
    weight: float = 1.0       # loss weight of its photos
    trust: str = "label"      # "label": its labels are learned; "teacher": only soft targets
    holdout: float = 0.0      # share kept aside as a second validation set (never trained on)
    drop_below: float = 0.0   # cleaning (data decide): drop a flagged photo whose label's
                              # out-of-fold probability is below this
    relabel_above: float | None = None  # ... relabel it when another label's is at least this


@dataclass
class DataRecipe:
    sources: list[SourceSpec]
    valid_frac: float = 0.15
    split_seed: int = 0
    decisions: str | None = None
    benchmark: dict | None = None  # {"path": ..., "split": "test"}
    root: Path = Path(".")         # relative paths are relative to the recipe file

    def resolve(self, path: str | Path) -> Path:
        path = Path(path)
        return path if path.is_absolute() else (self.root / path).resolve()

    @classmethod
    def from_dict(cls, raw: dict, root: Path) -> "DataRecipe":
        known = {f.name for f in fields(SourceSpec)}
        sources = []
        for entry in raw.get("source", []):
            unknown = set(entry) - known
            if unknown:
                raise DataError(f"recipe source {entry.get('name', '?')}: unknown keys {sorted(unknown)}")
            spec = SourceSpec(**entry)
            if spec.trust not in TRUST_LEVELS:
                raise DataError(f"recipe source {spec.name}: trust must be one of {TRUST_LEVELS}")
            sources.append(spec)
        if not sources:
            raise DataError("the recipe names no [[data.source]]")
        if len({s.name for s in sources}) != len(sources):
            raise DataError("recipe sources need distinct names")
        extra = {k: v for k, v in raw.items() if k != "source"}
        return cls(sources=sources, root=root, **extra)


def load_recipe_file(path: str | Path) -> dict:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: no such recipe file.") from None
    except tomllib.TOMLDecodeError as err:
        raise DataError(f"{path}: not valid TOML ({err}).") from None


@dataclass(frozen=True)
class SourcedSample(Sample):
    """A photo with where it came from and how far its label is trusted."""

    source: str = ""
    weight: float = 1.0
    trusted: bool = True
    soft: tuple[tuple[str, float], ...] = ()  # label distribution when near-duplicates disagree

    @property
    def id(self) -> str:
        return f"{self.source}:{self.key}"

    def target(self, labels: list[str]) -> np.ndarray:
        """The label as a distribution over ``labels`` (one-hot unless ``soft``)."""
        out = np.zeros(len(labels), dtype=np.float32)
        for label, p in (self.soft or ((self.label, 1.0),)):
            out[labels.index(label)] += p
        return out


@dataclass
class Decision:
    source: str
    path: str
    action: str
    label: str = ""
    reason: str = ""


def read_decisions(path: str | Path) -> dict[str, Decision]:
    """``{"source:label/name.jpg": Decision}`` from a reviewed decisions CSV."""
    out = {}
    with open(path, newline="") as f:
        for n, row in enumerate(csv.DictReader(f), 2):
            d = Decision(**{k: (row.get(k) or "").strip() for k in DECISION_FIELDS})
            if d.action not in ACTIONS:
                raise DataError(f"{path}:{n}: action must be one of {ACTIONS}, not {d.action!r}")
            if d.action == "relabel" and not d.label:
                raise DataError(f"{path}:{n}: relabel needs a label")
            out[f"{d.source}:{d.path}"] = d
    return out


def write_decisions(path: str | Path, decisions: list[Decision]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=DECISION_FIELDS)
        writer.writeheader()
        for d in sorted(decisions, key=lambda d: (d.source, d.path)):
            writer.writerow({k: getattr(d, k) for k in DECISION_FIELDS})
    return path


@dataclass
class AssembledData:
    labels: list[str]
    train: list[SourcedSample] = field(default_factory=list)
    valid: list[SourcedSample] = field(default_factory=list)
    holdout: list[SourcedSample] = field(default_factory=list)   # second validation set
    transfer: list[SourcedSample] = field(default_factory=list)  # untrusted labels: soft targets only
    left_out: dict[str, list[str]] = field(default_factory=dict)  # reason -> photo ids
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> kept/dropped/...

    def parts(self) -> dict[str, list[SourcedSample]]:
        return {"train": self.train, "valid": self.valid, "holdout": self.holdout, "transfer": self.transfer}

    def summary(self) -> dict:
        return {name: dict(sorted(Counter(s.source for s in part).items())) for name, part in self.parts().items()}


def _source_samples(spec: SourceSpec, root: Path) -> list[SourcedSample]:
    samples = scan_folder(root)
    if spec.split != "all":
        with_split = read_split_file(root, samples)
        if with_split is None:
            raise DataError(f"source {spec.name}: split = {spec.split!r} needs {root}/split.csv")
        samples = [s for s in with_split if s.split == spec.split]
    return [SourcedSample(s.path, s.label, source=spec.name, weight=spec.weight,
                          trusted=spec.trust == "label") for s in samples]


def _hashes(samples: list[Sample], root: Path) -> np.ndarray:
    return np.array([h.phash if h.phash is not None else 0 for h in hash_photos(root, samples, workers=2)],
                    dtype=np.uint64)


def crop_hashes(paths: list[Path], crops=BENCHMARK_CROPS) -> np.ndarray:
    """``[N, len(crops)]`` pHashes of centre crops (1.0 = the whole photo)."""
    from ..imageio import ImageLoadError, load_image

    out = np.zeros((len(paths), len(crops)), dtype=np.uint64)
    for i, path in enumerate(paths):
        try:
            img = load_image(path, min_size=128)
        except ImageLoadError:
            continue
        for j, c in enumerate(crops):
            w, h = img.size
            box = (round(w * (1 - c) / 2), round(h * (1 - c) / 2), round(w * (1 + c) / 2), round(h * (1 + c) / 2))
            out[i, j] = phash_image(img.crop(box))
    return out


def benchmark_leaks(candidates: list[Path], benchmark: list[Path], max_distance: int = DEFAULT_MAX_DISTANCE
                    ) -> np.ndarray:
    """Which candidates are near-duplicates of a benchmark photo, or of a centre crop of one, or
    whose own centre crop is one (crop-tolerant, both ways)."""
    cand, bench = crop_hashes(candidates), crop_hashes(benchmark)
    leak = np.zeros(len(candidates), dtype=bool)
    whole_b = bench[:, :1]
    for block in range(0, len(candidates), 512):
        c = cand[block:block + 512]
        d1 = popcount(c[:, None, :1] ^ bench[None, :, :]).min(axis=(1, 2))       # candidate vs test crops
        d2 = popcount(c[:, None, :] ^ whole_b[None, :, :]).min(axis=(1, 2))      # candidate crops vs test
        leak[block:block + 512] = np.minimum(d1, d2) <= max_distance
    return leak


def _groups(samples: list[SourcedSample], hashes: np.ndarray) -> list[str]:
    """Near-duplicate groups across all sources (pHash within the audit's distance)."""
    return [samples[g].id for g in near_duplicate_groups(hashes, DEFAULT_MAX_DISTANCE)]


def _soft_conflicts(samples: list[SourcedSample]) -> list[SourcedSample]:
    """Near-duplicates filed under different labels learn the group's label votes (soft labels)."""
    votes = group_label_votes([s for s in samples if s.trusted])
    out = []
    for s in samples:
        v = votes.get(s.group)
        if s.trusted and v and len(v) > 1:
            total = sum(v.values())
            s = replace(s, soft=tuple(sorted((k, n / total) for k, n in v.items())))
        out.append(s)
    return out


def _apply(decisions: dict[str, Decision], samples: list[SourcedSample], counts: dict[str, Counter],
           left_out: dict[str, list[str]]) -> list[SourcedSample]:
    kept = []
    for s in samples:
        d = decisions.get(s.id)
        if d and d.action == "drop":
            left_out[f"dropped: {d.reason or 'decision'}"].append(s.id)
            counts[s.source]["dropped"] += 1
            continue
        if d and d.action == "relabel" and d.label != s.label:
            s = replace(s, label=d.label, soft=())
            counts[s.source]["relabelled"] += 1
        kept.append(s)
    return kept


def assemble(recipe: DataRecipe, labels: list[str] | None = None, apply_decisions: bool = True,
             progress: bool = True) -> AssembledData:
    """Read every source, leave out benchmark leaks, split, then apply the decisions.

    The split comes first and never depends on the decisions file: the validation and holdout
    photos are the same whether or not (and however) the data were cleaned, so cleaning can be
    measured on them. The holdout is never cleaned (it measures the model as it is labelled);
    decisions apply to the training and validation parts.
    """
    pool: list[SourcedSample] = []
    hashes = []
    counts: dict[str, Counter] = {}
    for spec in recipe.sources:
        root = recipe.resolve(spec.path)
        samples = _source_samples(spec, root)
        counts[spec.name] = Counter(photos=len(samples))
        hashes.append(_hashes(samples, root) if samples else np.zeros(0, np.uint64))
        pool.extend(samples)
    hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    left_out: dict[str, list[str]] = defaultdict(list)

    if recipe.benchmark:
        bench_root = recipe.resolve(recipe.benchmark["path"])
        bench = read_split_file(bench_root, scan_folder(bench_root)) or []
        bench_paths = [s.path for s in bench if s.split == recipe.benchmark.get("split", "test")]
        leak = benchmark_leaks([s.path for s in pool], bench_paths)
        for s, bad in zip(pool, leak):
            if bad:
                left_out["near-duplicate of a benchmark photo"].append(s.id)
                counts[s.source]["benchmark_leak"] += 1
        pool, hashes = [s for s, bad in zip(pool, leak) if not bad], hashes[~leak]

    pool = [replace(s, group=g) for s, g in zip(pool, _groups(pool, hashes))]
    data = AssembledData(labels=[])
    for spec in recipe.sources:
        mine = [s for s in pool if s.source == spec.name]
        if spec.trust == "teacher":
            data.transfer.extend(mine)
            continue
        if spec.holdout > 0:
            mine, held = group_split(mine, spec.holdout, recipe.split_seed + 1)
            data.holdout.extend(held)
        train, valid = group_split(mine, recipe.valid_frac, recipe.split_seed) if recipe.valid_frac else (mine, [])
        data.train.extend(train)
        data.valid.extend(valid)
    # A group that straddles sources must not straddle parts: evaluation parts win.
    evaluated = {s.group for s in data.holdout + data.valid}
    for name in ("train", "transfer"):
        part = getattr(data, name)
        for s in part:
            if s.group in evaluated:
                left_out["near-duplicate of a validation photo"].append(s.id)
        setattr(data, name, [s for s in part if s.group not in evaluated])

    decisions = read_decisions(recipe.resolve(recipe.decisions)) if apply_decisions and recipe.decisions else {}
    data.train = _apply(decisions, data.train, counts, left_out)
    data.valid = _apply(decisions, data.valid, counts, left_out)
    # Near-duplicates filed under several labels (after cleaning) learn all of them, softly.
    soft = {s.id: s for s in _soft_conflicts(data.train + data.valid + data.holdout)}
    data.train, data.valid, data.holdout = ([soft[s.id] for s in part] for part in (data.train, data.valid, data.holdout))

    data.labels = labels or sorted({s.label for s in pool if s.trusted})
    unknown = sorted({s.label for part in (data.train, data.valid, data.holdout) for s in part} - set(data.labels))
    if unknown:
        raise DataError(f"labels {unknown} are not among the model's labels {data.labels}")
    data.left_out = dict(left_out)
    for spec in recipe.sources:
        for name, part in data.parts().items():
            counts[spec.name][name] = sum(s.source == spec.name for s in part)
    data.counts = {k: dict(v) for k, v in counts.items()}
    return data
