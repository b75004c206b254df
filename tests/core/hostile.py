"""Hostile image files, built by hand in a few milliseconds: each one a real file that a decoder
would take at its word (a tile, a frame count, an inner image), not a mock.

Shared by the decoder tests (tests/core) and the served-process tests (tests/server).
"""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def zeros_zlib(n: int, block: int = 1 << 20) -> bytes:
    """A zlib stream of ``n`` zero bytes in about n/1000 bytes, without ever holding ``n`` bytes.

    One deflate block of zeros ended with a full flush can be repeated as is; the Adler-32 of n
    zero bytes is (n mod 65521) << 16 | 1.
    """
    def deflate(size: int, mode: int) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(bytes(size)) + c.flush(mode)

    full, rest = divmod(n, block)
    tail = deflate(rest, zlib.Z_FINISH) if rest else b"\x03\x00"  # an empty final block
    return b"\x78\xda" + deflate(block, zlib.Z_FULL_FLUSH) * full + tail + struct.pack(">I", (n % 65521) << 16 | 1)


def _ifd(entries: list[tuple[int, int, int, int]], next_ifd: int, out_of_line: set[int] = frozenset()) -> bytes:
    """A little-endian TIFF directory: (tag, type, count, value); the value is the offset of the
    values for a tag in ``out_of_line`` or with more than one value, else the value itself."""
    out = struct.pack("<H", len(entries))
    for tag, kind, count, value in sorted(entries):
        inline_short = kind == SHORT and count == 1 and tag not in out_of_line
        packed = struct.pack("<HH", value, 0) if inline_short else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, count) + packed
    return out + struct.pack("<I", next_ifd)


SHORT, LONG = 3, 4


def tiff_tile_bomb(width: int = 64, height: int = 64, tile: int = 26752) -> bytes:
    """A ``width x height`` RGB TIFF of 2 MB whose one deflate tile is ``tile x tile`` pixels:
    libtiff allocates and inflates the whole tile (26752^2 x 3 bytes: 2.1 GB) whatever the
    image's size."""
    data = zeros_zlib(tile * tile * 3)
    offset = 8
    ifd_at = offset + len(data)
    entries = [(256, LONG, 1, width), (257, LONG, 1, height), (258, SHORT, 1, 8), (259, SHORT, 1, 8),
               (262, SHORT, 1, 2), (277, SHORT, 1, 3), (284, SHORT, 1, 1), (322, LONG, 1, tile),
               (323, LONG, 1, tile), (324, LONG, 1, offset), (325, LONG, 1, len(data))]
    return b"II*\x00" + struct.pack("<I", ifd_at) + data + _ifd(entries, 0)


def tiff_tiled(rgb, tile: int = 256) -> bytes:
    """The honest twin of the tile bomb: an RGB TIFF (HxWx3 uint8 array) in deflate tiles of
    ``tile`` pixels, as scanners and GIS tools write large images (Pillow cannot write tiles)."""
    height, width, _ = rgb.shape
    tiles = []
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            block = bytearray(tile * tile * 3)  # edge tiles are padded to the full tile size
            part = rgb[top:top + tile, left:left + tile]
            for row in range(part.shape[0]):
                block[row * tile * 3: row * tile * 3 + part.shape[1] * 3] = part[row].tobytes()
            tiles.append(zlib.compress(bytes(block)))
    offsets_at = 8 + sum(map(len, tiles))
    counts_at = offsets_at + 4 * len(tiles)
    bits_at = counts_at + 4 * len(tiles)
    ifd_at = bits_at + 6
    starts = [8 + sum(map(len, tiles[:i])) for i in range(len(tiles))]
    entries = [(256, LONG, 1, width), (257, LONG, 1, height), (258, SHORT, 3, bits_at), (259, SHORT, 1, 8),
               (262, SHORT, 1, 2), (277, SHORT, 1, 3), (284, SHORT, 1, 1), (322, LONG, 1, tile),
               (323, LONG, 1, tile), (324, LONG, len(tiles), offsets_at), (325, LONG, len(tiles), counts_at)]
    directory = _ifd(entries, 0, out_of_line={258})
    return (b"II*\x00" + struct.pack("<I", ifd_at) + b"".join(tiles) + struct.pack(f"<{len(tiles)}I", *starts)
            + struct.pack(f"<{len(tiles)}I", *map(len, tiles)) + struct.pack("<3H", 8, 8, 8) + directory)


def tiff_many_frames(frames: int, side: int = 32) -> bytes:
    """A grey TIFF of ``frames`` directories that all share one uncompressed strip: ~100 bytes a
    frame, so 50 000 frames are 5 MB, and a reader that counts frames walks every one."""
    strip = bytes(range(256)) * (side * side // 256 + 1)
    strip = strip[: side * side]
    strip_at = 8
    first_ifd = strip_at + len(strip)
    entries = lambda: [(256, LONG, 1, side), (257, LONG, 1, side), (258, SHORT, 1, 8), (259, SHORT, 1, 1),  # noqa: E731
                       (262, SHORT, 1, 1), (273, LONG, 1, strip_at), (277, SHORT, 1, 1),
                       (278, LONG, 1, side), (279, LONG, 1, len(strip))]
    size = len(_ifd(entries(), 0))
    ifds = b"".join(_ifd(entries(), first_ifd + (i + 1) * size if i + 1 < frames else 0) for i in range(frames))
    return b"II*\x00" + struct.pack("<I", first_ifd) + strip + ifds


def gif_many_frames(frames: int, side: int = 32) -> bytes:
    """A GIF of ``frames`` frames: one real ``side x side`` first frame, then 1x1 frames of 18 bytes."""
    buf = io.BytesIO()
    Image.new("P", (side, side), 1).save(buf, format="GIF")
    head = buf.getvalue()[:-1]  # without the trailer
    tiny = (b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 1/100 s
            + b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00"  # image descriptor: 1x1 at 0,0
            + b"\x02\x02\x44\x01\x00")  # LZW: min code size 2, one sub-block, end
    return head + tiny * (frames - 1) + b"\x3b"


def ico_holding(png: bytes, declared: int = 256) -> bytes:
    """An ICO whose directory declares a ``declared``-pixel icon but holds ``png``, whatever its size."""
    side = declared % 256  # 0 means 256 in an ICO directory
    entry = struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


def jpeg_with_exif(jpeg: bytes, exif_payload: bytes) -> bytes:
    """``jpeg`` with an APP1 Exif segment holding ``exif_payload`` right after its SOI marker."""
    segment = b"Exif\x00\x00" + exif_payload
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(segment) + 2) + segment + jpeg[2:]


def multipart_fields(n: int, boundary: str = "XX") -> bytes:
    """A form of ``n`` tiny text fields and no photo: megabytes of parts, each a few dozen bytes."""
    part = f'--{boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n'.encode()
    return part * n + f"--{boundary}--\r\n".encode()
