"""API.md is generated from the docstrings and must match a fresh build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import drift_constructs

REPOSITORY = Path(__file__).resolve().parents[2]
COMMITTED = REPOSITORY / "API.md"
BUILD_SCRIPT = REPOSITORY / "docs" / "api" / "build.py"


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip().splitlines()]


def test_api_markdown_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "API.md"
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), str(fresh)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _lines(COMMITTED.read_text()) == _lines(fresh.read_text()), (
        "API.md is stale: run `make docs` and commit the result"
    )


def test_api_markdown_lists_all_exports() -> None:
    text = COMMITTED.read_text()
    missing = [
        name
        for name in drift_constructs.__all__
        if f"drift_constructs.{name}" not in text
    ]
    assert not missing, f"API.md does not document {missing}; run `make docs`"
