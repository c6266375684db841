"""The package's public names and what importing its light parts costs."""

from __future__ import annotations

import subprocess
import sys

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
