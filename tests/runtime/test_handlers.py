"""Both handlers against moto DynamoDB, S3, SNS and SQS, with stubbed CloudFormation.

A check spans two validator invocations: the stack event starts the detection and
the drift status event finishes it. ``check`` below runs both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from drift_constructs.drift_runtime import (
    baseline,
    clients,
    metrics,
    settings,
    state,
    update_handler,
    validator,
)
from drift_constructs.testing.state_table import create_state_table

from . import cfn_stubs as cfn
from .conftest import CACHED_CLIENT, REGION, FakeContext

TABLE = "drift-state"
BUCKET = "drift-config"
ENVIRONMENT = "dev"
STACK_ARN = cfn.STACK_ARN
PARTITION = state.stack_partition_key(
    ENVIRONMENT, "111111111111", "eu-west-1", "app-dev"
)


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat()


def stack_event(
    event_id: str = "evt-1",
    status: str = "UPDATE_COMPLETE",
    time: str | None = None,
    stack_arn: str = STACK_ARN,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "source": "aws.cloudformation",
        "detail-type": "CloudFormation Stack Status Change",
        "account": "111111111111",
        "region": "eu-west-1",
        "time": time or now_text(),
        "resources": [stack_arn],
        "detail": {
            "stack-id": stack_arn,
            "status-details": {"status": status, "status-reason": ""},
        },
    }


def drift_event(
    event_id: str = "drift-1",
    detection_id: str = "det-1",
    drift_status: str = "DRIFTED",
    detection_status: str = "DETECTION_COMPLETE",
    stack_arn: str = STACK_ARN,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id,
        "source": "aws.cloudformation",
        "detail-type": "CloudFormation Drift Detection Status Change",
        "account": "111111111111",
        "region": "eu-west-1",
        "time": now_text(),
        "resources": [stack_arn],
        "detail": {
            "stack-id": stack_arn,
            "stack-drift-detection-id": detection_id,
            "status-details": {
                "stack-drift-status": drift_status,
                "detection-status": detection_status,
            },
            "drift-detection-details": {"drifted-stack-resource-count": 1},
        },
    }


def check(
    event_id: str = "evt-1", drift_status: str = "DRIFTED", detection_id: str = "det-1"
) -> dict[str, Any]:
    """Run one whole check: start it with a stack event, finish it with its event."""
    started = validator.handler(stack_event(event_id), FakeContext())
    assert started["outcome"] == "started", started
    finished: dict[str, Any] = validator.handler(
        drift_event(f"drift-{event_id}", detection_id, drift_status), FakeContext()
    )
    return finished


class Aws:
    """moto resources of one test and the stubbed clients handed to the handlers."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self.check_queue = ""
        self.cloudformation, self.cfn_stubber = cfn.stubbed_cloudformation()
        self.lambda_client = boto3.client("lambda", region_name=REGION)
        self.lambda_stubber = Stubber(self.lambda_client)
        self.lambda_stubber.activate()
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)

    def client(
        self, service: str, region: str | None = None, endpoint: Any = None
    ) -> Any:
        if service == "cloudformation":
            return self.cloudformation
        if service == "lambda":
            return self.lambda_client
        return CACHED_CLIENT(service, region, endpoint)

    def alerts(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        messages = sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        return [json.loads(message["Body"]) for message in messages]

    def queued_count(self) -> int:
        """Return the number of check requests waiting, delayed ones included."""
        sqs = boto3.client("sqs", region_name=REGION)
        attributes = sqs.get_queue_attributes(
            QueueUrl=self.check_queue, AttributeNames=["All"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesDelayed"]
        )

    def items(self, prefix: str) -> list[dict[str, Any]]:
        response = self.dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": PARTITION},
                ":prefix": {"S": prefix},
            },
        )
        items: list[dict[str, Any]] = response["Items"]
        return items

    def latest(self) -> dict[str, Any]:
        item: dict[str, Any] = self.dynamodb.get_item(
            TableName=TABLE, Key={"pk": {"S": PARTITION}, "sk": {"S": "LATEST"}}
        ).get("Item", {})
        return item


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with moto_environment(monkeypatch) as resources:
        yield resources


@contextmanager
def moto_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Create the moto resources; point the handlers' settings and clients at them."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_state_table(dynamodb, TABLE)
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        sns = boto3.client("sns", region_name=REGION)
        topic_arn = sns.create_topic(Name="drift-alerts")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

        check_queue = sqs.create_queue(QueueName="checks")["QueueUrl"]
        monkeypatch.setenv(settings.ENV_CHECK_QUEUE_URL, check_queue)
        monkeypatch.setenv(settings.ENV_STATE_TABLE, TABLE)
        monkeypatch.setenv(settings.ENV_CONFIG_BUCKET, BUCKET)
        monkeypatch.setenv(settings.ENV_ALERT_TOPIC, topic_arn)
        monkeypatch.setenv(settings.ENV_ENVIRONMENT, ENVIRONMENT)
        monkeypatch.setenv(settings.ENV_SERVICE_NAME, "drift-constructs")
        monkeypatch.delenv(settings.ENV_VALIDATOR_FUNCTION, raising=False)
        monkeypatch.delenv(settings.ENV_IGNORE_RULES, raising=False)

        resources = Aws(queue_url)
        resources.check_queue = check_queue
        monkeypatch.setattr(clients, "client", resources.client)
        monkeypatch.setattr(
            baseline,
            "compare_with_baseline",
            lambda document, factory: ([], []),
            raising=False,
        )
        yield resources


def stub_drifted_check(stubber: Stubber, detection_id: str = "det-1") -> None:
    cfn.detect(stubber, detection_id=detection_id)
    difference = {
        "PropertyPath": "/VersioningConfiguration/Status",
        "ExpectedValue": "Enabled",
        "ActualValue": "Suspended",
        "DifferenceType": "NOT_EQUAL",
    }
    cfn.drift_page(
        stubber,
        [cfn.drift_entry("ConfigBucket", "AWS::S3::Bucket", "MODIFIED", [difference])],
    )
    cfn.resources(
        stubber,
        [
            ("ConfigBucket", "AWS::S3::Bucket"),
            ("RtAssoc", "AWS::EC2::SubnetRouteTableAssociation"),
        ],
    )


def stub_in_sync_check(stubber: Stubber, detection_id: str = "det-1") -> None:
    cfn.detect(stubber, detection_id=detection_id)
    cfn.drift_page(
        stubber, [cfn.drift_entry("ConfigBucket", "AWS::S3::Bucket", "IN_SYNC")]
    )
    cfn.resources(stubber, [("ConfigBucket", "AWS::S3::Bucket")])


def emf_records(output: str) -> list[dict[str, Any]]:
    records = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def test_drifted_check_is_recorded_and_alerted(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    stub_drifted_check(aws.cfn_stubber)

    response = check()

    aws.cfn_stubber.assert_no_pending_responses()
    assert response["verdict"] == "drifted"
    assert response["outcome"] == "finished"
    assert response["alert"] == "alert"
    checks = aws.items(state.CHECK_PREFIX)
    assert len(checks) == 1
    assert checks[0]["verdict"]["S"] == "drifted"
    assert int(checks[0][state.TTL_ATTRIBUTE]["N"]) > 0
    latest = aws.latest()
    assert latest["verdict"]["S"] == "drifted"
    assert latest["drifted_count"]["N"] == "1"
    assert latest["unchecked_count"]["N"] == "1"
    assert latest["last_alert_fingerprint"]["S"] == latest["fingerprint"]["S"]
    assert "last_check_time" in latest

    report_body = aws.s3.get_object(Bucket=BUCKET, Key=response["report_key"])[
        "Body"
    ].read()
    report = json.loads(report_body)
    assert report["verdict"] == "drifted"
    assert (
        report["drifted"][0]["differences"][0]["path"]
        == "/VersioningConfiguration/Status"
    )
    assert report["detection_id"] == "det-1"
    assert (report["account"], report["region"]) == ("111111111111", "eu-west-1")
    assert response["report_key"].startswith(
        "reports/dev/111111111111/eu-west-1/app-dev/"
    )

    alerts = aws.alerts()
    assert len(alerts) == 1
    alert = alerts[0]
    assert (
        alert["Subject"] == "Drift detected: stack app-dev "
        "(dev, 111111111111 eu-west-1), 1 drifted resource(s)"
    )
    assert alert["MessageAttributes"]["account"]["Value"] == "111111111111"
    assert alert["MessageAttributes"]["region"]["Value"] == "eu-west-1"
    assert alert["MessageAttributes"]["verdict"] == {
        "Type": "String",
        "Value": "drifted",
    }
    assert alert["MessageAttributes"]["environment"] == {
        "Type": "String",
        "Value": "dev",
    }
    body = alert["Message"]
    assert "ConfigBucket (AWS::S3::Bucket): MODIFIED" in body
    expected_line = (
        "/VersioningConfiguration/Status [NOT_EQUAL]: "
        "expected Enabled, actual Suspended"
    )
    assert expected_line in body
    assert (
        "RtAssoc (AWS::EC2::SubnetRouteTableAssociation): no drift result returned"
        in body
    )
    assert "Coverage: checked 1 of 2 resources" in body
    assert (
        "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1"
        in body
    )

    records = emf_records(capsys.readouterr().out)
    assert len(records) == 1
    directive = records[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == metrics.NAMESPACE
    assert directive["Dimensions"] == [list(metrics.DIMENSIONS)]
    assert records[0]["Environment"] == "dev"
    assert "service" not in records[0]
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert names == {
        metrics.DRIFTED_STACKS,
        metrics.DRIFTED_RESOURCES,
        metrics.UNCHECKED_RESOURCES,
        metrics.CHECKED_RESOURCES,
        metrics.FAILED_CHECKS,
    }
    assert records[0][metrics.DRIFTED_STACKS] == [1.0]
    assert records[0][metrics.UNCHECKED_RESOURCES] == [1.0]
    assert records[0][metrics.CHECKED_RESOURCES] == [1.0]
    assert (records[0]["account"], records[0]["region"]) == (
        "111111111111",
        "eu-west-1",
    )


def test_duplicate_delivery_runs_once(aws: Aws) -> None:
    stub_drifted_check(aws.cfn_stubber)
    started = stack_event()
    finished = drift_event()

    # The stubber has no responses left after the first round, so a second
    # detection or a second collection would raise.
    responses = [
        validator.handler(event, FakeContext())
        for event in (started, started, finished, finished)
    ]

    assert responses[1] == responses[0]
    assert responses[3] == responses[2]
    assert len(aws.items(state.CHECK_PREFIX)) == 1
    assert len(aws.alerts()) == 1
    idempotency = aws.dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={
            ":pk": {"S": state.idempotency_partition_key("validator")}
        },
    )["Items"]
    assert len(idempotency) == 2
    assert {item["status"]["S"] for item in idempotency} == {"COMPLETED"}
    assert state.TTL_ATTRIBUTE in idempotency[0]


def test_same_drift_alerts_once_then_recovers(aws: Aws) -> None:
    stub_drifted_check(aws.cfn_stubber, "det-0")
    stub_drifted_check(aws.cfn_stubber, "det-1")
    stub_in_sync_check(aws.cfn_stubber, "det-2")
    stub_in_sync_check(aws.cfn_stubber, "det-3")

    statuses = ["DRIFTED", "DRIFTED", "IN_SYNC", "IN_SYNC"]
    responses = [
        check(f"evt-{index}", status, f"det-{index}")
        for index, status in enumerate(statuses)
    ]

    assert [response["verdict"] for response in responses] == [
        "drifted",
        "drifted",
        "in_sync",
        "in_sync",
    ]
    assert [response["alert"] for response in responses] == [
        "alert",
        None,
        "recovery",
        None,
    ]
    alerts = aws.alerts()
    assert len(alerts) == 2
    subjects = sorted(alert["Subject"] for alert in alerts)
    assert subjects[0] == "Back in sync: stack app-dev (dev, 111111111111 eu-west-1)"
    assert len(aws.items(state.CHECK_PREFIX)) == 4


def test_in_sync_first_check_sends_nothing(aws: Aws) -> None:
    stub_in_sync_check(aws.cfn_stubber)

    response = check(drift_status="IN_SYNC")

    assert response["verdict"] == "in_sync"
    assert response["alert"] is None
    assert aws.alerts() == []
    assert "last_alert_fingerprint" not in aws.latest()


def test_throttled_start_is_queued_for_later(aws: Aws) -> None:
    # Thirty seconds left minus the twenty-second margin leave too little for backoff.
    for _ in range(3):
        cfn.throttle(aws.cfn_stubber, "detect_stack_drift")

    response = validator.handler(stack_event(), FakeContext(remaining_ms=20_500))

    assert response["outcome"] == "throttled"
    assert response["requeued"] is True
    assert aws.queued_count() == 1
    latest = aws.latest()
    # The lock is released and no start is recorded, so the queued retry can run.
    assert "detection_lease_until" not in latest
    assert "last_detection_started_at" not in latest
    assert aws.items(state.CHECK_PREFIX) == []


def test_refused_start_records_failed(
    aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.cfn_stubber.add_client_error(
        "detect_stack_drift",
        service_error_code="ValidationError",
        service_message="Stack with id app-dev does not exist",
        http_status_code=400,
    )

    response = validator.handler(stack_event(), FakeContext())

    assert response["outcome"] == "failed"
    assert response["verdict"] == "failed"
    latest = aws.latest()
    assert latest["verdict"]["S"] == "failed"
    assert "does not exist" in latest["failure_reason"]["S"]
    assert "detection_lease_until" not in latest
    alerts = aws.alerts()
    assert len(alerts) == 1
    assert (
        "Check failed: DetectStackDrift failed: ValidationError"
        in (alerts[0]["Message"])
    )
    records = emf_records(capsys.readouterr().out)
    assert records[-1][metrics.FAILED_CHECKS] == [1.0]


def test_invalid_ignore_rules_record_failed(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_IGNORE_RULES, "{not json")
    cfn.detect(aws.cfn_stubber)

    response = check()

    assert response["verdict"] == "failed"
    assert aws.latest()["failure_reason"]["S"].startswith("invalid ignore rules")


def test_ignore_rules_from_environment(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = [
        {
            "reason": "versioning is switched by the backup job",
            "logical_id": "ConfigBucket",
        }
    ]
    monkeypatch.setenv(settings.ENV_IGNORE_RULES, json.dumps(rules))
    stub_drifted_check(aws.cfn_stubber)

    response = check()

    # RtAssoc still has no result, so the check is incomplete rather than in sync.
    assert response["verdict"] == "incomplete"
    report = json.loads(
        aws.s3.get_object(Bucket=BUCKET, Key=response["report_key"])["Body"].read()
    )
    assert report["ignored"] == [
        {
            "logical_id": "ConfigBucket",
            "path": None,
            "reason": "versioning is switched by the backup job",
        }
    ]


def test_write_failure_is_raised_for_retry(aws: Aws) -> None:
    stub_in_sync_check(aws.cfn_stubber)
    validator.handler(stack_event(), FakeContext())
    aws.s3.delete_bucket(Bucket=BUCKET)

    with pytest.raises(Exception, match="NoSuchBucket"):
        validator.handler(drift_event(), FakeContext())

    # The finish lease is released, so the redelivered event can record the check.
    assert "finish_lease_until" not in aws.latest()

    idempotency = aws.dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={
            ":pk": {"S": state.idempotency_partition_key("validator")}
        },
    )["Items"]
    assert [item["status"]["S"] for item in idempotency] == ["COMPLETED"]


def test_update_is_recorded_and_forwarded(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    captured: list[tuple[str, Any]] = []

    def fake_capture(
        cloudformation: Any, stack_id: str, captured_at: Any
    ) -> dict[str, Any]:
        captured.append((stack_id, captured_at))
        return {"stack_id": stack_id, "resources": {}}

    monkeypatch.setattr(baseline, "capture_baseline", fake_capture, raising=False)
    monkeypatch.setenv(settings.ENV_VALIDATOR_FUNCTION, "drift-validator")
    event = stack_event()
    aws.lambda_stubber.add_response(
        "invoke",
        {"StatusCode": 202},
        {
            "FunctionName": "drift-validator",
            "InvocationType": "Event",
            "Payload": json.dumps(event).encode(),
        },
    )

    response = update_handler.handler(event, FakeContext("update-handler"))
    again = update_handler.handler(event, FakeContext("update-handler"))

    aws.lambda_stubber.assert_no_pending_responses()
    assert response == again
    assert response["forwarded_to"] == "drift-validator"
    assert captured[0][0] == STACK_ARN
    updates = aws.items(state.UPDATE_PREFIX)
    assert len(updates) == 1
    assert updates[0]["event_id"]["S"] == "evt-1"
    assert updates[0]["status"]["S"] == "UPDATE_COMPLETE"
    assert updates[0]["environment"]["S"] == "dev"
    latest = aws.latest()
    assert latest["last_update_status"]["S"] == "UPDATE_COMPLETE"
    assert latest["last_update_event_id"]["S"] == "evt-1"
    key = state.baseline_key(ENVIRONMENT, "111111111111", "eu-west-1", "app-dev")
    stored = json.loads(aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert stored == {"stack_id": STACK_ARN, "resources": {}}
    records = emf_records(capsys.readouterr().out)
    assert len(records) == 1
    assert records[0][metrics.STACK_UPDATES] == [1.0]
    assert records[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Environment"]]


def test_validator_compares_stored_baseline(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drift_constructs.drift_runtime.model import (
        DifferenceType,
        PropertyDifference,
        ResourceDrift,
    )

    key = state.baseline_key(ENVIRONMENT, "111111111111", "eu-west-1", "app-dev")
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"stack_id": "x"}')
    seen: list[Any] = []

    def fake_compare(document: Any, factory: Any) -> Any:
        seen.append((document, factory("sns")))
        drift = ResourceDrift(
            "Topic",
            "AWS::SNS::Topic",
            "MODIFIED",
            (PropertyDifference("/DisplayName", "a", "b", DifferenceType.NOT_EQUAL),),
            source="baseline",
        )
        return [drift], []

    monkeypatch.setattr(baseline, "compare_with_baseline", fake_compare, raising=False)
    stub_in_sync_check(aws.cfn_stubber)

    response = check(drift_status="IN_SYNC")

    assert seen[0][0] == {"stack_id": "x"}
    assert response["verdict"] == "drifted"
    assert "found by baseline" in aws.alerts()[0]["Message"]


def test_validator_without_state_alerts_each_time(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(settings.ENV_STATE_TABLE)
    monkeypatch.delenv(settings.ENV_CONFIG_BUCKET)
    stub_drifted_check(aws.cfn_stubber, "det-1")
    stub_drifted_check(aws.cfn_stubber, "det-2")

    first = check("evt-1", detection_id="det-1")
    second = check("evt-2", detection_id="det-2")

    assert first["verdict"] == "drifted"
    assert first["report_key"] is None
    assert second["alert"] == "alert"
    assert len(aws.alerts()) == 2
    assert aws.items(state.CHECK_PREFIX) == []


def test_validator_rejects_half_state_configuration(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drift_constructs.drift_runtime.handler_support import ConfigurationError

    monkeypatch.delenv(settings.ENV_CONFIG_BUCKET)

    with pytest.raises(ConfigurationError, match=settings.ENV_CONFIG_BUCKET):
        validator.handler(stack_event(), FakeContext())


def test_same_drift_from_two_sources_reported_once(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drift_constructs.drift_runtime.model import (
        DifferenceType,
        PropertyDifference,
        ResourceDrift,
    )

    key = state.baseline_key(ENVIRONMENT, "111111111111", "eu-west-1", "app-dev")
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"stack_id": "x"}')
    same = PropertyDifference(
        "/VersioningConfiguration/Status",
        "Enabled",
        "Suspended",
        DifferenceType.NOT_EQUAL,
    )
    extra = PropertyDifference("/Tags/0/Value", "a", "b", DifferenceType.NOT_EQUAL)
    drift = ResourceDrift(
        "ConfigBucket", "AWS::S3::Bucket", "MODIFIED", (same, extra), source="baseline"
    )
    monkeypatch.setattr(
        baseline,
        "compare_with_baseline",
        lambda document, factory: ([drift], []),
        raising=False,
    )
    stub_drifted_check(aws.cfn_stubber)

    check()

    latest = aws.latest()
    assert latest["drifted_count"]["N"] == "1"
    message = aws.alerts()[0]["Message"]
    assert message.count("/VersioningConfiguration/Status") == 1
    assert "/Tags/0/Value" in message
    assert "found by cloudformation+baseline" in message
