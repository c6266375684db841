"""Comparison of the baselines of two stacks that should be replicas."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from drift_constructs.drift_runtime.baseline import (
    compare_environments,
    derive_environments,
)
from drift_constructs.drift_runtime.model import DifferenceType

from .stacks import capture, deploy, template_copy


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("app-dev", "app-prod", ("dev", "prod")),
        ("dev-app-api", "prod-app-api", ("dev", "prod")),
        ("AppDev", "AppProd", ("Dev", "Prod")),
        ("app", "app", None),
    ],
)
def test_derive_environments(
    left: str, right: str, expected: tuple[str, str] | None
) -> None:
    assert derive_environments(left, right) == expected


def test_derive_environments_rejects_prefix_names() -> None:
    with pytest.raises(ValueError, match="left_environment"):
        derive_environments("app", "app-prod")


@pytest.mark.usefixtures("aws")
def test_replicas_have_no_difference() -> None:
    dev = capture(deploy("app-dev"))
    prod = capture(deploy("app-prod"))

    assert compare_environments(dev, prod) == []


@pytest.mark.usefixtures("aws")
def test_changed_property_on_prod_is_reported() -> None:
    prod_template = template_copy()
    prod_template["Resources"]["Queue"]["Properties"]["VisibilityTimeout"] = 60
    dev = capture(deploy("app-dev"))
    prod = capture(deploy("app-prod", prod_template))

    drifts = compare_environments(dev, prod)

    assert len(drifts) == 1
    drift = drifts[0]
    assert drift.logical_id == "Queue"
    assert drift.status == "MODIFIED"
    assert drift.source == "environment"
    assert [difference.to_dict() for difference in drift.differences] == [
        {
            "path": "/VisibilityTimeout",
            "expected": 30,
            "actual": 60,
            "type": "NOT_EQUAL",
        }
    ]


@pytest.mark.usefixtures("aws")
def test_wrong_declared_name_is_reported() -> None:
    staging_template = template_copy()
    staging_template["Resources"]["Table"]["Properties"]["TableName"] = "orders-test"
    dev = capture(deploy("app-dev"))
    prod = capture(deploy("app-prod", staging_template))

    drifts = compare_environments(dev, prod)

    assert [drift.logical_id for drift in drifts] == ["Function", "Table"]
    table = drifts[1].differences
    assert len(table) == 1
    assert table[0].path == "/TableName"
    assert table[0].expected == "app-${Environment}-orders"
    assert table[0].actual == "orders-test"


def _baseline(name: str, account: str, resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "stack_name": name,
        "account": account,
        "region": "eu-west-1",
        "resources": copy.deepcopy(resources),
    }


def test_account_and_explicit_environment_are_normalised() -> None:
    resources: dict[str, Any] = {
        "Topic": {
            "type": "AWS::SNS::Topic",
            "physical_id": "arn:aws:sns:eu-west-1:111111111111:orders-blue",
            "properties": {"TopicName": "orders-blue", "DisplayName": "Orders"},
            "unresolved": [],
        }
    }
    right_resources = copy.deepcopy(resources)
    right_topic = right_resources["Topic"]
    right_topic["physical_id"] = "arn:aws:sns:eu-west-1:222222222222:orders-green"
    right_topic["properties"]["TopicName"] = "orders-green"
    left = _baseline("orders", "111111111111", resources)
    right = _baseline("orders", "222222222222", right_resources)

    drifts = compare_environments(
        left, right, left_environment="blue", right_environment="green"
    )

    assert drifts == []


def test_one_sided_resources_and_unresolved_paths() -> None:
    left = _baseline(
        "app-dev",
        "111111111111",
        {
            "Old": {"type": "AWS::SQS::Queue", "physical_id": "q", "properties": {}},
            "Fn": {
                "type": "AWS::Lambda::Function",
                "physical_id": "app-dev-fn",
                "properties": {"Timeout": 3},
                "unresolved": [{"path": "/Role", "reason": "unknown"}],
            },
        },
    )
    right = _baseline(
        "app-prod",
        "111111111111",
        {
            "New": {"type": "AWS::SNS::Topic", "physical_id": "t", "properties": {}},
            "Fn": {
                "type": "AWS::Lambda::Function",
                "physical_id": "app-prod-fn",
                "properties": {"Timeout": 3, "Role": "arn:aws:iam::1:role/r"},
                "unresolved": [],
            },
        },
    )

    drifts = {drift.logical_id: drift for drift in compare_environments(left, right)}

    assert set(drifts) == {"Old", "New"}
    assert drifts["Old"].status == "DELETED"
    assert drifts["New"].status == "ADDED"
    assert drifts["New"].source == "environment"


def test_property_only_on_right_is_added() -> None:
    resource = {"type": "AWS::SNS::Topic", "physical_id": "t", "properties": {}}
    right_resource = {**resource, "properties": {"DisplayName": "Orders"}}
    left = _baseline("app-dev", "1", {"Topic": resource})
    right = _baseline("app-prod", "1", {"Topic": right_resource})

    drifts = compare_environments(left, right)

    assert len(drifts) == 1
    assert drifts[0].differences[0].path == "/DisplayName"
    assert drifts[0].differences[0].type is DifferenceType.ADD
