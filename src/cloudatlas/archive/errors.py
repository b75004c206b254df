"""The one failure of an archive job a user can fix: a bad input, an output that cannot be continued."""
from __future__ import annotations

from ..errors import CloudAtlasError


class ArchiveError(CloudAtlasError, ValueError):
    """An archive cannot be classified as asked; the message says what to change."""
