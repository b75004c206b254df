"""What an answer claims: confidence in words that follow measured precision, and the level first.

The model file carries, under ``calibration``, the probabilities at which its validation answers
were right at least 9 times in 10 (``very_likely``) and 7 in 10 (``likely``), for the genus and
for the level (high / middle / low, probabilities summed per level). Below them an answer is
``unsure``. When the genus is unsure but the level is not, the answer says the level and the
likely genera of it ("A low cloud: stratocumulus or stratus?"). The page applies the same rule
to the same numbers (``/api/v1/model`` sends them), so every client words an answer alike.

A model without those measurements (an old or a quick one) falls back to ``DEFAULT_THRESHOLDS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..labels import GENERA, LEVEL_OF, LEVELS

CONFIDENCE = ("very_likely", "likely", "unsure")
WORDS = {"very_likely": "Very likely", "likely": "Likely", "unsure": "Not sure"}
DEFAULT_THRESHOLDS = {"genus": {"very_likely": 0.8, "likely": 0.5},
                      "level": {"very_likely": 0.9, "likely": 0.7}}
LEVEL_WORDS = {"high": "A high cloud", "middle": "A middle-level cloud", "low": "A low cloud"}


@dataclass(frozen=True)
class LevelScore:
    level: str          # high, middle or low
    probability: float  # the probabilities of its genera, summed


def thresholds_of(metadata: dict) -> dict[str, dict[str, float]]:
    """The model's measured thresholds, falling back to the defaults part by part."""
    measured = (metadata.get("calibration") or {}).get("thresholds") or {}
    return {kind: {**DEFAULT_THRESHOLDS[kind], **(measured.get(kind) or {})} for kind in DEFAULT_THRESHOLDS}


def confidence_of(probability: float, thresholds: dict[str, float]) -> str:
    if probability >= thresholds["very_likely"]:
        return "very_likely"
    if probability >= thresholds["likely"]:
        return "likely"
    return "unsure"


def levels_of(labels: Sequence[str], probabilities: Sequence[float]) -> list[LevelScore]:
    """Summed probability of each level, most likely first; empty for labels that are no genera."""
    if not all(label in LEVEL_OF for label in labels):
        return []
    sums = {level: 0.0 for level in LEVELS}
    for label, p in zip(labels, probabilities):
        sums[LEVEL_OF[label]] += float(p)
    return sorted((LevelScore(level, round(p, 6)) for level, p in sums.items()), key=lambda s: -s.probability)


def headline(verdict: str, ranked: Sequence[tuple[str, float]], confidence: str, levels: Sequence[LevelScore],
             level_confidence: str | None) -> str:
    """The answer in one line, the way the page says it."""
    if verdict == "clear_sky":
        return "Clear sky: no clouds to name"
    if verdict == "not_sky":
        return "This does not look like a sky photo"
    label, _ = ranked[0]
    name = GENERA[label].name if label in GENERA else label
    if confidence != "unsure":
        return f"{WORDS[confidence]}: {name}"
    if levels and level_confidence and level_confidence != "unsure":
        level = levels[0].level
        candidates = [GENERA[code].name for code, _ in ranked if LEVEL_OF.get(code) == level][:2]
        return f"{LEVEL_WORDS[level]}: {' or '.join(candidates)}?"
    return "Not sure: compare these"
