"""Robust photo loading shared by training, inference, the data tools and the server.

Everything a phone or a user's folder can hand us ends up here: JPEG with EXIF rotation,
HEIC/HEIF from iPhones, PNG with alpha, greyscale, CMYK, 16-bit. Failures raise
:class:`ImageLoadError` with a sentence a person understands; nothing else escapes.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import IO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# 150 MP covers nearly every camera; past that a file is far more likely a decompression bomb
# than a photo. (Pillow's own guard refuses beyond ~179 MP; we catch that too.)
DEFAULT_MAX_PIXELS = 150_000_000

# Below this many pixels on the shorter side an image is an icon, a tracking pixel or a strip:
# the model (224 px) would see it scaled up over 9x, a few blocks of colour. 30-px thumbnails, which
# have always been classified, still pass.
MIN_SIDE = 24

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif",
     ".avif"}
)

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], Image.Image, np.ndarray]

_heif_registered = False


class ImageLoadError(ValueError):
    """A photo could not be used; ``str(err)`` is a message for the user.

    ``reason`` says what went wrong for programs (the web API maps it to an HTTP status):
    ``empty``, ``missing``, ``not_image``, ``too_large``, ``too_small``, ``truncated`` or ``unreadable``.
    """

    def __init__(self, message: str, reason: str = "unreadable"):
        super().__init__(message)
        self.reason = reason


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except ImportError:  # optional: HEIC then gets a clear message instead
            pass
        _heif_registered = True


def _sniff_non_image(head: bytes) -> str | None:
    """Name the kind of a file that is clearly not an image, for a better message."""
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if stripped.startswith((b"{", b"[")):
        return "a JSON/text file"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:512]):
        return "a text file"
    return None


def _open(source: ImageSource) -> tuple[Image.Image, str]:
    """Open lazily (header only) and return the image and a name for messages."""
    if isinstance(source, Image.Image):
        return source, "image"
    if isinstance(source, np.ndarray):
        if source.ndim not in (2, 3) or source.dtype != np.uint8:
            raise ImageLoadError("Arrays must be uint8 HxW or HxWxC.")
        return Image.fromarray(source), "array"
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "upload"
        if not data:
            raise ImageLoadError("The file is empty.", "empty")
        fp: IO[bytes] | Path = io.BytesIO(data)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name
        if not path.exists():
            raise ImageLoadError(f"{path}: no such file.", "missing")
        if path.is_dir():
            raise ImageLoadError(f"{path}: is a folder, not a photo.", "missing")
        if path.stat().st_size == 0:
            raise ImageLoadError(f"{name}: the file is empty.", "empty")
        fp = path  # Pillow opens and closes the file itself
    else:
        fp, name = source, getattr(source, "name", "upload")

    _register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(fp), str(name)
    except UnidentifiedImageError:
        kind = _sniff_non_image(_head(fp))
        suffix = Path(str(name)).suffix.lower()
        if kind:
            msg = f"{name}: this is {kind}, not an image."
        elif suffix in (".heic", ".heif") and not _heif_support():
            msg = f"{name}: HEIC photos need the pillow-heif package (pip install pillow-heif)."
        else:
            msg = f"{name}: not an image file Pillow can read (JPEG, PNG, WebP, HEIC, ...)."
        raise ImageLoadError(msg, "not_image") from None
    except Image.DecompressionBombError:
        raise ImageLoadError(
            f"{name}: declares far more pixels than any photo; refused as a decompression bomb.",
            "too_large") from None
    except OSError as err:
        raise ImageLoadError(f"{name}: could not be read ({err}).") from None


def _head(fp: IO[bytes] | Path, n: int = 1024) -> bytes:
    if isinstance(fp, Path):
        with open(fp, "rb") as f:
            return f.read(n)
    fp.seek(0)
    return fp.read(n)


def _heif_support() -> bool:
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return False
    return True


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        # Transparent areas become white, as they look on a web page.
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        scale = 255.0 / max(float(arr.max()), 1.0)
        return Image.fromarray((arr * scale).clip(0, 255).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


def load_image(
    source: ImageSource,
    *,
    min_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode a photo to an upright RGB image.

    ``min_size``: the caller needs only this many pixels on the shorter side; JPEG decoding then
    uses draft mode (DCT scaling), which makes a 12-MP phone photo several times faster.
    """
    img, name = _open(source)
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageLoadError(f"{name}: the image has no pixels.")
    if min(width, height) < MIN_SIDE:
        raise ImageLoadError(
            f"{name}: {width}x{height} pixels is too small to show a sky; send a photo at least "
            f"{MIN_SIDE} pixels on each side.", "too_small")
    if width * height > max_pixels:
        raise ImageLoadError(
            f"{name}: {width}x{height} pixels ({width * height / 1e6:.0f} MP) is more than the "
            f"{max_pixels / 1e6:.0f} MP limit; is it really a photo?", "too_large"
        )
    try:
        if min_size and img.format == "JPEG":
            img.draft("RGB", (min_size, min_size))
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animated GIF/WebP: the first frame stands for the file
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img.load()
        img = ImageOps.exif_transpose(img) or img
        return _to_rgb(img)
    except ImageLoadError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        text = str(err)
        if "truncated" in text or "broken data stream" in text or isinstance(err, EOFError):
            raise ImageLoadError(f"{name}: the image is truncated or corrupt.", "truncated") from None
        raise ImageLoadError(f"{name}: could not be decoded ({text}).") from None


def center_square(img: Image.Image, size: int) -> np.ndarray:
    """Resize the shorter side to ``size`` and crop the centre: HxWx3 uint8.

    One ``resize`` with a crop box does both steps at once; ``reducing_gap`` lets Pillow shrink
    large photos in integer steps first, which is much faster and alias-free.
    """
    width, height = img.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    box = (left, top, left + side, top + side)
    out = img.resize((size, size), Image.BILINEAR, box=box, reducing_gap=2.0)
    return np.asarray(out, dtype=np.uint8)


def is_image_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS
