"""Clean stage: ``data decide`` (a recipe's drop / relabel decisions from the teacher's verdicts)
and the cleaner, a local web page to review a photo set; every change goes through the data
set's undoable journal (``cloudatlas.data.journal``). ``create_app`` imports FastAPI only when
asked for."""


def __getattr__(name: str):
    if name in ("create_app", "build_review"):
        from . import app

        return getattr(app, name)
    if name == "decide":
        from .decide import decide

        return decide
    raise AttributeError(name)


__all__ = ["build_review", "create_app", "decide"]
