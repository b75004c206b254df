"""Model stage: the backbone registry; every backbone's spec says how its network is built."""
from .registry import (BackboneSpec, Structure, create_model, get_backbone, list_backbones,
                       load_backbone_weights, register_backbone)

__all__ = ["BackboneSpec", "Structure", "create_model", "get_backbone", "list_backbones",
           "load_backbone_weights", "register_backbone"]
