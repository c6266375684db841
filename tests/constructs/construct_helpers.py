"""Helpers shared by the construct tests: stacks in a fixed environment, lookups."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

ACCOUNT = "123456789012"
REGION = "us-east-1"
# Member accounts and organization of the hub configuration in the tests.
MEMBER_ACCOUNT = "210987654321"
OTHER_MEMBER_ACCOUNT = "345678901234"
ORGANIZATION_ID = "o-a1b2c3d4e5"


def new_stack(account: str | None = ACCOUNT, region: str | None = REGION) -> cdk.Stack:
    """Return an empty stack in its own app; ``None`` leaves account or region open."""
    app = cdk.App()
    environment = None
    if account is not None or region is not None:
        environment = cdk.Environment(account=account, region=region)
    return cdk.Stack(app, "TestStack", env=environment)


def resources_of(template: Template, resource_type: str) -> dict[str, Any]:
    """Return the resources of one type, by logical id."""
    found = dict(template.find_resources(resource_type))
    return found


def only_resource(template: Template, resource_type: str) -> dict[str, Any]:
    """Return the single resource of ``resource_type``; fail if there is not one."""
    found = resources_of(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return dict(next(iter(found.values())))


def identity_statements(template: Template) -> list[dict[str, Any]]:
    """Return every statement of the template's IAM identity policies."""
    statements: list[dict[str, Any]] = []
    for resource in resources_of(template, "AWS::IAM::Policy").values():
        statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    for resource in resources_of(template, "AWS::IAM::ManagedPolicy").values():
        statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    for resource in resources_of(template, "AWS::IAM::Role").values():
        for policy in resource["Properties"].get("Policies", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def actions_of(statement: dict[str, Any]) -> list[str]:
    """Return a statement's actions as a list."""
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def function_named(template: Template, function_name: str) -> dict[str, Any]:
    """Return the properties of the Lambda function with ``function_name``."""
    found = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"FunctionName": function_name}}
    )
    assert len(found) == 1, f"expected one function {function_name}, found {found}"
    properties: dict[str, Any] = next(iter(found.values()))["Properties"]
    return properties


def build_hub_stack(
    app: cdk.App,
    construct_id: str = "DriftHub-qa",
    *,
    with_network: bool = True,
    **detector_props: Any,
) -> cdk.Stack:
    """Return a hub for two member accounts and an organization, with every construct.

    The network has the STS endpoint, and a tracker and a dashboard are attached, so
    the stack contains every resource a hub can have. ``with_network=False`` leaves
    out the network, so the functions run outside a VPC.
    """
    from drift_constructs import (
        DriftDashboard,
        DriftDashboardProps,
        DriftDetector,
        DriftDetectorProps,
        PrivateEndpoints,
        PrivateEndpointsProps,
        StateTracker,
        StateTrackerProps,
    )

    stack = cdk.Stack(
        app, construct_id, env=cdk.Environment(account=ACCOUNT, region=REGION)
    )
    network = None
    if with_network:
        network = PrivateEndpoints(
            stack,
            "Network",
            PrivateEndpointsProps(environment_suffix="qa", cross_account=True),
        )
    tracker = StateTracker(
        stack,
        "StateTracker",
        StateTrackerProps(environment_suffix="qa", network=network),
    )
    props: dict[str, Any] = {
        "member_accounts": (MEMBER_ACCOUNT, OTHER_MEMBER_ACCOUNT),
        "organization_id": ORGANIZATION_ID,
        **detector_props,
    }
    detector = DriftDetector(
        stack,
        "DriftDetector",
        DriftDetectorProps(
            environment_suffix="qa", network=network, state_tracker=tracker, **props
        ),
    )
    DriftDashboard(
        stack,
        "Dashboard",
        DriftDashboardProps(environment_suffix="qa", drift_detector=detector),
    )
    return stack


def build_member_stack(app: cdk.App, construct_id: str = "DriftMember-qa") -> cdk.Stack:
    """Return the member stack of examples/member_stack.py for the hub above."""
    from member_stack import DriftMemberStack

    return DriftMemberStack(
        app,
        construct_id,
        environment_suffix="qa",
        hub_account=ACCOUNT,
        env=cdk.Environment(account=MEMBER_ACCOUNT, region=REGION),
    )


def policy_statements_of_role(
    template: Template, role_logical_id_prefix: str
) -> list[dict[str, Any]]:
    """Return the statements of the identity policies attached to one role."""
    statements: list[dict[str, Any]] = []
    for resource in resources_of(template, "AWS::IAM::Policy").values():
        roles = resource["Properties"].get("Roles", [])
        if any(
            isinstance(role, dict)
            and str(role.get("Ref", "")).startswith(role_logical_id_prefix)
            for role in roles
        ):
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    assert statements, f"no policy attached to {role_logical_id_prefix}"
    return statements


def render(value: Any) -> Any:
    """Return ``value`` with ``AWS::Partition`` as "aws" and joins concatenated.

    Other intrinsics are kept, so a comparison with plain text fails on them.
    """
    if isinstance(value, list):
        return [render(item) for item in value]
    if isinstance(value, dict):
        if value == {"Ref": "AWS::Partition"}:
            return "aws"
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            rendered = [render(part) for part in parts]
            if all(isinstance(part, str) for part in rendered):
                return str(separator).join(rendered)
        return {key: render(item) for key, item in value.items()}
    return value
