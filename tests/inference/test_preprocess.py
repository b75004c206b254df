"""The Classifier owns preprocessing: decoding, orientation, centre square and the pixel cap."""
import io

import numpy as np
import pytest
from PIL import Image

from cloudatlas.imageio import ImageLoadError
from cloudatlas.inference import Classifier


@pytest.fixture(scope="module")
def clf():
    return Classifier.load()


def test_the_pixel_cap_is_the_classifiers(clf, tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (1500, 1000), (90, 140, 200)).save(path)
    capped = Classifier.load(clf.path, max_pixels=1_000_000)
    with pytest.raises(ImageLoadError) as err:
        capped.preprocess(path)
    assert err.value.reason == "too_large"
    assert clf.preprocess(path).shape == (clf.img_size, clf.img_size, 3)  # the default cap lets it through


def test_the_server_applies_its_cap_through_the_classifier(clf):
    from cloudatlas.server.service import ClassifierService, ServiceSettings

    service = ClassifierService(Classifier.load(clf.path), ServiceSettings(max_pixels=2_000_000))
    assert service.classifier.max_pixels == 2_000_000


def test_preprocessed_input_is_not_preprocessed_twice(clf):
    pixels = np.random.default_rng(0).integers(0, 255, (clf.img_size, clf.img_size, 3), dtype=np.uint8)
    assert clf.preprocess(pixels) is pixels
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    assert np.array_equal(clf.preprocess(buf.getvalue()), pixels)  # same pixels, decoded once
    assert np.allclose(clf.embed([pixels]), clf.embed_pixels(pixels[None]), atol=1e-5)
