"""What a gate fit found: the threshold and the held-out figures, as JSON, text or Markdown."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from .linear import LinearGate

METHOD = "logistic regression on the standardised backbone embedding"


@dataclass
class GateReport:
    threshold: float
    target_cloud_accept: float
    c: float  # inverse regularisation strength chosen by cross-validation
    metrics: dict  # held-out figures: AUROC and acceptance rates (see evaluate_gate)
    counts: dict  # images per part and kind
    per_genus_accept: dict = field(default_factory=dict)
    per_style_accept: dict = field(default_factory=dict)
    false_accepts: list = field(default_factory=list)  # held-out not-cloud images that pass
    failures: list = field(default_factory=list)  # images that could not be read
    seed: int = 0
    model: str = ""
    out_path: str | None = None
    synthetic_styles: dict = field(default_factory=dict)
    gate: LinearGate | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("gate")
        return out

    def to_metadata(self) -> dict:
        """The ``gate`` entry of the model's metadata (no local paths, no file lists)."""
        return {
            "threshold": self.threshold,
            **{k: self.metrics[k] for k in sorted(self.metrics)},
            "target_cloud_accept": self.target_cloud_accept,
            "method": METHOD,
            "c": self.c,
            "seed": self.seed,
            "counts": self.counts,
            "per_genus_accept": self.per_genus_accept,
            "synthetic_styles": self.synthetic_styles,
            "calibrated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def summary(self) -> str:
        m, h = self.metrics, self.counts["heldout"]
        lines = [
            f"gate: {METHOD} (C={self.c:g}), threshold {self.threshold:.4f}",
            f"  chosen so that {m['valid_cloud_accept_rate']:.1%} of {self.counts['valid']['cloud']} validation "
            f"cloud photos pass (target {self.target_cloud_accept:.0%})",
            "held-out images (never used to fit or calibrate):",
            f"  AUROC                      {m['auroc']:.4f}  (photos only {m['auroc_photos']:.4f})",
            f"  cloud photos accepted      {m['cloud_accept_rate']:6.1%}  of {h['cloud']} (CCSN test)",
            f"  not-cloud images accepted  {m['not_cloud_accept_rate']:6.1%}  of {h['photo'] + h['synthetic']}",
            f"    photos                   {m['not_cloud_photo_accept_rate']:6.1%}  of {h['photo']}",
            f"    charts, screens, ...     {m['synthetic_accept_rate']:6.1%}  of {h['synthetic']}"
            f"  (styles never seen in fitting: {m['synthetic_unseen_style_accept_rate']:.1%})",
        ]
        if self.false_accepts:
            shown = ", ".join(f"{k} ({s:.2f})" for k, s in self.false_accepts[:8])
            lines.append(f"  accepted not-cloud images: {shown}")
        if self.failures:
            lines.append(f"  {len(self.failures)} images could not be read and were skipped")
        if self.out_path:
            lines.append(f"wrote the gate into {self.out_path}")
        return "\n".join(lines)

    def markdown(self) -> str:
        """A paragraph and a table for MODEL_CARD.md."""
        m, h, f = self.metrics, self.counts["heldout"], self.counts["fit"]
        return "\n".join([
            "### Is it a cloud photo? (the gate)",
            "",
            f"A {METHOD} (C={self.c:g}) scores every image before its genus is shown; below the "
            f"threshold {self.threshold:.4f} the app says the image does not look like a sky photo. It was "
            f"fitted on {f['cloud']} CCSN training photos against {f['photo']} photos of other things and "
            f"{f['synthetic']} generated charts, screenshots, documents, drawings, flat colours and noise "
            f"images; the threshold was set on {self.counts['valid']['cloud']} further CCSN training photos "
            f"to let {self.target_cloud_accept:.0%} of cloud photos through. The figures below are on images "
            f"the gate never saw: the CCSN test photos, the other not-cloud photos, and generated images "
            f"drawn with another seed, including {len(self.synthetic_styles.get('heldout_only', []))} kinds of "
            f"image never used in fitting.",
            "",
            "| held-out images | n | accepted as cloud photos |",
            "| --- | ---: | ---: |",
            f"| cloud photos (CCSN test) | {h['cloud']} | {m['cloud_accept_rate']:.1%} |",
            f"| not-cloud photos | {h['photo']} | {m['not_cloud_photo_accept_rate']:.1%} |",
            f"| charts, screenshots, documents, drawings | {h['synthetic']} | {m['synthetic_accept_rate']:.1%} |",
            f"| all not-cloud images | {h['photo'] + h['synthetic']} | {m['not_cloud_accept_rate']:.1%} |",
            "",
            f"AUROC (cloud photos vs all not-cloud images): {m['auroc']:.4f}; photos only: {m['auroc_photos']:.4f}.",
        ])
