"""run_check with stubbed CloudFormation: failures, pages, coverage, throttling."""

from __future__ import annotations

import json

import pytest

from drift_constructs.drift_runtime import metrics
from drift_constructs.drift_runtime.detection import (
    RetryPolicy,
    parse_detection_failures,
    resource_result,
    run_check,
)
from drift_constructs.drift_runtime.model import DifferenceType, Verdict
from drift_constructs.drift_runtime.validator import check_metrics

from . import cfn_stubs as cfn
from .cfn_stubs import STACK_ARN, no_sleep


def plenty_of_time() -> float:
    return 600.0


def c1_reason() -> str:
    return json.dumps(
        {
            "Summary": "Failed to detect drift on resources [RoleA,FnB]",
            "Failures": [
                {"Resource": "RoleA", "FailureReason": "Rate exceeded"},
                {"Resource": "FnB", "FailureReason": "Rate exceeded"},
            ],
        }
    )


def test_detection_failed_is_incomplete() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_FAILED", "IN_SYNC", c1_reason())
    cfn.drift_page(stubber, [])
    cfn.resources(
        stubber, [("RoleA", "AWS::IAM::Role"), ("FnB", "AWS::Lambda::Function")]
    )

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=no_sleep
    )

    stubber.assert_no_pending_responses()
    assert result.verdict is Verdict.INCOMPLETE
    reasons = {item.logical_id: item.reason for item in result.unchecked}
    assert reasons == {"RoleA": "Rate exceeded", "FnB": "Rate exceeded"}
    types = {item.logical_id: item.resource_type for item in result.unchecked}
    assert types["RoleA"] == "AWS::IAM::Role"
    assert result.checked_count == 0


def test_detection_failed_plain_reason() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_FAILED", None, "Internal failure, not JSON {")
    cfn.drift_page(stubber, [cfn.drift_entry("Topic", "AWS::SNS::Topic", "IN_SYNC")])
    cfn.resources(stubber, [("Topic", "AWS::SNS::Topic")])

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=no_sleep
    )

    assert result.verdict is Verdict.INCOMPLETE
    assert [item.logical_id for item in result.unchecked] == ["app-dev"]
    assert "Internal failure, not JSON {" in result.unchecked[0].reason
    assert result.extra["total_resources"] == 1


@pytest.mark.parametrize(
    "reason",
    [
        None,
        "",
        "not json",
        "[1, 2]",
        '{"Failures": "x"}',
        '{"Failures": [1, {"X": 1}]}',
        "[" * 100_000,
    ],
)
def test_failure_parser_tolerates_any_text(reason: str | None) -> None:
    assert parse_detection_failures(reason) == {}


def test_drifted_resource_on_first_page() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_IN_PROGRESS", None)
    cfn.status(stubber, "DETECTION_COMPLETE", "IN_SYNC")
    difference = {
        "PropertyPath": "/VersioningConfiguration/Status",
        "ExpectedValue": "Enabled",
        "ActualValue": "Suspended",
        "DifferenceType": "NOT_EQUAL",
    }
    cfn.drift_page(
        stubber,
        [cfn.drift_entry("ConfigBucket", "AWS::S3::Bucket", "MODIFIED", [difference])],
        token="t1",
    )
    cfn.drift_page(stubber, [], request_token="t1")
    cfn.resources(stubber, [("ConfigBucket", "AWS::S3::Bucket")])
    waits: list[float] = []

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=waits.append
    )

    stubber.assert_no_pending_responses()
    assert result.verdict is Verdict.DRIFTED
    assert len(result.drifted) == 1
    drift = result.drifted[0]
    assert drift.logical_id == "ConfigBucket"
    assert drift.status == "MODIFIED"
    assert len(drift.differences) == 1
    kept = drift.differences[0]
    assert kept.path == "/VersioningConfiguration/Status"
    assert kept.expected == "Enabled"
    assert kept.actual == "Suspended"
    assert kept.type is DifferenceType.NOT_EQUAL
    assert waits == [2.0]
    # One detection, two polls, two result pages, one resource page.
    assert result.extra["api_calls"] == {
        "DetectStackDrift": 1,
        "DescribeStackDriftDetectionStatus": 2,
        "DescribeStackResourceDrifts": 2,
        "ListStackResources": 1,
    }


def test_in_sync_call_count() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_IN_PROGRESS", None)
    cfn.status(stubber, "DETECTION_COMPLETE", "IN_SYNC")
    cfn.drift_page(stubber, [cfn.drift_entry("Topic", "AWS::SNS::Topic", "IN_SYNC")])
    cfn.resources(
        stubber, [("Topic", "AWS::SNS::Topic"), ("CDKMetadata", "AWS::CDK::Metadata")]
    )

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=no_sleep
    )

    stubber.assert_no_pending_responses()
    assert result.verdict is Verdict.IN_SYNC
    assert result.checked_count == 1
    assert result.unchecked == ()
    assert sum(result.extra["api_calls"].values()) == 5


def test_unknown_status_is_unchecked() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_COMPLETE", "UNKNOWN")
    cfn.drift_page(
        stubber,
        [cfn.drift_entry("Topic", "AWS::SNS::Topic", "UNKNOWN", reason="AccessDenied")],
    )
    cfn.resources(stubber, [("Topic", "AWS::SNS::Topic")])

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=no_sleep
    )

    assert result.verdict is Verdict.INCOMPLETE
    assert [item.logical_id for item in result.unchecked] == ["Topic"]
    assert "AccessDenied" in result.unchecked[0].reason
    assert check_metrics(result)[metrics.UNCHECKED_RESOURCES] == 1


@pytest.mark.parametrize(
    "drift_status", ["NOT_CHECKED", "UNSUPPORTED", "SOMETHING_NEW"]
)
def test_other_statuses_are_unchecked(drift_status: str) -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_COMPLETE", "IN_SYNC")
    cfn.drift_page(stubber, [cfn.drift_entry("Topic", "AWS::SNS::Topic", drift_status)])
    cfn.resources(stubber, [("Topic", "AWS::SNS::Topic")])

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=no_sleep
    )

    assert result.verdict is Verdict.INCOMPLETE
    assert result.unchecked[0].reason == f"drift status {drift_status}"


def test_missing_results_reduce_coverage() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_COMPLETE", "IN_SYNC")
    cfn.drift_page(
        stubber, [cfn.drift_entry("ConfigBucket", "AWS::S3::Bucket", "IN_SYNC")]
    )
    cfn.resources(
        stubber,
        [
            ("ConfigBucket", "AWS::S3::Bucket"),
            ("RtAssoc", "AWS::EC2::SubnetRouteTableAssociation"),
            ("S3Endpoint", "AWS::EC2::VPCEndpoint"),
        ],
    )

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=no_sleep
    )

    assert result.verdict is Verdict.INCOMPLETE
    assert result.checked_count == 1
    assert result.extra["total_resources"] == 3
    unchecked = {item.logical_id: item for item in result.unchecked}
    assert set(unchecked) == {"RtAssoc", "S3Endpoint"}
    assert unchecked["RtAssoc"].reason == "no drift result returned"
    assert unchecked["RtAssoc"].resource_type == "AWS::EC2::SubnetRouteTableAssociation"
    values = check_metrics(result)
    assert values[metrics.CHECKED_RESOURCES] == 1
    assert values[metrics.UNCHECKED_RESOURCES] == 2


def test_resource_pages_are_followed() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_COMPLETE", "IN_SYNC")
    cfn.drift_page(stubber, [cfn.drift_entry("A", "AWS::SNS::Topic", "IN_SYNC")])
    cfn.resources(stubber, [("A", "AWS::SNS::Topic")], token="r1")
    cfn.resources(stubber, [("B", "AWS::SNS::Topic")], request_token="r1")

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=no_sleep
    )

    stubber.assert_no_pending_responses()
    assert [item.logical_id for item in result.unchecked] == ["B"]


def test_throttling_is_retried() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.throttle(stubber, "detect_stack_drift")
    cfn.throttle(stubber, "detect_stack_drift", "ThrottlingException")
    cfn.detect(stubber)
    cfn.status(stubber)
    cfn.drift_page(stubber, [])
    cfn.resources(stubber, [])
    waits: list[float] = []

    result = run_check(
        client,
        STACK_ARN,
        remaining_seconds=plenty_of_time,
        sleep=waits.append,
        jitter=lambda: 0.5,
    )

    assert result.verdict is Verdict.IN_SYNC
    assert waits == [0.5, 1.0]
    assert result.extra["api_calls"]["DetectStackDrift"] == 3


def test_backoff_is_capped() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, max_attempts=6)
    for _ in range(6):
        cfn.throttle(stubber, "detect_stack_drift", "RequestLimitExceeded")
    waits: list[float] = []

    result = run_check(
        client,
        STACK_ARN,
        remaining_seconds=plenty_of_time,
        sleep=waits.append,
        jitter=lambda: 0.999,
        policy=policy,
    )

    assert waits == pytest.approx([0.999, 1.998, 3.996, 3.996, 3.996])
    assert result.verdict is Verdict.FAILED
    assert result.failure_reason is not None
    assert "still throttled" in result.failure_reason
    assert "after 6 attempts" in result.failure_reason


def test_throttling_without_time_fails() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.throttle(stubber, "detect_stack_drift", "TooManyRequestsException")

    result = run_check(
        client,
        STACK_ARN,
        remaining_seconds=lambda: 0.4,
        sleep=no_sleep,
        jitter=lambda: 0.9,
    )

    assert result.verdict is Verdict.FAILED
    assert result.failure_reason is not None
    assert "no time left" in result.failure_reason
    assert check_metrics(result)[metrics.FAILED_CHECKS] == 1


def test_polling_times_out() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_IN_PROGRESS", None)
    clock = iter([100.0, 100.0, 1.0, 1.0])

    result = run_check(
        client, STACK_ARN, remaining_seconds=lambda: next(clock), sleep=no_sleep
    )

    assert result.verdict is Verdict.FAILED
    assert result.failure_reason == "timed out waiting for drift detection det-1"
    assert result.detection_id == "det-1"


def test_other_client_error_fails() -> None:
    client, stubber = cfn.stubbed_cloudformation()
    stubber.add_client_error(
        "detect_stack_drift", "ValidationError", "Stack with id app-dev does not exist"
    )

    result = run_check(
        client, STACK_ARN, remaining_seconds=plenty_of_time, sleep=no_sleep
    )

    assert result.verdict is Verdict.FAILED
    assert result.failure_reason == (
        "DetectStackDrift failed: ValidationError: Stack with id app-dev does not exist"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("null", "null"),
        ("true", "true"),
        ("NaN", "NaN"),
        ("1e999", "1e999"),
        ("123", "123"),
        ("[" * 100_000, "[" * 100_000),
        ('{"Status": "Enabled"}', {"Status": "Enabled"}),
        ('[{"Key": "a"}]', [{"Key": "a"}]),
    ],
)
def test_difference_values_keep_scalar_text(text: str, value: object) -> None:
    raw = {
        "LogicalResourceId": "Queue",
        "StackResourceDriftStatus": "MODIFIED",
        "PropertyDifferences": [
            {
                "PropertyPath": "/Tags/0/Value",
                "ExpectedValue": text,
                "ActualValue": "prod",
                "DifferenceType": "NOT_EQUAL",
            }
        ],
    }

    difference = resource_result(raw).differences[0]

    assert difference.expected == value
