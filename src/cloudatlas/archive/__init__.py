"""Classify an archive: millions of photos into one results file (or a folder of them, on Ray).

``classify_archive(["photos/"], "results.parquet")`` walks the inputs, skips what the output
already holds (``resume``), and streams one row per photo (:mod:`.rows`) to a file that a killed
run leaves readable (:mod:`.writers`). The local engine (:mod:`.local`) uses this machine's cores;
the Ray engine (:mod:`.ray_engine`, ``pip install 'cloudatlas[ray]'``) a cluster's.
"""
from .errors import ArchiveError
from .job import classify_archive
from .rows import columns, row_of
from .summary import ArchiveSummary
from .walk import find_photos, name_of

__all__ = ["ArchiveError", "ArchiveSummary", "classify_archive", "columns", "find_photos", "name_of", "row_of"]
