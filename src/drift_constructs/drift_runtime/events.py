"""Parsing of the EventBridge "CloudFormation Stack Status Change" event.

The event carries the stack ARN (``detail.stack-id``) but no stack name, so the name,
account and region come from the ARN, and every API call takes the full ARN: a stack
name alone is ambiguous once a stack of that name has been deleted and recreated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

EVENT_SOURCE = "aws.cloudformation"
DETAIL_TYPE = "CloudFormation Stack Status Change"
# Sent when a drift detection changes status. Its detail carries the stack ARN, the
# detection id and the detection status, so a check finishes on this event instead of
# polling DescribeStackDriftDetectionStatus.
DRIFT_DETAIL_TYPE = "CloudFormation Drift Detection Status Change"
# Detection statuses after which the results can be read. The constructs build the
# drift status rule's pattern from this tuple; DETECTION_IN_PROGRESS is skipped.
FINISHED_DETECTION_STATUSES = ("DETECTION_COMPLETE", "DETECTION_FAILED")

# Stack statuses after which a stack's resources are stable and worth checking. The
# constructs build the EventBridge rule pattern from this tuple, and the handlers skip
# every other status (deletes, *_IN_PROGRESS and *_FAILED) without an API call.
CHECKED_STATUSES = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
)

# Times before this are not real CloudFormation times (the service began in 2011).
EARLIEST_EVENT_TIME = datetime(2010, 1, 1, tzinfo=timezone.utc)

_STACK_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):cloudformation:(?P<region>[a-z0-9-]+):"
    r"(?P<account>\d{12}):stack/(?P<name>[A-Za-z][A-Za-z0-9-]{0,127})/(?P<uuid>[^/\s]+)"
)


class InvalidEventError(ValueError):
    """Raised when an event is not a well-formed stack status change.

    ``fields`` contains structured details for the log record, never the raw event.
    """

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True)
class StackArn:
    """The parts of a CloudFormation stack ARN."""

    arn: str
    partition: str
    region: str
    account: str
    stack_name: str


@dataclass(frozen=True)
class StackEvent:
    """One parsed stack status change."""

    event_id: str
    stack: StackArn
    status: str
    status_reason: str
    time: datetime

    @property
    def is_checked(self) -> bool:
        """Whether the status is one after which the stack is recorded and checked."""
        return self.status in CHECKED_STATUSES


def parse_stack_arn(arn: str) -> StackArn:
    """Split a stack ARN into its parts.

    Raises:
        InvalidEventError: when ``arn`` is not a CloudFormation stack ARN.
    """
    match = _STACK_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise InvalidEventError("invalid stack ARN", stack_arn=str(arn)[:300])
    return StackArn(
        arn=arn,
        partition=match["partition"],
        region=match["region"],
        account=match["account"],
        stack_name=match["name"],
    )


def _parse_time(value: Any) -> datetime:
    # The time only orders history items, so an unparsable time, one more than a day
    # ahead or one before CloudFormation existed (either would break the fixed-width
    # timestamps and the TTL arithmetic) falls back to now.
    now = datetime.now(timezone.utc)
    if not isinstance(value, str):
        return now
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        parsed = parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return now
    if parsed > now + timedelta(days=1) or parsed < EARLIEST_EVENT_TIME:
        return now
    return parsed


def parse_event(event: Any) -> StackEvent:
    """Parse a stack status change event.

    A missing or unparsable ``time`` falls back to the current time, because the time
    only orders history items.

    Raises:
        InvalidEventError: when the event is not an object, comes from another source
            or detail type, or lacks the event id, stack ARN or status.
    """
    if not isinstance(event, dict):
        raise InvalidEventError("event is not a JSON object", type=type(event).__name__)
    source = event.get("source")
    detail_type = event.get("detail-type")
    if source != EVENT_SOURCE or detail_type != DETAIL_TYPE:
        raise InvalidEventError(
            "event is not a CloudFormation stack status change",
            source=str(source)[:100],
            detail_type=str(detail_type)[:100],
        )
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidEventError("event has no id")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEventError("event has no detail", event_id=event_id)
    stack = parse_stack_arn(detail.get("stack-id", ""))
    status_details = detail.get("status-details")
    status = status_details.get("status") if isinstance(status_details, dict) else None
    if not isinstance(status, str) or not status:
        raise InvalidEventError(
            "event has no stack status", event_id=event_id, stack_arn=stack.arn
        )
    reason = (
        status_details.get("status-reason") if isinstance(status_details, dict) else ""
    )
    return StackEvent(
        event_id=event_id,
        stack=stack,
        status=status,
        status_reason=reason if isinstance(reason, str) else "",
        time=_parse_time(event.get("time")),
    )


def accept_event(event: Any, logger: Any) -> StackEvent | dict[str, Any]:
    """Parse an event for a handler, or log why it is skipped.

    Returns:
        The parsed event when its status starts a check. Otherwise the handler's
        response for a skipped event (``{"skipped": ...}``), after one log line.
    """
    try:
        stack_event = parse_event(event)
    except InvalidEventError as error:
        logger.warning(
            "skipped invalid event", extra={"problem": str(error), **error.fields}
        )
        return {"skipped": "invalid event"}
    logger.append_keys(event_id=stack_event.event_id, stack_arn=stack_event.stack.arn)
    if not stack_event.is_checked:
        logger.info("skipped stack status", extra={"status": stack_event.status})
        return {"skipped": f"status {stack_event.status}"}
    return stack_event


@dataclass(frozen=True)
class DriftStatusEvent:
    """One parsed drift detection status change."""

    event_id: str
    stack: StackArn
    detection_id: str
    detection_status: str
    stack_drift_status: str
    time: datetime

    @property
    def is_finished(self) -> bool:
        """Whether the detection has ended, so its results can be read."""
        return self.detection_status in FINISHED_DETECTION_STATUSES


def is_drift_status_event(event: Any) -> bool:
    """Return whether ``event`` has the source and type of a drift status change."""
    return (
        isinstance(event, dict)
        and event.get("source") == EVENT_SOURCE
        and event.get("detail-type") == DRIFT_DETAIL_TYPE
    )


def parse_drift_event(event: Any) -> DriftStatusEvent:
    """Parse a "CloudFormation Drift Detection Status Change" event.

    Raises:
        InvalidEventError: when the event is not a drift status change or lacks the
            event id, stack ARN, detection id or detection status.
    """
    if not is_drift_status_event(event):
        raise InvalidEventError(
            "event is not a CloudFormation drift detection status change",
            source=str(event.get("source") if isinstance(event, dict) else None)[:100],
        )
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidEventError("event has no id")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEventError("event has no detail", event_id=event_id)
    stack = parse_stack_arn(detail.get("stack-id", ""))
    detection_id = detail.get("stack-drift-detection-id")
    if not isinstance(detection_id, str) or not detection_id:
        raise InvalidEventError(
            "event has no drift detection id", event_id=event_id, stack_arn=stack.arn
        )
    status_details = detail.get("status-details")
    if not isinstance(status_details, dict):
        status_details = {}
    detection_status = status_details.get("detection-status")
    if not isinstance(detection_status, str) or not detection_status:
        raise InvalidEventError(
            "event has no detection status", event_id=event_id, stack_arn=stack.arn
        )
    drift_status = status_details.get("stack-drift-status")
    return DriftStatusEvent(
        event_id=event_id,
        stack=stack,
        detection_id=detection_id,
        detection_status=detection_status,
        stack_drift_status=drift_status if isinstance(drift_status, str) else "UNKNOWN",
        time=_parse_time(event.get("time")),
    )
