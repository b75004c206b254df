"""Every registered backbone, exported, computes the network that was trained.

Each backbone's spec describes its structure (stem, blocks, neck, head); the exported graph,
the frozen lower blocks, the learning-rate groups and the feature probe are all cut where the
spec says. With random weights and a tiny input, the ONNX file's probabilities and embedding
must equal the torch model's own (``softmax(model(x))``) for every backbone, EfficientNet or not.
"""
import numpy as np
import pytest
import torch

from cloudatlas.inference import Classifier
from cloudatlas.metadata import build_metadata
from cloudatlas.model import get_backbone, list_backbones

SIZE = 64


@pytest.fixture(scope="module")
def pixels():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(3, SIZE, SIZE, 3), dtype=np.uint8)


def _torch_input(spec, pixels):
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1) * 255
    std = torch.tensor(spec.std).view(1, 3, 1, 1) * 255
    return (x - mean) / std


def test_the_registry_has_backbones_of_several_families():
    names = list_backbones()
    assert {"efficientnet_lite0", "mobilenetv3_large_100", "resnet18", "convnext_tiny"} <= set(names)


@pytest.mark.parametrize("arch", list_backbones())
def test_exported_onnx_computes_the_torch_model(arch, pixels, tmp_path):
    from cloudatlas.export import export_onnx

    spec = get_backbone(arch)
    torch.manual_seed(0)
    model = spec.create(4, weights=None).eval()
    with torch.no_grad():  # a head that tells the classes apart, whatever the scale of the features
        scale = model.forward_head(spec.structure.features(model, _torch_input(spec, pixels)), pre_logits=True).std()
        torch.nn.init.normal_(model.get_classifier().weight, std=float(1 / (scale + 1e-6)))
    meta = build_metadata(["a", "b", "c", "d"], SIZE, arch, spec.mean, spec.std)
    path = export_onnx(model, tmp_path / f"{arch}.onnx", meta)
    clf = Classifier.load(path)
    probs, embedding, cam = clf.session.run(["probabilities", "embedding", "cam"], {"image": pixels})
    with torch.no_grad():
        x = _torch_input(spec, pixels)
        expected = torch.softmax(model(x), dim=1).numpy()
        features = spec.structure.features(model, x)
        expected_embedding = model.forward_head(features, pre_logits=True).numpy()
    np.testing.assert_allclose(probs, expected, atol=2e-5)
    np.testing.assert_allclose(embedding, expected_embedding, atol=2e-4, rtol=1e-4)
    assert cam.shape[:2] == (3, 4) and np.isfinite(cam).all()
    assert probs.std(axis=1).max() > 0.05  # the classes really differ: a test with teeth


@pytest.mark.parametrize("arch", list_backbones())
def test_the_structure_cuts_every_backbone_where_training_needs_it(arch):
    """lower + upper == the whole network; the learning-rate groups hold every trainable weight once."""
    from cloudatlas.config import StudentConfig
    from cloudatlas.train.learner import SplitModel

    spec = get_backbone(arch)
    torch.manual_seed(0)
    model = spec.create(3, weights=None).eval()
    blocks = len(spec.structure.block_list(model))
    frozen = min(2, blocks - 1)
    net = SplitModel(model, spec.structure, frozen)
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        np.testing.assert_allclose(net(x).numpy(), model(x).numpy(), atol=1e-5)
    groups = net.trainable_groups()
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids))  # no weight in two groups
    lower = {id(p) for m in net.lower_modules() for p in m.parameters()}
    assert set(ids) | lower == {id(p) for p in model.parameters()}  # and none forgotten
    assert groups[-1] == list(model.get_classifier().parameters())
    assert StudentConfig(arch=arch).arch == arch


@pytest.mark.parametrize("arch", ["efficientnet_lite0", "mobilenetv3_large_100", "convnext_tiny"])
def test_the_feature_probe_works_for_every_structure(arch, pixels, tmp_path, monkeypatch):
    from cloudatlas.teacher.probe import export_probe

    path = export_probe(arch, SIZE, tmp_path / "probe.onnx")
    clf = Classifier.load(path)
    embedding = clf.embed_pixels(pixels)
    assert embedding.shape[0] == 3 and embedding.shape[1] > 100 and np.isfinite(embedding).all()
