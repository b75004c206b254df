"""Confidence that claims only what it knows: a post-hoc calibrator inside the model file.

    probabilities -> Log -> Div(T) -> Add(b) -> Softmax -> probabilities

``T`` (temperature) softens an overconfident network; ``b`` is an optional shift of each genus'
log prior towards the class frequencies of the calibration photos (label shift: the photos
people take are not distributed like the training mixture), ``b = a * log(prior_cal / prior_train)``
for the genera those photos show (0 for the others, so a genus they lack, such as contrails in an
atlas, keeps its odds). ``T`` and ``a`` minimise the negative log-likelihood of the calibration
photos. The nodes go into the ONNX graph, so Python, the server and the phone all read the same
calibrated probabilities.

Then the words: the lowest probability at which the calibration photos' answers were right at
least 9 times in 10 becomes ``very_likely``, 7 in 10 ``likely`` (for the genus, and for the level
with probabilities summed per level); ``inference.answer`` reads them from the metadata.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..config import CalibrationConfig, Recipe
from ..data.assemble import AssembledData, SourcedSample, assemble
from ..errors import DataError
from ..evaluate.metrics import level_probabilities, probability_report
from ..labels import LEVEL_OF
from ..metadata import metadata_of, save_atomic, set_metadata

PREFIX = "cloudatlas_calibration/"
TEMPERATURES = np.exp(np.linspace(np.log(0.5), np.log(4.0), 141))
PRIOR_POWERS = np.linspace(0.0, 1.0, 11)
MIN_ANSWERS = 10  # a word needs at least this many calibration answers behind it


@dataclass
class Calibration:
    temperature: float
    bias: list[float]                          # per label, added to the tempered log probabilities
    prior_power: float = 0.0
    thresholds: dict = field(default_factory=dict)  # {"genus": {"very_likely", "likely"}, "level": {...}}
    fitted_on: dict = field(default_factory=dict)   # part -> photos
    before: dict = field(default_factory=dict)       # figures on the calibration photos, before and after
    after: dict = field(default_factory=dict)
    cross_fitted: dict = field(default_factory=dict)  # after, fitted on one half and measured on the other

    def apply(self, probs: np.ndarray) -> np.ndarray:
        return apply(probs, self.temperature, np.asarray(self.bias))

    def to_metadata(self) -> dict:
        out = asdict(self)
        for k in ("before", "after", "cross_fitted"):
            out[k] = {m: v for m, v in out[k].items() if m != "reliability"}
        return out


def apply(probs: np.ndarray, temperature: float, bias: np.ndarray) -> np.ndarray:
    z = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1)) / temperature + bias
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1)).mean())


def prior_shift(y: np.ndarray, train_prior: np.ndarray) -> np.ndarray:
    """log(prior of the calibration photos / training prior) for the genera they show; 0 elsewhere."""
    counts = np.bincount(y, minlength=len(train_prior)).astype(np.float64)
    shown = counts > 0
    cal = (counts + 0.5) / (counts + 0.5)[shown].sum()  # a half count: a genus seen once is not a certainty
    shift = np.zeros(len(train_prior))
    shift[shown] = np.log(cal[shown] / np.maximum(train_prior[shown], 1e-6))
    shift[shown] -= shift[shown].mean()  # softmax ignores a constant: the unshown genera stay where they were
    return shift


def fit_temperature(probs: np.ndarray, y: np.ndarray, train_prior: np.ndarray | None,
                    max_prior_power: float = 1.0) -> tuple[float, float, np.ndarray]:
    """(T, a, bias) minimising the NLL on a grid (two parameters: no optimiser needed); the prior
    shift's power ``a`` at most ``max_prior_power``."""
    shift = prior_shift(y, train_prior) if train_prior is not None else np.zeros(probs.shape[1])
    powers = [a for a in PRIOR_POWERS if a <= max_prior_power + 1e-9] if train_prior is not None else [0.0]
    best = min(((_nll(apply(probs, t, a * shift), y), t, a) for t in TEMPERATURES for a in powers))
    _, t, a = best
    return float(t), float(a), a * shift


def word_thresholds(confidence: np.ndarray, correct: np.ndarray, targets: dict[str, float]) -> dict[str, float]:
    """For each word, the lowest probability whose answers (that one and all surer ones) were right
    at least the target share of the time, with at least MIN_ANSWERS of them; 1.01 (never) if none."""
    order = np.argsort(-confidence, kind="stable")
    c, ok = confidence[order], correct[order].astype(float)
    precision = np.cumsum(ok) / np.arange(1, len(ok) + 1)
    out = {}
    for word, target in targets.items():
        good = [i for i in range(MIN_ANSWERS - 1, len(c)) if precision[i] >= target]
        out[word] = round(float(c[good[-1]]), 4) if good else 1.01
    return out


def thresholds_for(probs: np.ndarray, y: np.ndarray, labels: list[str], config: CalibrationConfig) -> dict:
    targets = {"very_likely": config.very_likely, "likely": config.likely}
    out = {"genus": word_thresholds(probs.max(1), probs.argmax(1) == y, targets)}
    if all(label in LEVEL_OF for label in labels):
        names, levels = level_probabilities(probs, labels)
        truth = np.array([names.index(LEVEL_OF[labels[j]]) for j in y])
        out["level"] = word_thresholds(levels.max(1), levels.argmax(1) == truth, targets)
    return out


def _summary(probs: np.ndarray, y: np.ndarray, labels: list[str]) -> dict:
    r = probability_report(probs, y, labels)
    confident = probs.max(1) >= 0.8
    r["at_80_percent"] = {"share": round(float(confident.mean()), 4),
                          "right": round(float((probs.argmax(1) == y)[confident].mean()), 4) if confident.any() else None}
    return r


def calibration_photos(data: AssembledData, config: CalibrationConfig) -> list[SourcedSample]:
    photos = [s for part in config.parts for s in data.part(part)]
    if not photos:
        raise DataError(f"[calibration] parts {config.parts} hold no photos")
    return photos


def fit_calibration(probs: np.ndarray, y: np.ndarray, labels: list[str], config: CalibrationConfig,
                    train_prior: np.ndarray | None, seed: int = 0) -> Calibration:
    """Temperature (and prior shift), thresholds, and honest figures: the same fit made on one half
    of the photos and measured on the other, both ways."""
    t, a, bias = fit_temperature(probs, y, train_prior, config.max_prior_power)
    calibrated = apply(probs, t, bias)
    halves = np.random.default_rng(seed).permutation(len(y)) % 2
    crossed = np.zeros_like(calibrated)
    for h in (0, 1):
        fit, held = halves != h, halves == h
        th, _, bh = fit_temperature(probs[fit], y[fit], train_prior, config.max_prior_power)
        crossed[held] = apply(probs[held], th, bh)
    return Calibration(temperature=round(t, 4), bias=[round(float(b), 4) for b in bias], prior_power=round(a, 2),
                       thresholds=thresholds_for(calibrated, y, labels, config),
                       before=_summary(probs, y, labels), after=_summary(calibrated, y, labels),
                       cross_fitted=_summary(crossed, y, labels))


def add_calibration_nodes(proto, temperature: float, bias: np.ndarray) -> None:
    """Make the graph's ``probabilities`` output the calibrated probabilities (replacing any
    earlier calibration)."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    raw = PREFIX + "raw_probabilities"
    producer = next((n for n in graph.node if PREFIX + "softmax" == n.name), None)
    if producer is not None:  # calibrated before: start again from the network's own output
        for node in [n for n in graph.node if n.name.startswith(PREFIX)]:
            graph.node.remove(node)
        for init in [i for i in graph.initializer if i.name.startswith(PREFIX)]:
            graph.initializer.remove(init)
    else:
        for node in graph.node:
            node.output[:] = [raw if o == "probabilities" else o for o in node.output]
            node.input[:] = [raw if i == "probabilities" else i for i in node.input]
    t = lambda name: PREFIX + name
    graph.initializer.extend([numpy_helper.from_array(np.array([temperature], np.float32), t("temperature")),
                              numpy_helper.from_array(np.asarray(bias, np.float32).reshape(1, -1), t("bias")),
                              numpy_helper.from_array(np.array([1e-12], np.float32), t("floor"))])
    graph.node.extend([
        helper.make_node("Max", [raw, t("floor")], [t("floored")], name=t("max")),
        helper.make_node("Log", [t("floored")], [t("log")], name=t("log")),
        helper.make_node("Div", [t("log"), t("temperature")], [t("tempered")], name=t("div")),
        helper.make_node("Add", [t("tempered"), t("bias")], [t("shifted")], name=t("add")),
        helper.make_node("Softmax", [t("shifted")], ["probabilities"], name=t("softmax"), axis=1),
    ])


def write_calibration(model_path: str | os.PathLike, calibration: Calibration,
                      out_path: str | os.PathLike | None = None) -> Path:
    import onnx

    proto = onnx.load(str(model_path))
    add_calibration_nodes(proto, calibration.temperature, np.asarray(calibration.bias))
    onnx.checker.check_model(proto)
    meta = metadata_of(proto)
    meta["calibration"] = calibration.to_metadata()
    set_metadata(proto, meta)
    return save_atomic(proto, out_path or model_path)


def uncalibrated(model_path: Path) -> Path:
    """The model as the network computes it: a copy without any calibration nodes."""
    import tempfile

    import onnx

    proto = onnx.load(str(model_path))
    if not any(n.name.startswith(PREFIX) for n in proto.graph.node):
        return model_path
    for node in [n for n in proto.graph.node if n.name.startswith(PREFIX)]:
        proto.graph.node.remove(node)
    for node in proto.graph.node:
        node.output[:] = ["probabilities" if o == PREFIX + "raw_probabilities" else o for o in node.output]
    for init in [i for i in proto.graph.initializer if i.name.startswith(PREFIX)]:
        proto.graph.initializer.remove(init)
    tmp = Path(tempfile.mkdtemp(prefix="cloudatlas-raw-")) / model_path.name
    return save_atomic(proto, tmp)


def calibrate(model_path: str | os.PathLike, recipe: Recipe | str | os.PathLike, *, data: AssembledData | None = None,
              config: CalibrationConfig | None = None, train_prior: np.ndarray | None = None,
              out_path: str | os.PathLike | None = None) -> Calibration:
    """Fit the calibration of ``model_path`` on the recipe's ``[calibration]`` parts (or ``config``)
    and, with ``out_path``, write it into the model. ``train_prior``: the training mixture's class
    shares (default: what the trainer recorded in the model); with it, the prior shift is fitted too."""
    from ..evaluate import evaluate_samples
    from ..inference import Classifier

    recipe = Recipe.of(recipe)
    config = config or recipe.calibration or CalibrationConfig()
    data = data or assemble(recipe)
    photos = calibration_photos(data, config)
    raw = uncalibrated(Path(model_path))
    clf = Classifier.load(raw)
    if train_prior is None and clf.metadata.get("training", {}).get("label_prior"):
        train_prior = np.asarray(clf.metadata["training"]["label_prior"])  # recorded by the trainer
    result = evaluate_samples(clf, photos, "calibration", progress=False)
    labels = result.report.labels
    y = np.array([labels.index(s.label) for s in result.samples])
    calibration = fit_calibration(result.probabilities, y, labels, config, train_prior)
    calibration.fitted_on = {part: len(data.part(part)) for part in config.parts}
    if out_path is not None:
        write_calibration(raw, calibration, out_path)
    return calibration
