"""The classifier behind the API: decoding and inference in worker threads, a bounded number at once.

ONNX Runtime releases the GIL, so a few requests decoding and running the model in threads use
the cores while the event loop keeps accepting uploads. The limiter caps how many photos are
decoded at once, which also caps memory when 32 phones upload together.
"""
from __future__ import annotations

import base64
import io
import os
import time
from dataclasses import dataclass

import anyio
import numpy as np
from PIL import Image

from ..imageio import DEFAULT_MAX_PIXELS, ImageLoadError
from ..inference import Classifier, Prediction
from ..labels import GENERA
from .errors import ApiError, log
from .schemas import ClassifyResponse, Genus, LabelProbability, LevelProbability, ModelInfo
from .uploads import Upload

CAM_SIZE = 56  # the heat map is smooth: 56 px scaled up by the browser looks the same as 224

# ImageLoadError.reason -> (HTTP status, error code)
_STATUS = {
    "empty": (400, "empty_file"),
    "not_image": (415, "not_an_image"),
    "too_large": (422, "image_too_large"),
    "too_small": (422, "image_too_small"),
    "truncated": (422, "truncated_image"),
    "unreadable": (422, "unreadable_image"),
    "missing": (422, "unreadable_image"),
}


@dataclass
class ServiceSettings:
    max_concurrent: int = max(1, os.cpu_count() or 1)  # photos decoded and classified at once
    threads: int = 1  # ONNX Runtime threads per inference: parallelism comes from concurrent requests
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_upload_bytes: int = 20 * 1024 * 1024  # larger uploads are refused while streaming


class ClassifierService:
    def __init__(self, classifier: Classifier, settings: ServiceSettings | None = None):
        self.classifier = classifier
        self.settings = settings or ServiceSettings()
        classifier.max_pixels = self.settings.max_pixels  # the server's cap is the classifier's
        self._limiter: anyio.CapacityLimiter | None = None

    @classmethod
    def load(cls, model_path=None, settings: ServiceSettings | None = None) -> "ClassifierService":
        settings = settings or ServiceSettings()
        return cls(Classifier.load(model_path, threads=settings.threads), settings)

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        # Created lazily: a CapacityLimiter belongs to the event loop that first uses it.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.settings.max_concurrent)
        return self._limiter

    @property
    def model_info(self) -> ModelInfo:
        return ModelInfo(name=self.classifier.name, version=self.classifier.version)

    @property
    def has_gate(self) -> bool:
        return self.classifier.gate_threshold is not None

    def genera(self) -> list[Genus]:
        out = []
        for code, name in zip(self.classifier.labels, self.classifier.names):
            g = GENERA.get(code)
            out.append(Genus(code=code, name=name, level=g and g.level, look=g and g.look,
                             precipitation=g and g.precipitation, weather=g and g.weather))
        return out

    async def classify(self, upload: Upload, with_cam: bool, started: float) -> ClassifyResponse:
        pred = await anyio.to_thread.run_sync(self._predict, upload, with_cam, limiter=self.limiter)
        return ClassifyResponse(
            verdict=pred.verdict, is_cloud=pred.is_cloud, cloud_score=pred.cloud_score,
            cloud_threshold=self.classifier.gate_threshold, clear_sky_score=pred.clear_sky_score,
            clear_sky_threshold=self.classifier.clear_threshold,
            predictions=[LabelProbability(label=p.label, name=p.name, probability=p.probability)
                         for p in pred.predictions],
            confidence=pred.confidence, level=pred.level, level_confidence=pred.level_confidence,
            levels=[LevelProbability(level=s.level, probability=s.probability) for s in pred.levels],
            headline=pred.headline, model=self.model_info,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            cam=cam_data_url(pred.cam) if with_cam and pred.cam is not None else None,
        )

    def _predict(self, upload: Upload, with_cam: bool) -> Prediction:
        clf = self.classifier
        try:
            pixels = clf.preprocess(upload.file)
        except ImageLoadError as err:
            status, code = _STATUS.get(err.reason, (422, "unreadable_image"))
            raise ApiError(status, code, _friendly(str(err), err.reason)) from None
        except Exception:  # a decoder bug on a hostile file is still the file's problem, not a 500
            log.warning("decoder failed on %s", upload.filename, exc_info=True)
            raise ApiError(422, "unreadable_image", f"{upload.filename} could not be decoded as an image.") from None
        return clf.predict_pixels(pixels[None], with_cam=with_cam)[0]


def _friendly(message: str, reason: str) -> str:
    if reason == "not_image":
        return message.rstrip(".") + ". Choose a JPEG, PNG, WebP or HEIC photo."
    if reason == "truncated":
        return message.rstrip(".") + ". The upload may have been cut off; try sending it again."
    return message


# -- "where the model looked": a heat-map PNG ---------------------------------------------------
_STOPS = np.array([[0.0, 90, 0, 90], [0.35, 170, 0, 140], [0.6, 225, 30, 60], [0.8, 255, 130, 0],
                   [1.0, 255, 230, 0]], dtype=np.float32)  # value, R, G, B: purple -> red -> yellow, never sky-blue


def cam_png(cam: np.ndarray, size: int = CAM_SIZE) -> bytes:
    """[S, S] values in [0, 1] -> a small RGBA PNG, transparent where the model did not look."""
    small = Image.fromarray(np.asarray(cam, dtype=np.float32)).resize((size, size), Image.BILINEAR)
    v = np.clip(np.asarray(small), 0, 1)
    rgb = np.stack([np.interp(v, _STOPS[:, 0], _STOPS[:, i]) for i in (1, 2, 3)], axis=-1)
    alpha = np.clip((v - 0.15) / 0.85, 0, 1) ** 0.8 * 200
    rgba = np.concatenate([rgb, alpha[..., None]], axis=-1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def cam_data_url(cam: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(cam_png(cam)).decode("ascii")
