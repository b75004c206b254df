"""Plots people would rather look at than read: curves, confusion matrix, top losses.

matplotlib is not part of the runtime install (``pip install cloudatlas``: the web app, predict,
evaluate); it comes with the ``plots`` extra, which ``train`` and ``dev`` include. So it is
imported only when a figure is drawn, and its absence is one clear line, not a traceback.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import require


def _pyplot(what: str):
    matplotlib = require("matplotlib", what, "plots")
    matplotlib.use("Agg")  # files only; works on servers without a display
    import matplotlib.pyplot as plt

    return plt


def plot_confusion_matrix(cm, labels: list[str], path: str | Path, title: str = "Confusion matrix") -> Path:
    plt = _pyplot(f"the confusion-matrix plot ({Path(path).name})")
    cm = np.asarray(cm)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(labels), 0.8 + 0.55 * len(labels)), dpi=120)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 12 else 0)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("given label")
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(f"{title} (rows: recall)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_curves(history: list[dict], path: str | Path) -> Path:
    plt = _pyplot(f"the training-curve plot ({Path(path).name})")
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=110)
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["valid_loss"] for h in history], "o-", label="valid")
    ax1.set_title("loss")
    ax1.set_xlabel("epoch")
    ax1.legend()
    ax2.plot(epochs, [h["train_acc"] for h in history], "o-", label="train accuracy")
    ax2.plot(epochs, [h["valid_acc"] for h in history], "o-", label="valid accuracy")
    ax2.plot(epochs, [h["valid_macro_f1"] for h in history], "o-", label="valid macro-F1")
    for name in dict.fromkeys(k for h in history for k in h.get("watched", {})):
        ax2.plot(epochs, [h.get("watched", {}).get(name, np.nan) for h in history], "s--", label=f"{name} accuracy")
    ax2.set_ylim(0, 1)
    ax2.set_xlabel("epoch")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_reliability(bins: list[dict], path: str | Path, title: str = "Reliability") -> Path:
    """A reliability diagram: in each confidence bin, how often the answers were right (bars)
    against how sure they were (the diagonal); the bar's width shows how many answers fell there."""
    plt = _pyplot(f"the reliability diagram ({Path(path).name})")
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=120)
    ax.plot([0, 1], [0, 1], "--", color="#888888", label="claims what it knows")
    total = max(sum(b["n"] for b in bins), 1)
    for b in bins:
        width = (b["high"] - b["low"]) * 0.9
        ax.bar((b["low"] + b["high"]) / 2, b["accuracy"], width=width, color="#4a78b5",
               alpha=0.35 + 0.65 * min(1.0, 4 * b["n"] / total))
        ax.plot(b["confidence"], b["accuracy"], "o", color="#c0392b", markersize=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the top answer")
    ax.set_ylabel("share right")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def top_losses_sheet(items: list[dict], path: str | Path, thumb: int = 160, columns: int = 4) -> Path:
    """Contact sheet of the most confidently wrong photos.

    ``items``: dicts with ``path``, ``given``, ``predicted``, ``probability`` (of the prediction).
    """
    from PIL import Image, ImageDraw

    from ..imageio import ImageLoadError, center_square, load_image

    rows = max(1, -(-len(items) // columns))
    caption = 34
    sheet = Image.new("RGB", (columns * thumb, rows * (thumb + caption)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, item in enumerate(items):
        x, y = (k % columns) * thumb, (k // columns) * (thumb + caption)
        try:
            sheet.paste(Image.fromarray(center_square(load_image(item["path"], min_size=thumb), thumb)), (x, y))
        except ImageLoadError:
            draw.rectangle([x, y, x + thumb - 1, y + thumb - 1], outline="red")
        draw.text((x + 4, y + thumb + 2), f"given {item['given']}, predicted {item['predicted']}", fill="black")
        draw.text((x + 4, y + thumb + 16), f"p={item['probability']:.2f}  {Path(item['path']).name}"[:30],
                  fill="#555555")
    sheet.save(path)
    return Path(path)
