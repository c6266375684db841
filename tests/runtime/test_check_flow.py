"""The event-driven check flow: locks, drift status events, the check queue, roll-ups.

Runs the validator against moto DynamoDB, S3, SNS and SQS with stubbed CloudFormation,
as test_handlers.py does. The stubber fails on any call it was not given, so a test
that stubs no DetectStackDrift also proves that no detection started.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest

from drift_constructs.drift_runtime import check_requests, clients, state, validator
from drift_constructs.drift_runtime.events import InvalidEventError, parse_stack_arn
from drift_constructs.drift_runtime.store import StateStore

from . import cfn_stubs as cfn
from .conftest import REGION, FakeContext
from .test_handlers import (
    BUCKET,
    ENVIRONMENT,
    PARTITION,
    STACK_ARN,
    TABLE,
    Aws,
    check,
    drift_event,
    moto_environment,
    stack_event,
    stub_in_sync_check,
)

OTHER_ARN = "arn:aws:cloudformation:eu-west-1:111111111111:stack/other-dev/uuid-2"
CHILD_ARN = (
    "arn:aws:cloudformation:eu-west-1:111111111111:stack/app-dev-DbNested-ABC/uuid-3"
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_environment(monkeypatch) as resources:
        yield resources


def store() -> StateStore:
    return StateStore(
        dynamodb=boto3.client("dynamodb", region_name=REGION),
        s3=boto3.client("s3", region_name=REGION),
        table_name=TABLE,
        bucket_name=BUCKET,
        history_ttl_days=30,
    )


def partition(stack_arn: str) -> str:
    stack = parse_stack_arn(stack_arn)
    return state.stack_partition_key(
        ENVIRONMENT, stack.account, stack.region, stack.stack_name
    )


def latest(stack_arn: str) -> dict[str, Any]:
    return store().read_latest(partition(stack_arn))


def checks(stack_arn: str) -> list[dict[str, Any]]:
    response = boto3.client("dynamodb", region_name=REGION).query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={
            ":pk": {"S": partition(stack_arn)},
            ":prefix": {"S": state.CHECK_PREFIX},
        },
    )
    items: list[dict[str, Any]] = response["Items"]
    return items


def stub_results(aws: Aws, stack_arn: str = STACK_ARN) -> None:
    cfn.drift_page(
        aws.cfn_stubber,
        [cfn.drift_entry("Bucket", "AWS::S3::Bucket", "IN_SYNC", stack_arn=stack_arn)],
        stack_arn=stack_arn,
    )
    cfn.resources(aws.cfn_stubber, [("Bucket", "AWS::S3::Bucket")], stack_arn=stack_arn)


def queue_records(aws: Aws, bodies: list[str]) -> list[dict[str, Any]]:
    """Send ``bodies`` to the check queue and return them as SQS event records."""
    sqs = boto3.client("sqs", region_name=REGION)
    for body in bodies:
        sqs.send_message(QueueUrl=aws.check_queue, MessageBody=body)
    records: list[dict[str, Any]] = []
    while len(records) < len(bodies):
        response = sqs.receive_message(
            QueueUrl=aws.check_queue, MaxNumberOfMessages=10, AttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            records.append(
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message["Attributes"],
                    "eventSource": "aws:sqs",
                }
            )
    return records


def check_body(stack_arn: str, after: datetime) -> str:
    return check_requests.CheckRequest(
        stack=parse_stack_arn(stack_arn), satisfied_after=after, trigger="sweep"
    ).to_body()


def finish_body(stack_arn: str, detection_id: str, drift_status: str) -> str:
    return check_requests.FinishRequest(
        stack=parse_stack_arn(stack_arn),
        detection_id=detection_id,
        stack_drift_status=drift_status,
    ).to_body()


def test_update_during_detection_queued(
    aws: Aws,
) -> None:
    cfn.detect(aws.cfn_stubber)
    before = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()

    first = validator.handler(stack_event("evt-1", time=before), FakeContext())
    # An update older than the running detection is covered by it.
    covered = validator.handler(stack_event("evt-2", time=before), FakeContext())
    # An update newer than the running detection waits for it on the queue.
    later = validator.handler(stack_event("evt-3"), FakeContext())

    assert first["outcome"] == "started"
    assert covered["outcome"] == "satisfied"
    assert later["outcome"] == "busy"
    assert later["requeued"] is True
    assert aws.queued_count() == 1
    record = latest(STACK_ARN)
    assert record["detection_id"] == "det-1"
    assert record["detection_lease_until"] > datetime.now(timezone.utc).timestamp()


def test_drift_event_in_progress_skipped(aws: Aws) -> None:
    response = validator.handler(
        drift_event(detection_status="DETECTION_IN_PROGRESS"), FakeContext()
    )

    assert response == {"skipped": "detection status DETECTION_IN_PROGRESS"}
    assert latest(STACK_ARN) == {}


@pytest.mark.parametrize(
    "detail",
    [
        {"stack-id": STACK_ARN, "status-details": {"detection-status": "X"}},
        {"stack-drift-detection-id": "d", "status-details": {}},
        {"stack-id": "app/child", "stack-drift-detection-id": "d"},
        "not an object",
    ],
)
def test_malformed_drift_event_is_skipped(aws: Aws, detail: Any) -> None:
    event = drift_event()
    event["detail"] = detail

    assert validator.handler(event, FakeContext()) == {"skipped": "invalid event"}


def test_drift_event_never_starts_a_detection(aws: Aws) -> None:
    # A detection this library did not start, for example from the console, is
    # recorded; no DetectStackDrift is stubbed, so starting one would fail. The
    # handlers never start a detection on a drift status event, which is why
    # checks cannot trigger each other in a loop, even on the detector's own stack.
    stub_results(aws)

    response = validator.handler(
        drift_event(detection_id="console-1", drift_status="IN_SYNC"), FakeContext()
    )

    aws.cfn_stubber.assert_no_pending_responses()
    assert response["outcome"] == "finished"
    assert response["verdict"] == "in_sync"
    assert latest(STACK_ARN)["finished_detection_id"] == "console-1"
    assert aws.queued_count() == 0


def test_early_drift_event_requeued(aws: Aws) -> None:
    store().claim_detection(
        PARTITION,
        stack_arn=STACK_ARN,
        stack_name="app-dev",
        environment=ENVIRONMENT,
        satisfied_after=datetime.now(timezone.utc),
        claim_id="claim-1",
        lease_seconds=600,
    )

    response = validator.handler(drift_event(), FakeContext())

    # The event comes back later as a finish request on the check queue.
    assert response["outcome"] == "retry_queued"
    assert aws.queued_count() == 1
    assert checks(STACK_ARN) == []


def test_finish_twice_records_once(aws: Aws) -> None:
    stub_in_sync_check(aws.cfn_stubber)
    validator.handler(stack_event(), FakeContext())

    by_queue = validator.handler(
        {"Records": queue_records(aws, [finish_body(STACK_ARN, "det-1", "IN_SYNC")])},
        FakeContext(),
    )
    by_event = validator.handler(drift_event(drift_status="IN_SYNC"), FakeContext())

    aws.cfn_stubber.assert_no_pending_responses()
    assert by_queue == {"batchItemFailures": []}
    assert by_event["outcome"] == "duplicate"
    assert len(checks(STACK_ARN)) == 1
    record = latest(STACK_ARN)
    assert record["finished_detection_id"] == "det-1"
    assert "detection_lease_until" not in record


def test_queue_batch_outcomes(aws: Aws) -> None:
    now = datetime.now(timezone.utc)
    cfn.detect(aws.cfn_stubber)
    for _ in range(3):
        cfn.throttle(aws.cfn_stubber, "detect_stack_drift")
    records = queue_records(
        aws,
        [
            check_body(STACK_ARN, now - timedelta(hours=12)),
            check_body(STACK_ARN, now - timedelta(hours=12)),
            check_body(OTHER_ARN, now - timedelta(hours=12)),
            check_body(
                "arn:aws:cloudformation:eu-west-1:111111111111:stack/third/uuid-9",
                now - timedelta(hours=12),
            ),
            "{not json",
        ],
    )

    response = validator.handler({"Records": records}, FakeContext())

    aws.cfn_stubber.assert_no_pending_responses()
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    # The first request starts a detection, which covers the second. The third is
    # throttled, so the fourth, in the same account and region, goes back without a
    # call. The invalid one is kept for the failure queue.
    assert failed == {record["messageId"] for record in records[2:]}
    assert latest(STACK_ARN)["detection_id"] == "det-1"
    assert "detection_lease_until" not in latest(OTHER_ARN)
    sqs = boto3.client("sqs", region_name=REGION)
    visible = sqs.receive_message(QueueUrl=aws.check_queue, MaxNumberOfMessages=10)
    # No returned message is visible again at once: the throttled ones wait for
    # their backoff, which is what slows a throttled sweep down.
    assert visible.get("Messages", []) == []


def test_nested_stacks_roll_up_to_their_root(aws: Aws) -> None:
    cfn.detect(aws.cfn_stubber, detection_id="det-root")
    cfn.drift_page(
        aws.cfn_stubber,
        [
            cfn.drift_entry("Bucket", "AWS::S3::Bucket", "IN_SYNC"),
            cfn.drift_entry("DbNested", "AWS::CloudFormation::Stack", "IN_SYNC"),
        ],
    )
    resources: list[tuple[str, str, str]] = [
        ("Bucket", "AWS::S3::Bucket", "bucket-physical"),
        ("DbNested", "AWS::CloudFormation::Stack", CHILD_ARN),
    ]
    cfn.resources(aws.cfn_stubber, resources)
    cfn.detect(aws.cfn_stubber, stack_arn=CHILD_ARN, detection_id="det-child")
    cfn.drift_page(
        aws.cfn_stubber,
        [
            cfn.drift_entry(
                "Table", "AWS::DynamoDB::Table", "MODIFIED", [], stack_arn=CHILD_ARN
            )
        ],
        stack_arn=CHILD_ARN,
    )
    cfn.resources(
        aws.cfn_stubber, [("Table", "AWS::DynamoDB::Table")], stack_arn=CHILD_ARN
    )

    root = check("evt-root", "IN_SYNC", "det-root")
    after_root = latest(STACK_ARN)
    validator.handler(stack_event("evt-child", stack_arn=CHILD_ARN), FakeContext())
    child = validator.handler(
        drift_event("drift-child", "det-child", "DRIFTED", stack_arn=CHILD_ARN),
        FakeContext(),
    )

    aws.cfn_stubber.assert_no_pending_responses()
    assert root["verdict"] == "in_sync"
    # The nested stack is known but not yet checked, so the tree is incomplete.
    assert after_root["rollup_verdict"] == "incomplete"
    assert json.loads(after_root["nested_stacks"]) == [CHILD_ARN]
    assert child["verdict"] == "drifted"
    assert latest(CHILD_ARN)["root_stack_arn"] == STACK_ARN
    assert len(checks(CHILD_ARN)) == 1
    rolled = latest(STACK_ARN)
    assert rolled["verdict"] == "in_sync"
    assert rolled["rollup_verdict"] == "drifted"
    assert rolled["rollup_drifted_stacks"] == 1
    assert rolled["rollup_stacks"] == 2
    nested = store().nested_verdicts(PARTITION)
    assert nested[CHILD_ARN]["verdict"] == "drifted"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("[]", "not a JSON object"),
        ('{"kind": "check"}', "invalid stack ARN"),
        (
            json.dumps({"kind": "check", "stack_arn": STACK_ARN}),
            "no satisfied_after",
        ),
        (
            json.dumps(
                {"kind": "check", "stack_arn": STACK_ARN, "satisfied_after": "soon"}
            ),
            "invalid satisfied_after",
        ),
        (json.dumps({"kind": "finish", "stack_arn": STACK_ARN}), "no detection_id"),
        (json.dumps({"kind": "delete", "stack_arn": STACK_ARN}), "unknown kind"),
        ("x" * 20_000, "short JSON"),
        ("[" * 5000, "not JSON"),
    ],
)
def test_invalid_requests_are_rejected(body: str, problem: str) -> None:
    with pytest.raises(InvalidEventError, match=problem):
        check_requests.parse_request(body)


def test_requests_round_trip() -> None:
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    request = check_requests.parse_request(check_body(STACK_ARN, moment))

    assert isinstance(request, check_requests.CheckRequest)
    assert request.satisfied_after == moment
    assert request.stack.stack_name == "app-dev"
    finish = check_requests.parse_request(finish_body(STACK_ARN, "d-1", "DRIFTED"))
    assert isinstance(finish, check_requests.FinishRequest)
    assert (finish.detection_id, finish.stack_drift_status) == ("d-1", "DRIFTED")


def test_member_account_uses_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto import mock_aws

    with mock_aws():
        monkeypatch.setenv("MEMBER_ROLE_NAME", "drift-constructs-member-dev")
        clients.set_own_account("111111111111")

        own = clients.account_client("cloudformation", "111111111111", REGION)
        member = clients.account_client("cloudformation", "222222222222", REGION)
        again = clients.account_client("cloudformation", "222222222222", REGION)

        assert own is clients.client("cloudformation", REGION)
        assert member is again
        key = member._request_signer._credentials.access_key
        assert key != "testing"
        assert clients.member_role_arn("222222222222") == (
            "arn:aws:iam::222222222222:role/drift-constructs-member-dev"
        )
        assert clients.member_role_arn("111111111111") is None
        monkeypatch.delenv("MEMBER_ROLE_NAME")
        assert clients.member_role_arn("222222222222") is None


def test_failed_detection_incomplete(aws: Aws) -> None:
    # Only the result pages are stubbed: a DescribeStackDriftDetectionStatus call
    # would fail the test.
    cfn.detect(aws.cfn_stubber)
    cfn.drift_page(
        aws.cfn_stubber, [cfn.drift_entry("Bucket", "AWS::S3::Bucket", "IN_SYNC")]
    )
    cfn.resources(
        aws.cfn_stubber,
        [("Bucket", "AWS::S3::Bucket"), ("Queue", "AWS::SQS::Queue")],
    )
    validator.handler(stack_event(), FakeContext())

    response = validator.handler(
        drift_event(drift_status="UNKNOWN", detection_status="DETECTION_FAILED"),
        FakeContext(),
    )

    aws.cfn_stubber.assert_no_pending_responses()
    assert response["verdict"] == "incomplete"
    report = json.loads(
        aws.s3.get_object(Bucket=BUCKET, Key=response["report_key"])["Body"].read()
    )
    unchecked = {item["logical_id"]: item["reason"] for item in report["unchecked"]}
    assert unchecked["Queue"] == "no drift result returned"


def test_idempotency_layer_reused(aws: Aws) -> None:
    from drift_constructs.drift_runtime import handler_support

    handler_support._persistence_layers.clear()
    stub_in_sync_check(aws.cfn_stubber, "det-1")
    stub_in_sync_check(aws.cfn_stubber, "det-2")
    check("evt-1", "IN_SYNC", "det-1")
    dynamodb = clients.client("dynamodb")
    hooks = len(dynamodb.meta.events._emitter._lookup_cache)

    check("evt-2", "IN_SYNC", "det-2")

    assert len(handler_support._persistence_layers) == 1
    assert len(dynamodb.meta.events._emitter._lookup_cache) <= hooks


def test_hub_metrics_per_account(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from .test_handlers import emf_records

    monkeypatch.setenv("MEMBER_ROLE_NAME", "drift-constructs-member-dev")
    stub_in_sync_check(aws.cfn_stubber)

    check(drift_status="IN_SYNC")

    record = emf_records(capsys.readouterr().out)[-1]
    dimensions = record["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert dimensions == [["Environment"], ["Environment", "Account", "Region"]]
    assert (record["Account"], record["Region"]) == ("111111111111", "eu-west-1")
