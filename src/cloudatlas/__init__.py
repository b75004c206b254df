"""CloudAtlas: which cloud genus is in this photo? Fine-tune, evaluate, export and serve.

``from cloudatlas import Classifier`` needs only NumPy, Pillow and ONNX Runtime; the training
stages (torch) are imported only when used.
"""
__version__ = "0.1.0"

from .imageio import ImageLoadError, load_image
from .inference import Classifier, ModelError, Prediction

__all__ = ["Classifier", "ImageLoadError", "ModelError", "Prediction", "load_image", "__version__"]
