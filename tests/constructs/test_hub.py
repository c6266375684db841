"""DriftDetector as a hub: event bus, its rules, fixed role names, member roles."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cfnlint import api as cfn_lint
from construct_helpers import (
    ACCOUNT,
    MEMBER_ACCOUNT,
    ORGANIZATION_ID,
    OTHER_MEMBER_ACCOUNT,
    actions_of,
    function_named,
    identity_statements,
    new_stack,
    only_resource,
    policy_statements_of_role,
    render,
    resources_of,
)

from drift_constructs import (
    DriftConstructsError,
    DriftDetector,
    DriftDetectorProps,
    PrivateEndpoints,
    PrivateEndpointsProps,
    StateTracker,
    StateTrackerProps,
)
from drift_constructs.drift_runtime import settings

BUS_NAME = "infrastructure-drift-hub-qa"
MEMBER_ROLE = "drift-constructs-member-qa"
HUB_ROLES = {
    "DriftDetectorValidatorRole": "drift-hub-validator-qa-us-east-1",
    "DriftDetectorSweeperRole": "drift-hub-sweeper-qa-us-east-1",
    "StateTrackerUpdateHandlerRole": "drift-hub-updater-qa-us-east-1",
}
FUNCTIONS = {
    "DriftDetectorValidatorRole": "infrastructure-drift-validator-qa",
    "DriftDetectorSweeperRole": "infrastructure-drift-sweeper-qa",
    "StateTrackerUpdateHandlerRole": "environment-update-handler-qa",
}


def bus_policy(template: Template) -> list[dict[str, Any]]:
    bus = only_resource(template, "AWS::Events::EventBus")
    statements: list[dict[str, Any]] = bus["Properties"]["Policy"]["Statement"]
    return statements


def hub_rules(template: Template) -> dict[str, dict[str, Any]]:
    bus_id = next(iter(resources_of(template, "AWS::Events::EventBus")))
    return {
        rule["Properties"]["Name"]: rule["Properties"]
        for rule in resources_of(template, "AWS::Events::Rule").values()
        if rule["Properties"].get("EventBusName") == {"Ref": bus_id}
    }


def test_bus_name(hub_template: Template) -> None:
    bus = only_resource(hub_template, "AWS::Events::EventBus")
    assert bus["Properties"]["Name"] == BUS_NAME


def test_bus_policy_statements(hub_template: Template) -> None:
    statements = {statement["Sid"]: statement for statement in bus_policy(hub_template)}
    assert sorted(statements) == ["MemberAccountsPutEvents", "OrganizationPutEvents"]
    bus_arn = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{BUS_NAME}"
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "events:PutEvents"
        assert render(statement["Resource"]) == bus_arn
        conditions = statement["Condition"]
        assert conditions["ForAllValues:StringEquals"] == {
            "events:source": ["aws.cloudformation"]
        }
        assert conditions["StringEquals"]["events:detail-type"] == [
            "CloudFormation Stack Status Change",
            "CloudFormation Drift Detection Status Change",
        ]


def test_bus_policy_member_accounts(hub_template: Template) -> None:
    (statement,) = [
        s for s in bus_policy(hub_template) if s["Sid"] == "MemberAccountsPutEvents"
    ]
    assert render(statement["Principal"]["AWS"]) == [
        f"arn:aws:iam::{MEMBER_ACCOUNT}:root",
        f"arn:aws:iam::{OTHER_MEMBER_ACCOUNT}:root",
    ]


def test_bus_policy_organization(hub_template: Template) -> None:
    (statement,) = [
        s for s in bus_policy(hub_template) if s["Sid"] == "OrganizationPutEvents"
    ]
    assert statement["Principal"] == {"AWS": "*"}
    assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == (
        ORGANIZATION_ID
    )


def test_bus_policy_never_open(hub_template: Template) -> None:
    for statement in bus_policy(hub_template):
        if statement["Principal"] == {"AWS": "*"}:
            assert "aws:PrincipalOrgID" in statement["Condition"]["StringEquals"]


def test_hub_rules(hub_template: Template) -> None:
    rules = hub_rules(hub_template)
    assert sorted(rules) == [
        "infrastructure-drift-status-qa",
        "infrastructure-stack-updates-qa",
    ]
    updates = rules["infrastructure-stack-updates-qa"]
    assert updates["EventPattern"]["detail-type"] == [
        "CloudFormation Stack Status Change"
    ]
    (update_target,) = updates["Targets"]
    # With a tracker, member updates go through the update handler, as on the
    # default bus, so member stacks get baselines too.
    assert update_target["Arn"]["Fn::GetAtt"][0].startswith("StateTrackerUpdateHandler")
    status = rules["infrastructure-drift-status-qa"]
    assert status["EventPattern"]["detail"] == {
        "status-details": {
            "detection-status": ["DETECTION_COMPLETE", "DETECTION_FAILED"]
        }
    }
    (status_target,) = status["Targets"]
    assert status_target["Arn"]["Fn::GetAtt"][0].startswith("DriftDetectorValidator")
    for rule in rules.values():
        (target,) = rule["Targets"]
        assert "FailureQueue" in json.dumps(target["DeadLetterConfig"])


def test_default_bus_rules_kept(hub_template: Template) -> None:
    names = sorted(
        rule["Properties"]["Name"]
        for rule in resources_of(hub_template, "AWS::Events::Rule").values()
        if "EventBusName" not in rule["Properties"]
    )
    assert names == [
        "infrastructure-drift-status-qa",
        "infrastructure-drift-sweep-qa",
        "infrastructure-stack-updates-qa",
    ]


@pytest.mark.parametrize("role", sorted(HUB_ROLES))
def test_fixed_role_names(hub_template: Template, role: str) -> None:
    roles = resources_of(hub_template, "AWS::IAM::Role")
    (found,) = [value for key, value in roles.items() if key.startswith(role)]
    assert found["Properties"]["RoleName"] == HUB_ROLES[role]


@pytest.mark.parametrize("role", sorted(HUB_ROLES))
def test_assume_role_scoped_to_member_roles(hub_template: Template, role: str) -> None:
    statements = [
        statement
        for statement in policy_statements_of_role(hub_template, role)
        if "sts:AssumeRole" in actions_of(statement)
    ]
    assert len(statements) == 2
    for statement in statements:
        assert actions_of(statement) == ["sts:AssumeRole"]
    by_account = [s for s in statements if "Condition" not in s]
    assert render(by_account[0]["Resource"]) == [
        f"arn:aws:iam::{MEMBER_ACCOUNT}:role/{MEMBER_ROLE}",
        f"arn:aws:iam::{OTHER_MEMBER_ACCOUNT}:role/{MEMBER_ROLE}",
    ]
    by_organization = [s for s in statements if "Condition" in s]
    assert render(by_organization[0]["Resource"]) == (
        f"arn:aws:iam::*:role/{MEMBER_ROLE}"
    )
    assert by_organization[0]["Condition"] == {
        "StringEquals": {"aws:ResourceOrgID": ORGANIZATION_ID}
    }


def test_assume_role_nowhere_else(hub_template: Template) -> None:
    for statement in identity_statements(hub_template):
        if "sts:AssumeRole" in actions_of(statement):
            assert MEMBER_ROLE in json.dumps(statement["Resource"]), statement
            assert statement["Resource"] != "*"


@pytest.mark.parametrize("role", sorted(FUNCTIONS))
def test_member_role_name_in_environment(hub_template: Template, role: str) -> None:
    variables = function_named(hub_template, FUNCTIONS[role])["Environment"][
        "Variables"
    ]
    assert variables[settings.ENV_MEMBER_ROLE_NAME] == MEMBER_ROLE


def test_sweeper_member_accounts(hub_template: Template) -> None:
    variables = function_named(hub_template, "infrastructure-drift-sweeper-qa")[
        "Environment"
    ]["Variables"]
    assert json.loads(variables[settings.ENV_MEMBER_ACCOUNTS]) == [
        MEMBER_ACCOUNT,
        OTHER_MEMBER_ACCOUNT,
    ]


def test_sts_endpoint(hub_template: Template) -> None:
    endpoints = hub_template.find_resources(
        "AWS::EC2::VPCEndpoint",
        {
            "Properties": {
                "VpcEndpointType": "Interface",
                "ServiceName": "com.amazonaws.us-east-1.sts",
            }
        },
    )
    assert len(endpoints) == 1
    (endpoint,) = endpoints.values()
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True


def test_no_wildcard_actions(hub_template: Template) -> None:
    for statement in identity_statements(hub_template):
        for action in actions_of(statement):
            assert "*" not in action, statement


@pytest.mark.parametrize("which", ["hub", "member"])
def test_cfn_lint_no_errors(
    hub_template: Template, member_template: Template, which: str
) -> None:
    template = hub_template if which == "hub" else member_template
    text = json.dumps(template.to_json())
    matches = cfn_lint.lint(text, config=cfn_lint.ManualArgs(regions=["us-east-1"]))
    errors = [str(match) for match in matches if match.rule.id.startswith("E")]
    assert errors == []


# Hub variants.


def test_accounts_only_hub_without_tracker() -> None:
    stack = new_stack()
    detector = DriftDetector(
        stack,
        "Detector",
        DriftDetectorProps(
            environment_suffix="dev",
            member_accounts=[MEMBER_ACCOUNT],
            member_role_name="team-drift-reader",
            sweep_enabled=False,
        ),
    )
    template = Template.from_stack(stack)
    assert detector.hub_event_bus is not None
    assert detector.member_role_name == "team-drift-reader"
    (statement,) = bus_policy(template)
    assert statement["Sid"] == "MemberAccountsPutEvents"
    rules = hub_rules(template)
    (update_target,) = rules["infrastructure-stack-updates-dev"]["Targets"]
    assert update_target["Arn"]["Fn::GetAtt"][0].startswith("DetectorValidator")
    roles = [
        role["Properties"].get("RoleName")
        for role in resources_of(template, "AWS::IAM::Role").values()
    ]
    assert roles == ["drift-hub-validator-dev-us-east-1"]
    statements = policy_statements_of_role(template, "DetectorValidatorRole")
    (assume,) = [s for s in statements if "sts:AssumeRole" in actions_of(s)]
    assert render(assume["Resource"]) == (
        f"arn:aws:iam::{MEMBER_ACCOUNT}:role/team-drift-reader"
    )


def test_organization_only_hub() -> None:
    stack = new_stack()
    DriftDetector(
        stack,
        "Detector",
        DriftDetectorProps(environment_suffix="dev", organization_id=ORGANIZATION_ID),
    )
    template = Template.from_stack(stack)
    (statement,) = bus_policy(template)
    assert statement["Sid"] == "OrganizationPutEvents"
    variables = function_named(template, "infrastructure-drift-sweeper-dev")[
        "Environment"
    ]["Variables"]
    assert json.loads(variables[settings.ENV_MEMBER_ACCOUNTS]) == []
    assert variables[settings.ENV_MEMBER_ROLE_NAME] == "drift-constructs-member-dev"


# Rejected hub props.


def build(stack: cdk.Stack, **props: Any) -> DriftDetector:
    return DriftDetector(
        stack, "Detector", DriftDetectorProps(environment_suffix="dev", **props)
    )


REJECTED = [
    ("member_accounts", MEMBER_ACCOUNT, repr(MEMBER_ACCOUNT)),
    ("member_accounts", ["12345"], "'12345'"),
    ("member_accounts", ["1234567890123"], "'1234567890123'"),
    ("member_accounts", [210987654321], "210987654321"),
    ("member_accounts", [MEMBER_ACCOUNT, MEMBER_ACCOUNT], "more than once"),
    ("member_accounts", [ACCOUNT], "own account"),
    ("organization_id", "o-short", "'o-short'"),
    ("organization_id", "O-ABCDEFGHIJ", "'O-ABCDEFGHIJ'"),
    ("organization_id", "r-abcdefghij", "'r-abcdefghij'"),
    ("organization_id", "", "''"),
]


@pytest.mark.parametrize(("prop", "value", "shown"), REJECTED)
def test_invalid_hub_prop_rejected(prop: str, value: Any, shown: str) -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, **{prop: value})
    message = str(raised.value)
    assert prop in message
    assert shown in message


@pytest.mark.parametrize("name", ["bad name", "a" * 65, "", "team/reader"])
def test_invalid_member_role_name_rejected(name: str) -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, member_accounts=[MEMBER_ACCOUNT], member_role_name=name)
    message = str(raised.value)
    assert "member_role_name" in message
    assert repr(name) in message


def test_member_role_name_without_hub_rejected() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, member_role_name="team-drift-reader")
    message = str(raised.value)
    assert "member_role_name 'team-drift-reader'" in message
    assert "member_accounts or organization_id" in message


def test_role_name_measured_with_longest_region() -> None:
    # 20 + 28 + 1 + 15 = 64 characters fit; one more character of suffix does not.
    stack = new_stack(region=None)
    DriftDetector(
        stack,
        "Fits",
        DriftDetectorProps(
            environment_suffix="a" * 28, member_accounts=[MEMBER_ACCOUNT]
        ),
    )
    other = new_stack(region=None)
    with pytest.raises(DriftConstructsError) as raised:
        DriftDetector(
            other,
            "TooLong",
            DriftDetectorProps(
                environment_suffix="a" * 29, member_accounts=[MEMBER_ACCOUNT]
            ),
        )
    message = str(raised.value)
    assert "IAM role name" in message
    assert "65 characters" in message
    assert "longest region name" in message


def test_long_suffix_fits_known_region() -> None:
    stack = new_stack()
    detector = DriftDetector(
        stack,
        "Detector",
        DriftDetectorProps(
            environment_suffix="a" * 29,
            member_accounts=[MEMBER_ACCOUNT],
            sweep_enabled=False,
        ),
    )
    assert detector.hub_event_bus is not None


def network(stack: cdk.Stack, **props: Any) -> PrivateEndpoints:
    return PrivateEndpoints(
        stack, "Network", PrivateEndpointsProps(environment_suffix="dev", **props)
    )


def test_network_without_sts_rejected() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, network=network(stack), member_accounts=[MEMBER_ACCOUNT])
    message = str(raised.value)
    assert "network has no endpoint for sts" in message
    assert "cross_account=True" in message


def test_tracker_network_without_sts_rejected() -> None:
    stack = new_stack()
    tracker = StateTracker(
        stack,
        "Tracker",
        StateTrackerProps(environment_suffix="dev", network=network(stack)),
    )
    with pytest.raises(DriftConstructsError, match="state tracker's network"):
        build(stack, state_tracker=tracker, member_accounts=[MEMBER_ACCOUNT])


@pytest.mark.parametrize(
    "network_props",
    [{"cross_account": True}, {"existing_endpoint_services": ["sts"]}],
)
def test_network_with_sts_accepted(network_props: dict[str, Any]) -> None:
    stack = new_stack()
    detector = build(
        stack,
        network=network(stack, **network_props),
        member_accounts=[MEMBER_ACCOUNT],
        sweep_enabled=False,
    )
    assert detector.hub_event_bus is not None


def test_network_without_sts_allowed_outside_hub() -> None:
    stack = new_stack()
    detector = build(stack, network=network(stack), sweep_enabled=False)
    assert detector.hub_event_bus is None


def test_tracker_serves_one_hub_role() -> None:
    stack = new_stack()
    tracker = StateTracker(
        stack, "Tracker", StateTrackerProps(environment_suffix="dev")
    )
    tracker.use_member_role(role_name="hub-updater", member_role_name="reader")
    tracker.use_member_role(role_name="hub-updater", member_role_name="reader")
    with pytest.raises(DriftConstructsError) as raised:
        tracker.use_member_role(role_name="other-updater", member_role_name="reader")
    message = str(raised.value)
    assert "already serves a hub as the role 'hub-updater'" in message
    roles = Template.from_stack(stack).find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": "hub-updater"}}
    )
    assert len(roles) == 1
