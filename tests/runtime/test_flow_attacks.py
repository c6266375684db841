"""Attacks on the event-driven check flow and the sweep.

Each test delivers events and queue messages in an order that production can produce.
The cases are duplicated, reordered or late deliveries, a crash between two steps
followed by the retry of Lambda or SQS, two invocations at once, malformed input and
nested stacks checked in any order. The validator and the sweeper run against moto
with stubbed CloudFormation, as in test_check_flow.py. A test marked ``xfail``
reproduces the bug that its reason names, and the other tests check guarantees that
held.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from drift_constructs.drift_runtime import (
    clients,
    detection,
    settings,
    state,
    sweeper,
    validator,
)
from drift_constructs.drift_runtime.events import parse_stack_arn
from drift_constructs.drift_runtime.handler_support import ConfigurationError
from drift_constructs.drift_runtime.store import StateStore

from . import cfn_stubs as cfn
from .conftest import REGION, FakeContext
from .test_check_flow import (
    CHILD_ARN,
    checks,
    finish_body,
    latest,
    queue_records,
    store,
    stub_results,
)
from .test_handlers import (
    PARTITION,
    STACK_ARN,
    Aws,
    check,
    drift_event,
    moto_environment,
    stack_event,
    stub_in_sync_check,
)

GRANDCHILD_ARN = (
    "arn:aws:cloudformation:eu-west-1:111111111111:stack/"
    "app-dev-DbNested-ABC-CacheNested-DEF/uuid-4"
)
CN_STACK_ARN = "arn:aws-cn:cloudformation:cn-north-1:111111111111:stack/app-cn/uuid-5"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_environment(monkeypatch) as resources:
        yield resources


class LambdaTimeoutError(BaseException):
    """Stands in for Lambda stopping a function at its timeout.

    It derives from BaseException, so no ``except Exception`` clause of the handler
    runs. No lease is released and the idempotency record stays in progress.
    """


def server_error(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "simulated failure"}},
        operation,
    )


def deliver(event: dict[str, Any]) -> Any:
    """Invoke the validator and return its response or the RetryLaterError it raised."""
    try:
        return validator.handler(event, FakeContext())
    except validator.RetryLaterError as error:
        return error


def drain_queue(aws: Aws) -> list[dict[str, Any]]:
    """Hand every visible check queue message to the validator as one batch each."""
    sqs = boto3.client("sqs", region_name=REGION)
    responses = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=aws.check_queue, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return responses
        records = [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "eventSource": "aws:sqs",
            }
            for message in messages
        ]
        responses.append(validator.handler({"Records": records}, FakeContext()))
        for message in messages:
            sqs.delete_message(
                QueueUrl=aws.check_queue, ReceiptHandle=message["ReceiptHandle"]
            )


def detection_ids(stack_arn: str) -> list[str]:
    """Return the detection id of each ``CHECK#`` item of a stack, oldest first."""
    return [item["detection_id"]["S"] for item in checks(stack_arn)]


def run_check(
    stack_arn: str, detection_id: str, drift_status: str = "IN_SYNC"
) -> dict[str, Any]:
    """Start a check of ``stack_arn`` and finish it with its drift status event."""
    started = validator.handler(
        stack_event(f"evt-{detection_id}", stack_arn=stack_arn), FakeContext()
    )
    assert started["outcome"] == "started", started
    finished: dict[str, Any] = validator.handler(
        drift_event(
            f"drift-{detection_id}", detection_id, drift_status, stack_arn=stack_arn
        ),
        FakeContext(),
    )
    return finished


def stub_parent_results(aws: Aws, stack_arn: str, nested: list[str]) -> None:
    """Stub the result pages of a stack whose resources include ``nested`` stacks."""
    entries = [
        cfn.drift_entry("Bucket", "AWS::S3::Bucket", "IN_SYNC", stack_arn=stack_arn)
    ]
    summaries: list[tuple[str, str, str]] = [
        ("Bucket", "AWS::S3::Bucket", "bucket-physical")
    ]
    for index, arn in enumerate(nested):
        logical_id = f"Nested{index}"
        entries.append(
            cfn.drift_entry(
                logical_id, "AWS::CloudFormation::Stack", "IN_SYNC", stack_arn=stack_arn
            )
        )
        summaries.append((logical_id, "AWS::CloudFormation::Stack", arn))
    cfn.drift_page(aws.cfn_stubber, entries, stack_arn=stack_arn)
    cfn.resources(aws.cfn_stubber, summaries, stack_arn=stack_arn)


def stub_drifted_results(aws: Aws, stack_arn: str) -> None:
    cfn.drift_page(
        aws.cfn_stubber,
        [
            cfn.drift_entry(
                "Table", "AWS::DynamoDB::Table", "MODIFIED", [], stack_arn=stack_arn
            )
        ],
        stack_arn=stack_arn,
    )
    cfn.resources(
        aws.cfn_stubber, [("Table", "AWS::DynamoDB::Table")], stack_arn=stack_arn
    )


# Each detection is recorded once, whatever the order, copies and delays of its
# event and finish request, and after a crash between two steps.


def test_early_event_of_second_detection_is_retried(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_in_sync_check(aws.cfn_stubber, "det-1")
    check("evt-1", "IN_SYNC", "det-1")
    cfn.detect(aws.cfn_stubber, detection_id="det-2")
    stub_results(aws)
    early_event = drift_event("drift-det-2", "det-2", "IN_SYNC")
    seen: list[Any] = []
    original = StateStore.record_detection_start

    def status_event_first(self: StateStore, *args: Any, **kwargs: Any) -> bool:
        # The detection's status event overtakes the write of its start.
        seen.append(deliver(early_event))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StateStore, "record_detection_start", status_event_first)
    monkeypatch.setattr(validator, "RETRY_FINISH_DELAY_SECONDS", 0)
    started = validator.handler(stack_event("evt-2"), FakeContext())
    monkeypatch.setattr(StateStore, "record_detection_start", original)
    # The early event became a finish request on the check queue.
    drained = drain_queue(aws)

    assert seen[0]["outcome"] == "retry_queued"
    assert started["outcome"] == "started"
    assert drained == [{"batchItemFailures": []}]
    assert detection_ids(STACK_ARN) == ["det-1", "det-2"]


@pytest.mark.parametrize("method", ["put_latest_check", "complete_detection"])
def test_retry_after_partial_finish_records_once(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    stub_in_sync_check(aws.cfn_stubber)
    stub_results(aws)
    validator.handler(stack_event(), FakeContext())
    original = getattr(StateStore, method)
    failures: list[str] = []

    def fail_once(self: StateStore, *args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(method)
            raise server_error("UpdateItem")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StateStore, method, fail_once)
    event = drift_event(drift_status="IN_SYNC")

    with pytest.raises(ClientError):
        validator.handler(event, FakeContext())
    retried = validator.handler(event, FakeContext())

    assert failures == [method]
    assert retried["outcome"] in ("finished", "duplicate")
    assert detection_ids(STACK_ARN) == ["det-1"]
    assert latest(STACK_ARN)["finished_detection_id"] == "det-1"


def test_retry_after_failed_report_records_once(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failure before anything is written releases the finish lease, and the
    # retry records the detection once.
    cfn.detect(aws.cfn_stubber)
    stub_results(aws)
    stub_results(aws)
    validator.handler(stack_event(), FakeContext())
    original = StateStore.put_json
    failures: list[str] = []

    def fail_once(self: StateStore, *args: Any, **kwargs: Any) -> None:
        if not failures:
            failures.append("put_json")
            raise server_error("PutObject")
        original(self, *args, **kwargs)

    monkeypatch.setattr(StateStore, "put_json", fail_once)
    event = drift_event(drift_status="IN_SYNC")

    with pytest.raises(ClientError):
        validator.handler(event, FakeContext())
    assert "finish_lease_until" not in latest(STACK_ARN)
    retried = validator.handler(event, FakeContext())

    aws.cfn_stubber.assert_no_pending_responses()
    assert retried["outcome"] == "finished"
    assert retried["verdict"] == "in_sync"
    assert detection_ids(STACK_ARN) == ["det-1"]
    assert "detection_lease_until" not in latest(STACK_ARN)


def test_retry_after_finisher_timeout_is_kept(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn.detect(aws.cfn_stubber)
    stub_results(aws)
    validator.handler(stack_event(), FakeContext())
    original = detection.collect_result

    def time_out(*args: Any, **kwargs: Any) -> Any:
        raise LambdaTimeoutError

    monkeypatch.setattr(detection, "collect_result", time_out)
    event = drift_event(drift_status="IN_SYNC")
    # With 1 ms left, the idempotency record's in-progress period ends at once, as
    # it does when Lambda stops the function at its timeout.
    with pytest.raises(LambdaTimeoutError):
        validator.handler(event, FakeContext(remaining_ms=1))
    monkeypatch.setattr(detection, "collect_result", original)
    time.sleep(0.01)

    retry = deliver(event)

    recorded = detection_ids(STACK_ARN) == ["det-1"]
    retried_later = (
        isinstance(retry, validator.RetryLaterError) or aws.queued_count() == 1
    )
    assert recorded or retried_later, retry


def test_late_finish_request_not_recorded_twice(aws: Aws) -> None:
    stub_in_sync_check(aws.cfn_stubber, "det-1")
    stub_in_sync_check(aws.cfn_stubber, "det-2")
    check("evt-1", "IN_SYNC", "det-1")
    check("evt-2", "IN_SYNC", "det-2")
    # Stubbed so that a second collection of det-1 can complete.
    stub_results(aws)

    # The sweep's finish request for det-1 waited on the queue while det-1's own
    # event and a whole check of det-2 were processed.
    records = queue_records(aws, [finish_body(STACK_ARN, "det-1", "IN_SYNC")])
    response = validator.handler({"Records": records}, FakeContext())

    assert response == {"batchItemFailures": []}
    assert detection_ids(STACK_ARN) == ["det-1", "det-2"]
    assert latest(STACK_ARN)["detection_id"] == "det-2"


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["event", "duplicate", "finish"]))
)
def test_event_duplicate_and_finish_record_once(
    aws: Aws, order: tuple[str, ...]
) -> None:
    stub_in_sync_check(aws.cfn_stubber)
    validator.handler(stack_event(), FakeContext())
    deliveries = {
        "event": drift_event(drift_status="IN_SYNC"),
        # EventBridge may deliver one event twice under two ids.
        "duplicate": drift_event("drift-copy", drift_status="IN_SYNC"),
        "finish": {
            "Records": queue_records(aws, [finish_body(STACK_ARN, "det-1", "IN_SYNC")])
        },
    }

    responses = [validator.handler(deliveries[name], FakeContext()) for name in order]

    aws.cfn_stubber.assert_no_pending_responses()
    outcomes = []
    for response in responses:
        # A queue batch returns the messages to retry, and an event returns an
        # outcome.
        if "batchItemFailures" in response:
            outcomes.append("returned" if response["batchItemFailures"] else "done")
        else:
            outcomes.append(response["outcome"])
    assert "returned" not in outcomes
    assert outcomes.count("finished") == (0 if order[0] == "finish" else 1)
    assert detection_ids(STACK_ARN) == ["det-1"]
    assert latest(STACK_ARN)["finished_detection_id"] == "det-1"
    assert "detection_lease_until" not in latest(STACK_ARN)


class ProxyClient:
    """A client wrapper that runs calls one at a time and records their names.

    DynamoDB applies each request atomically, but moto does not lock its tables
    between threads, so the lock gives moto that guarantee.
    """

    def __init__(self, client: Any, lock: threading.Lock, calls: list[str]) -> None:
        self._client = client
        self._lock = lock
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._calls.append(name)
                return value(*args, **kwargs)

        return call


def proxy_clients(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap every client the handlers create and return the list of call names."""
    lock = threading.Lock()
    calls: list[str] = []
    plain_client = clients.client

    def proxied(service: str, region: str | None = None, endpoint: Any = None) -> Any:
        return ProxyClient(plain_client(service, region, endpoint), lock, calls)

    monkeypatch.setattr(clients, "client", proxied)
    return calls


def test_concurrent_event_and_finish_record_once(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_in_sync_check(aws.cfn_stubber)
    validator.handler(stack_event(), FakeContext())
    proxy_clients(monkeypatch)
    # Both invocations reach claim_finish before either calls it.
    barrier = threading.Barrier(2, timeout=10)
    original = StateStore.claim_finish

    def claim_together(self: StateStore, *args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StateStore, "claim_finish", claim_together)
    finish = {
        "Records": queue_records(aws, [finish_body(STACK_ARN, "det-1", "IN_SYNC")])
    }
    responses: dict[str, Any] = {}

    def run(name: str, event: dict[str, Any]) -> None:
        try:
            responses[name] = validator.handler(event, FakeContext())
        except Exception as error:
            responses[name] = error

    threads = [
        threading.Thread(
            target=run, args=("event", drift_event(drift_status="IN_SYNC"))
        ),
        threading.Thread(target=run, args=("queue", finish)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    # Whichever loses the race is acknowledged as a duplicate or comes back later:
    # the event as a queued finish request, the queue message as a batch failure.
    assert responses["event"]["outcome"] in ("finished", "duplicate", "retry_queued")
    assert len(responses["queue"]["batchItemFailures"]) <= 1
    assert detection_ids(STACK_ARN) == ["det-1"]
    assert latest(STACK_ARN)["finished_detection_id"] == "det-1"


def test_console_finish_keeps_next_detection_locked(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn.detect(aws.cfn_stubber, detection_id="det-2")
    stub_results(aws)
    cfn.detect(aws.cfn_stubber, detection_id="det-3")
    original = detection.collect_result
    updates: list[Any] = []

    def update_meanwhile(*args: Any, **kwargs: Any) -> Any:
        # A stack update arrives while a console detection's results are read.
        if not updates:
            updates.append(validator.handler(stack_event("evt-2"), FakeContext()))
        return original(*args, **kwargs)

    monkeypatch.setattr(detection, "collect_result", update_meanwhile)
    console = validator.handler(
        drift_event("drift-console", "console-1", "IN_SYNC"), FakeContext()
    )
    monkeypatch.setattr(detection, "collect_result", original)
    after_console = latest(STACK_ARN)
    # Another stack update while det-2 runs.
    third = validator.handler(stack_event("evt-3"), FakeContext())

    assert updates[0]["outcome"] == "started"
    assert console["outcome"] == "finished"
    assert third["outcome"] == "busy"
    assert after_console["detection_id"] == "det-2"
    assert "detection_lease_until" in after_console


# One detection per stack at a time.


def test_late_event_keeps_next_detection_locked(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn.detect(aws.cfn_stubber, detection_id="det-1")
    validator.handler(stack_event("evt-1"), FakeContext())
    # det-1's status event arrives after the detection lease ran out.
    store()._update_latest(PARTITION, {"detection_lease_until": int(time.time()) - 1})
    cfn.detect(aws.cfn_stubber, detection_id="det-2")
    original = detection.start_detection
    late: list[Any] = []

    def late_event_first(*args: Any, **kwargs: Any) -> Any:
        late.append(deliver(drift_event("drift-late", "det-1", "IN_SYNC")))
        return original(*args, **kwargs)

    monkeypatch.setattr(detection, "start_detection", late_event_first)
    second = validator.handler(stack_event("evt-2"), FakeContext())
    monkeypatch.setattr(detection, "start_detection", original)
    after_second = latest(STACK_ARN)
    # A stack update while det-2 runs.
    third = validator.handler(stack_event("evt-3"), FakeContext())

    # The superseded detection's event waits on the queue, then finds det-2
    # holding the lock and is dropped.
    assert late[0]["outcome"] == "retry_queued"
    assert second["outcome"] == "started"
    assert third["outcome"] == "busy"
    assert after_second["detection_id"] == "det-2"
    aws.cfn_stubber.assert_no_pending_responses()


def test_concurrent_starts_run_one_detection(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn.detect(aws.cfn_stubber)
    proxy_clients(monkeypatch)
    barrier = threading.Barrier(2, timeout=10)
    original = StateStore.claim_detection

    def claim_together(self: StateStore, *args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StateStore, "claim_detection", claim_together)
    moment = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    outcomes: list[Any] = []

    def run(event_id: str) -> None:
        try:
            outcomes.append(
                validator.handler(stack_event(event_id, time=moment), FakeContext())
            )
        except Exception as error:
            outcomes.append(error)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    aws.cfn_stubber.assert_no_pending_responses()
    started = [item for item in outcomes if item["outcome"] == "started"]
    others = [item["outcome"] for item in outcomes if item not in started]
    assert len(started) == 1
    # The second finds the lock, before or after the start is recorded.
    assert others in (["busy"], ["satisfied"])
    assert latest(STACK_ARN)["detection_id"] == "det-1"


# The handlers' own outputs, fed back as inputs, neither loop nor multiply.


def test_requeued_check_neither_loops_nor_multiplies(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn.detect(aws.cfn_stubber, detection_id="det-1")
    stub_results(aws)
    cfn.detect(aws.cfn_stubber, detection_id="det-2")
    before = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    validator.handler(stack_event("evt-1", time=before), FakeContext())
    update = stack_event("evt-2")
    busy = validator.handler(update, FakeContext())
    sent = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=aws.check_queue, AttributeNames=["All"]
    )
    assert busy["outcome"] == "busy"
    assert busy["requeued"] is True
    # The requeued check is delayed, so it is not visible yet.
    assert sent.get("Messages", []) == []
    assert aws.queued_count() == 1
    body = json.dumps(
        {
            "kind": "check",
            "stack_arn": STACK_ARN,
            "satisfied_after": update["time"],
            "trigger": "stack-update",
        }
    )
    # From here on, every output of the validator is fed back as its input.
    calls = proxy_clients(monkeypatch)

    while_running = validator.handler(
        {"Records": queue_records(aws, [body])}, FakeContext()
    )
    finished = validator.handler(drift_event(drift_status="IN_SYNC"), FakeContext())
    after_finish = validator.handler(
        {"Records": queue_records(aws, [body])}, FakeContext()
    )
    replayed = validator.handler({"Records": queue_records(aws, [body])}, FakeContext())

    aws.cfn_stubber.assert_no_pending_responses()
    # While the stack is busy, the same message goes back to the queue with a
    # longer visibility timeout.
    assert len(while_running["batchItemFailures"]) == 1
    assert finished["outcome"] == "finished"
    assert after_finish == {"batchItemFailures": []}
    # det-2 started after the request was made, so the replay is dropped.
    assert replayed == {"batchItemFailures": []}
    assert latest(STACK_ARN)["detection_id"] == "det-2"
    assert "send_message" not in calls
    assert "send_message_batch" not in calls
    assert calls.count("change_message_visibility") == 1


# The roll-up of nested stacks on their root stack.


def test_root_copy_keeps_newer_child_verdict(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn.detect(aws.cfn_stubber, detection_id="det-r1")
    stub_parent_results(aws, STACK_ARN, [CHILD_ARN])
    cfn.detect(aws.cfn_stubber, stack_arn=CHILD_ARN, detection_id="det-c1")
    stub_results(aws, CHILD_ARN)
    run_check(STACK_ARN, "det-r1")
    run_check(CHILD_ARN, "det-c1")
    # Second round: root and nested stack are checked at the same time.
    cfn.detect(aws.cfn_stubber, detection_id="det-r2")
    cfn.detect(aws.cfn_stubber, stack_arn=CHILD_ARN, detection_id="det-c2")
    stub_parent_results(aws, STACK_ARN, [CHILD_ARN])
    stub_drifted_results(aws, CHILD_ARN)
    validator.handler(stack_event("evt-det-r2"), FakeContext())
    validator.handler(stack_event("evt-det-c2", stack_arn=CHILD_ARN), FakeContext())
    original = StateStore.read_latest_many
    child_responses: list[Any] = []

    def child_finishes_meanwhile(self: StateStore, keys: Any) -> Any:
        snapshot = original(self, keys)
        if not child_responses:
            child_responses.append(
                deliver(
                    drift_event("drift-c2", "det-c2", "DRIFTED", stack_arn=CHILD_ARN)
                )
            )
        return snapshot

    monkeypatch.setattr(StateStore, "read_latest_many", child_finishes_meanwhile)
    root = validator.handler(
        drift_event("drift-r2", "det-r2", "IN_SYNC"), FakeContext()
    )

    aws.cfn_stubber.assert_no_pending_responses()
    assert root["verdict"] == "in_sync"
    assert child_responses[0]["verdict"] == "drifted"
    assert latest(CHILD_ARN)["verdict"] == "drifted"
    assert store().nested_verdicts(PARTITION)[CHILD_ARN]["verdict"] == "drifted"
    assert latest(STACK_ARN)["rollup_verdict"] == "drifted"


def test_child_checked_before_root_rolls_up(aws: Aws) -> None:
    cfn.detect(aws.cfn_stubber, stack_arn=CHILD_ARN, detection_id="det-c1")
    stub_drifted_results(aws, CHILD_ARN)
    cfn.detect(aws.cfn_stubber, detection_id="det-r1")
    stub_parent_results(aws, STACK_ARN, [CHILD_ARN])
    cfn.detect(aws.cfn_stubber, stack_arn=CHILD_ARN, detection_id="det-c2")
    stub_results(aws, CHILD_ARN)

    run_check(CHILD_ARN, "det-c1", "DRIFTED")
    run_check(STACK_ARN, "det-r1")
    after_root = latest(STACK_ARN)
    run_check(CHILD_ARN, "det-c2")

    aws.cfn_stubber.assert_no_pending_responses()
    # The root's check copies the verdict of the nested stack checked before it.
    assert after_root["verdict"] == "in_sync"
    assert after_root["rollup_verdict"] == "drifted"
    assert after_root["rollup_stacks"] == 2
    assert latest(CHILD_ARN)["root_stack_arn"] == STACK_ARN
    # The nested stack's next check updates the roll-up.
    rolled = latest(STACK_ARN)
    assert rolled["rollup_verdict"] == "in_sync"
    assert rolled["rollup_drifted_stacks"] == 0
    assert store().nested_verdicts(PARTITION)[CHILD_ARN]["verdict"] == "in_sync"


def test_grandchild_checked_before_root_rolls_up(aws: Aws) -> None:
    cfn.detect(aws.cfn_stubber, stack_arn=CHILD_ARN, detection_id="det-c1")
    stub_parent_results(aws, CHILD_ARN, [GRANDCHILD_ARN])
    cfn.detect(aws.cfn_stubber, stack_arn=GRANDCHILD_ARN, detection_id="det-g1")
    stub_drifted_results(aws, GRANDCHILD_ARN)
    cfn.detect(aws.cfn_stubber, detection_id="det-r1")
    stub_parent_results(aws, STACK_ARN, [CHILD_ARN])

    run_check(CHILD_ARN, "det-c1")
    grandchild = run_check(GRANDCHILD_ARN, "det-g1", "DRIFTED")
    run_check(STACK_ARN, "det-r1")

    aws.cfn_stubber.assert_no_pending_responses()
    assert grandchild["verdict"] == "drifted"
    rolled = latest(STACK_ARN)
    assert rolled["rollup_verdict"] == "drifted"
    assert rolled["rollup_stacks"] == 3
    assert latest(GRANDCHILD_ARN)["root_stack_arn"] == STACK_ARN


def test_stack_listing_itself_as_nested(aws: Aws) -> None:
    cfn.detect(aws.cfn_stubber, detection_id="det-r1")
    stub_parent_results(aws, STACK_ARN, [STACK_ARN])

    response = run_check(STACK_ARN, "det-r1")

    assert response["verdict"] == "in_sync"
    assert detection_ids(STACK_ARN) == ["det-r1"]
    record = latest(STACK_ARN)
    assert record.get("root_stack_arn") is None
    assert record.get("rollup_stacks", 1) == 1


def test_nested_stack_cycle_records_each_check(aws: Aws) -> None:
    # Each of two stacks that list each other is checked and recorded once.
    cfn.detect(aws.cfn_stubber, detection_id="det-r1")
    stub_parent_results(aws, STACK_ARN, [CHILD_ARN])
    cfn.detect(aws.cfn_stubber, stack_arn=CHILD_ARN, detection_id="det-c1")
    stub_parent_results(aws, CHILD_ARN, [STACK_ARN])
    cfn.detect(aws.cfn_stubber, detection_id="det-r2")
    stub_parent_results(aws, STACK_ARN, [CHILD_ARN])

    responses = [
        run_check(STACK_ARN, "det-r1"),
        run_check(CHILD_ARN, "det-c1"),
        run_check(STACK_ARN, "det-r2"),
    ]

    aws.cfn_stubber.assert_no_pending_responses()
    assert [response["outcome"] for response in responses] == ["finished"] * 3
    assert detection_ids(STACK_ARN) == ["det-r1", "det-r2"]
    assert detection_ids(CHILD_ARN) == ["det-c1"]
    assert aws.queued_count() == 0


# Malformed input, out-of-range settings and other partitions.


def test_huge_history_ttl_is_rejected(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_HISTORY_TTL_DAYS, "3000000")
    cfn.detect(aws.cfn_stubber)
    stub_results(aws)

    with pytest.raises(ConfigurationError, match=settings.ENV_HISTORY_TTL_DAYS):
        validator.handler(stack_event(), FakeContext())


def test_event_time_out_of_range_falls_back(aws: Aws) -> None:
    cfn.detect(aws.cfn_stubber)
    event = stack_event(time="0001-01-01T00:00:00+01:00")

    response = validator.handler(event, FakeContext())

    assert response["outcome"] == "started"
    assert latest(STACK_ARN)["detection_id"] == "det-1"


@pytest.mark.parametrize("seconds", ["100000000000", "100000000000000"])
def test_huge_sweep_min_age_names_the_variable(seconds: str) -> None:
    name = settings.ENV_SWEEP_MIN_AGE_SECONDS
    with pytest.raises(ValueError, match=name):
        config = sweeper.SweepConfig.from_environment("111111111111", {name: seconds})
        # What the handler computes first with the value.
        _ = datetime.now(timezone.utc) - config.min_age


def test_other_partition_event_is_recorded(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_MEMBER_ROLE_NAME, "drift-member")
    clients.set_own_account("111111111111")
    stack = parse_stack_arn(CN_STACK_ARN)
    cfn.drift_page(
        aws.cfn_stubber,
        [
            cfn.drift_entry(
                "Table", "AWS::DynamoDB::Table", "MODIFIED", [], stack_arn=CN_STACK_ARN
            )
        ],
        stack_arn=CN_STACK_ARN,
    )
    cfn.resources(
        aws.cfn_stubber, [("Table", "AWS::DynamoDB::Table")], stack_arn=CN_STACK_ARN
    )

    response = validator.handler(
        drift_event("drift-cn", "det-cn", "DRIFTED", stack_arn=CN_STACK_ARN),
        FakeContext(),
    )

    aws.cfn_stubber.assert_no_pending_responses()
    assert stack.partition == "aws-cn"
    assert response["verdict"] == "drifted"
    assert detection_ids(CN_STACK_ARN) == ["det-cn"]
    alerts = aws.alerts()
    assert len(alerts) == 1
    assert "console.amazonaws.cn" in alerts[0]["Message"]
    assert clients.member_role_arn("222222222222", stack.partition) == (
        "arn:aws-cn:iam::222222222222:role/drift-member"
    )


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"kind": "finish", "stack_arn": STACK_ARN, "detection_id": 7}),
        json.dumps({"kind": "check", "stack_arn": STACK_ARN + "/extra"}),
        json.dumps({"kind": "check", "stack_arn": "arn:aws:s3:::bucket"}),
        json.dumps({"kind": "finish", "stack_arn": STACK_ARN, "x": "y" * 17_000}),
        "\ufeff{}",
        "null",
    ],
)
def test_invalid_message_kept_others_run(aws: Aws, body: str) -> None:
    stub_in_sync_check(aws.cfn_stubber)
    validator.handler(stack_event(), FakeContext())
    records = queue_records(aws, [body, finish_body(STACK_ARN, "det-1", "IN_SYNC")])

    response = validator.handler({"Records": records}, FakeContext())

    aws.cfn_stubber.assert_no_pending_responses()
    assert response == {
        "batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]
    }
    assert detection_ids(STACK_ARN) == ["det-1"]


# The sweep's decisions and selection.

SWEEP_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def listed(last_check: datetime | None = None) -> sweeper.ListedStack:
    return sweeper.ListedStack(
        stack=parse_stack_arn(STACK_ARN),
        status="UPDATE_COMPLETE",
        tags={},
        root_arn=None,
        last_check=last_check,
        drift_status="DRIFTED",
    )


def ago(minutes: float) -> str:
    return state.timestamp(SWEEP_NOW - timedelta(minutes=minutes))


def lease_in(minutes: float) -> int:
    return int((SWEEP_NOW + timedelta(minutes=minutes)).timestamp())


@pytest.mark.parametrize(
    ("latest_item", "last_check_minutes", "expected"),
    [
        # A start being claimed, with no detection id yet.
        ({"detection_lease_until": lease_in(25)}, None, "running"),
        # A new start claimed after det-1 was recorded.
        (
            {
                "detection_id": "det-1",
                "finished_detection_id": "det-1",
                "last_detection_started_at": ago(60 * 13),
                "detection_lease_until": lease_in(25),
            },
            60 * 13,
            "running",
        ),
        # Started 5 minutes ago, so it may still run.
        (
            {
                "detection_id": "det-2",
                "last_detection_started_at": ago(5),
                "detection_lease_until": lease_in(25),
            },
            5,
            "running",
        ),
        # Started 20 minutes ago, but CloudFormation does not know of it yet.
        (
            {
                "detection_id": "det-2",
                "last_detection_started_at": ago(20),
                "detection_lease_until": lease_in(10),
            },
            60,
            "running",
        ),
        # Started 20 minutes ago and known to CloudFormation, so its event was lost.
        (
            {
                "detection_id": "det-2",
                "last_detection_started_at": ago(20),
                "detection_lease_until": lease_in(10),
            },
            20,
            "finish",
        ),
        # Recorded an hour ago, which is too recent for another check.
        (
            {
                "detection_id": "det-2",
                "finished_detection_id": "det-2",
                "last_detection_started_at": ago(60),
            },
            60,
            "recent",
        ),
        # Recorded 13 hours ago, or never checked.
        (
            {
                "detection_id": "det-2",
                "finished_detection_id": "det-2",
                "last_detection_started_at": ago(60 * 13),
            },
            60 * 13,
            "check",
        ),
        ({}, None, "check"),
    ],
)
def test_sweep_decision(
    latest_item: dict[str, Any], last_check_minutes: float | None, expected: str
) -> None:
    last_check = (
        None
        if last_check_minutes is None
        else SWEEP_NOW - timedelta(minutes=last_check_minutes)
    )

    decision = sweeper.decide(
        listed(last_check),
        latest_item,
        now=SWEEP_NOW,
        min_age=timedelta(hours=12),
    )

    assert decision == expected


def test_nested_stack_follows_its_excluded_root() -> None:
    config = sweeper.SweepConfig.from_environment(
        "111111111111",
        {
            settings.ENV_SWEEP_INCLUDE: json.dumps(["app-*"]),
            settings.ENV_SWEEP_TAGS: json.dumps({"team": "core"}),
            "AWS_REGION": REGION,
        },
    )

    def stack(name: str, tags: dict[str, str], root: str | None = None) -> Any:
        arn = f"arn:aws:cloudformation:{REGION}:111111111111:stack/{name}/id-{name}"
        return sweeper.ListedStack(
            stack=parse_stack_arn(arn),
            status="UPDATE_COMPLETE",
            tags=tags,
            root_arn=(
                f"arn:aws:cloudformation:{REGION}:111111111111:stack/{root}/id-{root}"
                if root
                else None
            ),
            last_check=None,
            drift_status="NOT_CHECKED",
        )

    stacks = [
        # The nested stack of an untagged root is skipped, though it matches alone.
        stack("app-untagged", {}),
        stack("app-untagged-Db-1", {"team": "core"}, root="app-untagged"),
        # The nested stack of a selected root is checked, whatever its name and tags.
        stack("app-core", {"team": "core"}),
        stack("other-Db-2", {}, root="app-core"),
    ]

    selected = sweeper.select_stacks(stacks, config)

    assert [item.stack.stack_name for item in selected] == ["app-core", "other-Db-2"]
