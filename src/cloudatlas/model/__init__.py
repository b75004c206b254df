"""Model stage: the backbone registry and the network CloudAtlas trains and exports."""
from .registry import (BackboneSpec, create_model, get_backbone, list_backbones,
                       load_backbone_weights, register_backbone)

__all__ = ["BackboneSpec", "create_model", "get_backbone", "list_backbones",
           "load_backbone_weights", "register_backbone"]
