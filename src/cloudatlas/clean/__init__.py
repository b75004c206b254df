"""Clean stage: review a photo set in a local web page; journaled, undoable file operations.

``Journal`` (file operations) is light; ``create_app`` imports FastAPI only when asked for.
"""
from .journal import Entry, Journal, JournalError, move_no_clobber

__all__ = ["Entry", "Journal", "JournalError", "build_review", "create_app", "move_no_clobber"]


def __getattr__(name: str):
    if name in ("create_app", "build_review"):
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
