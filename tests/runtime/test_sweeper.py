"""The scheduled sweep against moto DynamoDB and SQS, with stubbed CloudFormation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from drift_constructs.drift_runtime import clients, settings, state, sweeper
from drift_constructs.drift_runtime.store import StateStore
from drift_constructs.testing.state_table import create_state_table

from . import cfn_stubs as cfn
from .conftest import CACHED_CLIENT, REGION, FakeContext

TABLE = "drift-state"
ENVIRONMENT = "dev"
ACCOUNT = "111111111111"
NOW = datetime.now(timezone.utc)


def arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:cloudformation:{REGION}:{account}:stack/{name}/id-{name}"


def described(
    name: str,
    *,
    status: str = "UPDATE_COMPLETE",
    tags: dict[str, str] | None = None,
    root: str | None = None,
    last_check: datetime | None = None,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    stack: dict[str, Any] = {
        "StackId": arn(name, account),
        "StackName": name,
        "CreationTime": cfn.WHEN,
        "StackStatus": status,
        "Tags": [{"Key": key, "Value": value} for key, value in (tags or {}).items()],
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    }
    if root is not None:
        stack["RootId"] = arn(root, account)
        stack["ParentId"] = arn(root, account)
    if last_check is not None:
        stack["DriftInformation"] = {
            "StackDriftStatus": "DRIFTED",
            "LastCheckTimestamp": last_check,
        }
    return stack


class Sweep:
    """moto table and queue, and a stubbed CloudFormation client per account."""

    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self.stubbers: dict[str, Stubber] = {}
        self.clients: dict[str, Any] = {}
        for account in (ACCOUNT, "222222222222"):
            client, stubber = cfn.stubbed_cloudformation(REGION)
            self.clients[account] = client
            self.stubbers[account] = stubber
        self.store = StateStore(
            dynamodb=boto3.client("dynamodb", region_name=REGION),
            s3=boto3.client("s3", region_name=REGION),
            table_name=TABLE,
            bucket_name="unused",
            history_ttl_days=30,
        )

    def pages(self, account: str, *pages: list[dict[str, Any]]) -> None:
        for index, stacks in enumerate(pages):
            response: dict[str, Any] = {"Stacks": stacks}
            expected: dict[str, Any] = {}
            if index + 1 < len(pages):
                response["NextToken"] = f"page-{index + 1}"
            if index:
                expected["NextToken"] = f"page-{index}"
            self.stubbers[account].add_response("describe_stacks", response, expected)

    def set_latest(self, name: str, values: dict[str, Any]) -> None:
        key = state.stack_partition_key(ENVIRONMENT, ACCOUNT, REGION, name)
        self.store._update_latest(key, values)

    def requests(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name=REGION)
        bodies: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return bodies
            bodies.extend(json.loads(message["Body"]) for message in messages)


@pytest.fixture
def sweep(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sweep]:
    with mock_aws():
        create_state_table(boto3.client("dynamodb", region_name=REGION), TABLE)
        queue_url = boto3.client("sqs", region_name=REGION).create_queue(
            QueueName="checks"
        )["QueueUrl"]
        monkeypatch.setenv(settings.ENV_STATE_TABLE, TABLE)
        monkeypatch.setenv(settings.ENV_CONFIG_BUCKET, "unused")
        monkeypatch.setenv(settings.ENV_ENVIRONMENT, ENVIRONMENT)
        monkeypatch.setenv(settings.ENV_CHECK_QUEUE_URL, queue_url)
        monkeypatch.setenv("AWS_REGION", REGION)
        resources = Sweep(queue_url)

        def account_client(
            service: str, account: str, region: str, partition: str = "aws"
        ) -> Any:
            assert service == "cloudformation"
            return resources.clients[account]

        monkeypatch.setattr(clients, "account_client", account_client)
        monkeypatch.setattr(
            clients, "client", lambda service, region=None: CACHED_CLIENT(service)
        )
        yield resources


def test_sweep_selects_filters_and_queues(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.ENV_SWEEP_INCLUDE, json.dumps(["app-*", "bulk-*"]))
    monkeypatch.setenv(settings.ENV_SWEEP_EXCLUDE, json.dumps(["*-scratch"]))
    monkeypatch.setenv(settings.ENV_SWEEP_TAGS, json.dumps({"team": "core"}))
    monkeypatch.setenv(settings.ENV_SWEEP_MIN_AGE_SECONDS, "3600")
    core = {"team": "core"}
    bulk = [described(f"bulk-{index:02d}", tags=core) for index in range(23)]
    sweep.pages(
        ACCOUNT,
        [
            described("app-prod", tags=core),
            # Nested stacks are judged by their root's name and tags.
            described("app-prod-DbNested-X1", root="app-prod"),
            described("app-scratch", tags=core),
            described("app-untagged"),
            described("tools", tags=core),
            described("app-broken", status="UPDATE_ROLLBACK_FAILED", tags=core),
        ],
        [
            described("app-recent", tags=core),
            described("app-running", tags=core),
            described("app-lost", tags=core, last_check=NOW - timedelta(minutes=19)),
            described("app-young", tags=core, last_check=NOW - timedelta(minutes=4)),
            *bulk,
        ],
    )
    sweep.set_latest(
        "app-recent",
        {"last_detection_started_at": state.timestamp(NOW - timedelta(minutes=30))},
    )
    sweep.set_latest(
        "app-running",
        {
            "last_detection_started_at": state.timestamp(NOW - timedelta(hours=2)),
            "detection_id": "d-running",
            "detection_lease_until": int(NOW.timestamp()) + 600,
        },
    )
    # CloudFormation's LastCheckTimestamp is the start of a detection, so one that
    # started 5 minutes ago may still run; one of 20 minutes ago has ended.
    sweep.set_latest(
        "app-young",
        {
            "last_detection_started_at": state.timestamp(NOW - timedelta(minutes=5)),
            "detection_id": "d-young",
            "detection_lease_until": int(NOW.timestamp()) + 600,
        },
    )
    sweep.set_latest(
        "app-lost",
        {
            "last_detection_started_at": state.timestamp(NOW - timedelta(minutes=20)),
            "detection_id": "d-lost",
            "detection_lease_until": int(NOW.timestamp()) + 600,
        },
    )

    before = datetime.now(timezone.utc)
    summary = sweeper.handler({"source": "aws.events"}, FakeContext("sweeper"))
    after_call = datetime.now(timezone.utc)

    sweep.stubbers[ACCOUNT].assert_no_pending_responses()
    assert summary == {
        "listed": 33,
        "selected": 29,
        "queued_checks": 25,
        "queued_finishes": 1,
        "skipped_recent": 1,
        "skipped_running": 2,
        "failed_places": [],
    }
    requests = sweep.requests()
    checked = {
        request["stack_arn"].split("/")[1]
        for request in requests
        if request["kind"] == "check"
    }
    assert checked == {"app-prod", "app-prod-DbNested-X1"} | {
        f"bulk-{index:02d}" for index in range(23)
    }
    finishes = [request for request in requests if request["kind"] == "finish"]
    assert finishes == [
        {
            "kind": "finish",
            "stack_arn": arn("app-lost"),
            "detection_id": "d-lost",
            "stack_drift_status": "DRIFTED",
        }
    ]
    after = datetime.fromisoformat(
        next(r for r in requests if r["kind"] == "check")["satisfied_after"]
    )
    hour = timedelta(hours=1)
    assert before - hour <= after <= after_call - hour


def test_sweep_member_accounts(sweep: Sweep, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        settings.ENV_MEMBER_ACCOUNTS, json.dumps(["222222222222", "333333333333"])
    )
    sweep.pages(ACCOUNT, [described("own")])
    sweep.pages("222222222222", [described("member", account="222222222222")])

    def failing(service: str, account: str, region: str, partition: str = "aws") -> Any:
        if account == "333333333333":
            raise RuntimeError("AccessDenied: the member role cannot be assumed")
        return sweep.clients[account]

    monkeypatch.setattr(clients, "account_client", failing)

    with pytest.raises(sweeper.SweepError, match="333333333333/eu-west-1"):
        sweeper.handler({}, FakeContext("sweeper"))

    arns = {request["stack_arn"] for request in sweep.requests()}
    assert arns == {arn("own"), arn("member", "222222222222")}


def test_throttled_listing_is_retried(
    sweep: Sweep, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    cfn.throttle(sweep.stubbers[ACCOUNT], "describe_stacks")
    sweep.pages(ACCOUNT, [described("app")])

    summary = sweeper.handler({}, FakeContext("sweeper"))

    assert summary["queued_checks"] == 1


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        (settings.ENV_SWEEP_INCLUDE, "app-*", "SWEEP_STACK_PATTERNS is not JSON"),
        (settings.ENV_SWEEP_EXCLUDE, '{"a": 1}', "JSON list of strings"),
        (settings.ENV_SWEEP_TAGS, '{"team": 1}', "JSON object of strings"),
        (settings.ENV_SWEEP_MIN_AGE_SECONDS, "-5", "whole number of seconds"),
        (settings.ENV_SWEEP_REGIONS, "[1]", "JSON list of strings"),
        (settings.ENV_SWEEP_FINISH_AFTER_SECONDS, "soon", "whole number of seconds"),
    ],
)
def test_bad_sweep_settings(name: str, value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        sweeper.SweepConfig.from_environment(ACCOUNT, {name: value})


def test_sweep_defaults() -> None:
    config = sweeper.SweepConfig.from_environment(ACCOUNT, {"AWS_REGION": REGION})

    assert config.include == ("*",)
    assert config.regions == (REGION,)
    assert config.accounts == (ACCOUNT,)
    assert config.min_age == timedelta(seconds=settings.DEFAULT_SWEEP_MIN_AGE_SECONDS)
