"""Event parsing and skipping: skipped events make no AWS call."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from drift_constructs.drift_runtime import clients, update_handler, validator
from drift_constructs.drift_runtime.events import (
    CHECKED_STATUSES,
    InvalidEventError,
    parse_event,
)

from . import cfn_stubs as cfn
from .conftest import FakeContext

STACK_ARN = "arn:aws:cloudformation:eu-west-3:111111111111:stack/app-dev/uuid-2"


def stack_event(status: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "evt-1",
        "source": "aws.cloudformation",
        "detail-type": "CloudFormation Stack Status Change",
        "account": "111111111111",
        "region": "eu-west-3",
        "time": "2026-01-01T00:00:00Z",
        "resources": [STACK_ARN],
        "detail": {
            "stack-id": STACK_ARN,
            "status-details": {"status": status, "status-reason": ""},
        },
    }


def test_name_comes_from_arn() -> None:
    parsed = parse_event(stack_event("DELETE_COMPLETE"))
    assert parsed.stack.stack_name == "app-dev"
    assert parsed.stack.arn == STACK_ARN
    assert parsed.stack.region == "eu-west-3"
    assert parsed.stack.account == "111111111111"
    assert parsed.event_id == "evt-1"
    assert parsed.time.isoformat() == "2026-01-01T00:00:00+00:00"
    assert not parsed.is_checked


def test_checked_statuses() -> None:
    assert set(CHECKED_STATUSES) == {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
    }
    for status in CHECKED_STATUSES:
        assert parse_event(stack_event(status)).is_checked


@pytest.fixture
def recorded_clients(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Replace the client factory with stubbed clients that expect no call."""
    created: list[tuple[Any, ...]] = []

    def factory(service: str, *args: Any) -> Any:
        client, stubber = cfn.stubbed_cloudformation("eu-west-3")
        created.append((service, stubber))
        return client

    monkeypatch.setattr(clients, "client", factory)
    return created


SKIPPED = [
    "DELETE_COMPLETE",
    "DELETE_IN_PROGRESS",
    "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "CREATE_FAILED",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_FAILED",
    "ROLLBACK_COMPLETE",
]


@pytest.mark.parametrize("status", SKIPPED)
@pytest.mark.parametrize("module", [validator, update_handler])
def test_skipped_status_makes_no_call(
    module: Any, status: str, recorded_clients: list[tuple[Any, ...]]
) -> None:
    response = module.handler(stack_event(status), FakeContext())

    assert response == {"skipped": f"status {status}"}
    assert recorded_clients == []


def malformed_events() -> list[Any]:
    missing_detail = stack_event("UPDATE_COMPLETE")
    del missing_detail["detail"]
    bad_arn = stack_event("UPDATE_COMPLETE")
    bad_arn["detail"]["stack-id"] = "arn:aws:s3:::not-a-stack"
    wrong_source = stack_event("UPDATE_COMPLETE")
    wrong_source["source"] = "custom.app"
    no_status = stack_event("UPDATE_COMPLETE")
    no_status["detail"]["status-details"] = {}
    no_id = stack_event("UPDATE_COMPLETE")
    del no_id["id"]
    return [missing_detail, bad_arn, wrong_source, no_status, no_id, [], "text", None]


@pytest.mark.parametrize("event", malformed_events())
def test_malformed_event_raises(event: Any) -> None:
    with pytest.raises(InvalidEventError):
        parse_event(copy.deepcopy(event))


@pytest.mark.parametrize("event", malformed_events())
@pytest.mark.parametrize("module", [validator, update_handler])
def test_malformed_event_skipped(
    module: Any,
    event: Any,
    recorded_clients: list[tuple[Any, ...]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = LogLines()
    lines.setFormatter(module.logger.registered_formatter)
    module.logger.addHandler(lines)
    try:
        response = module.handler(event, FakeContext())
    finally:
        module.logger.removeHandler(lines)

    assert response == {"skipped": "invalid event"}
    assert recorded_clients == []
    assert len(lines.records) == 1
    record = json.loads(lines.records[0])
    assert record["level"] == "WARNING"
    assert record["message"] == "skipped invalid event"
    assert "problem" in record
    assert "status-details" not in lines.records[0]


class LogLines(logging.Handler):
    """Collects formatted log records."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.mark.parametrize(
    "stack_id",
    [
        STACK_ARN + "\n",
        STACK_ARN.replace("uuid-2", "uuid 2"),
        "prefix " + STACK_ARN,
    ],
)
def test_arn_with_stray_text_is_invalid(stack_id: str) -> None:
    event = stack_event("UPDATE_COMPLETE")
    event["detail"]["stack-id"] = stack_id

    with pytest.raises(InvalidEventError):
        parse_event(event)


def test_far_future_time_falls_back_to_now() -> None:
    event = stack_event("UPDATE_COMPLETE")
    event["time"] = "9999-12-31T00:00:00Z"

    parsed = parse_event(event)

    assert parsed.time.year < 9999
