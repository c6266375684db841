"""Fixtures of the demo tests: a moto server, and examples/ on the import path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drift_constructs.testing.emulator import Emulator, moto_server

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES_DIR) not in sys.path:
    sys.path.insert(0, str(EXAMPLES_DIR))


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A moto server on 127.0.0.1 with drift detection, for one test."""
    with moto_server() as running:
        yield running
