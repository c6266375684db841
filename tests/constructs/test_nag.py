"""AwsSolutions rules of cdk-nag on the reference stack, a hub and a member stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks
from construct_helpers import ACCOUNT, REGION, build_hub_stack, build_member_stack

NAG_PREFIX = "AwsSolutions-"


def synth_with_nag(out_directory: Path, *, production: bool) -> Path:
    from reference_stack import DriftReferenceStack

    app = cdk.App(outdir=str(out_directory))
    DriftReferenceStack(
        app,
        "DriftConstructsReference-qa",
        environment_suffix="qa",
        production=production,
        env=cdk.Environment(account=ACCOUNT, region=REGION),
    )
    return synth_app_with_nag(app, out_directory)


def synth_app_with_nag(app: cdk.App, out_directory: Path) -> Path:
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # cdk-nag 3.0.2 makes synth raise when an unacknowledged error remains, after
    # it writes the report, so the report is read either way.
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
    return out_directory


def violations(out_directory: Path) -> list[tuple[str, str]]:
    report = json.loads((out_directory / "validation-report.json").read_text())
    found: list[tuple[str, str]] = []
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            for construct in violation["violatingConstructs"]:
                found.append((violation["ruleName"], construct["constructPath"]))
    return found


def acknowledgements(out_directory: Path) -> list[tuple[str, str, str]]:
    """Return (construct path, rule id, reason) of each AwsSolutions acknowledgement."""
    found: list[tuple[str, str, str]] = []
    for metadata_file in out_directory.glob("*.metadata.json"):
        metadata: dict[str, list[dict[str, Any]]] = json.loads(
            metadata_file.read_text()
        )
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] != "aws:cdk:acknowledged-rules":
                    continue
                for rule, reason in entry["data"].items():
                    if NAG_PREFIX in rule:
                        found.append((path, rule, reason))
    return found


@pytest.fixture(scope="module")
def test_profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield synth_with_nag(tmp_path_factory.mktemp("nag-test"), production=False)


@pytest.fixture(scope="module")
def production_profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield synth_with_nag(tmp_path_factory.mktemp("nag-production"), production=True)


@pytest.fixture(scope="module")
def hub_and_member_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out_directory = tmp_path_factory.mktemp("nag-hub")
    app = cdk.App(outdir=str(out_directory))
    # Without a network, because the network's own acknowledgement on "*" would
    # cover the functions' statements on "*" that the reference stack checks.
    build_hub_stack(app, with_network=False)
    build_member_stack(app)
    yield synth_app_with_nag(app, out_directory)


def test_test_profile_no_findings(test_profile: Path) -> None:
    assert violations(test_profile) == []


def test_production_profile_no_findings(production_profile: Path) -> None:
    assert violations(production_profile) == []


def test_hub_and_member_no_findings(hub_and_member_app: Path) -> None:
    assert violations(hub_and_member_app) == []


def test_hub_and_member_checked(hub_and_member_app: Path) -> None:
    # The rules ran on both stacks: each has acknowledged findings on its roles.
    paths = [path for path, _, _ in acknowledgements(hub_and_member_app)]
    assert any(path.startswith("/DriftHub-qa/DriftDetector/") for path in paths)
    assert any(path.startswith("/DriftMember-qa/DriftMember/") for path in paths)


def test_hub_organization_role_acknowledged(hub_and_member_app: Path) -> None:
    rules = [rule for _, rule, _ in acknowledgements(hub_and_member_app)]
    organization_role = "iam::*:role/drift-constructs-member-qa]"
    assert len([rule for rule in rules if rule.endswith(organization_role)]) == 3


def test_production_needs_fewer_acknowledgements(
    test_profile: Path, production_profile: Path
) -> None:
    assert len(acknowledgements(production_profile)) < len(
        acknowledgements(test_profile)
    )


def test_pitr_acknowledged_in_test_profile_only(
    test_profile: Path, production_profile: Path
) -> None:
    test_rules = [rule for _, rule, _ in acknowledgements(test_profile)]
    production_rules = [rule for _, rule, _ in acknowledgements(production_profile)]
    assert any(rule.endswith("AwsSolutions-DDB3") for rule in test_rules)
    assert not any(rule.endswith("AwsSolutions-DDB3") for rule in production_rules)


@pytest.mark.parametrize("profile", ["test", "production", "hub"])
def test_acknowledgements_on_resources(
    profile: str, test_profile: Path, production_profile: Path, hub_and_member_app: Path
) -> None:
    directory = {
        "test": test_profile,
        "production": production_profile,
        "hub": hub_and_member_app,
    }[profile]
    for path, rule, reason in acknowledgements(directory):
        # Never the whole stack: each acknowledgement sits on one resource.
        assert path.count("/") >= 3, (path, rule)
        assert len(reason) >= 60, (path, rule, reason)


@pytest.mark.parametrize("profile", ["test", "production", "hub"])
def test_iam5_acknowledged_per_finding(
    profile: str, test_profile: Path, production_profile: Path, hub_and_member_app: Path
) -> None:
    directory = {
        "test": test_profile,
        "production": production_profile,
        "hub": hub_and_member_app,
    }[profile]
    for _, rule, _ in acknowledgements(directory):
        if "AwsSolutions-IAM" in rule:
            assert "[" in rule, rule


def test_no_managed_policy_but_read_only(test_profile: Path) -> None:
    managed = [rule for _, rule, _ in acknowledgements(test_profile) if "IAM4" in rule]
    assert len(managed) == 1
    assert managed[0].endswith("policy/ReadOnlyAccess]")
