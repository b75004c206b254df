"""The embedding cache belongs to the network, not to the file: refitting what sits on top of the
embedding (gates, calibration, recorded figures) keeps it; a changed network never reuses it."""
import onnx
from onnx import numpy_helper

from cloudatlas.cache import file_sha256
from cloudatlas.embeddings import EmbeddingCache, embed, embedding_fingerprint, file_item
from cloudatlas.inference import Classifier, bundled_model_path
from cloudatlas.metadata import metadata_of, set_metadata


def _copy(tmp_path, name, change):
    proto = onnx.load(str(bundled_model_path()))
    change(proto)
    out = tmp_path / name
    onnx.save(proto, str(out))
    return out


def _new_gate_and_figures(proto):
    """What `cloudatlas gate` and `evaluate --record` change: the gate's weights and the metadata."""
    gate_weight = next(t for t in proto.graph.initializer if t.name == "cloudatlas_gate/weight")
    array = numpy_helper.to_array(gate_weight).copy() * 1.5
    gate_weight.CopyFrom(numpy_helper.from_array(array, gate_weight.name))
    meta = metadata_of(proto)
    meta["metrics"] = {"note": "measured again"}
    set_metadata(proto, meta)


def _new_backbone_weight(proto):
    conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    weight = next(t for t in proto.graph.initializer if t.name == conv.input[1])
    array = numpy_helper.to_array(weight).copy()
    array.flat[0] += 0.5
    weight.CopyFrom(numpy_helper.from_array(array, weight.name))


def test_a_refitted_gate_keeps_the_fingerprint_and_a_changed_network_does_not(tmp_path):
    bundled = bundled_model_path()
    regated = _copy(tmp_path, "regated.onnx", _new_gate_and_figures)
    retrained = _copy(tmp_path, "retrained.onnx", _new_backbone_weight)
    assert file_sha256(regated) != file_sha256(bundled)
    assert embedding_fingerprint(regated) == embedding_fingerprint(bundled)
    assert embedding_fingerprint(retrained) != embedding_fingerprint(bundled)


def test_a_model_without_an_embedding_output_is_fingerprinted_by_its_file(tmp_path):
    def drop_embedding(proto):
        keep = [o for o in proto.graph.output if o.name != "embedding"]
        del proto.graph.output[:]
        proto.graph.output.extend(keep)

    bare = _copy(tmp_path, "bare.onnx", drop_embedding)
    assert embedding_fingerprint(bare) == file_sha256(bare)


def test_vectors_cached_for_one_file_are_reused_by_its_regated_copy(tmp_path, ccsn_dir):
    photos = sorted((ccsn_dir / "Cu").glob("*.jpg"))[:3]
    items = [file_item(p.name, p) for p in photos]
    first = EmbeddingCache(tmp_path / "cache", bundled_model_path())
    vectors, errors = embed(Classifier.load(), items, first)
    assert errors == [None] * 3
    regated = _copy(tmp_path, "regated.onnx", _new_gate_and_figures)
    again = EmbeddingCache(tmp_path / "cache", regated)
    assert again.path == first.path
    assert all((again.get(it) == v).all() for it, v in zip(items, vectors))
    retrained = EmbeddingCache(tmp_path / "cache", _copy(tmp_path, "retrained.onnx", _new_backbone_weight))
    assert retrained.path != first.path and retrained.get(items[0]) is None
