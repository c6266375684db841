"""Reference stack of examples/: names, outputs, asset contents, cfn-lint, cdk CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cfnlint import api as cfn_lint
from construct_helpers import function_named

from drift_constructs.drift_runtime import settings

EXAMPLES_DIRECTORY = Path(__file__).resolve().parents[2] / "examples"
REPOSITORY_ROOT = EXAMPLES_DIRECTORY.parent

NAMES = {
    "AWS::DynamoDB::Table": ("TableName", "infrastructure-state-tracker-qa"),
    "AWS::SNS::Topic": ("TopicName", "infrastructure-drift-alerts-qa"),
    "AWS::Events::Rule": ("Name", "infrastructure-stack-updates-qa"),
    "AWS::CloudWatch::Dashboard": ("DashboardName", "InfrastructureDrift-qa"),
}
FUNCTION_NAMES = (
    "environment-update-handler-qa",
    "infrastructure-drift-validator-qa",
    "infrastructure-drift-sweeper-qa",
)
OUTPUTS = (
    "StateTableName",
    "ConfigBucketName",
    "DriftValidationFunctionName",
    "VpcId",
    "DashboardUrl",
)


@pytest.mark.parametrize("resource_type", sorted(NAMES))
def test_resource_name(reference_template: Template, resource_type: str) -> None:
    key, name = NAMES[resource_type]
    reference_template.has_resource_properties(resource_type, {key: name})


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_name(reference_template: Template, name: str) -> None:
    assert function_named(reference_template, name)["FunctionName"] == name


def test_bucket_name(reference_template: Template) -> None:
    reference_template.has_resource_properties(
        "AWS::S3::Bucket",
        {"BucketName": "infra-config-store-qa-123456789012-us-east-1"},
    )


@pytest.mark.parametrize("output", OUTPUTS)
def test_output_export(reference_template: Template, output: str) -> None:
    reference_template.has_output(
        output, {"Export": {"Name": f"DriftConstructs-{output}-qa"}}
    )


def test_dashboard_url_output(reference_template: Template) -> None:
    reference_template.has_output(
        "DashboardUrl",
        {"Value": Match.string_like_regexp("^https://us-east-1.console.aws")},
    )


def rule_named(template: Template, name: str) -> dict[str, Any]:
    found = template.find_resources("AWS::Events::Rule", {"Properties": {"Name": name}})
    assert len(found) == 1, f"expected one rule {name}, found {sorted(found)}"
    rule: dict[str, Any] = next(iter(found.values()))
    return rule


def test_rule_targets_update_handler(reference_template: Template) -> None:
    rule = rule_named(reference_template, "infrastructure-stack-updates-qa")
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("StateTrackerUpdateHandler")


def test_status_rule_targets_validator(reference_template: Template) -> None:
    rule = rule_named(reference_template, "infrastructure-drift-status-qa")
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("DriftDetectorValidator")


def test_sweep_on_by_default(reference_template: Template) -> None:
    rule = rule_named(reference_template, "infrastructure-drift-sweep-qa")
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 day)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("DriftDetectorSweeper")


def test_not_a_hub_by_default(reference_template: Template) -> None:
    reference_template.resource_count_is("AWS::Events::EventBus", 0)
    endpoints = json.dumps(reference_template.find_resources("AWS::EC2::VPCEndpoint"))
    assert ".sts" not in endpoints


def test_update_handler_forwards(reference_template: Template) -> None:
    handler = function_named(reference_template, "environment-update-handler-qa")
    variables = handler["Environment"]["Variables"]
    assert settings.ENV_VALIDATOR_FUNCTION in variables


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (None, []),
        ("", []),
        ("210987654321", ["210987654321"]),
        (" 210987654321, ,345678901234 ", ["210987654321", "345678901234"]),
    ],
)
def test_member_accounts_from_context(context: str | None, expected: list[str]) -> None:
    from reference_stack import member_accounts_from_context

    app = cdk.App(context={} if context is None else {"memberAccounts": context})
    assert member_accounts_from_context(app.node) == expected


def test_reference_stack_as_hub() -> None:
    from reference_stack import DriftReferenceStack

    stack = DriftReferenceStack(
        cdk.App(),
        "DriftConstructsReference-qa",
        environment_suffix="qa",
        member_accounts=["210987654321"],
        env=cdk.Environment(account="123456789012", region="us-east-1"),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::EventBus", {"Name": "infrastructure-drift-hub-qa"}
    )
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint", {"ServiceName": "com.amazonaws.us-east-1.sts"}
    )
    template.has_resource_properties(
        "AWS::IAM::Role", {"RoleName": "drift-hub-updater-qa-us-east-1"}
    )
    assert stack.drift_detector.member_role_name == "drift-constructs-member-qa"


def test_asset_contains_only_runtime(reference_stack: cdk.Stack) -> None:
    assembly = reference_stack.node.root.synth()  # type: ignore[attr-defined]
    template = assembly.get_stack_artifact(reference_stack.artifact_id).template
    keys = {
        resource["Properties"]["Code"]["S3Key"]
        for resource in template["Resources"].values()
        if resource["Properties"].get("Handler", "").startswith("drift_runtime.")
    }
    assert len(keys) == 1
    asset_hash = next(iter(keys)).removesuffix(".zip")
    asset = Path(assembly.directory) / f"asset.{asset_hash}"
    top_level = sorted(path.name for path in asset.iterdir())
    assert top_level == ["drift_runtime"]
    files = [path.relative_to(asset) for path in asset.rglob("*") if path.is_file()]
    assert all(path.suffix == ".py" for path in files), files
    assert not [path for path in files if "__pycache__" in path.parts]
    assert Path("drift_runtime/update_handler.py") in files
    assert Path("drift_runtime/validator.py") in files


def test_cfn_lint_no_errors(reference_template: Template) -> None:
    text = json.dumps(reference_template.to_json())
    matches = cfn_lint.lint(text, config=cfn_lint.ManualArgs(regions=["us-east-1"]))
    errors = [str(match) for match in matches if match.rule.id.startswith("E")]
    assert errors == []


def _cli_environment(home: Path) -> dict[str, str]:
    # No credentials, config files or instance metadata: the CLI cannot resolve an
    # account, so it synthesizes an environment-agnostic stack and calls no AWS API.
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "CDK_DEFAULT_"))
    }
    environment.update(
        {
            "PATH": os.pathsep.join(
                [
                    str(REPOSITORY_ROOT / ".venv" / "bin"),
                    str(REPOSITORY_ROOT / "node_modules" / ".bin"),
                    environment.get("PATH", ""),
                ]
            ),
            "HOME": str(home),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "CDK_DISABLE_VERSION_CHECK": "true",
            "JSII_DEPRECATED": "fail",
            "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return environment


@pytest.fixture(scope="module")
def cli_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("cdk-out")
    home = tmp_path_factory.mktemp("home")
    completed = subprocess.run(
        [
            "cdk",
            "synth",
            "-c",
            "environmentSuffix=qa",
            "--no-notices",
            "--output",
            str(output),
            "--quiet",
        ],
        cwd=EXAMPLES_DIRECTORY,
        env=_cli_environment(home),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    template_path = output / "DriftConstructsReference-qa.template.json"
    parsed: dict[str, Any] = json.loads(template_path.read_text())
    return parsed


@pytest.mark.cli
@pytest.mark.slow
def test_cli_synth_names_and_outputs(cli_template: dict[str, Any]) -> None:
    text = json.dumps(cli_template)
    for _, name in NAMES.values():
        assert f'"{name}"' in text, name
    for name in FUNCTION_NAMES:
        assert f'"{name}"' in text, name
    assert "infra-config-store-qa-" in text
    for output in OUTPUTS:
        assert cli_template["Outputs"][output]["Export"]["Name"] == (
            f"DriftConstructs-{output}-qa"
        )
