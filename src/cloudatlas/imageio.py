"""Robust photo loading shared by training, inference, the data tools and the server.

Everything a phone or a user's folder can hand us ends up here: JPEG with EXIF rotation,
HEIC/HEIF from iPhones, PNG with alpha, greyscale, CMYK, 16-bit. Failures raise
:class:`ImageLoadError` with a sentence a person understands; nothing else escapes.
"""
from __future__ import annotations

import contextlib
import io
import os
import struct
import threading
import warnings
from pathlib import Path
from typing import IO, Union

import numpy as np
from PIL import ExifTags, Image, ImageFile, JpegImagePlugin, UnidentifiedImageError

from .errors import CloudAtlasError

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

# The formats a photo arrives in. Every other format Pillow knows is refused before its decoder
# runs: some decode the whole picture inside Image.open (ICO, CUR and ICNS, whose directory may
# claim 256x256 and hold a 12000x12000 PNG), others are documents, archives or scientific data.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "TIFF", "GIF", "BMP", "JPEG2000")
# How each accepted format's files begin: a file shorter than its signature is a cut-off photo.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*",
               b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")


class ImageLoadError(CloudAtlasError, ValueError):
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

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(fp, formats=_accepted_formats()), str(name)
    except UnidentifiedImageError:
        raise _unidentified(_head(fp), str(name)) from None
    except Image.DecompressionBombError:
        raise ImageLoadError(
            f"{name}: declares far more pixels than any photo; refused as a decompression bomb.",
            "too_large") from None
    except OSError as err:
        raise ImageLoadError(f"{name}: could not be read ({err}).") from None


def _accepted_formats() -> tuple[str, ...]:
    """The formats of ACCEPTED_FORMATS this installation can open (HEIF needs pillow-heif)."""
    _register_heif()
    Image.init()
    return tuple(f for f in ACCEPTED_FORMATS if f in Image.OPEN)


def _formats_claiming(head: bytes, formats) -> list[str]:
    """The formats whose signature check accepts ``head``: a look at the bytes, never a decode."""
    out = []
    for fmt in formats:
        accept = Image.OPEN.get(fmt, (None, None))[1]
        try:
            if accept is not None and accept(head):
                out.append(fmt)
        except Exception:  # some checks need more bytes than a short file has
            continue
    return out


def _is_cut_signature(head: bytes) -> bool:
    """A file shorter than the signature it starts: a photo cut off after a few bytes."""
    return len(head) >= 2 and any(len(head) < len(sig) and sig.startswith(head) for sig in _SIGNATURES)


def _unidentified(head: bytes, name: str) -> ImageLoadError:
    """Why no accepted format could open a file: cut off, a format we refuse, or no image at all."""
    suffix = Path(name).suffix.lower()
    if _formats_claiming(head, _accepted_formats()) or _is_cut_signature(head):
        # It starts like a photo of a format we read, yet its header cannot be parsed.
        return ImageLoadError(f"{name}: the image is truncated or corrupt.", "truncated")
    kind = _sniff_non_image(head)
    if kind:
        msg = f"{name}: this is {kind}, not an image."
    elif suffix in (".heic", ".heif") and not _heif_support():
        msg = f"{name}: HEIC photos need the pillow-heif package (pip install pillow-heif)."
    elif refused := _formats_claiming(head, [f for f in Image.ID if f not in ACCEPTED_FORMATS]):
        msg = f"{name}: {refused[0]} is not a photo format CloudAtlas reads (JPEG, PNG, WebP, HEIC, ...)."
    else:
        msg = f"{name}: not an image file Pillow can read (JPEG, PNG, WebP, HEIC, ...)."
    return ImageLoadError(msg, "not_image")


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


# -- decoding within a memory budget ---------------------------------------------------------------
# JPEG decodes at a reduced scale (draft mode: 1/2, 1/4 or 1/8 in the DCT), so a 150-MP JPEG holds
# a 2-MP buffer; JPEG 2000 decodes only the resolution levels needed (1/2, 1/4, ... of each side).
# Every other format holds its full-size pixels while it decodes and shrinks, and so does
# progressive JPEG, whose DCT coefficients libjpeg buffers at full size; a tiled TIFF also holds
# one whole tile, however much of it lies outside the picture. Each decode
# reserves the bytes it will hold at its peak from one budget shared by every thread of the
# process; a photo that alone needs more than the budget is refused, and the others wait their
# turn. The budget is what a 40-MP PNG needs: 12- and 24-MP HEIC phone photos and 36-MP camera
# exports fit, a 48-MP PNG does not (nor WebP over 23 MP), and a 40-MP PNG decodes in under a
# second. A server (about 300 MB with its model) then stays under 1 GB however many photos
# arrive at once.
FULL_DECODE_MAX_PIXELS = 40_000_000

# Bytes held per decoded pixel at the peak of decoding and shrinking, from VmHWM on 12-MP files
# (tests/core/test_imageio.py checks them): RGBA PNG 8.2 (RGBA + the premultiplied copy
# Image.reduce makes), palette PNG with transparency 9.1 (P + RGBA + premultiplied), 16-bit PNG 6.1,
# HEIC 7.5. libwebp keeps its canvas and a copy of the previous frame and hands Pillow a third:
# 16.1. JPEG 4.5, at whatever scale draft mode decodes; progressive JPEG adds 2 bytes of
# coefficients per full-size pixel and colour component: 6.1 at 4:4:4. OpenJPEG keeps 32 bits per
# sample of every level it decodes and hands Pillow a copy: 18.5 for a 36-MP JPEG 2000 (666 MB);
# its code-block tables cover the full size whatever the level decoded (10 MB at 36 MP).
_PEAK_BYTES_PER_PIXEL = {"WEBP": 17, "JPEG2000": 20}
_JPEG2000_BYTES_PER_FULL_SIZE_PIXEL = 0.5
_DEFAULT_PEAK_BYTES_PER_PIXEL = 10
_JPEG_BYTES_PER_PIXEL = 5
_PROGRESSIVE_JPEG_BYTES_PER_PIXEL = 7
# Colour conversion and alpha compositing at full size, when the caller wants every pixel.
_FULL_SIZE_CONVERT_BYTES_PER_PIXEL = 8
# A decoder's own tables and row buffers, whatever the size (2 MB for a drafted 12-MP JPEG).
_DECODER_OVERHEAD_BYTES = 4_000_000

DECODE_BUDGET_BYTES = _DECODER_OVERHEAD_BYTES + FULL_DECODE_MAX_PIXELS * _DEFAULT_PEAK_BYTES_PER_PIXEL

# libjpeg's own limit on what one decode may allocate (the coefficient buffers), a backstop for
# multi-scan JPEGs that Pillow does not report as progressive. Read by libjpeg at each decode.
os.environ.setdefault("JPEGMEM", f"{DECODE_BUDGET_BYTES // 1_000_000}M")


class _MemoryBudget:
    """Bytes of decoded pixels all threads may hold at once; a reservation waits for room."""

    def __init__(self, total: int):
        self.total = total
        self.used = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, n: int):
        with self._changed:
            self._changed.wait_for(lambda: self.used + n <= self.total)
            self.used += n
        try:
            yield
        finally:
            with self._changed:
                self.used -= n
                self._changed.notify_all()


_budget = _MemoryBudget(DECODE_BUDGET_BYTES)


def _is_jpeg(img: Image.Image) -> bool:
    return isinstance(img, JpegImagePlugin.JpegImageFile)  # MPO (many phone cameras) included


def _int_tag(tags, tag: int, default: int) -> int:
    """A TIFF tag as one integer (a tag written with several values counts by its largest)."""
    value = tags.get(tag, default)
    return int(max(value)) if isinstance(value, tuple) and value else int(value)


def _tile_bytes(img: Image.Image) -> int:
    """Bytes of one tile of a tiled TIFF: libtiff allocates and inflates a whole tile before it
    copies out the part inside the picture, and nothing stops a 64x64 image declaring one tile of
    26752x26752 pixels (2.1 GB). 0 for every other image."""
    tags = getattr(img, "tag_v2", None)
    if img.format != "TIFF" or tags is None or 322 not in tags:
        return 0
    bytes_per_sample = max(1, -(-_int_tag(tags, 258, 8) // 8))
    return _int_tag(tags, 322, 0) * _int_tag(tags, 323, 0) * _int_tag(tags, 277, 1) * bytes_per_sample


def _jpeg2000_levels(img: Image.Image) -> int:
    """How many times a JPEG 2000 codestream can halve its size when decoded: the decomposition
    levels of the COD marker in its main header; 0 when that cannot be read."""
    fp = img.fp
    position = fp.tell()
    fp.seek(0)
    head = fp.read(1 << 16)  # the main header: boxes, SIZ, COD, before any tile data
    fp.seek(position)
    at = head.find(b"\xff\x4f\xff\x51")  # SOC, then SIZ
    if at < 0:
        return 0
    at += 2
    while at + 10 <= len(head):
        marker, length = struct.unpack_from(">HH", head, at)
        if marker == 0xFF52:  # COD: Lcod, Scod, 4 bytes of SGcod, then the number of levels
            return head[at + 9]
        if marker == 0xFF90 or length < 2:  # the first tile-part: the main header had no COD
            return 0
        at += 2 + length
    return 0


def _draft(img: Image.Image, min_size: int | None) -> tuple[int, int]:
    """Ask the decoder for little more than ``min_size`` pixels on the shorter side where the
    format can do that while decoding; the size it will then decode at."""
    if not min_size:
        return img.size
    if img.format == "JPEG2000":
        factor = 0
        while factor < _jpeg2000_levels(img) and min(img.size) >> (factor + 1) >= min_size:
            factor += 1
        if factor:
            img.reduce = factor  # Jpeg2KImageFile: decode only the levels this size needs
        return (-(-img.width >> factor), -(-img.height >> factor))
    img.draft("RGB", (min_size, min_size))  # JPEG only; other formats ignore it
    return img.size


def _peak_bytes(img: Image.Image, decoded: tuple[int, int], full_size: tuple[int, int],
                min_size: int | None) -> int:
    """What decoding ``img`` at the ``decoded`` size (see _draft) and shrinking it hold at the peak."""
    pixels = decoded[0] * decoded[1]
    if _is_jpeg(img):
        per_pixel = _JPEG_BYTES_PER_PIXEL
    else:
        per_pixel = _PEAK_BYTES_PER_PIXEL.get(img.format or "", _DEFAULT_PEAK_BYTES_PER_PIXEL)
    if not min_size and img.mode != "RGB":
        per_pixel += _FULL_SIZE_CONVERT_BYTES_PER_PIXEL
    held = _DECODER_OVERHEAD_BYTES + pixels * per_pixel + _tile_bytes(img)
    if _is_jpeg(img) and img.info.get("progressive"):
        held += full_size[0] * full_size[1] * _PROGRESSIVE_JPEG_BYTES_PER_PIXEL
    if img.format == "JPEG2000":
        held += int(full_size[0] * full_size[1] * _JPEG2000_BYTES_PER_FULL_SIZE_PIXEL)
    return held


def _estimate(img: Image.Image, min_size: int | None) -> int:
    """Apply draft mode (if the format has one) and return the bytes decoding will hold."""
    if not isinstance(img, ImageFile.ImageFile):
        return 0  # arrays and images made in memory already hold their pixels
    full_size = img.size
    return _peak_bytes(img, _draft(img, min_size), full_size, min_size)


def _check_decode_cost(img: Image.Image, name: str, cost: int, full_size: tuple[int, int]) -> None:
    if cost <= DECODE_BUDGET_BYTES:
        return
    width, height = full_size
    size = f"{name}: {width}x{height} pixels ({width * height / 1e6:.0f} MP)"
    if _tile_bytes(img) > DECODE_BUDGET_BYTES:
        tags = img.tag_v2
        raise ImageLoadError(
            f"{name}: a {width}x{height} TIFF stored in tiles of {_int_tag(tags, 322, 0)}x{_int_tag(tags, 323, 0)} "
            f"pixels, each of which would be decoded whole; refused as a decompression bomb.", "too_large")
    if _is_jpeg(img) and not img.info.get("progressive"):  # only because every pixel was asked for
        raise ImageLoadError(f"{size} is too large to decode at full size safely; use a smaller copy.",
                             "too_large")
    kind = "progressive JPEG" if _is_jpeg(img) else (img.format or "an image")
    raise ImageLoadError(
        f"{size} is too large to decode safely as {kind}, which cannot be decoded at a reduced size; "
        f"send a JPEG or a smaller copy of the photo.", "too_large")


def _reducible(img: Image.Image) -> Image.Image:
    """``img`` in a mode Image.reduce can average: not palette indices, bilevel or 16-bit pixels."""
    if img.mode in ("P", "PA"):
        has_alpha = img.mode == "PA" or "transparency" in img.info
        return img.convert("RGBA" if has_alpha else "RGB")
    if img.mode == "1":
        return img.convert("L")
    if img.mode.startswith("I;16"):
        return img.convert("I")
    return img


def _shrink(img: Image.Image, min_size: int) -> Image.Image:
    """Box-average by the integer step center_square's reducing_gap=2 would take, before anything
    else, so rotation, colour conversion and compositing work on a small copy, not the full size."""
    factor = min(img.size) // (2 * min_size)
    if factor < 2:
        return img
    return _reducible(img).reduce(factor)


_ORIENTATION_FIX = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


def _orientation_fix(img: Image.Image) -> Image.Transpose | None:
    """The transpose that makes ``img`` upright (EXIF or XMP orientation), read before shrinking.

    A damaged EXIF block (``Exif\\0\\0`` and garbage) says nothing about orientation: the pixels
    are fine, so the photo is used as stored rather than refused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return None
    return _ORIENTATION_FIX.get(orientation)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")
        # Transparent areas become white, as they look on a web page.
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float32)
        scale = 255.0 / max(float(arr.max()), 1.0)
        return Image.fromarray((arr * scale).clip(0, 255).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


def _check_size(img: Image.Image, name: str, max_pixels: int) -> None:
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


def load_image(
    source: ImageSource,
    *,
    min_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode a photo to an upright RGB image.

    ``min_size``: the caller needs only this many pixels on the shorter side. JPEG then decodes in
    draft mode (DCT scaling), which makes a 12-MP phone photo several times faster, and JPEG 2000
    decodes only the resolution levels it needs; other formats are shrunk right after decoding. Either way the result keeps at least ``min_size`` pixels on
    its shorter side. Decoding stays within :data:`DECODE_BUDGET_BYTES` (see above).
    """
    img, name = _open(source)
    _check_size(img, name, max_pixels)
    full_size = img.size  # before draft mode shrinks it
    try:
        # The first frame stands for an animated or multi-page file, and it is the one open()
        # has read. Nothing asks for n_frames: Pillow would walk every frame of a GIF or TIFF
        # to count them (50 000 TIFF pages: 21 s).
        cost = _estimate(img, min_size)
        _check_decode_cost(img, name, cost, full_size)
        with _budget.reserve(cost):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                img.load()
            fix = _orientation_fix(img)
            if min_size:
                img = _shrink(img, min_size)
            if fix is not None:
                img = img.transpose(fix)
            img = _to_rgb(img)
            return img.copy() if img is source else img  # never hand the caller's own image back
    except ImageLoadError:
        raise
    except Exception as err:  # whatever a decoder raises on a hostile file is the file's problem
        raise _decode_error(err, name) from None


# What decoders say when a file ends early: Pillow, libjpeg, libheif ("Unexpected end of file").
_TRUNCATED = ("truncated", "broken data stream", "end of file")


def _decode_error(err: Exception, name: str) -> ImageLoadError:
    text = " ".join(str(err).split())  # one line: libheif ends its messages with a newline
    if isinstance(err, EOFError) or any(t in text.lower() for t in _TRUNCATED):
        return ImageLoadError(f"{name}: the image is truncated or corrupt.", "truncated")
    if isinstance(err, MemoryError):
        return ImageLoadError(f"{name}: needs more memory to decode than is free; send a smaller copy.",
                              "too_large")
    return ImageLoadError(f"{name}: could not be decoded ({text or type(err).__name__}).")


def image_info(source: ImageSource) -> tuple[int, int, str]:
    """(width, height, format) from the header alone, opened as load_image opens it: nothing is
    decoded, and a format load_image refuses is refused here too (ImageLoadError)."""
    img, _ = _open(source)
    try:
        return img.width, img.height, img.format or ""
    finally:
        if img is not source:
            img.close()


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
