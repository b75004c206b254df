"""The one place that reads and writes a model file's metadata (torch-free).

A CloudAtlas model is one ONNX file; everything about it (labels, input size, preprocessing, the
recipe that built it, validation and test figures, the gates' thresholds) is JSON under the
``cloudatlas`` key of the ONNX ``metadata_props``. Inference reads it through ONNX Runtime
(``Classifier``); the tools that change it (evaluate --record, gate, export, int8) go through
here, with the ``onnx`` package only: no torch.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from .errors import MetadataError
from .labels import genus_name

METADATA_KEY = "cloudatlas"
FORMAT = "cloudatlas-onnx/1"


def build_metadata(labels: list[str], img_size: int, arch: str, mean, std, **extra) -> dict:
    """The metadata of a freshly exported model; ``extra`` adds or overrides entries."""
    from .version import __version__

    return {
        "format": FORMAT,
        "name": extra.pop("name", f"cloudatlas-{arch}"),
        "version": extra.pop("version", __version__),
        "labels": list(labels),
        "names": [genus_name(code) for code in labels],
        "img_size": int(img_size),
        "arch": arch,
        "preprocessing": {
            "input": "uint8 RGB, NHWC",
            "resize": "shorter side to img_size, then centre crop img_size x img_size (bilinear)",
            "orientation": "EXIF orientation applied",
            "normalisation_in_graph": {"mean": list(mean), "std": list(std), "scale": 255},
        },
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def set_metadata(proto, metadata: dict) -> None:
    """Store ``metadata`` in an in-memory ``onnx.ModelProto`` (replacing any earlier entry)."""
    for prop in list(proto.metadata_props):
        if prop.key == METADATA_KEY:
            proto.metadata_props.remove(prop)
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)


def metadata_of(proto) -> dict:
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            return json.loads(prop.value)
    raise MetadataError("no CloudAtlas metadata in this ONNX model.")


def _load(path: str | os.PathLike):
    import onnx

    try:
        return onnx.load(str(path))
    except FileNotFoundError:
        raise MetadataError(f"{path}: no such model file.") from None
    except Exception as err:  # protobuf's decode errors have no common public base
        raise MetadataError(f"{path}: not an ONNX model ({type(err).__name__}).") from None


def read_metadata(path: str | os.PathLike) -> dict:
    proto = _load(path)
    try:
        return metadata_of(proto)
    except MetadataError:
        raise MetadataError(f"{path}: an ONNX model without CloudAtlas metadata.") from None


def save_atomic(proto, path: str | os.PathLike) -> Path:
    """Write ``proto`` via a temporary file and a rename: a crash never leaves half a model."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    onnx.save(proto, str(tmp))
    os.replace(tmp, path)
    return path


def update_metadata(path: str | os.PathLike, **changes) -> dict:
    """Merge ``changes`` into a model file's metadata in place; returns the new metadata."""
    proto = _load(path)
    meta = metadata_of(proto)
    meta.update(changes)
    set_metadata(proto, meta)
    save_atomic(proto, path)
    return meta
