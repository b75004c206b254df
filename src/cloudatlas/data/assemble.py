"""Several labelled folders, one data set: what a recipe's ``[data]`` assembles (torch-free).

``assemble(recipe)`` reads every source and returns its photos divided into parts:

=========  ==================================================================================
train      trusted photos the student (and the teacher) learn from
valid      a group-aware share of each trusted source: chooses epochs (``valid_frac``)
holdout    a source's ``holdout`` share: never trained on, never cleaned, only measured
transfer   photos whose labels are not believed (``trust = "teacher"``), or only to a group of
           genera (``trust = "coarse"``): they learn the teacher's soft targets
external   validation-only sources (``trust = "validation"``): never trained on or cleaned
test       the benchmark's judging part (for a folder: its own split.csv test part)
=========  ==================================================================================

Every photo within a few pHash bits of a benchmark or validation-only photo, or of a crop of
one, is left out of training whatever its source; a near-duplicate group never straddles a
training and an evaluation part. The split is drawn before the reviewed decisions (drop /
relabel) apply, so the evaluation parts are the same however the data were cleaned.
"""
from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..config import Recipe, SourceSpec
from ..errors import DataError
from .dataset import Sample, group_label_votes, group_split, outvoted_samples, scan_folder, split_of
from .hashes import hash_photos, write_json_atomic
from .phash import DEFAULT_MAX_DISTANCE, components, hamming_pairs, phash_image, popcount

ACTIONS = ("keep", "drop", "relabel")
DECISION_FIELDS = ["source", "path", "action", "label", "reason"]
LEAK_CROPS = (1.0, 0.85, 0.7, 0.55)  # a photo that is a centre crop of a test photo is the test photo
PARTS = ("train", "valid", "holdout", "transfer", "external", "test")


@dataclass(frozen=True)
class SourcedSample(Sample):
    """A photo with where it came from and how far its label is trusted."""

    source: str = ""
    weight: float = 1.0
    trusted: bool = True
    soft: tuple[tuple[str, float], ...] = ()  # label distribution when near-duplicates disagree
    allowed: tuple[str, ...] = ()             # coarse labels: the genera the photo may show

    @property
    def id(self) -> str:
        return f"{self.source}:{self.key}"

    def target(self, labels: list[str]) -> np.ndarray:
        """The label as a distribution over ``labels`` (one-hot unless ``soft``)."""
        out = np.zeros(len(labels), dtype=np.float32)
        for label, p in (self.soft or ((self.label, 1.0),)):
            out[labels.index(label)] += p
        return out

    def allowed_mask(self, labels: list[str]) -> np.ndarray:
        """1 for the genera this photo may show (all of them unless its label is coarse)."""
        if not self.allowed:
            return np.ones(len(labels), dtype=np.float32)
        return np.array([label in self.allowed for label in labels], dtype=np.float32)


@dataclass
class Decision:
    source: str
    path: str
    action: str
    label: str = ""
    reason: str = ""


def read_decisions(path: str | Path) -> dict[str, Decision]:
    """``{"source:label/name.jpg": Decision}`` from a reviewed decisions CSV."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as err:
        raise DataError(f"{path}: the decisions file cannot be read ({err.strerror or err}).") from None
    out = {}
    for n, row in enumerate(rows, 2):
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
    holdout: list[SourcedSample] = field(default_factory=list)
    transfer: list[SourcedSample] = field(default_factory=list)
    external: list[SourcedSample] = field(default_factory=list)
    test: list[SourcedSample] = field(default_factory=list)
    left_out: dict[str, list[str]] = field(default_factory=dict)  # reason -> photo ids
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> kept/dropped/...

    def parts(self) -> dict[str, list[SourcedSample]]:
        return {name: getattr(self, name) for name in PARTS}

    def part(self, name: str) -> list[SourcedSample]:
        """A part by name, or the photos of one validation-only (or held-out) source by its name."""
        if name in PARTS:
            return getattr(self, name)
        mine = [s for s in self.external + self.holdout if s.source == name]
        if not mine:
            names = sorted({s.source for s in self.external + self.holdout})
            raise DataError(f"no part or validation source {name!r}: use one of {', '.join([*PARTS, *names])}")
        return mine

    def summary(self) -> dict:
        return {name: dict(sorted(Counter(s.source for s in part).items()))
                for name, part in self.parts().items() if part}


# -- reading the sources -------------------------------------------------------------------------
def source_samples(spec: SourceSpec, root: Path) -> list[SourcedSample]:
    """The photos of one source (its split part when it names one), with split.csv groups."""
    samples = scan_folder(root)
    if spec.split != "all":
        samples = [s for s in split_of(root, samples) if s.split == spec.split]
    coarse = spec.trust == "coarse"
    ungrouped = sorted({s.label for s in samples} - set(spec.groups)) if coarse else []
    if ungrouped:
        raise DataError(f"source {spec.name}: no groups entry says which genera {ungrouped} may show")
    return [SourcedSample(s.path, s.label, group=f"{spec.name}:{s.group}" if s.group else "", split=s.split,
                          source=spec.name, weight=spec.weight, trusted=spec.trust in ("label", "validation"),
                          allowed=tuple(spec.groups[s.label]) if coarse else ())
            for s in samples]


def _hashes(samples: list[Sample], root: Path) -> np.ndarray:
    return np.array([h.phash if h.phash is not None else 0 for h in hash_photos(root, samples, workers=2)],
                    dtype=np.uint64)


def _crop_hash_row(path: Path, crops) -> list[int]:
    from ..imageio import ImageLoadError, load_image

    try:
        img = load_image(path, min_size=128)
    except ImageLoadError:
        return [0] * len(crops)
    w, h = img.size
    return [phash_image(img.crop((round(w * (1 - c) / 2), round(h * (1 - c) / 2),
                                  round(w * (1 + c) / 2), round(h * (1 + c) / 2)))) for c in crops]


def crop_hashes(paths: list[Path], crops=LEAK_CROPS) -> np.ndarray:
    """``[N, len(crops)]`` pHashes of centre crops (1.0 = the whole photo), cached per file (by
    size and modification time) in the user cache."""
    import json

    from ..cache import user_cache_dir

    store = user_cache_dir("crop-hashes.json")
    try:
        cached = json.loads(store.read_text()) if store.exists() else {}
    except (OSError, ValueError):
        cached = {}  # a damaged cache is rebuilt, never trusted
    key = ",".join(map(str, crops))
    out = np.zeros((len(paths), len(crops)), dtype=np.uint64)
    stamps: dict[int, str] = {}
    for i, path in enumerate(paths):
        try:
            st = path.stat()
        except OSError:
            continue
        stamps[i] = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{key}"
    fresh = [i for i, stamp in stamps.items() if stamp not in cached]
    if fresh:
        # Pillow releases the GIL while it decodes and resizes: one thread per core.
        bar = tqdm(total=len(fresh), desc="leak check", unit="photo", leave=False, disable=None)
        with bar, ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for i, row in zip(fresh, pool.map(lambda i: _crop_hash_row(paths[i], crops), fresh)):
                cached[stamps[i]] = [str(v) for v in row]
                bar.update()
        write_json_atomic(store, cached)
    for i, stamp in stamps.items():
        out[i] = [int(v) for v in cached[stamp]]
    return out


def leaks(candidates: list[Path], protected: list[Path], max_distance: int = DEFAULT_MAX_DISTANCE) -> np.ndarray:
    """Which candidates are near-duplicates of a protected photo, or of a centre crop of one, or
    whose own centre crop is one (crop-tolerant, both ways)."""
    leak = np.zeros(len(candidates), dtype=bool)
    if not candidates or not protected:
        return leak
    cand, bench = crop_hashes(candidates), crop_hashes(protected)
    whole_b = bench[:, :1]
    for block in range(0, len(candidates), 512):
        c = cand[block:block + 512]
        d1 = popcount(c[:, None, :1] ^ bench[None, :, :]).min(axis=(1, 2))       # candidate vs test crops
        d2 = popcount(c[:, None, :] ^ whole_b[None, :, :]).min(axis=(1, 2))      # candidate crops vs test
        leak[block:block + 512] = np.minimum(d1, d2) <= max_distance
    return leak


def _groups(samples: list[SourcedSample], hashes: np.ndarray) -> list[str]:
    """Near-duplicate groups across all sources: photos within the audit's pHash distance, joined
    with the groups a source's split.csv names. A group is named by its first photo's split.csv
    group, or by that photo's id."""
    i, j, _ = hamming_pairs(hashes, DEFAULT_MAX_DISTANCE) if len(hashes) > 1 else ((), (), ())
    pairs = list(zip(i, j))
    first_of: dict[str, int] = {}
    for n, s in enumerate(samples):
        if s.group:
            pairs.append((first_of.setdefault(s.group, n), n))
    name = [s.group or s.id for s in samples]
    for members in components(len(samples), pairs):
        for m in members:
            name[m] = samples[members[0]].group or samples[members[0]].id
    return name


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


def _limit(samples: list[SourcedSample], per_class: int | None) -> list[SourcedSample]:
    if not per_class:
        return samples
    taken: Counter = Counter()
    out = []
    for s in samples:
        if taken[s.label] < per_class:
            taken[s.label] += 1
            out.append(s)
    return out


def benchmark_samples(recipe: Recipe) -> list[SourcedSample]:
    """The benchmark's judging part (its split.csv ``split`` rows), or none."""
    bench = recipe.data.benchmark
    if bench is None:
        return []
    root = recipe.resolve(bench.path)
    return [SourcedSample(s.path, s.label, group=s.group, split=s.split, source="test")
            for s in split_of(root) if s.split == bench.split]


def recipe_part(recipe: Recipe, name: str) -> list[SourcedSample]:
    """One part of a recipe's data by name, without assembling the rest where it can: the
    benchmark's test photos and validation-only sources are read directly."""
    if name == "test":
        return benchmark_samples(recipe)
    validation = [s for s in recipe.data.sources if s.trust == "validation"]
    if name == "external" or name in {s.name for s in validation}:
        return [x for s in validation if name in ("external", s.name)
                for x in source_samples(s, recipe.resolve(s.path))]
    return assemble(recipe).part(name)


def assemble(recipe: Recipe, labels: list[str] | None = None, apply_decisions: bool = True) -> AssembledData:
    """Read every source, leave out leaks, split, then apply the decisions (see the module doc)."""
    cfg = recipe.data
    pool: list[SourcedSample] = []
    external: list[SourcedSample] = []
    hashes = []
    counts: dict[str, Counter] = {}
    for spec in cfg.sources:
        root = recipe.resolve(spec.path)
        samples = source_samples(spec, root)
        counts[spec.name] = Counter(photos=len(samples))
        if spec.trust == "validation":
            external.extend(samples)
            continue
        hashes.append(_hashes(samples, root) if samples else np.zeros(0, np.uint64))
        pool.extend(samples)
    hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    left_out: dict[str, list[str]] = defaultdict(list)

    test = benchmark_samples(recipe)
    protected = [(s.path, "near-duplicate of a benchmark photo") for s in test]
    protected += [(s.path, "near-duplicate of a validation-only photo") for s in external]
    if protected:
        leak = np.zeros(len(pool), dtype=bool)
        for why in dict.fromkeys(w for _, w in protected):
            hit = leaks([s.path for s in pool], [p for p, w in protected if w == why]) & ~leak
            for s in np.asarray(pool, dtype=object)[hit]:
                left_out[why].append(s.id)
                counts[s.source]["leak"] += 1
            leak |= hit
        pool, hashes = [s for s, bad in zip(pool, leak) if not bad], hashes[~leak]

    pool = [replace(s, group=g) for s, g in zip(pool, _groups(pool, hashes))]
    if cfg.conflicts == "drop":
        outvoted = {s.id for s in outvoted_samples([s for s in pool if s.trusted])}
        for s in pool:
            if s.id in outvoted:
                left_out["outvoted by its near-duplicates' labels"].append(s.id)
                counts[s.source]["conflict"] += 1
        pool = [s for s in pool if s.id not in outvoted]

    data = AssembledData(labels=[], external=external, test=test)
    for spec in cfg.sources:
        if spec.trust == "validation":
            continue
        mine = [s for s in pool if s.source == spec.name]
        if spec.holdout > 0:
            mine, held = group_split(mine, spec.holdout, cfg.split_seed + 1)
            data.holdout.extend(held)
        if spec.trust in ("teacher", "coarse"):
            data.transfer.extend(mine)
            continue
        train, valid = group_split(mine, cfg.valid_frac, cfg.split_seed) if cfg.valid_frac else (mine, [])
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

    decisions = read_decisions(recipe.resolve(cfg.decisions)) if apply_decisions and cfg.decisions else {}
    data.train = _apply(decisions, data.train, counts, left_out)
    data.valid = _apply(decisions, data.valid, counts, left_out)
    if cfg.conflicts == "soft":  # near-duplicates filed under several labels learn all of them, softly
        soft = {s.id: s for s in _soft_conflicts(data.train + data.valid + data.holdout)}
        data.train, data.valid, data.holdout = ([soft[s.id] for s in part]
                                                for part in (data.train, data.valid, data.holdout))
    data.train, data.valid = _limit(data.train, cfg.limit_per_class), _limit(data.valid, cfg.limit_per_class)

    data.labels = labels or sorted({s.label for s in pool if s.trusted and not s.allowed})
    known = set(data.labels)
    unknown = sorted({s.label for part in (data.train, data.valid, data.holdout) for s in part if not s.allowed}
                     - known)
    unknown += sorted({g for part in (data.transfer, data.holdout) for s in part for g in s.allowed} - known)
    if unknown:
        raise DataError(f"labels {unknown} are not among the model's labels {data.labels}")
    data.left_out = dict(left_out)
    for spec in cfg.sources:
        for name, part in data.parts().items():
            if name != "test":
                counts[spec.name][name] = sum(s.source == spec.name for s in part)
    data.counts = {k: {n: v for n, v in c.items() if v} | {"photos": c["photos"]} for k, c in counts.items()}
    return data
