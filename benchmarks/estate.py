"""Event-driven drift checks of a simulated estate of stacks, against the handlers.

The benchmark builds an estate (``estate_fake.build_estate``: 1000 stacks over three
accounts by default, some nested) and runs the real sweeper and validator handlers of
``drift_constructs.drift_runtime`` against it, all in one process:

* CloudFormation is ``estate_fake.FakeCloudFormation``, one client per account and
  region, with throttling, detections that end after 5 to 60 simulated seconds and a
  call counter. DynamoDB, S3, SNS and SQS are moto's in-process mocks.
* Time is simulated. ``time.sleep``, and the ``time`` and ``datetime`` names inside
  the runtime's modules, read or advance a ``SimClock``, so an hour passes in
  milliseconds and every lease and timestamp the handlers write is consistent.
* The driver plays Lambda, SQS and EventBridge. It runs the sweeper and feeds the
  check queue to the validator in batches of 10. A failed message comes back after
  its visibility timeout, and one received more than 20 times is dead-lettered and
  lost. When a detection ends, the driver delivers its drift status event, except
  for 2% that it drops, and delivers 5% of them twice with the same event id.
  During the sweep it also delivers "Stack Status Change" events of stacks that were
  updated just before the sweep. An hour later it runs the sweeper again, which must
  finish the checks whose events were dropped and start no detection.

Then it counts, from the state table and the fake's counters, the stacks without a
recorded check, detections beyond one per stack, CloudFormation calls, throttled
calls and DescribeStackDriftDetectionStatus calls. For comparison it runs the polling
engine (``detection.run_check``) on a sample of the same stacks.

Usage: ``python benchmarks/estate.py [--stacks N] [--seed S]``. The output is a
summary followed by one line of counts, the same for one seed. The exit status is 0
even when a target is missed, because the run is a measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as datetime_module
import hashlib
import heapq
import importlib
import itertools
import json
import logging
import os
import pkgutil
import random
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from drift_constructs.drift_runtime import clients, state, sweeper, validator
from drift_constructs.drift_runtime.detection import run_check
from drift_constructs.testing.state_table import create_state_table

_BENCHMARKS = str(Path(__file__).resolve().parent)
if _BENCHMARKS not in sys.path:
    sys.path.insert(0, _BENCHMARKS)

from estate_fake import (  # noqa: E402
    HUB_ACCOUNT,
    MEMBER_ACCOUNTS,
    REGION,
    CallCounts,
    Detection,
    FakeStack,
    SimClock,
    SimulatedEstate,
    build_estate,
)

RUNTIME_PACKAGE = "drift_constructs.drift_runtime"
ENVIRONMENT = "bench"
TABLE_NAME = "drift-state-bench"
BUCKET_NAME = "drift-config-bench"
TOPIC_NAME = "drift-alerts-bench"
QUEUE_NAME = "drift-checks-bench"
SWEEPER_FUNCTION = "drift-sweeper-bench"
VALIDATOR_FUNCTION = "drift-validator-bench"
MEMBER_ROLE_NAME = "DriftMemberRole"
# moto's own visibility timeout is wall-clock time. It is set to the SQS maximum so
# that only the driver, in simulated time, makes a received message visible again.
MOTO_VISIBILITY_SECONDS = 43_200
# SQS rejects a DelaySeconds outside 0..900.
MAX_DELAY_SECONDS = 900
# Lambda retries a failed asynchronous invocation twice, after about 1 and 2 minutes.
ASYNC_RETRY_DELAYS = (60.0, 120.0)
# Simulated seconds each invocation costs besides its CloudFormation calls.
INVOCATION_OVERHEAD_SECONDS = 0.02
TIMELINES_SHOWN = 5


@dataclass(frozen=True)
class BenchmarkConfig:
    """Estate, fault rates and timing of one benchmark run."""

    stacks: int = 1000
    seed: int = 1
    accounts: tuple[str, ...] = (HUB_ACCOUNT, *MEMBER_ACCOUNTS)
    region: str = REGION
    nested_fraction: float = 0.12
    update_event_fraction: float = 0.05
    throttling: bool = True
    # Token bucket of each account and region: calls of burst, calls per second.
    burst: float = 20.0
    refill_per_second: float = 4.0
    # Share of detections that end DETECTION_FAILED (one resource not checked).
    failed_detection_rate: float = 0.02
    # Shares of drift status events that are never delivered or delivered twice.
    drop_rate: float = 0.02
    duplicate_rate: float = 0.05
    # Visibility timeout of the check queue, for messages the validator returns.
    visibility_timeout_seconds: float = 60.0
    # Receives after which a message goes to the dead-letter list (maxReceiveCount).
    max_receives: int = 20
    batch_size: int = 10
    min_age_seconds: int = 6 * 3600
    # Simulated time of the second sweep, counted from the first.
    second_sweep_at_seconds: float = 3600.0
    function_timeout_seconds: float = 300.0
    # Stacks that the polling engine checks for the comparison (0 skips it).
    polling_sample: int = 50
    # Check every fake response against botocore's output shapes (slower).
    validate_responses: bool = False
    # A phase that has not settled after this many simulated seconds is stopped.
    phase_limit_seconds: float = 6 * 3600.0


@dataclass
class PollingComparison:
    """Calls of the polling engine (``detection.run_check``) on a sample of stacks."""

    stacks: int
    api_calls: int
    status_polls: int
    simulated_seconds: float
    verdicts: Counter[str]


@dataclass
class BenchmarkResult:
    """Counts and diagnostics of one run."""

    config: BenchmarkConfig
    stacks: list[FakeStack]
    counts: CallCounts
    # ARNs of stacks without a CHECK# item in their partition.
    lost_stacks: list[str]
    dead_letters: list[str]
    # CHECK# items per stack ARN.
    check_records: Counter[str]
    nested_not_checked_by_arn: list[str]
    deliveries: Counter[str]
    sweeps: list[dict[str, Any]]
    handler_errors: list[str]
    error_logs: list[str]
    timelines: dict[str, list[tuple[float, str]]]
    phase_ends: list[float]
    simulated_seconds: float
    wall_seconds: float
    stranded_messages: int
    unsettled_phases: int
    polling: PollingComparison | None = None

    @property
    def lost(self) -> int:
        """Stacks without a recorded check, plus dead-lettered messages."""
        return len(self.lost_stacks) + len(self.dead_letters)

    @property
    def duplicate_checks(self) -> int:
        """Detections beyond one per stack, plus detections rejected as running."""
        extra = sum(max(0, count - 1) for count in self.counts.detections.values())
        return extra + sum(self.counts.rejected_detections.values())

    @property
    def nested_stacks(self) -> int:
        """Nested stacks in the estate."""
        return sum(1 for stack in self.stacks if stack.is_nested)

    def count_line(self) -> str:
        """Return the last line of the output: the counts as ``name=value`` pairs."""
        return (
            f"stacks={len(self.stacks)} lost={self.lost} "
            f"duplicate_checks={self.duplicate_checks} "
            f"api_calls={self.counts.api_calls} throttled={self.counts.throttled} "
            f"status_polls={self.counts.status_polls}"
        )


# Simulated time inside the runtime's modules ----------------------------------


class _DatetimeMeta(type):
    # Real datetimes (from the fake, botocore or the standard library) must still
    # pass ``isinstance(value, datetime)`` where ``datetime`` is the simulated class.
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, datetime)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, datetime)


def simulated_datetime_class(clock: SimClock) -> type[datetime]:
    """Return a ``datetime`` subclass whose clock methods read ``clock``.

    ``now``, ``utcnow`` and ``today`` are simulated. Every other method is the
    standard library's.
    """

    class SimulatedDatetime(datetime, metaclass=_DatetimeMeta):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            moment = clock.now()
            if tz is None:
                return moment.astimezone().replace(tzinfo=None)
            return moment.astimezone(tz)

        @classmethod
        def utcnow(cls) -> datetime:  # type: ignore[override]
            return clock.now().replace(tzinfo=None)

        @classmethod
        def today(cls) -> datetime:  # type: ignore[override]
            return cls.now()

    return SimulatedDatetime


class SimulatedTimeModule:
    """Stand-in for the ``time`` module: clock functions read a ``SimClock``."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock

    def time(self) -> float:
        """Seconds since the Unix epoch, in simulated time."""
        return self._clock.epoch_seconds()

    def monotonic(self) -> float:
        """Simulated seconds since the start of the run."""
        return self._clock.seconds

    def perf_counter(self) -> float:
        """Simulated seconds since the start of the run."""
        return self._clock.seconds

    def sleep(self, seconds: float) -> None:
        """Advance the simulated clock instead of waiting."""
        self._clock.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class SimulatedDatetimeModule:
    """Stand-in for the ``datetime`` module with the simulated ``datetime`` class."""

    def __init__(self, datetime_class: type[datetime]) -> None:
        self.datetime = datetime_class

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime_module, name)


def runtime_modules() -> list[ModuleType]:
    """Import and return every module of the runtime package."""
    package = importlib.import_module(RUNTIME_PACKAGE)
    modules = [package]
    for info in pkgutil.iter_modules(package.__path__):
        modules.append(importlib.import_module(f"{RUNTIME_PACKAGE}.{info.name}"))
    return modules


@contextlib.contextmanager
def patched_runtime(clock: SimClock, replacements: dict[int, Any]) -> Iterator[None]:
    """Point the runtime's clocks at ``clock`` and swap objects by identity.

    In every runtime module, each global bound to the ``time`` module, the
    ``datetime`` module or class, ``time.time`` or ``time.monotonic`` is replaced by
    its simulated counterpart. Each global that is one of the objects keyed by ``id``
    in ``replacements`` is replaced by the value. ``time.sleep`` itself is replaced
    too, for code that looks it up at call time.
    """
    simulated_class = simulated_datetime_class(clock)
    time_module = SimulatedTimeModule(clock)
    by_identity: dict[int, Any] = {
        id(time): time_module,
        id(datetime_module): SimulatedDatetimeModule(simulated_class),
        id(datetime): simulated_class,
        id(time.time): time_module.time,
        id(time.monotonic): time_module.monotonic,
        **replacements,
    }
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(time, "sleep", clock.sleep))
        for module in runtime_modules():
            for name, value in list(vars(module).items()):
                replacement = by_identity.get(id(value))
                if replacement is not None and not name.startswith("__"):
                    stack.enter_context(mock.patch.object(module, name, replacement))
        yield


class _CapturedLogs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text += f" ({type(error).__name__}: {error})"
        self.lines.append(text)


@contextlib.contextmanager
def captured_handler_logs(verbose: bool) -> Iterator[_CapturedLogs]:
    """Collect the handlers' error log lines; silence their output unless verbose.

    Powertools and standard loggers alike are reached through ``logging`` by name.
    """
    capture = _CapturedLogs()
    loggers: dict[str, logging.Logger] = {}
    for module in runtime_modules():
        candidate = getattr(module, "logger", None)
        name = getattr(candidate, "name", None)
        if isinstance(name, str):
            loggers[name] = logging.getLogger(name)
    saved = [
        (item, item.level, item.propagate, [(h, h.level) for h in item.handlers])
        for item in loggers.values()
    ]
    for item in loggers.values():
        if not verbose:
            item.setLevel(logging.ERROR)
            item.propagate = False
            for existing in item.handlers:
                existing.setLevel(logging.CRITICAL + 1)
        item.addHandler(capture)
    try:
        yield capture
    finally:
        for item, level, propagate, handlers in saved:
            item.removeHandler(capture)
            item.setLevel(level)
            item.propagate = propagate
            for existing, handler_level in handlers:
                existing.setLevel(handler_level)


# Lambda, SQS and EventBridge ----------------------------------------------------


class LambdaContext:
    """Lambda context object whose remaining time runs on the simulated clock."""

    def __init__(
        self,
        function_name: str,
        clock: SimClock,
        *,
        timeout_seconds: float,
        account: str,
        region: str,
        request_id: str,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:{account}:function:{function_name}"
        )
        self.memory_limit_in_mb = 512
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"2026/03/02/[$LATEST]{request_id[:8]}"
        self._clock = clock
        self.deadline = clock.seconds + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the simulated timeout."""
        return max(0, int((self.deadline - self._clock.seconds) * 1000))


class SqsProxy:
    """The handlers' SQS client: moto, with delays and visibility in simulated time.

    A message sent with ``DelaySeconds`` is held and sent to moto when the delay has
    passed on the simulated clock. ``ChangeMessageVisibility`` is recorded for the
    driver, which makes the message visible again at that simulated time. Every
    other call goes to moto unchanged.
    """

    def __init__(self, real: Any, driver: EstateDriver) -> None:
        self._real = real
        self._driver = driver
        self.visibility: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def send_message(self, **params: Any) -> dict[str, Any]:
        """SendMessage; a delayed message is held until its delay has passed."""
        delay = int(params.pop("DelaySeconds", 0) or 0)
        _check_delay(delay, "SendMessage")
        if delay == 0:
            return dict(self._real.send_message(**params))
        return self._driver.hold_message(params, delay)

    def send_message_batch(self, **params: Any) -> dict[str, Any]:
        """SendMessageBatch; delayed entries are held, the others sent at once."""
        now_entries = []
        successful: list[dict[str, Any]] = []
        for entry in params["Entries"]:
            delay = int(entry.get("DelaySeconds", 0) or 0)
            _check_delay(delay, "SendMessageBatch")
            if delay == 0:
                now_entries.append(
                    {k: v for k, v in entry.items() if k != "DelaySeconds"}
                )
                continue
            single = {
                "QueueUrl": params["QueueUrl"],
                "MessageBody": entry["MessageBody"],
            }
            if "MessageAttributes" in entry:
                single["MessageAttributes"] = entry["MessageAttributes"]
            delayed = self._driver.hold_message(single, delay)
            successful.append({"Id": entry["Id"], **delayed})
        response: dict[str, Any] = {"Successful": successful, "Failed": []}
        if now_entries:
            sent = self._real.send_message_batch(
                QueueUrl=params["QueueUrl"], Entries=now_entries
            )
            response["Successful"].extend(sent.get("Successful", []))
            response["Failed"].extend(sent.get("Failed", []))
        return response

    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        """ChangeMessageVisibility, applied by the driver in simulated time."""
        self.visibility[params["ReceiptHandle"]] = float(params["VisibilityTimeout"])
        self._driver.deliveries["visibility changes by the handler"] += 1
        return {}

    def change_message_visibility_batch(self, **params: Any) -> dict[str, Any]:
        """ChangeMessageVisibilityBatch, applied by the driver in simulated time."""
        for entry in params["Entries"]:
            self.visibility[entry["ReceiptHandle"]] = float(entry["VisibilityTimeout"])
            self._driver.deliveries["visibility changes by the handler"] += 1
        return {
            "Successful": [{"Id": e["Id"]} for e in params["Entries"]],
            "Failed": [],
        }


def _check_delay(delay: int, operation: str) -> None:
    if not 0 <= delay <= MAX_DELAY_SECONDS:
        raise ClientError(
            {
                "Error": {
                    "Code": "InvalidParameterValue",
                    "Message": f"DelaySeconds must be 0 to {MAX_DELAY_SECONDS}",
                }
            },
            operation,
        )


def stack_status_event(stack: FakeStack, event_id: str) -> dict[str, Any]:
    """Return the "CloudFormation Stack Status Change" event of the stack's update."""
    moment = stack.last_updated or stack.created
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation",
        "account": stack.account,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": stack.region,
        "resources": [stack.arn],
        "detail": {
            "stack-id": stack.arn,
            "status-details": {"status": stack.status, "status-reason": ""},
            "client-request-token": "",
        },
    }


def scheduled_event(
    event_id: str, account: str, region: str, moment: datetime
) -> dict[str, Any]:
    """Return the EventBridge "Scheduled Event" that invokes the sweeper."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/drift-sweep-bench"],
        "detail": {},
    }


def _stack_of_body(body: str) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    arn = document.get("stack_arn") if isinstance(document, dict) else None
    return arn if isinstance(arn, str) else None


class EstateDriver:
    """Stand-in for Lambda, SQS and EventBridge around the handlers and the estate.

    See the module documentation for what one ``run`` delivers and counts.
    """

    def __init__(self, config: BenchmarkConfig, *, verbose: bool = False) -> None:
        self.config = config
        self.verbose = verbose
        self.rng = random.Random(config.seed * 31 + 7)
        self.clock = SimClock()
        self.stacks = build_estate(
            config.stacks,
            config.seed,
            accounts=config.accounts,
            region=config.region,
            nested_fraction=config.nested_fraction,
            update_event_fraction=config.update_event_fraction,
        )
        self.estate = SimulatedEstate(
            self.stacks,
            self.clock,
            seed=config.seed,
            throttling=config.throttling,
            burst=config.burst,
            refill_per_second=config.refill_per_second,
            failed_detection_rate=config.failed_detection_rate,
            validate_responses=config.validate_responses,
        )

        # What the run delivered and what went wrong, for the report.
        self.deliveries: Counter[str] = Counter()
        self.handler_errors: list[str] = []
        self.dead_letters: list[str] = []
        self.sweeps: list[dict[str, Any]] = []
        self.unsettled_phases = 0

        # Pending deliveries in simulated time: (time, sequence, kind, payload).
        self._heap: list[tuple[float, int, str, Any]] = []
        self._sequence = itertools.count()
        self._started_seen = 0
        self._sqs_proxy: SqsProxy | None = None
        self._sqs: Any = None
        self.queue_url = ""
        self.queue_arn = ""

    # Scheduling ---------------------------------------------------------------

    def _schedule(self, at: float, kind: str, payload: Any) -> None:
        heapq.heappush(self._heap, (at, next(self._sequence), kind, payload))

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hold_message(self, params: dict[str, Any], delay: int) -> dict[str, Any]:
        """Send ``params`` to the queue once ``delay`` simulated seconds have passed."""
        self.deliveries["delayed messages sent by the handler"] += 1
        self._schedule(self.clock.seconds + delay, "send", dict(params))
        arn = _stack_of_body(params.get("MessageBody", ""))
        if arn:
            self.estate.note(arn, f"validator queued a check delayed by {delay} s")
        return {
            "MessageId": self._new_id(),
            "MD5OfMessageBody": hashlib.md5(
                params.get("MessageBody", "").encode(), usedforsecurity=False
            ).hexdigest(),
        }

    def _watch_detections(self) -> None:
        # Each new detection gets its status change event once it has ended.
        started = self.estate.started
        while self._started_seen < len(started):
            detection = started[self._started_seen]
            self._started_seen += 1
            latency = self.rng.uniform(0.5, 4.0)
            self._schedule(detection.completes_at + latency, "drift", detection)

    # Invocations ----------------------------------------------------------------

    def _invoke(
        self, function: Callable[[Any, Any], Any], name: str, event: Any
    ) -> tuple[Any, BaseException | None]:
        context = LambdaContext(
            name,
            self.clock,
            timeout_seconds=self.config.function_timeout_seconds,
            account=HUB_ACCOUNT,
            region=self.config.region,
            request_id=self._new_id(),
        )
        self.clock.advance(INVOCATION_OVERHEAD_SECONDS)
        self.deliveries[f"{name} invocations"] += 1
        response: Any = None
        error: BaseException | None = None
        try:
            response = function(event, context)
        except Exception as raised:
            error = raised
            where = traceback.extract_tb(raised.__traceback__)[-1]
            self.handler_errors.append(
                f"{self.clock.seconds:9.1f} s {name} raised {type(raised).__name__}: "
                f"{raised} (at {Path(where.filename).name}:{where.lineno})"
            )
        if self.clock.seconds > context.deadline:
            self.deliveries[f"{name} invocations past their timeout"] += 1
        self._watch_detections()
        return response, error

    def _run_sweeper(self, attempt: int = 0) -> None:
        event = scheduled_event(
            self._new_id(), HUB_ACCOUNT, self.config.region, self.clock.now()
        )
        response, error = self._invoke(sweeper.handler, SWEEPER_FUNCTION, event)
        self.sweeps.append(
            {
                "at": round(self.clock.seconds, 1),
                "attempt": attempt + 1,
                "response": response,
                "error": None if error is None else f"{type(error).__name__}: {error}",
            }
        )
        if error is not None and attempt < len(ASYNC_RETRY_DELAYS):
            self._schedule(
                self.clock.seconds + ASYNC_RETRY_DELAYS[attempt], "sweep", attempt + 1
            )

    def _deliver_event(self, event: dict[str, Any], label: str, attempt: int) -> None:
        arn = event["detail"]["stack-id"]
        response, error = self._invoke(validator.handler, VALIDATOR_FUNCTION, event)
        self.deliveries[f"{label} deliveries"] += 1
        outcome = (
            f"raised {type(error).__name__}"
            if error is not None
            else (response or {}).get("outcome") or (response or {}).get("skipped")
        )
        self.estate.note(arn, f"{label} {event['id'][:8]} delivered: {outcome}")
        if error is not None and attempt < len(ASYNC_RETRY_DELAYS):
            self.deliveries[f"{label} retries"] += 1
            self._schedule(
                self.clock.seconds + ASYNC_RETRY_DELAYS[attempt],
                "event",
                (event, label, attempt + 1),
            )
        elif error is not None:
            self.deliveries[f"{label} abandoned after retries"] += 1
            self.estate.note(arn, f"{label} {event['id'][:8]} abandoned after retries")

    def _drift_event(self, detection: Detection) -> None:
        self.estate.settle()
        event = self.estate.drift_event(detection, self._new_id())
        if self.rng.random() < self.config.drop_rate:
            self.deliveries["drift status events dropped"] += 1
            self.estate.note(
                detection.stack_arn,
                f"drift status event of {detection.detection_id} dropped",
            )
            return
        if self.rng.random() < self.config.duplicate_rate:
            self.deliveries["drift status events duplicated"] += 1
            self._schedule(
                self.clock.seconds + self.rng.uniform(0.5, 30.0),
                "event",
                (event, "drift status event (copy)", 0),
            )
        self._deliver_event(event, "drift status event", 0)

    def _process_due(self) -> None:
        while self._heap and self._heap[0][0] <= self.clock.seconds:
            _, _, kind, payload = heapq.heappop(self._heap)
            if kind == "drift":
                self._drift_event(payload)
            elif kind == "event":
                event, label, attempt = payload
                self._deliver_event(event, label, attempt)
            elif kind == "visible":
                self._make_visible(payload)
            elif kind == "send":
                self._real_sqs().send_message(**payload)
                self.deliveries["delayed messages released"] += 1
            elif kind == "sweep":
                self._run_sweeper(payload)

    # The check queue --------------------------------------------------------------

    def _real_sqs(self) -> Any:
        # The driver's own client: moto, without the simulated delays of SqsProxy.
        if self._sqs is None:
            self._sqs = boto3.client("sqs", region_name=self.config.region)
        return self._sqs

    def _make_visible(self, receipt: str) -> None:
        try:
            self._real_sqs().change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
            )
        except ClientError:
            self.deliveries["stale receipt handles"] += 1

    def _deliver_batch(self) -> bool:
        """Deliver one batch of the check queue; return False when none is visible."""
        received = (
            self._real_sqs()
            .receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.config.batch_size,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            .get("Messages", [])
        )
        if not received:
            return False

        records = self._live_records(received)
        if not records:
            return True
        response, error = self._invoke(
            validator.handler, VALIDATOR_FUNCTION, {"Records": records}
        )
        self.deliveries["queue messages delivered"] += len(records)
        self.deliveries["queue batches"] += 1

        # Lambda deletes the messages that succeeded. The others, or the whole batch
        # when the handler raised, come back after their visibility timeout.
        failed: set[str] = set()
        if error is not None:
            failed = {record["messageId"] for record in records}
        elif isinstance(response, dict):
            failed = {
                str(item.get("itemIdentifier"))
                for item in response.get("batchItemFailures", [])
            }
        for record in records:
            self._settle_message(record, returned=record["messageId"] in failed)
        return True

    def _live_records(self, received: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Moves messages past the receive limit to the dead-letter list, like a
        # redrive policy, and converts the others to Lambda's SQS records.
        records = []
        for message in received:
            count = int(message["Attributes"]["ApproximateReceiveCount"])
            arn = _stack_of_body(message["Body"])
            if count > self.config.max_receives:
                self.dead_letters.append(message["Body"])
                self._real_sqs().delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                if arn:
                    self.estate.note(
                        arn, f"check request dead-lettered after {count - 1} receives"
                    )
                continue
            records.append(self._record(message))
            if arn:
                self.estate.note(
                    arn, f"queue message delivered (receive {count}): {message['Body']}"
                )
        return records

    def _settle_message(self, record: dict[str, Any], *, returned: bool) -> None:
        receipt = record["receiptHandle"]
        proxy = self._sqs_proxy
        override = proxy.visibility.pop(receipt, None) if proxy else None
        if not returned:
            self._real_sqs().delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=receipt
            )
            return
        self.deliveries["queue messages returned"] += 1
        delay = self.config.visibility_timeout_seconds
        if override is not None:
            delay = override
        arn = _stack_of_body(record["body"])
        if arn:
            self.estate.note(arn, f"queue message returned, visible in {delay:.0f} s")
        self._schedule(self.clock.seconds + delay, "visible", receipt)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = {
            key: str(value) for key, value in message.get("Attributes", {}).items()
        }
        message_attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": attributes,
            "messageAttributes": message_attributes,
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.config.region,
        }

    # Phases ---------------------------------------------------------------------

    def _run_until_settled(self) -> None:
        start = self.clock.seconds
        while True:
            self._process_due()
            if self.clock.seconds - start > self.config.phase_limit_seconds:
                self.unsettled_phases += 1
                return
            if self._deliver_batch():
                continue
            if not self._heap:
                return
            self.clock.advance_to(self._heap[0][0])

    def _schedule_update_events(self) -> None:
        # Delivered while the sweep's checks run: each update happened before the
        # sweep, so the sweep's detection covers it.
        for stack in self.stacks:
            if stack.receives_update_event:
                at = self.clock.seconds + self.rng.uniform(0.5, 90.0)
                event = stack_status_event(stack, self._new_id())
                self._schedule(at, "event", (event, "stack status change event", 0))

    # Setup -----------------------------------------------------------------------

    def environment(self, topic_arn: str) -> dict[str, str]:
        """Return the functions' environment variables."""
        members = [
            account for account in self.config.accounts if account != HUB_ACCOUNT
        ]
        return {
            "STATE_TABLE_NAME": TABLE_NAME,
            "CONFIG_BUCKET_NAME": BUCKET_NAME,
            "ALERT_TOPIC_ARN": topic_arn,
            "DRIFT_ENVIRONMENT": ENVIRONMENT,
            "CHECK_QUEUE_URL": self.queue_url,
            "SWEEP_STACK_PATTERNS": json.dumps(["*"]),
            # Matches no stack of the estate, so every stack is selected.
            "SWEEP_EXCLUDE_PATTERNS": json.dumps(["scratch-*"]),
            "SWEEP_REQUIRED_TAGS": json.dumps({}),
            "SWEEP_MIN_AGE_SECONDS": str(self.config.min_age_seconds),
            "SWEEP_REGIONS": json.dumps([self.config.region]),
            "MEMBER_ACCOUNTS": json.dumps(members),
            "MEMBER_ROLE_NAME": MEMBER_ROLE_NAME,
            "POWERTOOLS_SERVICE_NAME": "drift-estate-bench",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }

    def _create_resources(self) -> str:
        region = self.config.region
        dynamodb = boto3.client("dynamodb", region_name=region)
        create_state_table(dynamodb, TABLE_NAME)
        bucket_configuration: Any = {"LocationConstraint": region}
        boto3.client("s3", region_name=region).create_bucket(
            Bucket=BUCKET_NAME, CreateBucketConfiguration=bucket_configuration
        )
        topic_arn = boto3.client("sns", region_name=region).create_topic(
            Name=TOPIC_NAME
        )["TopicArn"]
        sqs = boto3.client("sqs", region_name=region)
        self.queue_url = sqs.create_queue(
            QueueName=QUEUE_NAME,
            Attributes={"VisibilityTimeout": str(MOTO_VISIBILITY_SECONDS)},
        )["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        return str(topic_arn)

    def _client_replacements(self) -> dict[int, Any]:
        original_client = clients.client
        estate = self.estate
        region_default = self.config.region

        def client(
            service: str, region: str | None = None, endpoint_url: str | None = None
        ) -> Any:
            region = region or region_default
            if service == "cloudformation":
                return estate.client(HUB_ACCOUNT, region)
            real = original_client(service, region, endpoint_url)
            if service == "sqs":
                if self._sqs_proxy is None:
                    self._sqs_proxy = SqsProxy(real, self)
                return self._sqs_proxy
            return real

        def account_client(
            service: str, account: str, region: str, partition: str = "aws"
        ) -> Any:
            if service == "cloudformation":
                return estate.client(account, region)
            return client(service, region)

        replacements: dict[int, Any] = {id(original_client): client}
        original_account_client = getattr(clients, "account_client", None)
        if original_account_client is not None:
            replacements[id(original_account_client)] = account_client
        return replacements

    # Counting ---------------------------------------------------------------------

    def _check_items(self) -> tuple[Counter[str], dict[str, set[str]]]:
        dynamodb = boto3.client("dynamodb", region_name=self.config.region)
        per_partition: Counter[str] = Counter()
        arns: dict[str, set[str]] = {}
        params: dict[str, Any] = {"TableName": TABLE_NAME}
        while True:
            page = dynamodb.scan(**params)
            for item in page.get("Items", []):
                if not item["sk"]["S"].startswith(state.CHECK_PREFIX):
                    continue
                partition = item["pk"]["S"]
                per_partition[partition] += 1
                if "stack_arn" in item:
                    arns.setdefault(partition, set()).add(item["stack_arn"]["S"])
            if "LastEvaluatedKey" not in page:
                return per_partition, arns
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _stranded_messages(self) -> int:
        attributes = self._real_sqs().get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    # Run -----------------------------------------------------------------------------

    def run(self) -> BenchmarkResult:
        """Run both sweeps and every delivery they cause, then count."""
        wall_start = time.perf_counter()
        random_state = random.getstate()
        # The handlers draw retry jitter from the global generator.
        random.seed(self.config.seed)
        phase_ends: list[float] = []
        try:
            with (
                _fake_aws_environment(),
                mock_aws(),
                captured_handler_logs(self.verbose) as logs,
            ):
                clients.client.cache_clear()
                topic_arn = self._create_resources()
                with (
                    mock.patch.dict(os.environ, self.environment(topic_arn)),
                    patched_runtime(self.clock, self._client_replacements()),
                ):
                    self._schedule_update_events()
                    self._run_sweeper()
                    self._run_until_settled()
                    phase_ends.append(self.clock.seconds)
                    self.clock.advance_to(self.config.second_sweep_at_seconds)
                    self._run_sweeper()
                    self._run_until_settled()
                    phase_ends.append(self.clock.seconds)
                per_partition, recorded_arns = self._check_items()
                stranded = self._stranded_messages()
                clients.client.cache_clear()
        finally:
            random.setstate(random_state)
            # The handlers record the function's account in a module global.
            clients.set_own_account(None)

        check_records: Counter[str] = Counter()
        lost: list[str] = []
        nested_missing: list[str] = []
        for stack in self.stacks:
            partition = state.stack_partition_key(
                ENVIRONMENT, stack.account, stack.region, stack.name
            )
            check_records[stack.arn] = per_partition[partition]
            if per_partition[partition] == 0:
                lost.append(stack.arn)
            if stack.is_nested:
                recorded = recorded_arns.get(partition)
                by_own_arn = self.estate.counts.detections[stack.arn] > 0 and (
                    recorded is None or recorded == {stack.arn}
                )
                if not by_own_arn or per_partition[partition] == 0:
                    nested_missing.append(stack.arn)
        return BenchmarkResult(
            config=self.config,
            stacks=self.stacks,
            counts=self.estate.counts,
            lost_stacks=lost,
            dead_letters=self.dead_letters,
            check_records=check_records,
            nested_not_checked_by_arn=nested_missing,
            deliveries=self.deliveries,
            sweeps=self.sweeps,
            handler_errors=self.handler_errors,
            error_logs=logs.lines,
            timelines=self.estate.timeline,
            phase_ends=phase_ends,
            simulated_seconds=self.clock.seconds,
            wall_seconds=time.perf_counter() - wall_start,
            stranded_messages=stranded,
            unsettled_phases=self.unsettled_phases,
        )


@contextlib.contextmanager
def _fake_aws_environment() -> Iterator[None]:
    # Fake credentials, no profile or endpoint override, and moto's account id set to
    # the hub's, so ARNs that moto builds name the hub account.
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "MOTO_ACCOUNT_ID": HUB_ACCOUNT,
    }
    removed = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL")
    with mock.patch.dict(os.environ, values):
        for name in removed:
            os.environ.pop(name, None)
        yield


# Polling comparison ------------------------------------------------------------------


def run_polling_comparison(config: BenchmarkConfig) -> PollingComparison:
    """Check a sample of the same estate with ``detection.run_check``, which polls.

    The estate is built again from the same seed, without throttling, so every call
    counted is one the polling engine needs.
    """
    clock = SimClock()
    stacks = build_estate(
        config.stacks,
        config.seed,
        accounts=config.accounts,
        region=config.region,
        nested_fraction=config.nested_fraction,
        update_event_fraction=config.update_event_fraction,
    )
    estate = SimulatedEstate(
        stacks,
        clock,
        seed=config.seed,
        throttling=False,
        failed_detection_rate=config.failed_detection_rate,
    )
    sample = random.Random(config.seed + 1).sample(
        stacks, min(config.polling_sample, len(stacks))
    )
    verdicts: Counter[str] = Counter()
    for stack in sample:
        deadline = clock.seconds + config.function_timeout_seconds

        def remaining(deadline: float = deadline) -> float:
            return deadline - clock.seconds

        result = run_check(
            estate.client(stack.account, stack.region),
            stack.arn,
            remaining_seconds=remaining,
            sleep=clock.sleep,
            jitter=lambda: 0.5,
        )
        verdicts[result.verdict.value] += 1
    return PollingComparison(
        stacks=len(sample),
        api_calls=estate.counts.api_calls,
        status_polls=estate.counts.status_polls,
        simulated_seconds=clock.seconds,
        verdicts=verdicts,
    )


def run_benchmark(config: BenchmarkConfig, *, verbose: bool = False) -> BenchmarkResult:
    """Run the estate benchmark and, if ``config.polling_sample``, the comparison."""
    result = EstateDriver(config, verbose=verbose).run()
    if config.polling_sample > 0:
        result.polling = run_polling_comparison(config)
    return result


# Report ------------------------------------------------------------------------------


def _share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def missed_targets(result: BenchmarkResult) -> list[str]:
    """Return one line per missed target; empty when every target is met."""
    missed = []
    if result.lost:
        missed.append(
            f"lost = {result.lost}, target 0 ({len(result.lost_stacks)} stacks "
            f"without a recorded check, {len(result.dead_letters)} dead-lettered "
            "messages)"
        )
    if result.duplicate_checks:
        missed.append(f"duplicate_checks = {result.duplicate_checks}, target 0")
    if result.counts.status_polls:
        missed.append(
            f"status_polls = {result.counts.status_polls}, target 0 "
            f"({result.counts.polls_in_progress} while a detection was in progress)"
        )
    if result.nested_not_checked_by_arn:
        missed.append(
            f"{len(result.nested_not_checked_by_arn)} nested stacks not checked by "
            "their own ARN, target 0"
        )
    return missed


def _scenario_stacks(result: BenchmarkResult) -> list[str]:
    counts = result.counts
    chosen = list(result.lost_stacks)
    chosen += [arn for arn, n in counts.detections.items() if n > 1]
    chosen += list(counts.rejected_detections)
    chosen += [arn for arn, n in counts.reads_during_detection.items() if n]
    for body in result.dead_letters:
        arn = _stack_of_body(body)
        if arn:
            chosen.append(arn)
    return list(dict.fromkeys(chosen))


def _run_lines(result: BenchmarkResult) -> list[str]:
    config = result.config
    dropped = result.deliveries["drift status events dropped"]
    duplicated = result.deliveries["drift status events duplicated"]
    lines = [
        f"Estate benchmark: {len(result.stacks)} stacks ({result.nested_stacks} "
        f"nested) in {len(config.accounts)} accounts of {config.region}, seed "
        f"{config.seed}",
        f"Throttling: {config.burst:g} calls of burst, {config.refill_per_second:g} "
        f"calls per second per account; drift status events: {dropped} dropped, "
        f"{duplicated} duplicated",
        f"Simulated time: first phase settled at {result.phase_ends[0]:.0f} s, second "
        f"sweep at {config.second_sweep_at_seconds:.0f} s, end at "
        f"{result.simulated_seconds:.0f} s; wall time {result.wall_seconds:.1f} s",
        "",
        "Sweeps:",
    ]
    for sweep in result.sweeps:
        outcome = sweep["error"] or json.dumps(sweep["response"], sort_keys=True)
        lines.append(
            f"  at {sweep['at']:.0f} s (attempt {sweep['attempt']}): {outcome}"
        )

    lines += ["", "Deliveries:"]
    for name, value in sorted(result.deliveries.items()):
        lines.append(f"  {name}: {value}")
    lines.append(f"  dead-lettered queue messages: {len(result.dead_letters)}")
    lines.append(f"  messages left in the queue: {result.stranded_messages}")
    if result.unsettled_phases:
        lines.append(
            f"  phases stopped after {config.phase_limit_seconds:.0f} simulated "
            f"seconds without settling: {result.unsettled_phases}"
        )
    if result.handler_errors or result.error_logs:
        lines += ["", "Handler errors (first 10 of each):"]
        lines += [f"  {line}" for line in result.handler_errors[:10]]
        lines += [f"  log: {line}" for line in result.error_logs[:10]]
    return lines


def _count_lines(result: BenchmarkResult) -> list[str]:
    counts = result.counts
    lines = ["", "CloudFormation calls (event-driven run):"]
    for operation, value in sorted(counts.by_operation.items()):
        lines.append(f"  {operation}: {value}")
    lines += [
        f"  total: {counts.api_calls}, throttled: {counts.throttled} "
        f"({_share(counts.throttled, counts.api_calls)})",
        f"  status polls: {counts.status_polls} ({counts.polls_in_progress} while "
        "the detection was in progress)",
        f"  ValidationError responses: {counts.validation_errors}; calls of "
        f"unimplemented operations: {counts.unsupported_calls}",
        f"  result reads while a detection was running: "
        f"{sum(counts.reads_during_detection.values())}",
        "",
        "Checks:",
        f"  stacks with a recorded check: "
        f"{len(result.stacks) - len(result.lost_stacks)} of {len(result.stacks)}",
        f"  nested stacks checked by their own ARN: "
        f"{result.nested_stacks - len(result.nested_not_checked_by_arn)} of "
        f"{result.nested_stacks}",
        f"  detections started: {sum(counts.detections.values())}, rejected because "
        f"one was running: {sum(counts.rejected_detections.values())}",
        f"  stacks with more than one CHECK# item: "
        f"{sum(1 for n in result.check_records.values() if n > 1)}",
    ]
    return lines


def _polling_lines(result: BenchmarkResult) -> list[str]:
    polling = result.polling
    if polling is None or not polling.stacks:
        return []
    counts = result.counts
    stacks = len(result.stacks)
    return [
        "",
        f"Polling engine for comparison: detection.run_check on {polling.stacks} "
        "of the same stacks, no throttling",
        "  | engine | calls per stack | status polls per stack |",
        "  |---|---|---|",
        f"  | polling (run_check) | {polling.api_calls / polling.stacks:.2f} | "
        f"{polling.status_polls / polling.stacks:.2f} |",
        f"  | event-driven, all calls | {counts.api_calls / stacks:.2f} | "
        f"{counts.status_polls / stacks:.2f} |",
        f"  | event-driven, without throttled calls | "
        f"{(counts.api_calls - counts.throttled) / stacks:.2f} | "
        f"{counts.status_polls / stacks:.2f} |",
    ]


def _target_lines(result: BenchmarkResult) -> list[str]:
    lines = ["", "Targets (lost, duplicate_checks, status_polls all 0):"]
    lines += [f"  missed: {line}" for line in missed_targets(result)] or ["  all met"]
    scenarios = _scenario_stacks(result)
    if scenarios:
        lines += [
            "",
            f"Timelines of stacks behind missed targets (first {TIMELINES_SHOWN}):",
        ]
    for arn in scenarios[:TIMELINES_SHOWN]:
        lines.append(f"  {arn}")
        for moment, text in result.timelines.get(arn, []):
            lines.append(f"    {moment:9.1f} s  {text}")
    return lines


def format_report(result: BenchmarkResult) -> str:
    """Return the readable summary; the count line is the last line."""
    lines = [
        *_run_lines(result),
        *_count_lines(result),
        *_polling_lines(result),
        *_target_lines(result),
        result.count_line(),
    ]
    return "\n".join(lines)


def main() -> int:
    """Parse the options, run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stacks", type=int, default=1000, help="stacks in the estate (default 1000)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the estate and faults (default 1)"
    )
    parser.add_argument(
        "--polling-sample",
        type=int,
        default=50,
        help="stacks checked by the polling engine for comparison (default 50)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print the handlers' own log lines"
    )
    args = parser.parse_args()
    if args.stacks < 1:
        parser.error(f"--stacks must be at least 1, got {args.stacks}")
    config = BenchmarkConfig(
        stacks=args.stacks, seed=args.seed, polling_sample=max(0, args.polling_sample)
    )
    print(format_report(run_benchmark(config, verbose=args.verbose)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
