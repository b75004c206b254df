"""Teacher stage: frozen-backbone feature probes (exported once with torch, then run by ONNX
Runtime through the one embedding pipeline) and the linear heads on their features."""
from .features import embed_samples, probe_features, probe_model
from .heads import Teacher

__all__ = ["Teacher", "embed_samples", "probe_features", "probe_model"]
