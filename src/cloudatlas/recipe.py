"""A model's recipe: one TOML file that says how to build it (torch-free to read).

    name = "cloudatlas-bundled"
    [data]      sources, weights, trust, decisions file, benchmark, validation  (data.recipe)
    [teacher]   frozen-probe backbones and their linear heads                    (teacher)
    [student]   the network that ships: TrainConfig fields (arch, img_size, epochs, ...)
    [distill]   how teacher and labels mix into the student's targets

``cloudatlas data decide RECIPE`` writes its decisions file, ``cloudatlas train --recipe RECIPE``
builds the model; see ``recipes/bundled.toml``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .data.recipe import DataRecipe, load_recipe_file
from .teacher import TeacherConfig


@dataclass
class DistillConfig:
    alpha: float = 0.5             # share of the teacher in a trusted photo's target (rest: its label)
    transfer_weight: float = 0.5   # weight of an untrusted photo (teacher targets only)
    refit: bool = True             # after choosing the epoch count, train again on train + valid
    flip_tta: bool = True          # the exported student also looks at the mirror image
    fp16_weights: bool = True      # weights stored as float16 (half the file), computed in float32


@dataclass
class Recipe:
    name: str
    path: Path
    data: DataRecipe
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    student: dict = field(default_factory=dict)  # TrainConfig fields, checked by the trainer
    distill: DistillConfig = field(default_factory=DistillConfig)

    @classmethod
    def of(cls, recipe: "Recipe | str | os.PathLike") -> "Recipe":
        """``recipe`` itself, or the recipe read from that path."""
        return recipe if isinstance(recipe, cls) else cls.load(recipe)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Recipe":
        path = Path(path).resolve()
        raw = load_recipe_file(path)
        return cls(name=raw.get("name", path.stem), path=path,
                   data=DataRecipe.from_dict(raw.get("data", {}), path.parent),
                   teacher=TeacherConfig.from_dict(raw.get("teacher", {})),
                   student=dict(raw.get("student", {})),
                   distill=DistillConfig(**raw.get("distill", {})))
