"""Builders of stubbed CloudFormation responses that pass botocore's validation."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.stub import Stubber

STACK_ARN = "arn:aws:cloudformation:eu-west-1:111111111111:stack/app-dev/uuid-1"
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def stubbed_cloudformation(region: str = "eu-west-1") -> tuple[Any, Stubber]:
    """Return a CloudFormation client and its activated Stubber."""
    client = boto3.client("cloudformation", region_name=region)
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


def detect(
    stubber: Stubber, stack_arn: str = STACK_ARN, detection_id: str = "det-1"
) -> None:
    stubber.add_response(
        "detect_stack_drift",
        {"StackDriftDetectionId": detection_id},
        {"StackName": stack_arn},
    )


def status(
    stubber: Stubber,
    detection_status: str = "DETECTION_COMPLETE",
    stack_drift_status: str | None = "IN_SYNC",
    reason: str | None = None,
    stack_arn: str = STACK_ARN,
) -> None:
    response: dict[str, Any] = {
        "StackId": stack_arn,
        "StackDriftDetectionId": "det-1",
        "DetectionStatus": detection_status,
        "Timestamp": WHEN,
    }
    if stack_drift_status is not None:
        response["StackDriftStatus"] = stack_drift_status
    if reason is not None:
        response["DetectionStatusReason"] = reason
    stubber.add_response(
        "describe_stack_drift_detection_status",
        response,
        {"StackDriftDetectionId": "det-1"},
    )


def drift_entry(
    logical_id: str,
    resource_type: str,
    drift_status: str,
    differences: list[dict[str, str]] | None = None,
    *,
    reason: str | None = None,
    stack_arn: str = STACK_ARN,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "StackId": stack_arn,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": f"{logical_id.lower()}-physical",
        "ResourceType": resource_type,
        "StackResourceDriftStatus": drift_status,
        "Timestamp": WHEN,
    }
    if differences is not None:
        entry["PropertyDifferences"] = differences
    if reason is not None:
        entry["DriftStatusReason"] = reason
    return entry


def drift_page(
    stubber: Stubber,
    entries: list[dict[str, Any]],
    token: str | None = None,
    request_token: str | None = None,
    stack_arn: str = STACK_ARN,
) -> None:
    response: dict[str, Any] = {"StackResourceDrifts": entries}
    if token is not None:
        response["NextToken"] = token
    expected: dict[str, Any] = {"StackName": stack_arn, "MaxResults": 100}
    if request_token is not None:
        expected["NextToken"] = request_token
    stubber.add_response("describe_stack_resource_drifts", response, expected)


def resources(
    stubber: Stubber,
    items: list[tuple[str, str]] | list[tuple[str, str, str]],
    token: str | None = None,
    request_token: str | None = None,
    stack_arn: str = STACK_ARN,
) -> None:
    """Stub one ListStackResources page; a third tuple item is the physical id."""
    summaries = []
    for item in items:
        summary = {
            "LogicalResourceId": item[0],
            "ResourceType": item[1],
            "LastUpdatedTimestamp": WHEN,
            "ResourceStatus": "CREATE_COMPLETE",
        }
        if len(item) > 2:
            summary["PhysicalResourceId"] = item[2]
        summaries.append(summary)
    response: dict[str, Any] = {"StackResourceSummaries": summaries}
    if token is not None:
        response["NextToken"] = token
    expected: dict[str, Any] = {"StackName": stack_arn}
    if request_token is not None:
        expected["NextToken"] = request_token
    stubber.add_response("list_stack_resources", response, expected)


def throttle(stubber: Stubber, operation: str, code: str = "Throttling") -> None:
    stubber.add_client_error(
        operation,
        service_error_code=code,
        service_message="Rate exceeded",
        http_status_code=400,
    )


def no_sleep(seconds: float) -> None:
    """Stand in for time.sleep so tests never wait."""
