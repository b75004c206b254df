"""Drawings, flat colours, noise and patterns: images with no photographic content at all."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .common import accent, any_colour, hsv, register_style


def _paper(rng: np.random.Generator) -> tuple[int, int, int]:
    if rng.random() < 0.7:
        return (255, 255, 255)
    return (int(rng.integers(235, 256)), int(rng.integers(230, 250)), int(rng.integers(215, 240)))


def _point(rng, width, height):
    return float(rng.uniform(0, width)), float(rng.uniform(0, height))


def _bezier(p0, p1, p2, p3, n: int = 24) -> list[tuple[float, float]]:
    t = np.linspace(0, 1, n)[:, None]
    pts = ((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3)
    return [tuple(p) for p in pts]


@register_style("line_drawing", "drawing")
def line_drawing(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Pen strokes: curves, polygons, circles, a house or a stick figure, on paper."""
    img = Image.new("RGB", (width, height), _paper(rng))
    d = ImageDraw.Draw(img)
    ink = (0, 0, 0) if rng.random() < 0.6 else accent(rng)
    w = max(1, int(min(width, height) / rng.uniform(80, 300)))
    for _ in range(int(rng.integers(4, 25))):
        kind = rng.integers(0, 5)
        if kind == 0:
            pts = [np.array(_point(rng, width, height)) for _ in range(4)]
            d.line(_bezier(*pts), fill=ink, width=w, joint="curve")
        elif kind == 1:
            cx, cy = _point(rng, width, height)
            r = rng.uniform(0.02, 0.2) * min(width, height)
            d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=ink, width=w)
        elif kind == 2:
            d.polygon([_point(rng, width, height) for _ in range(int(rng.integers(3, 7)))], outline=ink, width=w)
        elif kind == 3:  # a house
            x, y = _point(rng, width * 0.8, height * 0.8)
            s = rng.uniform(0.08, 0.25) * min(width, height)
            d.rectangle((x, y, x + s, y + s), outline=ink, width=w)
            d.line([(x - s * 0.1, y), (x + s / 2, y - s * 0.6), (x + s * 1.1, y)], fill=ink, width=w)
            d.rectangle((x + s * 0.4, y + s * 0.55, x + s * 0.6, y + s), outline=ink, width=w)
        else:  # a stick figure
            x, y = _point(rng, width * 0.9, height * 0.7)
            s = rng.uniform(0.05, 0.15) * min(width, height)
            d.ellipse((x - s / 3, y - s / 3, x + s / 3, y + s / 3), outline=ink, width=w)
            d.line([(x, y + s / 3), (x, y + s * 1.4)], fill=ink, width=w)
            d.line([(x - s / 2, y + s * 0.7), (x + s / 2, y + s * 0.7)], fill=ink, width=w)
            d.line([(x - s / 3, y + s * 2), (x, y + s * 1.4), (x + s / 3, y + s * 2)], fill=ink, width=w)
    return img


@register_style("cartoon", "drawing")
def cartoon(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Flat-filled shapes with thick outlines, like clip art or a comic panel."""
    bg = hsv(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.7, 1.0))
    img = Image.new("RGB", (width, height), bg)
    d = ImageDraw.Draw(img)
    outline = int(max(2, min(width, height) / rng.uniform(60, 150)))
    if rng.random() < 0.5:  # ground
        d.rectangle((0, height * rng.uniform(0.6, 0.85), width, height), fill=accent(rng), outline=(0, 0, 0),
                    width=outline)
    for _ in range(int(rng.integers(3, 12))):
        cx, cy = _point(rng, width, height)
        r = float(rng.uniform(0.05, 0.22) * min(width, height))
        fill = accent(rng)
        kind = rng.integers(0, 4)
        if kind == 0:  # a face
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill, outline=(0, 0, 0), width=outline)
            for ex in (-0.35, 0.35):
                d.ellipse((cx + ex * r - r * 0.12, cy - r * 0.35, cx + ex * r + r * 0.12, cy - r * 0.1),
                          fill=(0, 0, 0))
            d.arc((cx - r * 0.5, cy - r * 0.3, cx + r * 0.5, cy + r * 0.55), 20, 160, fill=(0, 0, 0), width=outline)
        elif kind == 1:
            d.rounded_rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), radius=int(r * 0.3), fill=fill,
                                outline=(0, 0, 0), width=outline)
        elif kind == 2:
            pts = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in np.linspace(0, 2 * np.pi, int(rng.integers(3, 9)),
                                                                                  endpoint=False)]
            d.polygon(pts, fill=fill, outline=(0, 0, 0), width=outline)
        else:  # a star
            k = 5
            pts = [(cx + (r if i % 2 == 0 else r * 0.45) * np.cos(np.pi * i / k - np.pi / 2),
                    cy + (r if i % 2 == 0 else r * 0.45) * np.sin(np.pi * i / k - np.pi / 2)) for i in range(2 * k)]
            d.polygon(pts, fill=fill, outline=(0, 0, 0), width=outline)
    return img


@register_style("flat_colour", "flat")
def flat_colour(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """One colour, a few flat blocks, or a clean linear gradient."""
    kind = rng.integers(0, 3)
    if kind == 0:
        return Image.new("RGB", (width, height), any_colour(rng))
    if kind == 1:
        img = Image.new("RGB", (width, height), any_colour(rng))
        d = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(1, 4))):
            x0, y0 = _point(rng, width, height)
            x1, y1 = _point(rng, width, height)
            d.rectangle((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), fill=any_colour(rng))
        return img
    a, b = np.array(any_colour(rng), np.float32), np.array(any_colour(rng), np.float32)
    t = np.linspace(0, 1, width if rng.random() < 0.5 else height, dtype=np.float32)
    ramp = a + (b - a) * t[:, None]
    arr = np.broadcast_to(ramp[None], (height, width, 3)) if len(t) == width else \
        np.broadcast_to(ramp[:, None], (height, width, 3))
    return Image.fromarray(np.ascontiguousarray(arr).astype(np.uint8))


@register_style("noise", "noise")
def noise(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Pixel noise of several kinds: Gaussian, uniform, salt-and-pepper, a coarse colour mosaic."""
    kind = rng.integers(0, 4)
    if kind == 0:
        arr = rng.normal(rng.uniform(60, 200), rng.uniform(10, 80), (height, width, 3))
    elif kind == 1:
        arr = rng.uniform(0, 255, (height, width, 1 if rng.random() < 0.3 else 3)) * np.ones(3)
    elif kind == 2:
        arr = np.full((height, width, 3), rng.uniform(0, 255, 3))
        mask = rng.random((height, width))
        arr[mask < 0.05] = 0
        arr[mask > 0.95] = 255
    else:
        cells = int(rng.integers(4, 40))
        small = rng.integers(0, 256, (cells, max(1, cells * width // height), 3), dtype=np.uint8)
        return Image.fromarray(small).resize((width, height), Image.NEAREST)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


@register_style("pattern", "noise", heldout=True)
def pattern(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Regular tilings: stripes, checkerboards, polka dots."""
    a, b = accent(rng), any_colour(rng)
    period = int(rng.integers(6, max(8, min(width, height) // 4)))
    y, x = np.mgrid[0:height, 0:width]
    kind = rng.integers(0, 3)
    if kind == 0:
        angle = rng.uniform(0, np.pi)
        mask = ((x * np.cos(angle) + y * np.sin(angle)) // (period / 2)) % 2 == 0
    elif kind == 1:
        mask = ((x // period) + (y // period)) % 2 == 0
    else:
        mask = ((x % period - period / 2) ** 2 + (y % period - period / 2) ** 2) < (period * 0.3) ** 2
    return Image.fromarray(np.where(mask[..., None], np.array(a, np.uint8), np.array(b, np.uint8)))
