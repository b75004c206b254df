"""Read one uploaded photo from a multipart request, enforcing the size limit while streaming.

Starlette's form parser reads the whole body before a handler runs; a 2 GB upload would be
spooled to disk before we could say no. Here the body is fed chunk by chunk to python-multipart
and counted: a declared Content-Length over the limit is refused before any byte is read, and
a body that grows past it is refused at that chunk. A body that arrives too slowly is refused
too (408): the reading deadline moves with the bytes received (see UPLOAD_MIN_BYTES_PER_S).
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from typing import AsyncIterator

import anyio
from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from .errors import ApiError

FIELD = "file"
FORM_OVERHEAD = 64 * 1024  # boundaries, part headers and small extra fields around the photo
SPOOL_BYTES = 2 * 1024 * 1024  # photos up to this size stay in memory; larger ones go to disk

# A body must keep up an average of UPLOAD_MIN_BYTES_PER_S after UPLOAD_GRACE_S: 8 KB/s is 64 kbit/s,
# slower than any mobile link that can send a photo at all, yet a client trickling one byte every
# 2 s (which would hold the connection forever) is cut off after about 10 s.
UPLOAD_GRACE_S = 10.0
UPLOAD_MIN_BYTES_PER_S = 8 * 1024

# Parts a form may have. The API reads one field and the page sends only that; each part costs
# python-multipart a few callbacks on the event loop, so a 14 MB form of 300 000 one-byte fields
# held the loop for 5 s. Past this many the form is refused at once.
MAX_PARTS = 16

# Content types a photo may arrive with; anything else is refused before decoding.
PHOTO_TYPES = ("image/", "application/octet-stream")

_KIND_NAMES = {"text/": "a text file", "application/pdf": "a PDF document", "application/json": "a JSON file",
               "video/": "a video", "audio/": "an audio file", "application/zip": "a ZIP archive"}


class _NamedSpool(tempfile.SpooledTemporaryFile):
    """A spooled file whose ``name`` is the uploaded file's, for the decoder's error messages."""

    def __init__(self, display_name: str):
        super().__init__(max_size=SPOOL_BYTES)
        self._display_name = display_name

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._display_name


@dataclass
class Upload:
    filename: str
    content_type: str
    size: int = 0
    file: _NamedSpool | None = field(default=None, repr=False)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def too_large(limit: int) -> ApiError:
    return ApiError(413, "file_too_large",
                    f"The file is larger than the {_mb(limit)} limit. Photos from a phone are well under "
                    f"it; try a smaller copy of the image.")


def too_slow(min_bytes_per_s: float) -> ApiError:
    return ApiError(408, "upload_too_slow",
                    f"The upload was too slow (under {min_bytes_per_s / 1024:.0f} KB a second) and was stopped. "
                    f"Check the connection and send the photo again.")


def too_many_parts() -> ApiError:
    # Closed after the answer: the rest of the body is not read.
    return ApiError(400, "too_many_parts",
                    f"The upload form has more than {MAX_PARTS} fields; send the photo alone, in a field named "
                    f"'{FIELD}'.", close=True)


def _clean_filename(raw: bytes | None) -> str:
    name = (raw or b"").decode("utf-8", "replace").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name[:80] or "upload"


def _describe(content_type: str) -> str:
    for prefix, kind in _KIND_NAMES.items():
        if content_type.startswith(prefix):
            return kind
    return f"a {content_type} file"


class _PhotoCollector:
    """python-multipart callbacks that keep the first ``file`` part and drop everything else."""

    def __init__(self, limit: int):
        self.limit = limit
        self.upload: Upload | None = None
        self._headers: dict[str, bytes] = {}
        self._field, self._value = b"", b""
        self._in_photo = False
        self.parts = 0
        self.complete = False  # the closing boundary was seen

    # -- callbacks ---------------------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise too_many_parts()
        self._headers = {}
        self._in_photo = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value
        self._field, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", b""))
        if params.get(b"name") != FIELD.encode() or self.upload is not None:
            return
        filename = _clean_filename(params.get(b"filename"))
        content_type = self._headers.get("content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if content_type and not content_type.startswith(PHOTO_TYPES):
            raise ApiError(415, "unsupported_media_type",
                           f"{filename} is {_describe(content_type)}, not a photo. "
                           f"Choose a JPEG, PNG, WebP or HEIC photo.")
        self.upload = Upload(filename, content_type, 0, _NamedSpool(filename))
        self._in_photo = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_photo and self.upload is not None:
            self.upload.size += end - start
            if self.upload.size > self.limit:
                raise too_large(self.limit)
            self.upload.file.write(data[start:end])

    def on_part_end(self) -> None:
        self._in_photo = False

    def on_end(self) -> None:
        self.complete = True

    def callbacks(self) -> dict:
        return {name: getattr(self, name) for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end",
            "on_headers_finished", "on_part_data", "on_part_end", "on_end")}


def _boundary(content_type_header: str) -> bytes:
    ctype, params = parse_options_header(content_type_header)
    if ctype != b"multipart/form-data":
        shown = ctype.decode("latin-1") or "no content type"
        raise ApiError(415, "unsupported_media_type",
                       f"Send the photo as multipart/form-data with a field named '{FIELD}' "
                       f"(this request was {shown}).")
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "malformed_form", "The upload form has no boundary; send it as multipart/form-data.")
    return boundary


async def read_photo_upload(headers, body: AsyncIterator[bytes], limit: int) -> Upload:
    """The ``file`` field of a multipart body, spooled, with at most ``limit`` bytes.

    Raises :class:`ApiError` (413 too large, 408 too slow, 415 not multipart or not a photo,
    422 no file, 400 malformed or empty).
    """
    boundary = _boundary(headers.get("content-type", ""))
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise too_large(limit)  # refused before reading a single byte of the body
    collector = _PhotoCollector(limit)
    received = 0
    try:
        # Built inside the try: the parser itself refuses some forms (a boundary over 256 bytes).
        parser = MultipartParser(boundary, collector.callbacks())
        started = anyio.current_time()
        # One deadline for the whole body that moves on with every byte received, so waiting
        # for the next chunk is bounded too, not just the time between chunks.
        with anyio.CancelScope(deadline=started + UPLOAD_GRACE_S) as pace:
            async for chunk in body:
                received += len(chunk)
                if received > limit + FORM_OVERHEAD:
                    raise too_large(limit)
                pace.deadline = started + UPLOAD_GRACE_S + received / UPLOAD_MIN_BYTES_PER_S
                parser.write(chunk)
        if pace.cancelled_caught:
            raise too_slow(UPLOAD_MIN_BYTES_PER_S)
        parser.finalize()
        if not collector.complete:
            raise MultipartParseError("no closing boundary")
    except (ApiError, FormParserError, ClientDisconnect) as err:  # FormParserError: any parser refusal
        if collector.upload:
            collector.upload.close()
        if isinstance(err, ApiError):
            raise
        if isinstance(err, ClientDisconnect):
            raise ApiError(400, "upload_interrupted", "The upload was interrupted; please send the photo again.") from None
        raise ApiError(400, "malformed_form", "The upload form is malformed or was cut off; please send it again.") from None
    upload = collector.upload
    if upload is None:
        raise ApiError(422, "no_file", f"No photo was sent: put the image in a form field named '{FIELD}'.")
    if upload.size == 0:
        upload.close()
        raise ApiError(400, "empty_file", f"{upload.filename} is empty (0 bytes). Choose a photo.")
    upload.file.seek(0)
    return upload
