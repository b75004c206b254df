"""Export stage: ONNX files with metadata inside, optional int8 quantisation."""
from .onnx_export import CloudNet, build_metadata, export_onnx, read_metadata, update_metadata

__all__ = ["CloudNet", "build_metadata", "export_onnx", "read_metadata", "update_metadata"]
