"""Export stage: ONNX files with metadata inside, ensembles, optional int8 quantisation."""
from .onnx_export import (CloudNet, MemberGroup, build_metadata, export_ensemble, export_onnx, read_metadata,
                          update_metadata)
from .quantize import QuantizeResult, quantize_int8

__all__ = ["CloudNet", "MemberGroup", "QuantizeResult", "build_metadata", "export_ensemble", "export_onnx",
           "quantize_int8", "read_metadata", "update_metadata"]
