"""The JSON the API speaks, as pydantic models: they validate responses and document them."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LabelProbability(BaseModel):
    label: str = Field(description="genus code, e.g. 'Cu'", examples=["Cu"])
    name: str = Field(description="genus name", examples=["cumulus"])
    probability: float = Field(ge=0, le=1, examples=[0.91])


class LevelProbability(BaseModel):
    level: Literal["high", "middle", "low"] = Field(examples=["low"])
    probability: float = Field(ge=0, le=1, description="the probabilities of its genera, summed", examples=[0.86])


class ModelInfo(BaseModel):
    name: str = Field(examples=["cloudatlas-efficientnet_lite0"])
    version: str = Field(examples=["0.1.0"])


class ClassifyResponse(BaseModel):
    verdict: Literal["cloud", "clear_sky", "not_sky"] = Field(
        description="'cloud': a sky photo with clouds, the genus is the answer; 'clear_sky': a sky with no "
                    "cloud to name; 'not_sky': not a sky photo, the genus is only a forced guess",
        examples=["cloud"])
    is_cloud: bool | None = Field(
        description="true exactly when verdict is 'cloud'; null when the model has no gate")
    cloud_score: float | None = Field(
        description="the sky gate's score in [0, 1]: below cloud_threshold the verdict is 'not_sky'",
        examples=[0.98])
    cloud_threshold: float | None = Field(default=None, description="the sky gate's calibrated threshold")
    clear_sky_score: float | None = Field(
        default=None, description="the clear-sky gate's score in [0, 1]: at or above clear_sky_threshold "
                                  "a sky photo's verdict is 'clear_sky'", examples=[0.02])
    clear_sky_threshold: float | None = Field(default=None, description="the clear-sky gate's threshold")
    predictions: list[LabelProbability] = Field(description="every genus, most likely first")
    confidence: Literal["very_likely", "likely", "unsure"] = Field(
        description="how sure the top genus is, in words that follow the model's measured precision: "
                    "'very_likely' answers were right at least 9 times in 10 on validation photos, 'likely' "
                    "7 in 10", examples=["likely"])
    levels: list[LevelProbability] = Field(default_factory=list, description="high / middle / low, most likely first")
    level: Literal["high", "middle", "low"] | None = Field(default=None, description="the most likely level")
    level_confidence: Literal["very_likely", "likely", "unsure"] | None = Field(
        default=None, description="the same words for the level, from the level's own measured precision")
    headline: str = Field(description="the answer in one line, as the page says it",
                          examples=["A low cloud: stratocumulus or stratus?"])
    model: ModelInfo
    elapsed_ms: float = Field(description="server time for this request, upload included", examples=[41.2])
    cam: str | None = Field(
        default=None,
        description="with ?cam=true: where the model looked for the top genus, a small PNG heat map "
                    "(data URL, transparent where cold) covering the centre square the model saw")


class Genus(BaseModel):
    code: str = Field(examples=["Cu"])
    name: str = Field(examples=["cumulus"])
    level: str | None = Field(description="altitude of the cloud base", examples=["low (below 2 km)"])
    look: str | None = Field(description="what it looks like")
    precipitation: str | None = Field(description="whether it brings rain or snow")
    weather: str | None = Field(default=None, description="what this cloud usually tells of the weather to come")


class LabelsResponse(BaseModel):
    labels: list[Genus]


class RuntimeFile(BaseModel):
    """onnxruntime-web's WebAssembly binary, the other large download of a first visit."""
    url: str = Field(description="where to fetch it (its URL carries the hash, like the model's)",
                     examples=["/static/vendor/ort/ort-wasm-simd-threaded.wasm?v=8c1d2e3f4a5b"])
    sha256: str = Field(description="hash of the binary: the key of the browser's copy")
    bytes: int = Field(description="size as downloaded (gzip-compressed)", examples=[3659927])
    decoded_bytes: int = Field(description="size once decompressed", examples=[14239897])


class ModelFile(BaseModel):
    """What a browser needs to run the model itself: the file, and how to read its outputs."""
    name: str = Field(examples=["cloudatlas-efficientnet_lite0"])
    version: str = Field(examples=["0.1.0"])
    sha256: str = Field(description="hash of the model file: a new file is a new model for every cache")
    url: str = Field(description="where to fetch the file (its URL carries the hash, so caches never mix "
                                 "two models)", examples=["/model.onnx?v=3f2a9c0d1e4b"])
    bytes: int = Field(description="size of the file", examples=[19431726])
    img_size: int = Field(description="the model's input is uint8 RGB [N, img_size, img_size, 3]", examples=[320])
    input: str = Field(description="name of the input tensor", examples=["image"])
    outputs: list[str] = Field(description="names of the output tensors",
                               examples=[["probabilities", "embedding", "cam", "cloud_score"]])
    labels: list[str] = Field(description="genus codes, in the order of the probabilities")
    names: list[str] = Field(description="genus names, in the same order")
    cloud_threshold: float | None = Field(description="the sky gate's threshold (null: no gate)")
    clear_sky_threshold: float | None = Field(description="the clear-sky gate's threshold (null: no clear-sky gate)")
    thresholds: dict[str, dict[str, float]] = Field(
        description="the probabilities at which answers become 'very_likely' and 'likely', for the genus and "
                    "for the level (measured on validation photos)",
        examples=[{"genus": {"very_likely": 0.74, "likely": 0.47}, "level": {"very_likely": 0.88, "likely": 0.63}}])
    levels: dict[str, list[str]] = Field(description="the genera of each level",
                                         examples=[{"high": ["Ci", "Cc", "Cs", "Ct"]}])
    runtime: RuntimeFile | None = Field(default=None, description="the runtime the page runs the model with "
                                                                  "(null: not built; see `make vendor`)")


class HealthResponse(BaseModel):
    status: str = Field(examples=["ok"])
    model: ModelInfo
    gate: bool = Field(description="whether the model can tell cloud photos from other images")
    labels: int


class ErrorResponse(BaseModel):
    status: int = Field(examples=[415])
    error: str = Field(description="a stable code for programs", examples=["not_an_image"])
    message: str = Field(description="a sentence for people",
                         examples=["notes.txt is a text file, not a photo. Choose a JPEG, PNG, WebP or HEIC photo."])
