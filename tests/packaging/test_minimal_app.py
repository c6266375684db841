"""The README's minimal example synthesizes to the resources it describes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
MINIMAL_APP = REPOSITORY / "examples" / "minimal_app.py"
SYNTH_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    output = tmp_path_factory.mktemp("cdk.out")
    result = subprocess.run(
        [sys.executable, str(MINIMAL_APP)],
        cwd=MINIMAL_APP.parent,
        env={**os.environ, "CDK_OUTDIR": str(output)},
        capture_output=True,
        text=True,
        check=False,
        timeout=SYNTH_TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(
        (output / "DriftMinimal-dev.template.json").read_text()
    )
    return document


def _resources(template: dict[str, object]) -> dict[str, dict[str, object]]:
    resources = template["Resources"]
    assert isinstance(resources, dict)
    return resources


def test_minimal_app_resource_counts(template: dict[str, object]) -> None:
    counts = Counter(resource["Type"] for resource in _resources(template).values())
    assert counts["AWS::DynamoDB::Table"] == 1
    assert counts["AWS::S3::Bucket"] == 1
    assert counts["AWS::SNS::Topic"] == 1
    assert counts["AWS::Events::Rule"] == 3
    assert counts["AWS::EC2::VPCEndpoint"] == 0


def test_minimal_app_handlers(template: dict[str, object]) -> None:
    handlers = {
        resource["Properties"]["Handler"]  # type: ignore[index]
        for resource in _resources(template).values()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    assert "drift_runtime.update_handler.handler" in handlers
    assert "drift_runtime.validator.handler" in handlers


def test_minimal_app_ignore_rule(template: dict[str, object]) -> None:
    [validator] = [
        resource
        for resource in _resources(template).values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"]["Handler"]  # type: ignore[index]
        == "drift_runtime.validator.handler"
    ]
    variables = validator["Properties"]["Environment"]["Variables"]  # type: ignore[index]
    rules = json.loads(variables["DRIFT_IGNORE_RULES"])
    assert rules == [
        {
            "reason": "Tags are managed by the organization's tagging policy",
            "property_path": "/Tags",
        }
    ]
