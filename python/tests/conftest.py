"""Paths to the repository's models, shared by the tests."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def resnet18() -> Path:
    return ROOT / "examples" / "resnet18.onnx"


@pytest.fixture
def fixtures() -> Path:
    return ROOT / "tests" / "fixtures"
