"""Fixtures of the gate tests: the bundled model and a quickly fitted gate."""
from __future__ import annotations

from pathlib import Path

import pytest

from .models import dev_model, quick_gated_model


@pytest.fixture(scope="session")
def model_base(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "models"


@pytest.fixture(scope="session")
def dev_model_path(model_base) -> Path:
    return dev_model(model_base)


@pytest.fixture(scope="session")
def quick_gate(model_base, ccsn_dir, not_cloud_dir) -> tuple[Path, dict]:
    """(model file with a gate fitted on 30 clouds vs 60 negatives, the fit's report)."""
    return quick_gated_model(model_base, ccsn_dir, not_cloud_dir)
