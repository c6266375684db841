"""Acknowledgements of AwsSolutions rule findings (cdk-nag 3.x) on single constructs.

The constructs record with ``aws_cdk.Validations`` why a finding is accepted, on the
construct the finding is reported for. cdk-nag reads these records, and the library
does not import cdk-nag itself.

cdk-nag names a finding about one resource value ``Rule[Resource::<value>]``, where
the value is the template's JSON with ``Ref`` written as ``<Name>``, ``Fn::GetAtt``
as ``<LogicalId.Attribute>`` and ``Fn::Join`` with its parts concatenated.
``finding_resource`` builds that text from a CDK value.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk

from constructs import IConstruct

from . import _naming

# Ids of the AwsSolutions rules the constructs acknowledge.
MANAGED_POLICY_RULE = "AwsSolutions-IAM4"
WILDCARD_PERMISSION_RULE = "AwsSolutions-IAM5"
PITR_RULE = "AwsSolutions-DDB3"
ACCESS_LOGS_RULE = "AwsSolutions-S1"
QUEUE_WITHOUT_DLQ_RULE = "AwsSolutions-SQS3"


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Record that the finding ``rule`` on ``construct`` is accepted for ``reason``."""
    acknowledgment = cdk.Acknowledgment(id=rule, reason=reason)
    cdk.Validations.of(construct).acknowledge(acknowledgment)


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return f"<{argument}>"
        if key == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if key == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_render(part) for part in parts)
    # NOTE: other intrinsics do not occur in the resources the constructs grant on.
    return str(value)


def finding_resource(scope: IConstruct, value: str) -> str:
    """Return ``Resource::<value>`` as cdk-nag writes it in a finding id.

    Logical ids are resolved now. A logical id overridden later makes the
    acknowledgement miss, so the finding then shows up instead of being hidden.
    """
    if isinstance(value, str) and not _naming.is_token(value):
        return f"Resource::{value}"
    return f"Resource::{_render(cdk.Stack.of(scope).resolve(value))}"


def acknowledge_resource(
    construct: IConstruct, rule: str, value: str, reason: str
) -> None:
    """Acknowledge the finding ``rule`` about the resource ``value`` only."""
    acknowledge(construct, f"{rule}[{finding_resource(construct, value)}]", reason)
