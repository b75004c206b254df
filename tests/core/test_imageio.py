"""Real files of every awkward kind a phone or a folder can hand us."""
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cloudatlas.imageio import MIN_SIDE, ImageLoadError, center_square, load_image


def _save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (80, 40), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    path = _save(img, tmp_path / "rotated.jpg", exif=exif.tobytes())
    assert load_image(path).size == (40, 80)


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA", "P", "I;16", "LA"])
def test_colour_modes_become_rgb(tmp_path, mode):
    img = Image.new("RGB", (30, 30), (10, 120, 200)).convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    path = _save(img, tmp_path / f"x.{fmt.lower()}", format=fmt)
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (30, 30)


def test_transparent_png_is_composited_on_white(tmp_path):
    img = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    out = load_image(_save(img, tmp_path / "clear.png"))
    assert out.getpixel((15, 15)) == (255, 255, 255)


def test_heic_from_an_iphone_loads(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = _save(Image.new("RGB", (64, 48), (90, 140, 220)), tmp_path / "IMG_0001.HEIC", format="HEIF")
    out = load_image(path)
    assert out.size == (64, 48)
    assert abs(np.asarray(out)[24, 32, 2].astype(int) - 220) < 12


def test_large_jpeg_uses_draft_mode(tmp_path):
    path = _save(Image.new("RGB", (4000, 3000), (100, 150, 200)), tmp_path / "12mp.jpg", quality=80)
    out = load_image(path, min_size=224)
    assert min(out.size) >= 224 and out.width < 4000  # decoded at reduced DCT scale
    assert center_square(out, 224).shape == (224, 224, 3)


def test_truncated_jpeg_gets_a_clear_message(tmp_path, ccsn_dir):
    data = (ccsn_dir / "Cu" / "Cu-N001.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageLoadError, match="truncated or corrupt"):
        load_image(path)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"hello, this is not a photo\n", "text file"),
    (b"<!DOCTYPE html><html><body>404</body></html>", "HTML page"),
    (b"%PDF-1.4 binary\x00\x01\x02", "PDF"),
    (bytes(range(256)) * 4, "not an image"),
])
def test_non_images_are_named(tmp_path, content, message):
    path = tmp_path / "upload.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=message):
        load_image(path)
    if content:
        with pytest.raises(ImageLoadError, match=message):
            load_image(content)


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares a huge size: the classic decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageLoadError, match="MP limit|decompression bomb"):
        load_image(_png_header_only(50_000, 50_000))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file"):
        load_image(tmp_path / "nope.jpg")
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


def test_file_objects_arrays_and_pil_images():
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buf, format="PNG")
    buf.seek(0)
    assert load_image(buf).size == (32, 32)
    assert load_image(np.zeros((30, 35, 3), np.uint8)).size == (35, 30)
    assert load_image(Image.new("L", (30, 30))).mode == "RGB"


def _png_bytes(size) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 140, 220)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("source", [_png_bytes((1, 1)), _png_bytes((400, 10)), np.zeros((5, 7, 3), np.uint8)],
                         ids=["1x1 png", "400x10 strip", "5x7 array"])
def test_tiny_images_are_refused_as_too_small_to_show_a_sky(source):
    with pytest.raises(ImageLoadError, match="too small to show a sky") as err:
        load_image(source, min_size=224)
    assert err.value.reason == "too_small"


def test_thumbnails_at_the_minimum_side_still_load():
    assert load_image(_png_bytes((40, MIN_SIDE))).size == (40, MIN_SIDE)
