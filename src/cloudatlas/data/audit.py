"""Audit a folder-per-class photo set: what would hurt training before it does.

Finds unreadable or truncated files, files that are not photos, tiny images, byte-identical
copies, near-duplicates (perceptual hash within a few bits) and, most harmful, near-duplicates
filed under different labels ("conflicts": the model is asked to give two answers to one picture).
Also class counts and imbalance. Torch-free; every photo is read once and its hashes are cached
(keyed by size and modification time), so a second audit of an unchanged set is instant.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..imageio import ImageLoadError, is_image_file, load_image
from ..labels import GENERA, canonical_label
from .dataset import Sample, scan_folder
from .hashes import distinct_values, hash_photos

DEFAULT_MIN_SIZE = 128  # shorter side in pixels; the model sees 224, so below this is mostly blur
PHOTO_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF", "TIFF", "BMP"})
from .phash import DEFAULT_MAX_DISTANCE, components, hamming_pairs

# Paths of the other copies named with each photo's problem: a group of 10 000 identical
# placeholders would otherwise name 10 000 x 10 000 paths.
RELATED_SHOWN = 10


def first_others(files: list, this, limit: int = RELATED_SHOWN) -> list:
    """Up to ``limit`` members of ``files`` other than ``this``, reading no further than needed."""
    out = []
    for f in files:
        if f != this:
            out.append(f)
            if len(out) == limit:
                break
    return out


def name_some(shown: list[str], total: int) -> str:
    """'a, b, c' or 'a, b, c and 9 997 more'."""
    more = total - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# -- the report --------------------------------------------------------------------------------
@dataclass
class FileProblem:
    path: str
    label: str
    reason: str


@dataclass
class PhotoGroup:
    """Photos that are the same picture: byte-identical, or within ``max_distance`` pHash bits."""

    files: list[str]
    labels: list[str]  # the label of each file, in the same order
    max_distance: int = 0

    @property
    def distinct_labels(self) -> list[str]:
        return sorted(set(self.labels))

    def to_dict(self) -> dict:
        return {"files": [{"path": f, "label": lab} for f, lab in zip(self.files, self.labels)],
                "labels": self.distinct_labels, "max_distance": self.max_distance}


@dataclass
class AuditReport:
    root: str
    n_images: int
    counts: dict[str, int]
    imbalance: dict
    unreadable: list[FileProblem] = field(default_factory=list)
    non_photo: list[FileProblem] = field(default_factory=list)
    tiny: list[FileProblem] = field(default_factory=list)
    duplicates: list[PhotoGroup] = field(default_factory=list)  # byte-identical copies
    near_duplicates: list[PhotoGroup] = field(default_factory=list)  # same picture, other bytes
    conflicts: list[PhotoGroup] = field(default_factory=list)  # same picture, several labels
    n_near_duplicate_pairs: int = 0
    unknown_labels: list[str] = field(default_factory=list)
    max_distance: int = DEFAULT_MAX_DISTANCE
    min_size: int = DEFAULT_MIN_SIZE
    seconds: float = 0.0
    # Every group of the same picture (exact or near, one label or several): for the cleaner.
    groups: list[PhotoGroup] = field(default_factory=list, repr=False)

    @property
    def n_redundant_copies(self) -> int:
        """Files that could go without losing a picture: all but one of each identical group."""
        return sum(len(g.files) - 1 for g in self.duplicates)

    @property
    def ok(self) -> bool:
        return not (self.unreadable or self.non_photo or self.conflicts or self.duplicates)

    def to_dict(self) -> dict:
        out = {
            "root": self.root,
            "n_images": self.n_images,
            "counts": self.counts,
            "imbalance": self.imbalance,
            "unreadable": [asdict(p) for p in self.unreadable],
            "non_photo": [asdict(p) for p in self.non_photo],
            "tiny": [asdict(p) for p in self.tiny],
            "duplicates": [g.to_dict() for g in self.duplicates],
            "near_duplicates": [g.to_dict() for g in self.near_duplicates],
            "conflicts": [g.to_dict() for g in self.conflicts],
            "n_near_duplicate_pairs": self.n_near_duplicate_pairs,
            "unknown_labels": self.unknown_labels,
            "settings": {"max_distance": self.max_distance, "min_size": self.min_size},
            "seconds": round(self.seconds, 3),
        }
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def problems_by_file(self) -> dict[str, list[dict]]:
        """Every problem of every file, for the cleaner: ``{key: [{kind, message, related}]}``."""
        out: dict[str, list[dict]] = defaultdict(list)
        for p in self.unreadable:
            out[p.path].append({"kind": "unreadable", "message": p.reason, "related": []})
        for p in self.non_photo:
            out[p.path].append({"kind": "non_photo", "message": p.reason, "related": []})
        for p in self.tiny:
            out[p.path].append({"kind": "tiny", "message": p.reason, "related": []})
        def add(kind: str, groups: list[PhotoGroup], describe) -> None:
            for g in groups:
                labels = ", ".join(g.distinct_labels)  # once a group: its files may be 10 000
                for f in g.files:
                    others = first_others(g.files, f)
                    out[f].append({"kind": kind, "message": describe(labels, others, len(g.files) - 1),
                                   "related": others})

        add("conflict", self.conflicts, lambda labels, o, n: "same picture filed as " + labels)
        add("duplicate", self.duplicates, lambda labels, o, n: "byte-identical copy of " + name_some(o, n))
        add("duplicate", self.near_duplicates, lambda labels, o, n: "near-duplicate of " + name_some(o, n))
        return dict(out)

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = [f"{self.root}: {self.n_images} photos in {len(self.counts)} labels "
                 f"({self.seconds:.1f} s)"]
        width = max((len(k) for k in self.counts), default=0)
        top = max(self.counts.values(), default=1)
        for label, n in self.counts.items():
            lines.append(f"  {label:<{width}} {n:6d} {'#' * max(1, round(30 * n / top))}")
        if self.imbalance.get("ratio"):
            lines.append(f"  imbalance: largest/smallest = {self.imbalance['ratio']:.1f} "
                         f"({self.imbalance['largest']} / {self.imbalance['smallest']})")
        if self.unknown_labels:
            lines.append(f"  labels that are no known genus: {', '.join(self.unknown_labels)}")

        def section(title: str, items: list, fmt, limit: int = 10) -> None:
            lines.append(f"{title}: {len(items)}")
            for item in items[:limit]:
                lines.append("  " + fmt(item))
            if len(items) > limit:
                lines.append(f"  ... and {len(items) - limit} more (--json or --html for all)")

        section("unreadable", self.unreadable, lambda p: p.reason)
        section("not photos", self.non_photo, lambda p: f"{p.path}: {p.reason}")
        section(f"tiny (shorter side < {self.min_size} px)", self.tiny, lambda p: f"{p.path}: {p.reason}")
        section("exact duplicate groups", self.duplicates, lambda g: "  ==  ".join(g.files))
        section(f"near-duplicate groups (pHash within {self.max_distance} bits; "
                f"{self.n_near_duplicate_pairs} pairs)", self.near_duplicates, lambda g: "  ~  ".join(g.files))
        section("conflicts (the same picture under different labels)", self.conflicts,
                lambda g: "  vs  ".join(g.files), limit=20)
        return "\n".join(lines)


def _non_image_files(root: Path) -> list[tuple[Path, str]]:
    """Files in label folders that training silently skips: text, PDFs, SVGs, videos, ..."""
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        label = canonical_label(folder.name)
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith(".") and not is_image_file(path):
                out.append((path, label))
    return out


def _imbalance(counts: dict[str, int]) -> dict:
    if not counts:
        return {}
    largest = max(counts, key=counts.get)
    smallest = min(counts, key=counts.get)
    median = float(np.median(list(counts.values())))
    return {
        "largest": largest, "smallest": smallest,
        "ratio": round(counts[largest] / max(counts[smallest], 1), 2),
        # fewer than half the median: the model will rarely answer these labels
        "under_represented": sorted(k for k, n in counts.items() if n < 0.5 * median),
    }


def _same_picture_groups(hashes: list, max_distance: int) -> tuple[list[list[int]], list[int], int]:
    """Groups of photos within ``max_distance`` pHash bits (indices into ``hashes``, sorted), the
    widest distance inside each, and the number of such pairs that are not the same bytes.

    Pairs are found among distinct pHash values, never among files: a group of 10 000 identical
    photos is one value, and its pairs are counted, not listed."""
    readable = [i for i, h in enumerate(hashes) if h.phash is not None]
    distinct, inverse = distinct_values(np.array([hashes[i].phash for i in readable], dtype=np.uint64))
    files_of = [[] for _ in distinct]
    for k, value in enumerate(inverse):
        files_of[value].append(readable[k])
    vi, vj, vd = hamming_pairs(distinct, max_distance) if len(distinct) > 1 else (np.zeros(0, np.int64),) * 3
    joined = components(len(distinct), zip(vi, vj))
    in_joined = {v for members in joined for v in members}
    value_groups = joined + [[v] for v, files in enumerate(files_of) if len(files) > 1 and v not in in_joined]
    group_of = {v: g for g, members in enumerate(value_groups) for v in members}
    widest = [0] * len(value_groups)
    for a, d in zip(vi, vd):
        widest[group_of[int(a)]] = max(widest[group_of[int(a)]], int(d))
    sizes = np.array([len(files) for files in files_of], dtype=np.int64)
    pairs = int((sizes[vi] * sizes[vj]).sum()) if len(vi) else 0  # other values: other bytes
    pairs += sum(_pairs(len(files)) - sum(map(_pairs, Counter(hashes[i].sha256 for i in files).values()))
                 for files in files_of)
    groups = [sorted(i for v in members for i in files_of[v]) for members in value_groups]
    order = sorted(range(len(groups)), key=lambda g: groups[g][0])
    return [groups[g] for g in order], [widest[g] for g in order], pairs


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def audit(root: str | Path, max_distance: int = DEFAULT_MAX_DISTANCE, min_size: int = DEFAULT_MIN_SIZE,
          workers: int = 1, progress: bool | None = None, cache: bool = True) -> AuditReport:
    """Audit ``root/<label>/*``; raises :class:`DataError` when there is nothing to audit."""
    started = time.perf_counter()
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder.")
    others = _non_image_files(root)
    try:
        samples = scan_folder(root)
    except DataError:
        if not others:
            raise
        samples = []
    hashes = hash_photos(root, samples, workers=workers, progress=progress, cache=cache)

    report = AuditReport(root=str(root), n_images=len(samples),
                         counts=dict(sorted(Counter(s.label for s in samples).items())), imbalance={},
                         max_distance=max_distance, min_size=min_size)
    report.imbalance = _imbalance(report.counts)
    report.unknown_labels = sorted({s.label for s in samples} - set(GENERA))
    report.non_photo = [FileProblem(f"{p.parent.name}/{p.name}", label,
                                    f"not an image file ({p.suffix or 'no extension'}); training skips it")
                        for p, label in others]
    for h in hashes:
        if h.error:
            report.unreadable.append(FileProblem(h.key, h.label, h.error))
            continue
        if h.format and h.format not in PHOTO_FORMATS:
            report.non_photo.append(FileProblem(h.key, h.label, f"a {h.format} image, rarely a photo "
                                                                f"(icons, animations, drawings)"))
        if min(h.width, h.height) < min_size:
            report.tiny.append(FileProblem(h.key, h.label, f"{h.width}x{h.height} pixels"))

    # Exact copies: same bytes.
    by_sha: dict[str, list[int]] = defaultdict(list)
    for i, h in enumerate(hashes):
        if h.sha256 and not h.error:
            by_sha[h.sha256].append(i)
    exact_sets = [ids for ids in by_sha.values() if len(ids) > 1]
    report.duplicates = [PhotoGroup([hashes[i].key for i in ids], [hashes[i].label for i in ids])
                         for ids in exact_sets]

    # Near copies: pHash within max_distance bits (identical bytes are at distance 0).
    groups, widest, report.n_near_duplicate_pairs = _same_picture_groups(hashes, max_distance)
    for members, distance in zip(groups, widest):
        group = PhotoGroup([hashes[i].key for i in members], [hashes[i].label for i in members], distance)
        report.groups.append(group)
        if len({hashes[i].sha256 for i in members}) > 1:
            report.near_duplicates.append(group)
        if len(set(group.labels)) > 1:
            report.conflicts.append(group)
    report.seconds = time.perf_counter() - started
    return report


# -- HTML report -------------------------------------------------------------------------------
def _thumbnail_uri(path: Path, size: int = 112) -> str | None:
    try:
        img = load_image(path, min_size=size)
    except ImageLoadError:
        return None
    img.thumbnail((size, size))
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def write_html(report: AuditReport, out: str | Path, max_groups: int = 300) -> Path:
    """One self-contained HTML file (thumbnails inlined) showing every problem the audit found."""
    root = Path(report.root)
    esc = html.escape

    def figure(key: str, label: str, note: str = "") -> str:
        uri = _thumbnail_uri(root / key)
        img = f'<img src="{uri}" alt="{esc(key)}">' if uri else '<div class="broken">unreadable</div>'
        return (f'<figure>{img}<figcaption><b>{esc(label)}</b> {esc(key)}'
                f'{"<br>" + esc(note) if note else ""}</figcaption></figure>')

    def groups_section(title: str, groups: list[PhotoGroup], explain: str) -> str:
        rows = [f'<div class="group"><span class="meta">{len(g.files)} files, '
                f'{" / ".join(map(esc, g.distinct_labels))}, '
                f'{"identical pHash" if g.max_distance == 0 else f"pHash distance &le; {g.max_distance}"}</span>'
                + "".join(figure(f, lab) for f, lab in zip(g.files, g.labels)) + "</div>"
                for g in groups[:max_groups]]
        more = f"<p>... and {len(groups) - max_groups} more (see --json).</p>" if len(groups) > max_groups else ""
        return (f'<section><h2>{esc(title)} <small>({len(groups)})</small></h2><p>{esc(explain)}</p>'
                + "".join(rows) + more + "</section>")

    def files_section(title: str, items: list[FileProblem], explain: str, thumbs: bool) -> str:
        if thumbs:
            figures = "".join(figure(p.path, p.label, p.reason) for p in items[:max_groups])
            body = f'<div class="group">{figures}</div>'
        else:
            body = "<ul>" + "".join(f"<li>{esc(p.reason)}</li>" for p in items) + "</ul>"
        return f'<section><h2>{esc(title)} <small>({len(items)})</small></h2><p>{esc(explain)}</p>{body}</section>'

    top = max(report.counts.values(), default=1)
    bars = "".join(f'<tr><td>{esc(k)}</td><td class="n">{n}</td><td><div class="bar" '
                   f'style="width:{100 * n / top:.0f}%"></div></td></tr>' for k, n in report.counts.items())
    parts = [
        f"<h1>Audit of {esc(str(root))}</h1>",
        f"<p>{report.n_images} photos, {len(report.counts)} labels; {len(report.unreadable)} unreadable, "
        f"{len(report.duplicates)} groups of identical files, {len(report.near_duplicates)} near-duplicate "
        f"groups, <b>{len(report.conflicts)} conflicts</b>. "
        f"Largest/smallest class: {report.imbalance.get('ratio', '-')}.</p>",
        f'<section><h2>Class counts</h2><table>{bars}</table></section>',
        groups_section("Conflicts", report.conflicts,
                       "The same picture filed under different labels: keep one copy under the right label."),
        groups_section("Exact duplicates", report.duplicates, "Byte-identical files."),
        groups_section("Near-duplicates", report.near_duplicates,
                       "Resized, re-compressed or slightly edited copies of one picture."),
        files_section("Unreadable", report.unreadable, "Corrupt, truncated or not an image at all.", False),
        files_section("Not photos", report.non_photo, "Files training skips or formats that are rarely photos.",
                      False),
        files_section("Tiny images", report.tiny, f"Shorter side under {report.min_size} pixels.", True),
    ]
    style = ("body{font:14px system-ui,sans-serif;margin:2em;color:#222}h2 small{color:#888}"
             "figure{display:inline-block;margin:4px;width:124px;vertical-align:top}"
             "figure img{width:112px;height:112px;object-fit:cover;border-radius:4px}"
             "figcaption{font-size:11px;word-break:break-all}.group{border-bottom:1px solid #ddd;padding:6px 0}"
             ".meta{display:block;color:#666;font-size:12px}.broken{width:112px;height:112px;background:#fdd;"
             "display:flex;align-items:center;justify-content:center}td.n{text-align:right;padding:0 8px}"
             ".bar{background:#4a90d9;height:12px;min-width:2px}table{width:min(600px,100%)}"
             "td:last-child{width:100%}")
    doc = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>CloudAtlas audit</title>"
           f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{style}</style></head>"
           f"<body>{''.join(parts)}</body></html>")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    return out
