"""CloudAtlas: which cloud genus is in this photo? Fine-tune, evaluate, export and serve.

``from cloudatlas import Classifier`` needs only NumPy, Pillow and ONNX Runtime; the training
stages (torch) are imported only when used.
"""
from .imageio import ImageLoadError, load_image
from .errors import CloudAtlasError, ModelError
from .inference import Classifier, Prediction
from .version import __version__

__all__ = ["Classifier", "CloudAtlasError", "ImageLoadError", "ModelError", "Prediction", "load_image", "__version__"]
