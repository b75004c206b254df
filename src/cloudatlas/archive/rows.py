"""One row per photo, the same for every engine and every file format.

``file, verdict, label, probability, confidence, level, error, p_<code>...``: the genus columns
follow the model's labels in order, so two runs of one model always have the same columns, and a
file written by another model (other labels) is refused on resume instead of mixed in. A photo
that cannot be read has its message in ``error`` and nulls everywhere else.
"""
from __future__ import annotations

from typing import Sequence

from ..imageio import ImageLoadError

FIXED = ("file", "verdict", "label", "probability", "confidence", "level", "error")
FLOATS = ("probability",)


def columns(labels: Sequence[str]) -> list[str]:
    return [*FIXED, *(f"p_{code}" for code in labels)]


def row_of(file: str, result, labels: Sequence[str]) -> dict:
    """A :class:`~cloudatlas.inference.Prediction` or an error -> one row (``dict`` by column)."""
    row: dict = dict.fromkeys(columns(labels))
    row["file"] = file
    if isinstance(result, BaseException):
        row["error"] = str(result) if isinstance(result, ImageLoadError) else \
            f"{type(result).__name__}: {result}"  # not a photo problem we know: say what broke
        return row
    by_label = {p.label: p.probability for p in result.predictions}
    row.update(verdict=result.verdict, label=result.label, probability=result.probability,
               confidence=result.confidence, level=result.level)
    row.update({f"p_{code}": by_label[code] for code in labels})
    return row


def arrow_schema(labels: Sequence[str]):
    """Fixed Arrow types, so a block of only unreadable photos (all nulls) has the same schema."""
    import pyarrow as pa

    return pa.schema([(name, pa.float64() if name in FLOATS or name.startswith("p_") else pa.string())
                      for name in columns(labels)])
