"""The teacher's features: every photo through each frozen probe, once, cached.

A probe (a pretrained backbone at its own input size, see ``teacher.probe``) is exported to
ONNX on first use (that needs torch); after that its features come from the one embedding
pipeline (``cloudatlas.embeddings``, ONNX Runtime, cached per model and photo), so a second run
of a recipe, or ``data decide`` after ``train``, embeds nothing again.
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..config import ProbeSpec, TeacherConfig
from ..data.assemble import SourcedSample


def probe_model(spec: ProbeSpec, folder: str | Path) -> Path:
    """The probe's ONNX file in ``folder``, exported on first use (needs torch)."""
    path = Path(folder) / f"probe-{spec.name}.onnx"
    if not path.exists():
        try:
            from .probe import export_probe
        except ImportError:
            from ..errors import MissingExtra

            raise MissingExtra(f"Exporting the probe {spec.name}", "train", "torch") from None
        export_probe(spec.arch, spec.img_size, path)
    return path


def embed_samples(samples: list[SourcedSample], model_path: str | Path, progress: bool = True
                  ) -> tuple[np.ndarray, list[str | None]]:
    """Embeddings of photos from any number of data set folders, in order (cached per folder)."""
    from ..data.label_issues import embed_photos
    from ..inference import Classifier

    clf = Classifier.load(model_path)
    by_root: dict[Path, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_root[s.path.parent.parent].append(i)
    out: np.ndarray | None = None
    errors: list[str | None] = [None] * len(samples)
    for root, idx in by_root.items():
        x, err = embed_photos(root, [samples[i] for i in idx], clf, progress=progress)
        if out is None:
            out = np.zeros((len(samples), x.shape[1]), dtype=np.float32)
        out[idx] = x
        for i, e in zip(idx, err):
            errors[i] = e
    return (out if out is not None else np.zeros((0, 0), np.float32)), errors


def probe_features(config: TeacherConfig, samples: list[SourcedSample], probe_dir: str | Path,
                   progress: bool = True) -> dict[str, np.ndarray]:
    """``{probe name: [N, D] features}`` of ``samples`` for every probe of the teacher."""
    out = {}
    for spec in config.probes:
        print(f"teacher features: {spec.name} on {len(samples)} photos", file=sys.stderr, flush=True)
        out[spec.name], _ = embed_samples(samples, probe_model(spec, probe_dir), progress=progress)
    return out
