"""Worker functions for the pool tests: real processes that die on a photo, or cannot start."""
import os


def start() -> None:
    pass


def cannot_start() -> None:
    raise RuntimeError("no model here")


def work(paths: list[str]) -> list[dict]:
    for path in paths:
        if "crash" in path:
            os._exit(3)  # as a segfaulting decoder or the out-of-memory killer would end it
    return [{"file": path, "error": None} for path in paths]


def crashed(path: str) -> dict:
    return {"file": path, "error": "crashed"}
