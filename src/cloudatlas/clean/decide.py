"""Turn audit and label-issue verdicts over every source of a recipe into a decisions file.

    audit each source (unreadable files, tiny images)            -> drop
    out-of-fold teacher probabilities + cleanlab confident learning
        flagged, and another label clearly preferred               -> relabel   (relabel_above)
        flagged, and the given label very unlikely                 -> drop      (drop_below)
        flagged otherwise                                          -> keep (listed, for review)

The thresholds are per source (``drop_below`` / ``relabel_above`` in ``[[data.source]]``): a
benchmark's own labels are only dropped when nearly impossible, a noisy source is cleaned
harder. The holdout part of a source is never cleaned: it measures the model as it is labelled.
The result is a CSV (source, path, action, label, reason) to review and commit; the recipe
reads it. Nothing in the sources is modified.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Recipe
from ..data.assemble import Decision, SourcedSample, assemble
from ..data.audit import audit


@dataclass
class DecideReport:
    decisions: list[Decision]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> action -> photos
    audit: dict[str, dict[str, int]] = field(default_factory=dict)
    oof_accuracy: float = 0.0  # how well the teacher's out-of-fold predictions match the labels

    def summary(self) -> str:
        lines = [f"out-of-fold teacher accuracy against the given labels: {self.oof_accuracy:.1%}"]
        for source, c in self.counts.items():
            a = self.audit.get(source, {})
            lines.append(f"  {source:<10} {c.get('photos', 0):>5} judged: {c.get('drop', 0):>4} drop, "
                         f"{c.get('relabel', 0):>4} relabel, {c.get('keep', 0):>4} flagged but kept "
                         f"(audit: {a.get('unreadable', 0)} unreadable, {a.get('conflicts', 0)} conflict groups)")
        return "\n".join(lines)


def _audit_drops(recipe: Recipe, judged: list[SourcedSample]) -> tuple[list[Decision], dict]:
    out, counts = [], {}
    by_source = {s.source for s in judged}
    for spec in recipe.data.sources:
        if spec.name not in by_source:
            continue
        report = audit(recipe.resolve(spec.path), progress=False)
        counts[spec.name] = {"unreadable": len(report.unreadable), "tiny": len(report.tiny),
                             "duplicates": len(report.duplicates), "conflicts": len(report.conflicts)}
        for problem in report.unreadable + report.non_photo:
            out.append(Decision(spec.name, problem.path, "drop", "", f"audit: {problem.reason}"))
    return out, counts


def decide(recipe: Recipe, probe_dir: str | Path, progress: bool = True) -> DecideReport:
    """Decisions for every trusted, non-holdout photo of ``recipe``."""
    from ..errors import ConfigError, require
    from ..teacher import Teacher, probe_features

    find_label_issues = require("cleanlab.filter", "data decide", "data").find_label_issues
    if not recipe.teacher.probes:
        raise ConfigError(f"{recipe.path}: data decide judges labels with the teacher: the recipe needs a "
                          f"[teacher] with probes")
    data = assemble(recipe, apply_decisions=False)
    judged = data.train + data.valid
    decisions, audit_counts = _audit_drops(recipe, judged)
    labels = data.labels
    features = probe_features(recipe.teacher, judged, probe_dir, progress=progress)
    targets = np.stack([s.target(labels) for s in judged])
    weights = np.ones(len(judged), dtype=np.float32)
    oof = Teacher(recipe.teacher, labels).out_of_fold(features, targets, weights, [s.group for s in judged],
                                                      seed=recipe.data.split_seed)
    y = np.array([labels.index(s.label) for s in judged])
    flagged = np.zeros(len(y), dtype=bool)
    flagged[find_label_issues(y, oof, filter_by="prune_by_noise_rate", n_jobs=1)] = True

    specs = {s.name: s for s in recipe.data.sources}
    counts: dict[str, Counter] = {s.name: Counter() for s in recipe.data.sources if s.name in {j.source for j in judged}}
    already = {(d.source, d.path) for d in decisions}
    for i, s in enumerate(judged):
        counts[s.source]["photos"] += 1
        if not flagged[i] or (s.source, s.key) in already:
            continue
        spec = specs[s.source]
        best = int(oof[i].argmax())
        given, top = float(oof[i, y[i]]), float(oof[i, best])
        why = f"confident learning: {s.label} {given:.2f}, {labels[best]} {top:.2f} (out of fold)"
        if spec.relabel_above is not None and top >= spec.relabel_above:
            decisions.append(Decision(s.source, s.key, "relabel", labels[best], why))
        elif given < spec.drop_below:
            decisions.append(Decision(s.source, s.key, "drop", "", why))
        else:
            decisions.append(Decision(s.source, s.key, "keep", "", why + "; kept: below this source's bar"))
    for d in decisions:
        if d.source in counts:
            counts[d.source][d.action] += 1
    return DecideReport(decisions, {k: dict(v) for k, v in counts.items()}, audit_counts,
                        float((oof.argmax(1) == y).mean()))
