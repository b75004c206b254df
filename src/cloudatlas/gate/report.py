"""What a gate fit found: thresholds and held-out figures, as JSON, text or Markdown."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..inference.verdict import VERDICTS

METHOD = "logistic regression on the standardised embedding: sky photos (clouds and clear skies) vs other images"


@dataclass
class GateReport:
    threshold: float                      # the sky gate's
    clear_sky_threshold: float | None     # None: no clear-sky gate
    target_cloud_accept: float
    max_cloud_as_clear: float
    c: float                              # the sky gate's inverse regularisation, chosen by cross-validation
    metrics: dict                         # held-out figures of the sky gate: AUROC and acceptance rates
    verdicts: dict                        # valid / heldout -> group -> share of each verdict
    counts: dict                          # images per part and kind
    false_accepts: list = field(default_factory=list)  # held-out not-sky images the sky gate lets through
    failures: list = field(default_factory=list)       # images that could not be read
    seed: int = 0
    model: str = ""
    synthetic_styles: dict = field(default_factory=dict)
    out_path: str | None = None
    sky: Any = field(default=None, repr=False)          # the fitted Gate objects
    clear: Any = field(default=None, repr=False)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("sky"), out.pop("clear")
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
            "heldout": self.verdicts["heldout"],
            "synthetic_styles": self.synthetic_styles,
            "calibrated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def summary(self) -> str:
        m, h = self.metrics, self.counts["heldout"]
        clear = ("no clear-sky gate" if self.clear_sky_threshold is None
                 else f"clear-sky threshold {self.clear_sky_threshold:.4f}")
        lines = [
            f"sky gate (C={self.c:g}) threshold {self.threshold:.4f}, {clear}",
            f"  chosen so that {m['valid_cloud_accept_rate']:.1%} of {self.counts['valid']['cloud']} validation "
            f"cloud photos pass (target {self.target_cloud_accept:.1%})",
            "held-out images (never used to fit or calibrate):",
            f"  AUROC                      {m['auroc']:.4f}  (photos only {m['auroc_photos']:.4f})",
            f"  cloud photos accepted      {m['cloud_accept_rate']:6.1%}  of {h['cloud']}",
            f"  not-sky photos accepted    {m['not_cloud_photo_accept_rate']:6.1%}  of {h['photo']}",
            f"  charts, screens, ...       {m['synthetic_accept_rate']:6.1%}  of {h['synthetic']}"
            f"  (styles never seen in fitting: {m['synthetic_unseen_style_accept_rate']:.1%})",
            "verdicts on held-out images:",
        ]
        for group, shares in self.verdicts["heldout"].items():
            lines.append(f"  {group:<28} n={shares['n']:<5} " + "  ".join(f"{v} {shares[v]:6.1%}" for v in VERDICTS))
        if self.false_accepts:
            lines.append("  accepted not-sky images: " + ", ".join(f"{k} ({s:.2f})" for k, s in self.false_accepts[:8]))
        if self.failures:
            lines.append(f"  {len(self.failures)} images could not be read and were skipped")
        if self.out_path:
            lines.append(f"wrote the gates into {self.out_path}")
        return "\n".join(lines)

    def markdown(self) -> str:
        """A table for MODEL_CARD.md: the verdict on each kind of held-out image."""
        rows = ["| held-out images | n | " + " | ".join(f"`{v}`" for v in VERDICTS) + " |",
                "| --- | ---: | " + " | ".join("---:" for _ in VERDICTS) + " |"]
        for group, s in self.verdicts["heldout"].items():
            rows.append(f"| {group} | {s['n']} | " + " | ".join(f"{s[v]:.1%}" for v in VERDICTS) + " |")
        m = self.metrics
        return "\n".join([
            "### Cloud, clear sky, or not a sky photo? (the gates)", "",
            f"Sky gate: {METHOD} (C={self.c:g}), threshold {self.threshold:.4f} (lets "
            f"{self.target_cloud_accept:.1%} of validation cloud photos through); AUROC on held-out images "
            f"{m['auroc']:.4f}, photos only {m['auroc_photos']:.4f}."
            + ("" if self.clear_sky_threshold is None else
               f" Clear-sky gate threshold {self.clear_sky_threshold:.4f} (at most "
               f"{self.max_cloud_as_clear:.0%} of validation cloud photos called clear)."),
            "", *rows])
