"""The Python inference API: ONNX Runtime, NumPy and Pillow only; importing it never imports torch.

The exported model (see ``cloudatlas.export``) takes uint8 RGB pixels ``[N, S, S, 3]`` and does
its own normalisation, so preprocessing here is just decode -> upright RGB -> centre square.
Outputs: ``probabilities [N, C]``, ``embedding [N, D]``, ``cam [N, C, h, w]`` and, when a
cloud/not-cloud gate is attached, ``cloud_score [N]``. Its metadata (labels, input size,
training data, metrics) lives inside the file under the ``cloudatlas`` key.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import ModelError
from ..imageio import DEFAULT_MAX_PIXELS, ImageLoadError, ImageSource, center_square, load_image
from ..labels import genus_name
from ..metadata import METADATA_KEY
from .answer import LevelScore, confidence_of, headline, levels_of, thresholds_of
from .verdict import verdict_of

MODEL_ENV = "CLOUDATLAS_MODEL"
BUNDLED_MODEL = "cloudatlas.onnx"


def bundled_model_path() -> Path:
    """The model shipped inside the package (override with $CLOUDATLAS_MODEL)."""
    override = os.environ.get(MODEL_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("cloudatlas") / "assets" / BUNDLED_MODEL))


@dataclass(frozen=True)
class LabelScore:
    label: str
    name: str
    probability: float


@dataclass
class Prediction:
    """Every label with its probability, best first; plus the gates' verdict.

    ``verdict`` is ``"cloud"`` (name the genus), ``"clear_sky"`` (a sky with no cloud to name) or
    ``"not_sky"`` (not a sky photo; the genus is only a forced guess). ``is_cloud`` is true exactly
    when the verdict is ``"cloud"``; None for a model without gates."""

    predictions: list[LabelScore]
    is_cloud: bool | None = None
    cloud_score: float | None = None
    file: str | None = None
    verdict: str = "cloud"
    clear_sky_score: float | None = None
    confidence: str = "unsure"            # very_likely / likely / unsure: measured precision, not a fixed cut-off
    levels: list[LevelScore] = field(default_factory=list)  # high / middle / low, most likely first
    level_confidence: str | None = None   # the same words for the top level
    cam: np.ndarray | None = field(default=None, repr=False)  # [S, S] heat map of the top label

    @property
    def label(self) -> str:
        return self.predictions[0].label

    @property
    def name(self) -> str:
        return self.predictions[0].name

    @property
    def probability(self) -> float:
        return self.predictions[0].probability

    @property
    def level(self) -> str | None:
        return self.levels[0].level if self.levels else None

    @property
    def headline(self) -> str:
        """The answer in one line: "Very likely: cumulus", "A low cloud: stratocumulus or stratus?"."""
        return headline(self.verdict, [(p.label, p.probability) for p in self.predictions], self.confidence,
                        self.levels, self.level_confidence)

    def to_dict(self, top: int | None = None) -> dict:
        out: dict = {}
        if self.file is not None:
            out["file"] = self.file
        out["predictions"] = [asdict(p) for p in self.predictions[:top]]
        out["verdict"] = self.verdict
        out["is_cloud"] = self.is_cloud
        out["cloud_score"] = self.cloud_score
        out["clear_sky_score"] = self.clear_sky_score
        out["confidence"] = self.confidence
        out["level"] = self.level
        out["level_confidence"] = self.level_confidence
        out["levels"] = [asdict(s) for s in self.levels]
        out["headline"] = self.headline
        return out


class Classifier:
    """Load once, predict many: ``Classifier.load().predict("sky.jpg").label``."""

    def __init__(self, model_path: str | os.PathLike, threads: int | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS):
        import onnxruntime as ort

        self.path = Path(model_path)
        self.max_pixels = max_pixels  # larger images are refused before they are decoded
        if not self.path.is_file():
            raise ModelError(f"Model file not found: {self.path}")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelError(f"{self.path}: not a readable ONNX model ({err}).") from None
        raw = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        if raw is None:
            raise ModelError(f"{self.path}: an ONNX model without CloudAtlas metadata.")
        self.metadata: dict = json.loads(raw)
        self.labels: list[str] = list(self.metadata["labels"])
        self.names: list[str] = [genus_name(code) for code in self.labels]
        self.img_size: int = int(self.metadata["img_size"])
        self.outputs = {o.name for o in self.session.get_outputs()}
        self.input_name = self.session.get_inputs()[0].name
        gate = self.metadata.get("gate") or {}
        self.gate_threshold: float | None = gate.get("threshold") if "cloud_score" in self.outputs else None
        clear = self.metadata.get("clear_sky") or {}
        self.clear_threshold: float | None = (clear.get("threshold") if "clear_sky_score" in self.outputs
                                              else None)
        self.thresholds = thresholds_of(self.metadata)  # the words' probabilities, genus and level

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, threads: int | None = None,
             max_pixels: int = DEFAULT_MAX_PIXELS) -> "Classifier":
        return cls(path or bundled_model_path(), threads=threads, max_pixels=max_pixels)

    @property
    def name(self) -> str:
        return self.metadata.get("name", self.path.stem)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "0"))

    # -- preprocessing -------------------------------------------------------------------------
    def preprocess(self, source: ImageSource) -> np.ndarray:
        """Decode any supported photo into the model's ``S x S x 3`` uint8 input: the one
        preprocessing every client uses (upright RGB, centre square, pixel cap, reduced-scale
        decoding). Raises :class:`ImageLoadError` with a readable message."""
        if isinstance(source, np.ndarray) and source.shape == (self.img_size, self.img_size, 3) \
                and source.dtype == np.uint8:
            return source  # already the model's input
        return center_square(load_image(source, min_size=self.img_size, max_pixels=self.max_pixels),
                             self.img_size)

    def _run(self, pixels: np.ndarray, names: Sequence[str]) -> list[np.ndarray]:
        return self.session.run(list(names), {self.input_name: pixels})

    # -- prediction ----------------------------------------------------------------------------
    def _to_predictions(self, probs: np.ndarray, scores: np.ndarray | None,
                        clear_scores: np.ndarray | None = None) -> list[Prediction]:
        out = []
        for i, row in enumerate(probs):
            order = np.argsort(-row, kind="stable")
            ranked = [LabelScore(self.labels[j], self.names[j], round(float(row[j]), 6)) for j in order]
            score = None if scores is None else round(float(scores[i]), 6)
            clear = None if clear_scores is None else round(float(clear_scores[i]), 6)
            confidence = confidence_of(ranked[0].probability, self.thresholds["genus"])
            contrail = ranked[0].label == "Ct" and confidence == "very_likely"
            verdict = verdict_of(score, clear, self.gate_threshold, self.clear_threshold, contrail)
            gated = self.gate_threshold is not None and score is not None
            levels = levels_of(self.labels, row)
            level_confidence = confidence_of(levels[0].probability, self.thresholds["level"]) if levels else None
            out.append(Prediction(ranked, is_cloud=(verdict == "cloud") if gated else None, cloud_score=score,
                                  verdict=verdict, clear_sky_score=clear, confidence=confidence, levels=levels,
                                  level_confidence=level_confidence))
        return out

    def predict_pixels(self, pixels: np.ndarray, with_cam: bool = False) -> list[Prediction]:
        """Predict a batch of preprocessed ``[N, S, S, 3]`` uint8 inputs."""
        names = ["probabilities"] + [n for n in ("cloud_score", "clear_sky_score") if n in self.outputs]
        if with_cam:
            names.append("cam")
        result = dict(zip(names, self._run(pixels, names)))
        preds = self._to_predictions(result["probabilities"], result.get("cloud_score"),
                                     result.get("clear_sky_score"))
        if with_cam:
            for pred, maps, probs in zip(preds, result["cam"], result["probabilities"]):
                pred.cam = _upsampled_heatmap(maps[int(np.argmax(probs))], self.img_size)
        return preds

    def predict(self, source: ImageSource, with_cam: bool = False) -> Prediction:
        """One photo (path, bytes, file object, PIL image or array) -> :class:`Prediction`.

        Raises :class:`ImageLoadError` with a readable message when the photo is unusable.
        """
        pred = self.predict_pixels(self.preprocess(source)[None], with_cam=with_cam)[0]
        if isinstance(source, (str, os.PathLike)):
            pred.file = str(source)
        return pred

    def predict_batch(self, sources: Iterable[ImageSource], batch_size: int = 1
                      ) -> list[Prediction | ImageLoadError]:
        """Many photos; an unreadable one yields its :class:`ImageLoadError` in its place.

        On a CPU one photo per network call is fastest (measured: 93 photos/s at 1, 68 at 32 on
        2 cores; bigger batches only thrash the cache), while threads decode the next ones."""
        sources = list(sources)
        results: list[Prediction | ImageLoadError | None] = [None] * len(sources)

        def prepare(i: int) -> np.ndarray | ImageLoadError:
            try:
                return self.preprocess(sources[i])
            except ImageLoadError as err:
                return err

        # Decoding releases the GIL: threads decode the next batch while ONNX Runtime runs the
        # network on this one (double buffering, so memory stays at two batches).
        starts = list(range(0, len(sources), batch_size))
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            submit = lambda start: [pool.submit(prepare, i) for i in range(start, min(start + batch_size, len(sources)))]
            pending = submit(starts[0]) if starts else []
            for n, start in enumerate(starts):
                current, pending = pending, (submit(starts[n + 1]) if n + 1 < len(starts) else [])
                arrays, slots = [], []
                for i, future in enumerate(current, start):
                    item = future.result()
                    if isinstance(item, ImageLoadError):
                        results[i] = item
                    else:
                        arrays.append(item)
                        slots.append(i)
                if not arrays:
                    continue
                for i, pred in zip(slots, self.predict_pixels(np.stack(arrays))):
                    if isinstance(sources[i], (str, os.PathLike)):
                        pred.file = str(sources[i])
                    results[i] = pred
        return results  # type: ignore[return-value]

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Backbone embeddings ``[N, D]`` of preprocessed ``[N, S, S, 3]`` uint8 inputs."""
        return self._run(pixels, ["embedding"])[0]

    def embed(self, sources: Iterable[ImageSource], batch_size: int = 16) -> np.ndarray:
        """Backbone embeddings ``[N, D]`` of photos; for many photos with a cache and error
        reports, use :func:`cloudatlas.embeddings.embed`."""
        sources = list(sources)
        chunks = [self.embed_pixels(np.stack([self.preprocess(s) for s in sources[i:i + batch_size]]))
                  for i in range(0, len(sources), batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)


def _upsampled_heatmap(cam: np.ndarray, size: int) -> np.ndarray:
    """Class activation map -> ``size x size`` float32 in [0, 1]."""
    from PIL import Image

    cam = np.maximum(cam, 0)
    cam = cam / cam.max() if cam.max() > 0 else cam
    img = Image.fromarray(cam.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR)
    return np.asarray(img, dtype=np.float32).clip(0, 1)
