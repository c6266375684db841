"""CloudFormation drift detection calls: start a detection, collect its results.

A check has two halves. ``start_detection`` calls DetectStackDrift on the full stack
ARN and returns the detection id. ``collect_result`` runs once the detection has
finished: it reads every page of resource drift results and every page of the stack's
resources, then hands the findings to ``verdict.decide``. The validator runs the halves
in two invocations: the second starts when CloudFormation's drift detection status
event arrives, so nothing waits or polls. ``run_check`` runs both in one call and polls
the detection status in between, for the command line, which has no events.

Throttled calls are retried with capped, jittered exponential backoff. When retries or
time run out, or a call fails with another error, the check's result is a ``failed``
verdict with the reason, so the caller can record it.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .ignore import IgnoreRule
from .model import (
    CheckResult,
    DifferenceType,
    PropertyDifference,
    ResourceDrift,
    UncheckedResource,
)
from .verdict import Findings, ResourceResult, StackResource, decide, failed_result

logger = logging.getLogger(__name__)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
    }
)
DETECTION_IN_PROGRESS = "DETECTION_IN_PROGRESS"
DETECTION_FAILED = "DETECTION_FAILED"
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"
# DescribeStackResourceDrifts accepts at most 100 results per page.
RESULT_PAGE_SIZE = 100


class CheckFailedError(Exception):
    """Raised when a check cannot go on; ``run_check`` turns it into a result."""

    def __init__(self, message: str, *, throttled: bool = False) -> None:
        super().__init__(message)
        self.throttled = throttled


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff of throttled calls and the polling interval, in seconds."""

    base_delay: float = 1.0
    max_delay: float = 20.0
    max_attempts: int = 6
    poll_interval: float = 2.0
    max_poll_interval: float = 10.0


class ApiCaller:
    """CloudFormation caller that retries throttled calls within the time left.

    ``calls`` counts the calls per operation, retries included.
    """

    def __init__(
        self,
        client: Any,
        remaining_seconds: Callable[[], float],
        sleep: Callable[[float], None] | None,
        jitter: Callable[[], float] | None,
        policy: RetryPolicy,
    ) -> None:
        self.client = client
        self.remaining_seconds = remaining_seconds
        # Looked up per check, so a simulation can replace time.sleep.
        self.sleep = sleep or time.sleep
        self.jitter = jitter or random.random
        self.policy = policy
        self.calls: dict[str, int] = {}

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        attempt = 0
        while True:
            if self.remaining_seconds() <= 0:
                raise CheckFailedError(f"timed out before calling {operation}")
            self.calls[operation] = self.calls.get(operation, 0) + 1
            try:
                response: dict[str, Any] = getattr(self.client, _snake(operation))(
                    **params
                )
                return response
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                message = error.response.get("Error", {}).get("Message", "")
                if code not in THROTTLING_CODES:
                    raise CheckFailedError(
                        f"{operation} failed: {code}: {message}"
                    ) from error
                attempt += 1
                self._back_off(operation, attempt, code)
            except BotoCoreError as error:
                raise CheckFailedError(f"{operation} failed: {error}") from error

    def _back_off(self, operation: str, attempt: int, code: str) -> None:
        if attempt >= self.policy.max_attempts:
            raise CheckFailedError(
                f"{operation} still throttled ({code}) after {attempt} attempts",
                throttled=True,
            )
        cap = min(self.policy.max_delay, self.policy.base_delay * 2 ** (attempt - 1))
        delay = cap * self.jitter()
        if delay >= self.remaining_seconds():
            raise CheckFailedError(
                f"{operation} throttled ({code}) and no time left to retry",
                throttled=True,
            )
        logger.warning(
            "throttled call retried",
            extra={"operation": operation, "attempt": attempt, "delay_seconds": delay},
        )
        self.sleep(delay)

    def wait(self, seconds: float, what: str) -> None:
        if seconds >= self.remaining_seconds():
            raise CheckFailedError(f"timed out waiting for {what}")
        self.sleep(seconds)


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def parse_detection_failures(reason: str | None) -> dict[str, str]:
    """Return logical id to failure reason from a ``DetectionStatusReason``.

    CloudFormation writes a JSON object with a ``Failures`` list of ``Resource`` and
    ``FailureReason`` pairs when some resources could not be checked. Any other text,
    including plain sentences and malformed JSON, yields no entries.
    """
    if not reason:
        return {}
    try:
        document = json.loads(reason)
    except (ValueError, TypeError, RecursionError):
        return {}
    failures = document.get("Failures") if isinstance(document, dict) else None
    if not isinstance(failures, list):
        return {}
    parsed: dict[str, str] = {}
    for failure in failures:
        if not isinstance(failure, dict):
            continue
        resource = failure.get("Resource")
        if isinstance(resource, str) and resource:
            text = failure.get("FailureReason")
            parsed[resource] = (
                text if isinstance(text, str) and text else "detection failed"
            )
    return parsed


def _json_value(text: Any) -> Any:
    # Drift differences carry objects and arrays as JSON text but scalars as bare
    # text, so "null", "true" or "NaN" may be real string values. Only objects and
    # arrays are decoded, and every other value keeps its text.
    if not isinstance(text, str) or not text.lstrip().startswith(("{", "[")):
        return text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value if isinstance(value, (dict, list)) else text


def _difference(raw: dict[str, Any]) -> PropertyDifference:
    raw_type = raw.get("DifferenceType", "NOT_EQUAL")
    try:
        kind = DifferenceType(raw_type)
    except ValueError:
        kind = DifferenceType.NOT_EQUAL
    return PropertyDifference(
        path=raw.get("PropertyPath", ""),
        expected=_json_value(raw.get("ExpectedValue")),
        actual=_json_value(raw.get("ActualValue")),
        type=kind,
    )


def resource_result(raw: dict[str, Any]) -> ResourceResult:
    """Convert one ``StackResourceDrifts`` entry to a ``ResourceResult``."""
    return ResourceResult(
        logical_id=raw["LogicalResourceId"],
        resource_type=raw.get("ResourceType", ""),
        status=raw.get("StackResourceDriftStatus", "UNKNOWN"),
        differences=tuple(
            _difference(item) for item in raw.get("PropertyDifferences", [])
        ),
        physical_id=raw.get("PhysicalResourceId"),
        reason=raw.get("DriftStatusReason"),
    )


def _start_detection(caller: ApiCaller, stack_arn: str) -> str:
    response = caller.call("DetectStackDrift", StackName=stack_arn)
    return str(response["StackDriftDetectionId"])


def _wait_for_detection(caller: ApiCaller, detection_id: str) -> dict[str, Any]:
    interval = caller.policy.poll_interval
    while True:
        status = caller.call(
            "DescribeStackDriftDetectionStatus", StackDriftDetectionId=detection_id
        )
        if status.get("DetectionStatus") != DETECTION_IN_PROGRESS:
            return status
        caller.wait(interval, f"drift detection {detection_id}")
        interval = min(caller.policy.max_poll_interval, interval * 2)


def _resource_results(caller: ApiCaller, stack_arn: str) -> list[ResourceResult]:
    results: list[ResourceResult] = []
    params: dict[str, Any] = {"StackName": stack_arn, "MaxResults": RESULT_PAGE_SIZE}
    # botocore has no paginator for DescribeStackResourceDrifts, so follow NextToken.
    while True:
        page = caller.call("DescribeStackResourceDrifts", **params)
        results.extend(
            resource_result(raw) for raw in page.get("StackResourceDrifts", [])
        )
        token = page.get("NextToken")
        if not token:
            return results
        params["NextToken"] = token


def _stack_resources(caller: ApiCaller, stack_arn: str) -> list[StackResource]:
    resources: list[StackResource] = []
    params: dict[str, Any] = {"StackName": stack_arn}
    while True:
        page = caller.call("ListStackResources", **params)
        resources.extend(
            StackResource(
                item["LogicalResourceId"],
                item.get("ResourceType", ""),
                item.get("PhysicalResourceId"),
            )
            for item in page.get("StackResourceSummaries", [])
        )
        token = page.get("NextToken")
        if not token:
            return resources
        params["NextToken"] = token


def stack_name_of(stack_arn: str) -> str:
    """Return the stack name inside a stack ARN, or the argument if it is a name."""
    parts = stack_arn.split(":stack/", 1)
    return parts[1].split("/", 1)[0] if len(parts) == 2 else stack_arn


@dataclass(frozen=True)
class DetectionStart:
    """Outcome of ``start_detection``.

    ``detection_id`` is set when CloudFormation accepted the detection. Otherwise
    ``error`` gives the reason, and ``throttled`` is True when a later retry may
    succeed.
    """

    detection_id: str | None
    error: str | None
    throttled: bool
    api_calls: dict[str, int]


def start_detection(
    cloudformation: Any,
    stack_arn: str,
    *,
    remaining_seconds: Callable[[], float],
    sleep: Callable[[float], None] | None = None,
    jitter: Callable[[], float] | None = None,
    policy: RetryPolicy | None = None,
) -> DetectionStart:
    """Call DetectStackDrift on ``stack_arn`` and return without waiting.

    CloudFormation sends a "CloudFormation Drift Detection Status Change" event when
    the detection finishes; ``collect_result`` then reads its results.
    """
    caller = ApiCaller(
        cloudformation, remaining_seconds, sleep, jitter, policy or RetryPolicy()
    )
    try:
        detection_id = _start_detection(caller, stack_arn)
    except CheckFailedError as error:
        return DetectionStart(None, str(error), error.throttled, dict(caller.calls))
    return DetectionStart(detection_id, None, False, dict(caller.calls))


def nested_stack_arns(result: CheckResult) -> list[str]:
    """Return the ARNs of the nested stacks that ``collect_result`` listed."""
    value = result.extra.get("nested_stacks", [])
    return [arn for arn in value if isinstance(arn, str)]


def collect_result(
    cloudformation: Any,
    stack_arn: str,
    *,
    detection_id: str | None,
    detection_status: str,
    stack_drift_status: str,
    remaining_seconds: Callable[[], float],
    detection_reason: str | None = None,
    read_failure_reason: bool = False,
    ignore_rules: Sequence[IgnoreRule] = (),
    sleep: Callable[[float], None] | None = None,
    jitter: Callable[[], float] | None = None,
    policy: RetryPolicy | None = None,
    baseline_findings: tuple[Sequence[ResourceDrift], Sequence[UncheckedResource]]
    | None = None,
) -> CheckResult:
    """Read the results of a finished detection and return the check result.

    Args:
        cloudformation: boto3 CloudFormation client of the stack's account and region.
        stack_arn: full stack ARN; every call uses it as ``StackName``.
        detection_id: id of the finished detection, recorded in the result.
        detection_status: ``DETECTION_COMPLETE`` or ``DETECTION_FAILED``.
        stack_drift_status: the stack's drift status that the detection reported.
        remaining_seconds: returns the seconds the check may still use.
        detection_reason: CloudFormation's ``DetectionStatusReason``, which names
            the resources a failed detection could not check. The status event does
            not carry it. Without it, those resources still count as unchecked,
            because they have no drift result, and the reason reads "no drift
            result returned".
        read_failure_reason: for a failed detection with no ``detection_reason``,
            read the reason with one DescribeStackDriftDetectionStatus call. The
            validator leaves this off, so it never calls that operation.
        ignore_rules: rules applied to CloudFormation and baseline drift alike.
        sleep: waits the given seconds between retries.
        jitter: returns a float in [0, 1) that scales each backoff delay.
        policy: backoff settings.
        baseline_findings: drifts and unchecked resources of the baseline comparison,
            merged into the verdict.

    The result's ``extra`` contains ``total_resources``, ``api_calls`` (calls per
    operation, retries included) and ``nested_stacks`` (ARNs of the stack's nested
    stacks, which are checked on their own).
    """
    caller = ApiCaller(
        cloudformation, remaining_seconds, sleep, jitter, policy or RetryPolicy()
    )
    return _collect(
        caller,
        stack_arn,
        detection_id=detection_id,
        status={
            "DetectionStatus": detection_status,
            "StackDriftStatus": stack_drift_status,
            "DetectionStatusReason": detection_reason,
        },
        ignore_rules=ignore_rules,
        baseline_findings=baseline_findings,
        read_reason=read_failure_reason,
    )


def _collect(
    caller: ApiCaller,
    stack_arn: str,
    *,
    detection_id: str | None,
    status: dict[str, Any],
    ignore_rules: Sequence[IgnoreRule],
    baseline_findings: tuple[Sequence[ResourceDrift], Sequence[UncheckedResource]]
    | None,
    read_reason: bool,
) -> CheckResult:
    stack_name = stack_name_of(stack_arn)
    try:
        if (
            read_reason
            and status.get("DetectionStatus") == DETECTION_FAILED
            and not status.get("DetectionStatusReason")
            and detection_id
        ):
            described = caller.call(
                "DescribeStackDriftDetectionStatus", StackDriftDetectionId=detection_id
            )
            status["DetectionStatusReason"] = described.get("DetectionStatusReason")
        results = _resource_results(caller, stack_arn)
        resources = _stack_resources(caller, stack_arn)
    except CheckFailedError as error:
        result = failed_result(stack_arn, stack_name, str(error), detection_id)
        result.extra["api_calls"] = dict(caller.calls)
        return result

    drifts, unchecked = baseline_findings or ((), ())
    reason = status.get("DetectionStatusReason")
    findings = Findings(
        stack_id=stack_arn,
        stack_name=stack_name,
        resources=tuple(resources),
        results=tuple(results),
        detection_status=str(status.get("DetectionStatus") or "UNKNOWN"),
        stack_drift_status=str(status.get("StackDriftStatus") or "UNKNOWN"),
        detection_reason=reason,
        detection_failures=parse_detection_failures(reason),
        detection_id=detection_id,
        baseline_drifts=tuple(drifts),
        baseline_unchecked=tuple(unchecked),
    )
    result = decide(findings, ignore_rules)
    result.extra["api_calls"] = dict(caller.calls)
    result.extra["nested_stacks"] = sorted(
        resource.physical_id
        for resource in resources
        if resource.resource_type == NESTED_STACK_TYPE
        and resource.physical_id
        and ":stack/" in resource.physical_id
    )
    return result


def run_check(
    cloudformation: Any,
    stack_arn: str,
    *,
    remaining_seconds: Callable[[], float],
    ignore_rules: Sequence[IgnoreRule] = (),
    sleep: Callable[[float], None] | None = None,
    jitter: Callable[[], float] | None = None,
    policy: RetryPolicy | None = None,
    baseline_findings: tuple[Sequence[ResourceDrift], Sequence[UncheckedResource]]
    | None = None,
) -> CheckResult:
    """Run a whole check in one call, polling the detection status until it ends.

    The command line uses this. The validator uses ``start_detection`` and
    ``collect_result`` instead and never polls. Arguments are those of
    ``collect_result``; ``sleep`` also waits between polls.
    """
    caller = ApiCaller(
        cloudformation, remaining_seconds, sleep, jitter, policy or RetryPolicy()
    )
    stack_name = stack_name_of(stack_arn)
    detection_id: str | None = None
    try:
        detection_id = _start_detection(caller, stack_arn)
        status = _wait_for_detection(caller, detection_id)
    except CheckFailedError as error:
        result = failed_result(stack_arn, stack_name, str(error), detection_id)
        result.extra["api_calls"] = dict(caller.calls)
        return result
    return _collect(
        caller,
        stack_arn,
        detection_id=detection_id,
        status=dict(status),
        ignore_rules=ignore_rules,
        baseline_findings=baseline_findings,
        read_reason=False,
    )
