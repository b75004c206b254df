"""Charts as people screenshot and share them: matplotlib figures of many kinds and themes.

The seed of CloudAtlas called a confusion-matrix screenshot "cirrostratus"; plots are the
non-photos an ML-minded user is most likely to try, so they get several styles of their own.
Figures are drawn with the object-oriented API (``Figure`` + Agg canvas): no pyplot state.
"""
from __future__ import annotations

import warnings

import numpy as np
from PIL import Image

from ...labels import GENERA
from .common import fit_to, matplotlib_for_gate, register_style, words

MPL_THEMES = ("default", "default", "ggplot", "bmh", "fivethirtyeight", "dark_background",
              "classic", "seaborn-v0_8-whitegrid", "seaborn-v0_8-darkgrid", "Solarize_Light2",
              "grayscale", "tableau-colorblind10")
CMAPS = ("Blues", "viridis", "Greens", "Oranges", "magma", "YlGnBu", "plasma", "Purples",
         "cividis", "RdBu_r", "coolwarm", "inferno")


def _figure(rng: np.random.Generator, width: int, height: int):
    from matplotlib.figure import Figure

    dpi = float(rng.choice([72, 96, 120, 150]))
    return Figure(figsize=(width / dpi, height / dpi), dpi=dpi)


def _render(rng: np.random.Generator, width: int, height: int, draw) -> Image.Image:
    """Draw with ``draw(fig, rng)`` under a random matplotlib theme; rasterise at the size."""
    matplotlib_for_gate()  # without the plots extra: one line naming it, not a bare ImportError
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    theme = str(rng.choice(MPL_THEMES))
    with matplotlib.style.context(theme), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tight_layout gives up on tiny figures: fine, still a chart
        fig = _figure(rng, width, height)
        canvas = FigureCanvasAgg(fig)
        draw(fig, rng)
        if rng.random() < 0.8:
            fig.tight_layout(pad=float(rng.uniform(0.3, 1.5)))
        canvas.draw()
        img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    return fit_to(img, width, height)


def _labels(rng: np.random.Generator, n: int) -> list[str]:
    pool = rng.choice(["words", "codes", "numbers"])
    if pool == "codes" and n <= len(GENERA):
        return list(rng.choice(sorted(GENERA), size=n, replace=False))
    if pool == "numbers":
        return [str(i) for i in range(n)]
    return [words(rng, 1) for _ in range(n)]


def _title(ax, rng: np.random.Generator, text: str | None = None) -> None:
    if rng.random() < 0.75:
        ax.set_title(text or words(rng, int(rng.integers(1, 5)), capitalise=True))


def chart_bar(fig, rng: np.random.Generator) -> None:
    ax = fig.add_subplot()
    n = int(rng.integers(3, 13))
    names = _labels(rng, n)
    groups = int(rng.integers(1, 4))
    width = 0.8 / groups
    for g in range(groups):
        values = rng.gamma(2.0, 10.0, n)
        x = np.arange(n) + g * width
        (ax.barh if rng.random() < 0.3 else ax.bar)(x, values, width, label=words(rng, 1))
    ax.set_xticks(np.arange(n) + width * (groups - 1) / 2, names, rotation=int(rng.choice([0, 45, 90])))
    if groups > 1:
        ax.legend()
    _title(ax, rng)


def chart_line(fig, rng: np.random.Generator) -> None:
    ax = fig.add_subplot()
    n = int(rng.integers(10, 200))
    x = np.arange(n)
    if rng.random() < 0.5:  # training curves: the plots an ML user screenshots most
        for name in ("train loss", "valid loss"):
            y = rng.uniform(1.5, 3) * np.exp(-x / rng.uniform(5, 60)) + rng.normal(0, 0.03, n) + \
                (0.2 if name.startswith("valid") else 0.05)
            ax.plot(x, y, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
    else:
        for _ in range(int(rng.integers(1, 5))):
            ax.plot(x, np.cumsum(rng.normal(0, 1, n)), label=words(rng, 1),
                    marker=rng.choice(["", "", "o", "."]))
        ax.set_xlabel(words(rng, 1))
    ax.legend()
    ax.grid(rng.random() < 0.6)
    _title(ax, rng)


def chart_scatter(fig, rng: np.random.Generator) -> None:
    ax = fig.add_subplot()
    for _ in range(int(rng.integers(1, 5))):
        n = int(rng.integers(20, 400))
        centre = rng.normal(0, 5, 2)
        pts = rng.normal(centre, rng.uniform(0.5, 2.5), (n, 2))
        ax.scatter(pts[:, 0], pts[:, 1], s=float(rng.uniform(4, 40)), alpha=float(rng.uniform(0.4, 1)),
                   label=words(rng, 1))
    if rng.random() < 0.5:
        ax.legend()
    ax.set_xlabel(words(rng, 1))
    ax.set_ylabel(words(rng, 1))
    _title(ax, rng)


def chart_pie(fig, rng: np.random.Generator) -> None:
    ax = fig.add_subplot()
    n = int(rng.integers(2, 8))
    props = dict(width=float(rng.uniform(0.3, 0.6))) if rng.random() < 0.4 else None
    ax.pie(rng.dirichlet(np.ones(n)), labels=_labels(rng, n), autopct="%1.0f%%", wedgeprops=props,
           startangle=float(rng.uniform(0, 360)))
    _title(ax, rng)


def chart_confusion_matrix(fig, rng: np.random.Generator) -> None:
    """Like scikit-learn's ConfusionMatrixDisplay: counts in cells, a colour bar, axis names."""
    ax = fig.add_subplot()
    n = int(rng.integers(3, 12))
    names = _labels(rng, n)
    counts = rng.poisson(rng.uniform(0.5, 5), (n, n)) + np.diag(rng.integers(10, 120, n))
    if rng.random() < 0.4:
        counts = counts / counts.sum(axis=1, keepdims=True)
    im = ax.imshow(counts, cmap=str(rng.choice(CMAPS)), interpolation="nearest")
    if rng.random() < 0.8:
        fig.colorbar(im, ax=ax)
    fmt = "{:.2f}" if counts.dtype.kind == "f" else "{:d}"
    threshold = counts.max() / 2
    for i in range(n):
        for j in range(n):
            ax.text(j, i, fmt.format(counts[i, j]), ha="center", va="center", fontsize=max(5, 14 - n),
                    color="white" if counts[i, j] > threshold else "black")
    ax.set_xticks(range(n), names, rotation=int(rng.choice([0, 45, 90])))
    ax.set_yticks(range(n), names)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    _title(ax, rng, "Confusion matrix" if rng.random() < 0.5 else None)


def chart_heatmap(fig, rng: np.random.Generator) -> None:
    ax = fig.add_subplot()
    if rng.random() < 0.5:  # correlation matrix
        n = int(rng.integers(4, 16))
        a = rng.normal(size=(n, n * 2))
        data = np.corrcoef(a)
        im = ax.imshow(data, cmap=str(rng.choice(["RdBu_r", "coolwarm", "PiYG", "BrBG"])), vmin=-1, vmax=1)
        ax.set_xticks(range(n), _labels(rng, n), rotation=90)
        ax.set_yticks(range(n), _labels(rng, n))
    else:  # a filled contour plot of a smooth function
        x, y = np.meshgrid(np.linspace(-3, 3, 120), np.linspace(-3, 3, 120))
        f = sum(rng.uniform(-1, 1) * np.exp(-((x - rng.uniform(-2, 2)) ** 2 + (y - rng.uniform(-2, 2)) ** 2)
                                             / rng.uniform(0.3, 2)) for _ in range(4))
        im = ax.contourf(x, y, f, levels=int(rng.integers(6, 20)), cmap=str(rng.choice(CMAPS)))
        if rng.random() < 0.5:
            ax.contour(x, y, f, colors="k", linewidths=0.5)
    fig.colorbar(im, ax=ax)
    _title(ax, rng)


def chart_histogram(fig, rng: np.random.Generator) -> None:
    ax = fig.add_subplot()
    for _ in range(int(rng.integers(1, 4))):
        ax.hist(rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 2), int(rng.integers(100, 3000))),
                bins=int(rng.integers(10, 60)), alpha=float(rng.uniform(0.5, 0.9)), label=words(rng, 1))
    ax.set_ylabel("count")
    if rng.random() < 0.5:
        ax.legend()
    _title(ax, rng)


def chart_box(fig, rng: np.random.Generator) -> None:
    ax = fig.add_subplot()
    n = int(rng.integers(3, 9))
    data = [rng.normal(rng.uniform(0, 10), rng.uniform(0.5, 3), 100) for _ in range(n)]
    if rng.random() < 0.5:
        ax.violinplot(data)
    else:
        ax.boxplot(data)
    ax.set_xticks(range(1, n + 1), _labels(rng, n))
    _title(ax, rng)


def chart_dashboard(fig, rng: np.random.Generator) -> None:
    """Several small panels in one figure: bars, lines, a stacked area and a matrix."""
    rows, cols = int(rng.integers(1, 3)), int(rng.integers(2, 4))
    for i in range(rows * cols):
        ax = fig.add_subplot(rows, cols, i + 1)
        kind = rng.integers(0, 4)
        x = np.arange(20)
        if kind == 0:
            ax.bar(x[:6], rng.gamma(2, 5, 6))
        elif kind == 1:
            ax.plot(x, np.cumsum(rng.normal(0, 1, 20)))
        elif kind == 2:
            ax.stackplot(x, *np.abs(rng.normal(1, 0.4, (3, 20))))
        else:
            ax.imshow(rng.random((6, 6)), cmap=str(rng.choice(CMAPS)))
        ax.set_title(words(rng, 2), fontsize=8)


def _style(name: str, draw, heldout: bool = False) -> None:
    register_style(name, "chart", heldout)(lambda rng, w, h: _render(rng, w, h, draw))


_style("bar_chart", chart_bar)
_style("line_chart", chart_line)
_style("scatter_plot", chart_scatter)
_style("pie_chart", chart_pie)
_style("confusion_matrix", chart_confusion_matrix)
_style("heatmap", chart_heatmap)
_style("histogram", chart_histogram)
_style("box_plot", chart_box, heldout=True)
_style("dashboard", chart_dashboard, heldout=True)
