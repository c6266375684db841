"""Helpers shared by the construct tests: stacks in a fixed environment, lookups."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

ACCOUNT = "123456789012"
REGION = "us-east-1"


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
