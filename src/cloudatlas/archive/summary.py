"""What a run did, in numbers and in one line for the terminal."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class ArchiveSummary:
    out: Path
    engine: str          # "local" or "ray"
    photos: int          # found under the inputs
    skipped: int         # already in the output (--resume)
    classified: int      # written by this run
    unreadable: int      # of those, rows with an error
    seconds: float

    @property
    def rate(self) -> float:
        return self.classified / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        skipped = f", {self.skipped} already there" if self.skipped else ""
        return (f"{self.classified} photos classified into {self.out} ({self.unreadable} unreadable{skipped}) "
                f"in {_duration(self.seconds)}: {self.rate:.1f} photos/s")


def _duration(seconds: float) -> str:
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m{s:02d}s" if hours else f"{m}m{s:02d}s" if m else f"{seconds:.1f}s"
