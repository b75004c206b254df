"""One error base class: every failure a user can fix is a :class:`CloudAtlasError`.

Each stage raises its own subclass (a bad data set, a model file that is not one, a recipe
with a typo), with a message that says what to fix. The command line catches the base class
once and prints that message as one line; library callers can catch exactly what they expect.
The subclasses also keep the built-in base they always had (``ValueError``, ``RuntimeError``),
so ``except ValueError`` in older code still works.
"""
from __future__ import annotations


class CloudAtlasError(Exception):
    """A problem the user can fix; ``str(err)`` says how, in one sentence or two."""


class ConfigError(CloudAtlasError, ValueError):
    """A recipe or an option names something that does not exist or has a value it cannot take."""


class DataError(CloudAtlasError, ValueError):
    """A data set cannot be used as given; the message says what to fix."""


class ModelError(CloudAtlasError, RuntimeError):
    """The model file is missing or is not a CloudAtlas model."""


class MetadataError(CloudAtlasError, ValueError):
    """The file is not an ONNX model with CloudAtlas metadata."""


class GraphError(CloudAtlasError, ValueError):
    """A model graph cannot take what is added to it (no ``embedding`` output, a wrong width)."""


class JournalError(CloudAtlasError, ValueError):
    """A change to a data set that cannot be made; nothing was changed and the message says why."""


class FetchError(CloudAtlasError, RuntimeError):
    """A download failed; the message says what to try."""


class RunExists(CloudAtlasError, FileExistsError):
    """A run folder already holds a run (continue it with resume, or choose another folder)."""


class MissingExtra(CloudAtlasError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, what: str, extra: str, package: str | None = None):
        super().__init__(f"{what} needs {package or extra}, which is not installed: pip install 'cloudatlas[{extra}]'")
        self.name = package


def require(package: str, what: str, extra: str):
    """``import package``, or :class:`MissingExtra` naming the extra that brings it."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingExtra(what, extra, package) from None
