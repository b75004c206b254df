"""Screens and pages: app screenshots, documents, spreadsheets, code, chats (drawn with Pillow).

Layouts are built from the parts real screens share (bars, panels, lists, wrapped text, cards)
at a random UI scale, so the gate learns "flat regions with text", not one template.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .common import (accent, dark_grey, fit_to, font, light_grey, register_style, sentence,
                     words)


def _theme(rng: np.random.Generator, dark_p: float = 0.3) -> dict:
    if rng.random() < dark_p:
        return dict(bg=dark_grey(rng), panel=dark_grey(rng, 35, 60), text=(225, 225, 230),
                    muted=(150, 150, 160), line=(70, 70, 80), accent=accent(rng))
    return dict(bg=light_grey(rng, 240, 256), panel=light_grey(rng, 225, 245), text=dark_grey(rng, 10, 60),
                muted=(110, 110, 120), line=(205, 205, 210), accent=accent(rng))


def _wrap(draw: ImageDraw.ImageDraw, text: str, fnt, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=fnt) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    return lines + ([line] if line else [])


def _paragraphs(draw, rng, box, fnt, colour, gap: float = 1.4) -> None:
    """Fill ``box`` with wrapped paragraphs of text."""
    x0, y0, x1, y1 = box
    y = y0
    line_h = fnt.size * gap
    while y + line_h < y1:
        text = " ".join(sentence(rng) for _ in range(int(rng.integers(1, 5))))
        for line in _wrap(draw, text, fnt, x1 - x0):
            if y + line_h > y1:
                return
            draw.text((x0, y), line, fill=colour, font=fnt)
            y += line_h
        y += line_h * 0.6


@register_style("ui_screenshot", "screenshot")
def ui_screenshot(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    t = _theme(rng)
    s = float(rng.uniform(0.8, 2.0))  # UI scale: phones and HiDPI screens draw everything bigger
    img = Image.new("RGB", (width, height), t["bg"])
    d = ImageDraw.Draw(img)
    bar = int(34 * s)
    d.rectangle((0, 0, width, bar), fill=t["panel"])
    if rng.random() < 0.5:  # window buttons
        for i, c in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
            d.ellipse((10 * s + i * 20 * s, bar / 2 - 6 * s, 22 * s + i * 20 * s, bar / 2 + 6 * s), fill=c)
    d.text((width * 0.3, bar * 0.25), words(rng, 3, True), fill=t["text"], font=font("sans", 13 * s))
    side = int(width * rng.uniform(0.12, 0.28)) if rng.random() < 0.7 else 0
    if side:
        d.rectangle((0, bar, side, height), fill=t["panel"])
        y = bar + 16 * s
        chosen = int(rng.integers(0, 6))
        for i in range(int((height - bar) / (30 * s))):
            if i == chosen:
                d.rectangle((4 * s, y - 5 * s, side - 4 * s, y + 19 * s), fill=t["accent"])
            d.text((14 * s, y), words(rng, int(rng.integers(1, 3)), True), fill=t["text"],
                   font=font("sans", 12 * s))
            y += 30 * s
    x0, y = side + 20 * s, bar + 18 * s
    d.text((x0, y), words(rng, int(rng.integers(1, 4)), True), fill=t["text"], font=font("sans-bold", 22 * s))
    y += 44 * s
    for i in range(int(rng.integers(1, 4))):  # buttons
        bx = x0 + i * 110 * s
        d.rounded_rectangle((bx, y, bx + 96 * s, y + 30 * s), radius=int(6 * s),
                            fill=t["accent"] if i == 0 else t["panel"], outline=t["line"])
        d.text((bx + 12 * s, y + 7 * s), words(rng, 1, True), fill=(255, 255, 255) if i == 0 else t["text"],
               font=font("sans", 12 * s))
    y += 50 * s
    cols = int(rng.integers(1, 4))
    card_w = (width - x0 - 20 * s * cols) / cols
    while y < height - 40 * s:
        card_h = float(rng.uniform(80, 220)) * s
        for c in range(cols):
            cx = x0 + c * (card_w + 20 * s)
            box = (cx, y, cx + card_w, min(y + card_h, height - 10))
            d.rounded_rectangle(box, radius=int(8 * s), fill=t["panel"], outline=t["line"])
            if rng.random() < 0.25 and card_w > 120 and card_h > 100:
                _embed_chart(img, rng, box, s)
            else:
                d.text((cx + 12 * s, y + 10 * s), words(rng, 2, True), fill=t["muted"], font=font("sans", 12 * s))
                d.text((cx + 12 * s, y + 30 * s), f"{rng.integers(0, 99999):,}", fill=t["text"],
                       font=font("sans-bold", 26 * s))
                _paragraphs(d, rng, (cx + 12 * s, y + 70 * s, cx + card_w - 12 * s, box[3] - 8 * s),
                            font("sans", 11 * s), t["muted"])
        y += card_h + 20 * s
    return img


def _embed_chart(img: Image.Image, rng: np.random.Generator, box, s: float) -> None:
    from .common import STYLES

    x0, y0, x1, y1 = (int(v) for v in box)
    pad = int(8 * s)
    w, h = x1 - x0 - 2 * pad, y1 - y0 - 2 * pad
    if w > 40 and h > 40:
        kind = str(rng.choice(["bar_chart", "line_chart", "pie_chart", "scatter_plot"]))
        img.paste(STYLES[kind].render(rng, w, h), (x0 + pad, y0 + pad))


@register_style("document", "document")
def document(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    paper = (255, 255, 255) if rng.random() < 0.6 else (int(rng.integers(240, 256)),) * 2 + (int(rng.integers(225, 245)),)
    viewer = rng.random() < 0.4  # a page shown inside a PDF viewer
    img = Image.new("RGB", (width, height), (82, 86, 89) if viewer else paper)
    d = ImageDraw.Draw(img)
    if viewer:
        mx, my = int(width * rng.uniform(0.05, 0.2)), int(height * 0.03)
        d.rectangle((mx, my, width - mx, height + 10), fill=paper)
        page = (mx, my, width - mx, height)
    else:
        page = (0, 0, width, height)
    pw = page[2] - page[0]
    margin = pw * rng.uniform(0.07, 0.14)
    x0, x1 = page[0] + margin, page[2] - margin
    family = str(rng.choice(["serif", "sans"]))
    body = font(family, max(8, pw / rng.uniform(45, 80)))
    ink = dark_grey(rng, 0, 40)
    y = page[1] + margin * 0.8
    d.text((x0, y), words(rng, int(rng.integers(2, 7)), True), fill=ink, font=font(family + "-bold", body.size * 1.8))
    y += body.size * 3.5
    while y < page[3] - margin:
        kind = rng.random()
        if kind < 0.15:  # a bulleted list
            for _ in range(int(rng.integers(2, 6))):
                d.ellipse((x0, y + body.size * 0.4, x0 + body.size * 0.35, y + body.size * 0.75), fill=ink)
                d.text((x0 + body.size * 1.2, y), words(rng, int(rng.integers(3, 9)), True), fill=ink, font=body)
                y += body.size * 1.5
        elif kind < 0.25:  # a small table
            rows, cols = int(rng.integers(3, 7)), int(rng.integers(2, 5))
            cw = (x1 - x0) / cols
            for r in range(rows):
                for c in range(cols):
                    cell = (x0 + c * cw, y, x0 + (c + 1) * cw, y + body.size * 1.8)
                    d.rectangle(cell, outline=ink)
                    text = words(rng, 1, True) if r == 0 else f"{rng.uniform(0, 1000):.1f}"
                    d.text((cell[0] + 4, cell[1] + body.size * 0.3), text, fill=ink, font=body)
                y += body.size * 1.8
        else:
            block_h = body.size * 1.5 * int(rng.integers(3, 9))
            _paragraphs(d, rng, (x0, y, x1, min(y + block_h, page[3] - margin)), body, ink, gap=1.5)
            y += block_h
        y += body.size * 1.5
    if rng.random() < 0.3:  # a scan: grey cast, slight blur and noise
        arr = np.asarray(img.filter(ImageFilter.GaussianBlur(0.6)), dtype=np.float32) * rng.uniform(0.85, 0.97)
        arr += rng.normal(0, 4, arr.shape)
        img = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
    return img


@register_style("spreadsheet", "screenshot", heldout=True)
def spreadsheet(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    t = _theme(rng, dark_p=0.15)
    s = float(rng.uniform(0.8, 1.8))
    img = Image.new("RGB", (width, height), t["bg"])
    d = ImageDraw.Draw(img)
    cw, rh, head = 90 * s, 22 * s, 40 * s
    fnt = font("sans", 11 * s)
    d.rectangle((0, 0, width, head), fill=t["panel"])
    d.text((10 * s, 12 * s), words(rng, 2, True), fill=t["text"], font=fnt)
    header_fill = accent(rng) if rng.random() < 0.5 else t["panel"]
    for r in range(int((height - head) / rh) + 1):
        y = head + r * rh
        for c in range(int(width / cw) + 1):
            x = 40 * s + c * cw
            cell = (x, y, x + cw, y + rh)
            if r == 0:
                d.rectangle(cell, fill=header_fill, outline=t["line"])
                d.text((x + 4 * s, y + 4 * s), words(rng, 1, True), fill=t["text"], font=fnt)
            else:
                d.rectangle(cell, outline=t["line"])
                if rng.random() < 0.8:
                    value = f"{rng.normal(1000, 800):,.2f}" if c else words(rng, 1)
                    d.text((x + 4 * s, y + 4 * s), value, fill=t["text"], font=fnt)
        d.text((6 * s, y + 4 * s), str(r + 1), fill=t["muted"], font=fnt)
    return img


@register_style("code_editor", "screenshot", heldout=True)
def code_editor(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    t = _theme(rng, dark_p=0.7)
    s = float(rng.uniform(0.8, 1.8))
    img = Image.new("RGB", (width, height), t["bg"])
    d = ImageDraw.Draw(img)
    fnt = font("mono", 13 * s)
    palette = [accent(rng) for _ in range(4)] + [t["text"]] * 3
    tabs = 30 * s
    d.rectangle((0, 0, width, tabs), fill=t["panel"])
    d.text((12 * s, 8 * s), words(rng, 1) + ".py", fill=t["text"], font=fnt)
    y, indent = tabs + 8 * s, 0
    char = d.textlength("m", font=fnt)
    for n in range(1, int((height - tabs) / (fnt.size * 1.45)) + 1):
        d.text((6 * s, y), f"{n:>3}", fill=t["muted"], font=fnt)
        x = 50 * s + indent * 4 * char
        for _ in range(int(rng.integers(0, 7))):
            token = str(rng.choice(["def", "return", "if", "for", "in", "import", "self", "=", "(", ")", ":"]
                                   + [words(rng, 1)] * 6))
            d.text((x, y), token, fill=palette[int(rng.integers(0, len(palette)))], font=fnt)
            x += (len(token) + 1) * char
        indent = int(np.clip(indent + rng.choice([-1, 0, 0, 1]), 0, 4))
        y += fnt.size * 1.45
    return img


@register_style("chat_screenshot", "screenshot", heldout=True)
def chat_screenshot(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    t = _theme(rng, dark_p=0.35)
    s = float(rng.uniform(1.0, 2.5))
    img = Image.new("RGB", (width, height), t["bg"])
    d = ImageDraw.Draw(img)
    fnt = font("sans", 14 * s)
    top = 56 * s
    d.rectangle((0, 0, width, top), fill=t["panel"])
    d.ellipse((12 * s, 10 * s, 48 * s, 46 * s), fill=accent(rng))
    d.text((60 * s, 18 * s), words(rng, 2, True), fill=t["text"], font=font("sans-bold", 15 * s))
    y = top + 12 * s
    while y < height - 70 * s:
        mine = rng.random() < 0.5
        lines = _wrap(d, sentence(rng, 2, 25), fnt, width * 0.6)
        bw = max(d.textlength(line, font=fnt) for line in lines) + 24 * s
        bh = len(lines) * fnt.size * 1.35 + 16 * s
        x = width - bw - 12 * s if mine else 12 * s
        d.rounded_rectangle((x, y, x + bw, y + bh), radius=int(14 * s),
                            fill=t["accent"] if mine else t["panel"])
        for i, line in enumerate(lines):
            d.text((x + 12 * s, y + 8 * s + i * fnt.size * 1.35), line,
                   fill=(255, 255, 255) if mine else t["text"], font=fnt)
        y += bh + 10 * s
    d.rectangle((0, height - 60 * s, width, height), fill=t["panel"])
    d.rounded_rectangle((12 * s, height - 50 * s, width - 12 * s, height - 10 * s), radius=int(20 * s),
                        fill=t["bg"], outline=t["line"])
    return fit_to(img, width, height)
