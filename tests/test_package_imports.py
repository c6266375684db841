"""The package's public names and what importing its light parts costs."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import drift_constructs


def test_every_public_name_resolves() -> None:
    for name in drift_constructs.__all__:
        assert getattr(drift_constructs, name) is not None, name


def test_cli_import_skips_aws_cdk() -> None:
    code = (
        "import sys, drift_constructs.cli, drift_constructs.drift_runtime.validator; "
        "print('aws_cdk' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    assert output.strip() == "False"


def test_failed_lazy_import_names_its_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import drift_constructs

    real_import = importlib.import_module

    def failing_import(name: str, package: str | None = None) -> Any:
        if name == ".drift_member":
            raise ImportError("cannot import name 'Acknowledgment' from 'aws_cdk'")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", failing_import)
    monkeypatch.delitem(vars(drift_constructs), "DriftMember", raising=False)

    cause = r"Acknowledgment.*aws-cdk-lib and constructs"
    with pytest.raises(ImportError, match=cause):
        drift_constructs.__getattr__("DriftMember")
