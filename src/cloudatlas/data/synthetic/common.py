"""Shared pieces of the synthetic-negative renderers: the style registry, fonts, words, colours.

A renderer is ``fn(rng, width, height) -> PIL.Image`` (RGB, exactly ``width x height``). All the
randomness comes from ``rng``, so an image is a pure function of its spec (see ``SyntheticSpec``).
"""
from __future__ import annotations

import colorsys
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from PIL import Image, ImageFont

Renderer = Callable[[np.random.Generator, int, int], Image.Image]


@dataclass(frozen=True)
class Style:
    name: str
    family: str  # chart, screenshot, document, drawing, flat, noise
    render: Renderer
    heldout: bool = False  # used only to evaluate the gate, never to fit it


STYLES: dict[str, Style] = {}


def register_style(name: str, family: str, heldout: bool = False) -> Callable[[Renderer], Renderer]:
    def wrap(fn: Renderer) -> Renderer:
        STYLES[name] = Style(name, family, fn, heldout)
        return fn

    return wrap


def matplotlib_for_gate():
    """matplotlib, or one line naming the extra to install: the gate's synthetic images need it,
    and it is not part of the runtime install."""
    from ...errors import require

    return require("matplotlib", "drawing the gate's synthetic charts and screenshots", "plots")


# -- fonts: matplotlib ships the DejaVu family, so every machine that fits a gate has them ------
_FONT_FILES = {
    "sans": "DejaVuSans.ttf", "sans-bold": "DejaVuSans-Bold.ttf", "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf", "mono": "DejaVuSansMono.ttf",
}


@lru_cache(maxsize=256)
def font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    matplotlib = matplotlib_for_gate()
    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", _FONT_FILES[kind])
    return ImageFont.truetype(path, max(6, int(size)))


# -- words: enough variety for menus, titles and paragraphs -------------------------------------
WORDS = (
    "account action activity add address analysis annual app archive area average balance "
    "budget build cache calendar campaign cancel category change channel chart check clear "
    "client close cloud code column comment config contact content copy cost count create "
    "customer dashboard data date default delete deploy design detail device display document "
    "download draft edit email error event export feature file filter folder form forecast "
    "growth help history home image import inbox index input insight invoice item label layer "
    "layout level library limit list load log manage market media member menu message metric "
    "model monitor month network new note number open order output overview page panel "
    "password payment people plan policy preview price print profile project publish quarter "
    "query queue rate record refresh region release report request result revenue review role "
    "run sales save schedule search select send server service session settings share sign "
    "size source status storage submit summary support sync table task team template test "
    "text theme time title total track trend update upload user value version view weekly "
    "window workflow year the of and to in for with on by from that this is are was will "
    "can our your their new all more most other some such only over also after before"
).split()


def words(rng: np.random.Generator, n: int, capitalise: bool = False) -> str:
    text = " ".join(rng.choice(WORDS, size=max(1, n)))
    return text[:1].upper() + text[1:] if capitalise else text


def sentence(rng: np.random.Generator, lo: int = 5, hi: int = 14) -> str:
    return words(rng, int(rng.integers(lo, hi)), capitalise=True) + "."


# -- colours ------------------------------------------------------------------------------------
RGB = tuple[int, int, int]


def hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0), 1), min(max(v, 0), 1))
    return int(r * 255), int(g * 255), int(b * 255)


def any_colour(rng: np.random.Generator) -> RGB:
    return tuple(int(c) for c in rng.integers(0, 256, 3))  # type: ignore[return-value]


def accent(rng: np.random.Generator) -> RGB:
    """A saturated UI accent colour (links, buttons, highlighted rows)."""
    return hsv(rng.random(), rng.uniform(0.55, 0.9), rng.uniform(0.55, 0.9))


def light_grey(rng: np.random.Generator, lo: int = 225, hi: int = 250) -> RGB:
    v = int(rng.integers(lo, hi))
    return (v, v, min(255, v + int(rng.integers(0, 6))))


def dark_grey(rng: np.random.Generator, lo: int = 18, hi: int = 50) -> RGB:
    v = int(rng.integers(lo, hi))
    return (v, v, min(255, v + int(rng.integers(0, 8))))


def fit_to(img: Image.Image, width: int, height: int) -> Image.Image:
    """Exactly ``width x height`` RGB (renderers that work on a fixed grid round sizes)."""
    img = img.convert("RGB")
    return img if img.size == (width, height) else img.resize((width, height), Image.BILINEAR)
