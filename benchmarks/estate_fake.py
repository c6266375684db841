"""Simulated CloudFormation estate for the estate benchmark: stacks, clock and API.

``build_estate`` generates stacks over several accounts of one region from a seed,
with nested stacks, tags, varied names and 3 to 250 resources each. Each
``FakeCloudFormation`` is the client of one account and region. It validates every
request against botocore's model of the CloudFormation API, returns responses of the
real shapes, runs drift detections that finish after a simulated delay and throttles
calls with a token bucket per account and region. Time is a ``SimClock``: every call
advances it by a fixed latency, and nothing here waits in real time.

Rules the fake enforces:

* ``StackName`` must be the full ARN of a known stack of the client's account and
  region. Anything else, a bare name or a ``parent/child`` path included, raises
  ``ValidationError``. Real CloudFormation also accepts a stack name, but the fake
  is stricter so that a handler that drops the ARN fails.
* ``DetectStackDrift`` raises ``ValidationError`` while a detection of the same stack
  is running. The message text is the fake's own.
* A detection of a parent stack does not check its nested stacks (DetectStackDrift
  API reference), so the parent's ``AWS::CloudFormation::Stack`` resources are
  ``NOT_CHECKED`` and each nested stack needs a detection of its own ARN.
* An empty token bucket raises ``ClientError`` ``Throttling`` ("Rate exceeded").
"""

from __future__ import annotations

import base64
import heapq
import json
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import botocore.session
from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError
from botocore.paginate import Paginator
from botocore.validate import ParamValidator

HUB_ACCOUNT = "111111111111"
MEMBER_ACCOUNTS = ("222222222222", "333333333333")
REGION = "eu-west-1"
# Simulated time zero. A fixed date keeps every timestamp the same for a seed.
EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

# Simulated seconds one CloudFormation call takes.
CALL_LATENCY_SECONDS = 0.08
# Results per page of DescribeStacks, ListStacks and ListStackResources.
STACK_PAGE_SIZE = 100
# MaxResults bounds of DescribeStackResourceDrifts (BoxedMaxResults in the model).
MAX_DRIFT_RESULTS = 100
DETECTION_MIN_SECONDS = 5.0
DETECTION_MAX_SECONDS = 60.0

IN_PROGRESS = "DETECTION_IN_PROGRESS"
COMPLETE = "DETECTION_COMPLETE"
FAILED = "DETECTION_FAILED"
NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"

_STACK_ARN = re.compile(
    r"arn:aws:cloudformation:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"stack/(?P<name>[A-Za-z][A-Za-z0-9-]{0,127})/(?P<id>[A-Za-z0-9-]+)"
)

# Resource types whose drift CloudFormation checks, with one property each that a
# drifted resource differs in.
CHECKED_TYPES = (
    ("AWS::S3::Bucket", "VersioningConfiguration.Status", "Enabled", "Suspended"),
    ("AWS::Lambda::Function", "MemorySize", "256", "512"),
    ("AWS::IAM::Role", "MaxSessionDuration", "3600", "43200"),
    ("AWS::SQS::Queue", "VisibilityTimeout", "30", "300"),
    ("AWS::DynamoDB::Table", "BillingMode", "PAY_PER_REQUEST", "PROVISIONED"),
    ("AWS::SNS::Topic", "DisplayName", "alerts", "alerts-old"),
    ("AWS::Logs::LogGroup", "RetentionInDays", "30", "7"),
    ("AWS::EC2::SecurityGroup", "GroupDescription", "web", "web tier"),
    ("AWS::CloudWatch::Alarm", "Threshold", "1.0", "5.0"),
    ("AWS::KMS::Key", "EnableKeyRotation", "true", "false"),
)
# Resource types that drift detection does not support: NOT_CHECKED in
# ListStackResources and absent from DescribeStackResourceDrifts.
UNCHECKED_TYPES = (
    "AWS::CDK::Metadata",
    "Custom::Seeder",
    "AWS::CloudFormation::WaitCondition",
)

NAME_FAMILIES = (
    "app-payments-prod",
    "app-payments-dev",
    "app-search-prod",
    "web-frontend",
    "data-etl",
    "data-lake-raw",
    "net-core",
    "StackSet-guardrails",
    "sandbox-alice",
    "Ops-Monitoring",
    "legacy",
    "ml-training",
)
TAG_TEAMS = ("payments", "search", "platform", "data", "ml")
TAG_ENVIRONMENTS = ("prod", "staging", "dev")
CHECKED_STACK_STATUSES = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
)


class SimClock:
    """Simulated time in seconds after ``EPOCH``; ``sleep`` advances it at once."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.slept_seconds = 0.0

    def now(self) -> datetime:
        """Return the simulated time as an aware UTC datetime."""
        return EPOCH + timedelta(seconds=self.seconds)

    def epoch_seconds(self) -> float:
        """Return the simulated time in seconds since the Unix epoch."""
        return EPOCH.timestamp() + self.seconds

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (negative values are ignored)."""
        self.seconds += max(0.0, seconds)

    def advance_to(self, seconds: float) -> None:
        """Move the clock forward to ``seconds`` after ``EPOCH`` if that is later."""
        self.seconds = max(self.seconds, seconds)

    def sleep(self, seconds: float) -> None:
        """Replace ``time.sleep``: advance the clock and count the time slept."""
        self.slept_seconds += max(0.0, seconds)
        self.advance(seconds)


class TokenBucket:
    """Request rate limit: ``capacity`` calls of burst, ``refill`` calls per second."""

    def __init__(self, capacity: float, refill_per_second: float) -> None:
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self.tokens = capacity
        self.updated = 0.0

    def take(self, now: float) -> bool:
        """Take one token at simulated time ``now``; return False when empty."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass
class FakeResource:
    """One resource of a simulated stack and the drift it has."""

    logical_id: str
    resource_type: str
    physical_id: str
    # IN_SYNC, MODIFIED, DELETED or NOT_CHECKED; UNCHECKED_TYPES are never checked.
    drift_status: str
    differences: tuple[dict[str, str], ...] = ()

    @property
    def supports_drift(self) -> bool:
        """Whether drift detection reports this resource at all."""
        return self.resource_type not in UNCHECKED_TYPES and (
            self.resource_type != NESTED_STACK_TYPE
        )


@dataclass
class FakeStack:
    """One simulated stack and its CloudFormation drift information."""

    arn: str
    name: str
    account: str
    region: str
    status: str
    created: datetime
    last_updated: datetime | None
    tags: dict[str, str]
    resources: list[FakeResource]
    parent_arn: str | None = None
    root_arn: str | None = None
    drift_status: str = "NOT_CHECKED"
    last_check: datetime | None = None
    # Stacks that receive a "Stack Status Change" event during the benchmark.
    receives_update_event: bool = False

    @property
    def is_nested(self) -> bool:
        """Whether the stack is a nested stack (it has a parent)."""
        return self.parent_arn is not None


@dataclass
class Detection:
    """One drift detection: started by DetectStackDrift, ends at ``completes_at``."""

    detection_id: str
    stack_arn: str
    account: str
    region: str
    started: float
    completes_at: float
    # The status the detection ends with, and the results it produces then.
    outcome: str
    status: str = IN_PROGRESS
    stack_drift_status: str | None = None
    drifted_count: int = -1
    reason: str | None = None
    results: tuple[dict[str, Any], ...] = ()


@dataclass
class CallCounts:
    """Counts of the CloudFormation calls made on one estate."""

    api_calls: int = 0
    throttled: int = 0
    validation_errors: int = 0
    unsupported_calls: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    # Successful DetectStackDrift calls per stack ARN.
    detections: Counter[str] = field(default_factory=Counter)
    # DetectStackDrift calls rejected because a detection of the stack was running.
    rejected_detections: Counter[str] = field(default_factory=Counter)
    # DescribeStackDriftDetectionStatus calls that found the detection running.
    polls_in_progress: int = 0
    # Result reads (DescribeStackResourceDrifts) while a detection was still running.
    reads_during_detection: Counter[str] = field(default_factory=Counter)

    @property
    def status_polls(self) -> int:
        """DescribeStackDriftDetectionStatus calls."""
        return self.by_operation["DescribeStackDriftDetectionStatus"]


def _random_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _nested_suffix(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(12))


def _resource_count(rng: random.Random) -> int:
    # Mostly small stacks, with a tail of large ones whose drift results and resource
    # lists span several pages of 100.
    roll = rng.random()
    if roll < 0.70:
        return rng.randint(3, 30)
    if roll < 0.92:
        return rng.randint(31, 99)
    return rng.randint(100, 250)


def _make_resources(
    rng: random.Random, count: int, drifted: bool
) -> list[FakeResource]:
    resources: list[FakeResource] = []
    for index in range(count):
        if rng.random() < 0.08:
            resource_type = rng.choice(UNCHECKED_TYPES)
            resources.append(
                FakeResource(
                    logical_id=f"Extra{index:03d}",
                    resource_type=resource_type,
                    physical_id=f"extra-{index:03d}-{rng.getrandbits(32):08x}",
                    drift_status="NOT_CHECKED",
                )
            )
            continue
        resource_type, *_ = rng.choice(CHECKED_TYPES)
        short = resource_type.split("::")[-1]
        resources.append(
            FakeResource(
                logical_id=f"{short}{index:03d}",
                resource_type=resource_type,
                physical_id=f"{short.lower()}-{index:03d}-{rng.getrandbits(32):08x}",
                drift_status="IN_SYNC",
            )
        )
    checked = [item for item in resources if item.supports_drift]
    if checked and rng.random() < 0.05:
        # Some checked types still come back NOT_CHECKED, e.g. when CloudFormation
        # cannot read one property of the resource.
        rng.choice(checked).drift_status = "NOT_CHECKED"
    if drifted and checked:
        for resource in rng.sample(checked, k=min(len(checked), rng.randint(1, 3))):
            if rng.random() < 0.2:
                resource.drift_status = "DELETED"
                continue
            _, path, expected, actual = next(
                entry for entry in CHECKED_TYPES if entry[0] == resource.resource_type
            )
            resource.drift_status = "MODIFIED"
            resource.differences = (
                {
                    "PropertyPath": "/" + path.replace(".", "/"),
                    "ExpectedValue": expected,
                    "ActualValue": actual,
                    "DifferenceType": "NOT_EQUAL",
                },
            )
    return resources


def _stack_arn(region: str, account: str, name: str, rng: random.Random) -> str:
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{_random_id(rng)}"


def build_estate(
    stacks: int,
    seed: int,
    *,
    accounts: tuple[str, ...] = (HUB_ACCOUNT, *MEMBER_ACCOUNTS),
    region: str = REGION,
    nested_fraction: float = 0.12,
    update_event_fraction: float = 0.05,
) -> list[FakeStack]:
    """Generate ``stacks`` stacks spread over ``accounts``, the same for one seed.

    About ``nested_fraction`` of them are nested stacks (some two levels deep) whose
    parents list them as ``AWS::CloudFormation::Stack`` resources. About
    ``update_event_fraction`` of them, nested ones included, are marked to receive a
    "Stack Status Change" event during the benchmark and were updated shortly before
    simulated time zero.
    """
    if stacks < 1:
        raise ValueError(f"stacks must be at least 1, got {stacks}")
    rng = random.Random(seed)
    nested_target = round(stacks * nested_fraction)
    top_level = stacks - nested_target
    estate: list[FakeStack] = []
    for index in range(top_level):
        account = accounts[index % len(accounts)]
        name = f"{NAME_FAMILIES[index % len(NAME_FAMILIES)]}-{index:04d}"
        created = EPOCH - timedelta(
            days=rng.randint(2, 700), seconds=rng.randint(0, 86_399)
        )
        updated = (
            created + timedelta(days=rng.randint(0, 1), hours=rng.randint(1, 20))
            if rng.random() < 0.6
            else None
        )
        status = rng.choices(CHECKED_STACK_STATUSES, weights=(40, 50, 7, 3))[0]
        if status != "CREATE_COMPLETE" and updated is None:
            updated = created + timedelta(hours=1)
        tags: dict[str, str] = {}
        if rng.random() < 0.6:
            tags = {
                "Team": rng.choice(TAG_TEAMS),
                "Environment": rng.choice(TAG_ENVIRONMENTS),
            }
            if rng.random() < 0.3:
                tags["CostCenter"] = f"cc-{rng.randint(100, 999)}"
        stack = FakeStack(
            arn=_stack_arn(region, account, name, rng),
            name=name,
            account=account,
            region=region,
            status=status,
            created=created,
            last_updated=updated,
            tags=tags,
            resources=_make_resources(rng, _resource_count(rng), rng.random() < 0.25),
        )
        _set_previous_check(stack, rng)
        estate.append(stack)

    candidates = list(estate)
    nested_made = 0
    while nested_made < nested_target:
        parent = rng.choice(candidates)
        root_arn = parent.root_arn or parent.arn
        root_name = _STACK_ARN.fullmatch(root_arn)["name"]  # type: ignore[index]
        logical_id = f"Nested{rng.choice(('Network', 'Storage', 'Api', 'Queue'))}"
        logical_id += f"{len(parent.resources):03d}"
        name = f"{root_name}-{logical_id}-{_nested_suffix(rng)}"
        child = FakeStack(
            arn=_stack_arn(region, parent.account, name, rng),
            name=name,
            account=parent.account,
            region=region,
            status=rng.choice(("CREATE_COMPLETE", "UPDATE_COMPLETE")),
            created=parent.created + timedelta(minutes=2),
            last_updated=parent.last_updated,
            tags=dict(parent.tags),
            resources=_make_resources(rng, _resource_count(rng), rng.random() < 0.25),
            parent_arn=parent.arn,
            root_arn=root_arn,
        )
        if child.status == "UPDATE_COMPLETE" and child.last_updated is None:
            child.last_updated = child.created + timedelta(hours=1)
        _set_previous_check(child, rng)
        parent.resources.append(
            FakeResource(
                logical_id=logical_id,
                resource_type=NESTED_STACK_TYPE,
                physical_id=child.arn,
                drift_status="NOT_CHECKED",
            )
        )
        estate.append(child)
        nested_made += 1
        # A few nested stacks get nested stacks of their own.
        if rng.random() < 0.15:
            candidates.append(child)

    for stack in estate:
        if rng.random() < update_event_fraction or (
            stack.is_nested and rng.random() < 3 * update_event_fraction
        ):
            stack.receives_update_event = True
            stack.status = "UPDATE_COMPLETE"
            stack.last_updated = EPOCH - timedelta(seconds=rng.randint(30, 600))
    return estate


def _set_previous_check(stack: FakeStack, rng: random.Random) -> None:
    # Earlier detections are at least a day old, so every stack is due for a check.
    if rng.random() < 0.4:
        return
    stack.last_check = EPOCH - timedelta(
        days=rng.randint(1, 30), hours=rng.randint(0, 23)
    )
    stack.drift_status = "DRIFTED" if rng.random() < 0.2 else "IN_SYNC"


def _tags(stack: FakeStack) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(stack.tags.items())]


def _encode_token(*parts: str | int) -> str:
    return base64.urlsafe_b64encode("|".join(map(str, parts)).encode()).decode()


def _decode_token(token: str) -> list[str]:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        return []


class SimulatedEstate:
    """The stacks, detections, rate limits and counters shared by all fake clients.

    ``started`` collects every detection as it starts, so a driver can deliver its
    status change event when it finishes.
    """

    def __init__(
        self,
        stacks: list[FakeStack],
        clock: SimClock,
        *,
        seed: int,
        throttling: bool = True,
        burst: float = 20.0,
        refill_per_second: float = 4.0,
        failed_detection_rate: float = 0.03,
        validate_responses: bool = False,
    ) -> None:
        self.stacks = stacks
        self.by_arn = {stack.arn: stack for stack in stacks}
        self.clock = clock
        self.rng = random.Random(seed * 7919 + 17)
        self.throttling = throttling
        self.burst = burst
        self.refill_per_second = refill_per_second
        self.failed_detection_rate = failed_detection_rate
        self.validate_responses = validate_responses
        self.counts = CallCounts()
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        self.detections: dict[str, Detection] = {}
        self.running: dict[str, Detection] = {}
        self.latest_results: dict[str, Detection] = {}
        self._pending: list[tuple[float, str]] = []
        self.started: list[Detection] = []
        # Per stack ARN: (simulated seconds, text) of every call naming the stack.
        self.timeline: dict[str, list[tuple[float, str]]] = {}
        self.clients: dict[tuple[str, str], FakeCloudFormation] = {}

    def client(self, account: str, region: str) -> FakeCloudFormation:
        """Return the fake CloudFormation client of one account and region."""
        key = (account, region)
        if key not in self.clients:
            self.clients[key] = FakeCloudFormation(self, account, region)
        return self.clients[key]

    def stacks_of(self, account: str, region: str) -> list[FakeStack]:
        """Return the stacks of one account and region in creation order."""
        return [s for s in self.stacks if s.account == account and s.region == region]

    def note(self, stack_arn: str, text: str) -> None:
        """Add ``text`` to the timeline of one stack at the current simulated time."""
        self.timeline.setdefault(stack_arn, []).append((self.clock.seconds, text))

    def take_token(self, account: str, region: str) -> bool:
        """Take one call from the account and region's bucket; False when throttled."""
        if not self.throttling:
            return True
        key = (account, region)
        if key not in self.buckets:
            self.buckets[key] = TokenBucket(self.burst, self.refill_per_second)
        return self.buckets[key].take(self.clock.seconds)

    def settle(self) -> None:
        """Finish every detection whose simulated delay has passed."""
        while self._pending and self._pending[0][0] <= self.clock.seconds:
            _, detection_id = heapq.heappop(self._pending)
            self._finish(self.detections[detection_id])

    def start_detection(self, stack: FakeStack) -> Detection:
        """Start a detection of ``stack`` (the caller checked that none is running)."""
        checked = sum(1 for item in stack.resources if item.supports_drift)
        delay = DETECTION_MIN_SECONDS + self.rng.uniform(0.0, 10.0) + 0.18 * checked
        delay = min(DETECTION_MAX_SECONDS, delay)
        outcome = FAILED if self.rng.random() < self.failed_detection_rate else COMPLETE
        detection = Detection(
            detection_id=_random_id(self.rng),
            stack_arn=stack.arn,
            account=stack.account,
            region=stack.region,
            started=self.clock.seconds,
            completes_at=self.clock.seconds + delay,
            outcome=outcome,
        )
        self.detections[detection.detection_id] = detection
        self.running[stack.arn] = detection
        heapq.heappush(self._pending, (detection.completes_at, detection.detection_id))
        self.started.append(detection)
        return detection

    def _finish(self, detection: Detection) -> None:
        stack = self.by_arn[detection.stack_arn]
        started = EPOCH + timedelta(seconds=detection.started)
        checked = [item for item in stack.resources if item.supports_drift]
        failed_id: str | None = None
        if detection.outcome == FAILED and checked:
            failed_id = checked[0].logical_id
            detection.reason = json.dumps(
                {
                    "Failures": [
                        {
                            "Resource": failed_id,
                            "FailureReason": "Internal failure reading the resource.",
                        }
                    ]
                }
            )

        results = _drift_results(stack, checked, started, failed_id)
        drifted = sum(
            1
            for item in results
            if item["StackResourceDriftStatus"] in ("MODIFIED", "DELETED")
        )
        detection.status = detection.outcome
        detection.results = tuple(results)
        detection.drifted_count = drifted
        detection.stack_drift_status = "DRIFTED" if drifted else "IN_SYNC"
        if detection.outcome == FAILED and not drifted:
            detection.stack_drift_status = "UNKNOWN"

        # NOTE: the API reference documents LastCheckTimestamp as the time the latest
        # detection was initiated but not when DescribeStacks starts to show it. The
        # fake shows it, with the new StackDriftStatus, once the detection has ended.
        stack.drift_status = detection.stack_drift_status
        stack.last_check = started
        self.latest_results[stack.arn] = detection
        self.running.pop(stack.arn, None)

    def drift_event(self, detection: Detection, event_id: str) -> dict[str, Any]:
        """Return the drift status change event of a finished detection.

        The event has the shape EventBridge delivers for the detail type
        "CloudFormation Drift Detection Status Change".
        """
        finished = EPOCH + timedelta(seconds=detection.completes_at)
        return {
            "version": "0",
            "id": event_id,
            "detail-type": "CloudFormation Drift Detection Status Change",
            "source": "aws.cloudformation",
            "account": detection.account,
            "time": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": detection.region,
            "resources": [detection.stack_arn],
            "detail": {
                "stack-id": detection.stack_arn,
                "stack-drift-detection-id": detection.detection_id,
                "status-details": {
                    "stack-drift-status": detection.stack_drift_status or "UNKNOWN",
                    "detection-status": detection.status,
                },
                "drift-detection-details": {
                    "drifted-stack-resource-count": detection.drifted_count,
                },
                "client-request-token": "",
            },
        }


def _drift_results(
    stack: FakeStack,
    checked: list[FakeResource],
    started: datetime,
    failed_id: str | None,
) -> list[dict[str, Any]]:
    # StackResourceDrifts entries of one detection; the resource a failed detection
    # could not read is UNKNOWN.
    results: list[dict[str, Any]] = []
    for resource in checked:
        status = (
            "UNKNOWN" if resource.logical_id == failed_id else resource.drift_status
        )
        entry: dict[str, Any] = {
            "StackId": stack.arn,
            "LogicalResourceId": resource.logical_id,
            "PhysicalResourceId": resource.physical_id,
            "ResourceType": resource.resource_type,
            "StackResourceDriftStatus": status,
            "Timestamp": started,
        }
        if resource.differences and status == "MODIFIED":
            entry["PropertyDifferences"] = [dict(item) for item in resource.differences]
        results.append(entry)
    return results


class _Meta:
    """The ``meta`` attribute of a botocore client, as far as callers read it."""

    def __init__(self, region: str, service_model: Any) -> None:
        self.region_name = region
        self.service_model = service_model
        self.partition = "aws"


_SESSION = botocore.session.get_session()
SERVICE_MODEL = _SESSION.get_service_model("cloudformation")
_PAGINATORS = _SESSION.get_paginator_model("cloudformation")
_VALIDATOR = ParamValidator()
_OPERATIONS_BY_PYTHON_NAME = {
    xform_name(name): str(name) for name in SERVICE_MODEL.operation_names
}
_PAGINATED = frozenset({"DescribeStacks", "ListStacks", "ListStackResources"})


class FakeCloudFormation:
    """CloudFormation client of one account and region of a ``SimulatedEstate``.

    Implements DescribeStacks, ListStacks, DetectStackDrift,
    DescribeStackDriftDetectionStatus, DescribeStackResourceDrifts,
    ListStackResources and GetTemplate, plus ``get_paginator``. Any other operation
    of the API raises ``NotImplementedError`` and is counted, so a handler that
    needs more fails loudly instead of reading a made-up response.
    """

    def __init__(self, estate: SimulatedEstate, account: str, region: str) -> None:
        self.estate = estate
        self.account = account
        self.region = region
        self.meta = _Meta(region, SERVICE_MODEL)
        # The modeled exception classes of a real client, for callers that catch
        # e.g. ``client.exceptions.ClientError``.
        self.exceptions = boto3.client(
            "cloudformation",
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).exceptions

    # Dispatch ------------------------------------------------------------------

    def describe_stacks(self, **params: Any) -> dict[str, Any]:
        """Return one stack by ARN, or every stack of the account, 100 per page."""
        return self._call("DescribeStacks", params)

    def list_stacks(self, **params: Any) -> dict[str, Any]:
        """Return stack summaries, 100 per page."""
        return self._call("ListStacks", params)

    def detect_stack_drift(self, **params: Any) -> dict[str, Any]:
        """Start a detection; raise ValidationError while one of the stack runs."""
        return self._call("DetectStackDrift", params)

    def describe_stack_drift_detection_status(self, **params: Any) -> dict[str, Any]:
        """Return a detection's status; each call counts as a status poll."""
        return self._call("DescribeStackDriftDetectionStatus", params)

    def describe_stack_resource_drifts(self, **params: Any) -> dict[str, Any]:
        """Return a page of results of the stack's latest finished detection."""
        return self._call("DescribeStackResourceDrifts", params)

    def list_stack_resources(self, **params: Any) -> dict[str, Any]:
        """Return the stack's resources and their drift status, 100 per page."""
        return self._call("ListStackResources", params)

    def get_template(self, **params: Any) -> dict[str, Any]:
        """Return a template that lists the stack's resources."""
        return self._call("GetTemplate", params)

    def __getattr__(self, python_name: str) -> Callable[..., dict[str, Any]]:
        operation = _OPERATIONS_BY_PYTHON_NAME.get(python_name)
        if operation is None:
            raise AttributeError(python_name)

        def unsupported(**params: Any) -> dict[str, Any]:
            self.estate.counts.unsupported_calls += 1
            raise NotImplementedError(
                f"the simulated CloudFormation does not implement {operation}"
            )

        return unsupported

    def can_paginate(self, python_name: str) -> bool:
        """Return whether botocore has a paginator for the operation."""
        return _OPERATIONS_BY_PYTHON_NAME.get(python_name) in _PAGINATED

    def get_paginator(self, python_name: str) -> Paginator[Any]:
        """Return botocore's own paginator bound to this fake's operation."""
        operation = _OPERATIONS_BY_PYTHON_NAME.get(python_name)
        if operation not in _PAGINATED:
            raise ValueError(f"operation cannot be paginated: {python_name}")
        return Paginator(
            getattr(self, python_name),
            _PAGINATORS.get_paginator(operation),
            SERVICE_MODEL.operation_model(operation),
        )

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        model = SERVICE_MODEL.operation_model(operation)
        input_shape: Any = model.input_shape
        report = _VALIDATOR.validate(params, input_shape)
        if report.has_errors():
            # botocore validates before sending, so the call never reaches the API.
            raise ParamValidationError(report=report.generate_report())

        estate = self.estate
        estate.settle()
        estate.counts.api_calls += 1
        estate.counts.by_operation[operation] += 1
        estate.clock.advance(CALL_LATENCY_SECONDS)
        if not estate.take_token(self.account, self.region):
            estate.counts.throttled += 1
            stack_name = params.get("StackName")
            if isinstance(stack_name, str):
                estate.note(stack_name, f"{operation} throttled")
            raise _error(operation, "Throttling", "Rate exceeded")

        estate.settle()
        handler = getattr(self, f"_op_{xform_name(operation)}")
        response: dict[str, Any] = handler(params)
        response["ResponseMetadata"] = {
            "RequestId": str(uuid.UUID(int=estate.counts.api_calls, version=4)),
            "HTTPStatusCode": 200,
            "HTTPHeaders": {},
            "RetryAttempts": 0,
        }

        if estate.validate_responses:
            output_shape: Any = model.output_shape
            output_report = _VALIDATOR.validate(
                {k: v for k, v in response.items() if k != "ResponseMetadata"},
                output_shape,
            )
            if output_report.has_errors():
                raise AssertionError(
                    f"fake {operation} response does not match the model: "
                    f"{output_report.generate_report()}"
                )
        return response

    def _validation_error(self, operation: str, message: str) -> ClientError:
        self.estate.counts.validation_errors += 1
        return _error(operation, "ValidationError", message)

    def _stack(self, operation: str, stack_name: str) -> FakeStack:
        match = _STACK_ARN.fullmatch(stack_name)
        stack = self.estate.by_arn.get(stack_name) if match else None
        if (
            match is None
            or stack is None
            or stack.account != self.account
            or stack.region != self.region
        ):
            if match is not None:
                self.estate.note(stack_name, f"{operation} rejected: unknown stack")
            raise self._validation_error(
                operation, f"Stack with id {stack_name} does not exist"
            )
        return stack

    def _page(
        self,
        operation: str,
        items: list[Any],
        params: dict[str, Any],
        key: str,
        size: int,
    ) -> tuple[list[Any], str | None]:
        start = 0
        token = params.get("NextToken")
        if token is not None:
            parts = _decode_token(token)
            if len(parts) != 3 or parts[0] != operation or parts[1] != key:
                raise self._validation_error(operation, "Invalid NextToken")
            start = int(parts[2])
        end = start + size
        next_token = _encode_token(operation, key, end) if end < len(items) else None
        return items[start:end], next_token

    # Operations ----------------------------------------------------------------

    def _stack_description(self, stack: FakeStack) -> dict[str, Any]:
        description: dict[str, Any] = {
            "StackId": stack.arn,
            "StackName": stack.name,
            "CreationTime": stack.created,
            "StackStatus": stack.status,
            "DisableRollback": False,
            "NotificationARNs": [],
            "Capabilities": ["CAPABILITY_IAM"],
            "Tags": _tags(stack),
            "EnableTerminationProtection": False,
            "DriftInformation": {"StackDriftStatus": stack.drift_status},
        }
        if stack.last_updated is not None:
            description["LastUpdatedTime"] = stack.last_updated
        if stack.last_check is not None:
            description["DriftInformation"]["LastCheckTimestamp"] = stack.last_check
        if stack.parent_arn is not None:
            description["ParentId"] = stack.parent_arn
            description["RootId"] = stack.root_arn
        return description

    def _op_describe_stacks(self, params: dict[str, Any]) -> dict[str, Any]:
        stack_name = params.get("StackName")
        if stack_name is not None:
            stack = self._stack("DescribeStacks", stack_name)
            self.estate.note(stack.arn, "DescribeStacks")
            return {"Stacks": [self._stack_description(stack)]}
        stacks = self.estate.stacks_of(self.account, self.region)
        page, token = self._page(
            "DescribeStacks", stacks, params, self.account, STACK_PAGE_SIZE
        )
        response: dict[str, Any] = {
            "Stacks": [self._stack_description(stack) for stack in page]
        }
        if token:
            response["NextToken"] = token
        return response

    def _op_list_stacks(self, params: dict[str, Any]) -> dict[str, Any]:
        statuses = params.get("StackStatusFilter")
        stacks = [
            stack
            for stack in self.estate.stacks_of(self.account, self.region)
            if not statuses or stack.status in statuses
        ]
        key = f"{self.account}:{','.join(sorted(statuses or []))}"
        page, token = self._page("ListStacks", stacks, params, key, STACK_PAGE_SIZE)
        summaries = []
        for stack in page:
            summary: dict[str, Any] = {
                "StackId": stack.arn,
                "StackName": stack.name,
                "CreationTime": stack.created,
                "StackStatus": stack.status,
                "DriftInformation": {"StackDriftStatus": stack.drift_status},
            }
            if stack.last_updated is not None:
                summary["LastUpdatedTime"] = stack.last_updated
            if stack.last_check is not None:
                summary["DriftInformation"]["LastCheckTimestamp"] = stack.last_check
            if stack.parent_arn is not None:
                summary["ParentId"] = stack.parent_arn
                summary["RootId"] = stack.root_arn
            summaries.append(summary)
        response: dict[str, Any] = {"StackSummaries": summaries}
        if token:
            response["NextToken"] = token
        return response

    def _op_detect_stack_drift(self, params: dict[str, Any]) -> dict[str, Any]:
        stack = self._stack("DetectStackDrift", params["StackName"])
        running = self.estate.running.get(stack.arn)
        if running is not None:
            self.estate.counts.rejected_detections[stack.arn] += 1
            self.estate.note(
                stack.arn,
                f"DetectStackDrift rejected: {running.detection_id} is running",
            )
            raise self._validation_error(
                "DetectStackDrift",
                f"Drift detection is already in progress for stack [{stack.arn}]",
            )
        detection = self.estate.start_detection(stack)
        self.estate.counts.detections[stack.arn] += 1
        self.estate.note(
            stack.arn,
            f"DetectStackDrift started {detection.detection_id}, ends at "
            f"{detection.completes_at:.1f} s",
        )
        return {"StackDriftDetectionId": detection.detection_id}

    def _op_describe_stack_drift_detection_status(
        self, params: dict[str, Any]
    ) -> dict[str, Any]:
        detection_id = params["StackDriftDetectionId"]
        detection = self.estate.detections.get(detection_id)
        if detection is None or detection.account != self.account:
            raise self._validation_error(
                "DescribeStackDriftDetectionStatus",
                f"Drift detection {detection_id} does not exist",
            )
        self.estate.note(
            detection.stack_arn,
            f"DescribeStackDriftDetectionStatus: {detection.status}",
        )
        if detection.status == IN_PROGRESS:
            self.estate.counts.polls_in_progress += 1
        response: dict[str, Any] = {
            "StackId": detection.stack_arn,
            "StackDriftDetectionId": detection.detection_id,
            "DetectionStatus": detection.status,
            "Timestamp": EPOCH + timedelta(seconds=detection.started),
        }
        if detection.status != IN_PROGRESS:
            response["StackDriftStatus"] = detection.stack_drift_status
            response["DriftedStackResourceCount"] = detection.drifted_count
            response["DetectionStatusReason"] = (
                detection.reason or "Drift detection completed."
            )
        else:
            response["DetectionStatusReason"] = "User Initiated"
        return response

    def _op_describe_stack_resource_drifts(
        self, params: dict[str, Any]
    ) -> dict[str, Any]:
        operation = "DescribeStackResourceDrifts"
        stack = self._stack(operation, params["StackName"])
        size = params.get("MaxResults", MAX_DRIFT_RESULTS)
        if not 1 <= size <= MAX_DRIFT_RESULTS:
            raise self._validation_error(
                operation,
                f"1 validation error detected: Value '{size}' at 'maxResults' failed "
                f"to satisfy constraint: Member must have value less than or equal "
                f"to {MAX_DRIFT_RESULTS}",
            )
        if stack.arn in self.estate.running:
            self.estate.counts.reads_during_detection[stack.arn] += 1
        latest = self.estate.latest_results.get(stack.arn)
        results = list(latest.results) if latest else []
        filters = params.get("StackResourceDriftStatusFilters")
        if filters:
            results = [r for r in results if r["StackResourceDriftStatus"] in filters]
        key = f"{stack.arn}:{latest.detection_id if latest else '-'}:{size}"
        page, token = self._page(operation, results, params, key, size)
        self.estate.note(stack.arn, f"{operation} page of {len(page)}")
        response: dict[str, Any] = {"StackResourceDrifts": page}
        if token:
            response["NextToken"] = token
        return response

    def _op_list_stack_resources(self, params: dict[str, Any]) -> dict[str, Any]:
        operation = "ListStackResources"
        stack = self._stack(operation, params["StackName"])
        latest = self.estate.latest_results.get(stack.arn)
        statuses = {
            r["LogicalResourceId"]: r for r in (latest.results if latest else ())
        }
        summaries = []
        for resource in stack.resources:
            drift: dict[str, Any] = {"StackResourceDriftStatus": "NOT_CHECKED"}
            result = statuses.get(resource.logical_id)
            if result is not None:
                drift = {
                    "StackResourceDriftStatus": result["StackResourceDriftStatus"],
                    "LastCheckTimestamp": result["Timestamp"],
                }
            summaries.append(
                {
                    "LogicalResourceId": resource.logical_id,
                    "PhysicalResourceId": resource.physical_id,
                    "ResourceType": resource.resource_type,
                    "LastUpdatedTimestamp": stack.last_updated or stack.created,
                    "ResourceStatus": "UPDATE_COMPLETE"
                    if stack.last_updated
                    else "CREATE_COMPLETE",
                    "DriftInformation": drift,
                }
            )
        page, token = self._page(
            operation, summaries, params, stack.arn, STACK_PAGE_SIZE
        )
        self.estate.note(stack.arn, f"{operation} page of {len(page)}")
        response: dict[str, Any] = {"StackResourceSummaries": page}
        if token:
            response["NextToken"] = token
        return response

    def _op_get_template(self, params: dict[str, Any]) -> dict[str, Any]:
        stack_name = params.get("StackName")
        if stack_name is None:
            raise self._validation_error("GetTemplate", "StackName is required")
        stack = self._stack("GetTemplate", stack_name)
        self.estate.note(stack.arn, "GetTemplate")
        template = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {
                resource.logical_id: {"Type": resource.resource_type, "Properties": {}}
                for resource in stack.resources
            },
        }
        return {
            "TemplateBody": json.dumps(template),
            "StagesAvailable": ["Original", "Processed"],
        }


def _error(operation: str, code: str, message: str) -> ClientError:
    response: Any = {
        "Error": {"Type": "Sender", "Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 0},
    }
    return ClientError(response, operation)
