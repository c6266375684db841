"""Messages of the check queue, which the validator consumes.

Two kinds of message, each a JSON object with a ``kind`` field:

* ``check``: start drift detection on ``stack_arn`` unless a detection of that stack
  started at or after ``satisfied_after`` (ISO-8601 UTC). The sweeper sends one per
  selected stack, with ``satisfied_after`` set to the sweep time minus the minimum
  age. The validator sends one, delayed and with the update's time, when a stack
  update arrives while a detection of the stack is running.
* ``finish``: collect the results of detection ``detection_id`` of ``stack_arn``,
  which has ended but whose status event never arrived. The sweeper sends these.

One rule makes duplicate requests harmless: a detection that started after a request
was made covers it, so the request is dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .events import EARLIEST_EVENT_TIME, InvalidEventError, StackArn, parse_stack_arn

CHECK_KIND = "check"
FINISH_KIND = "finish"

# The largest message body this module parses; real ones are a few hundred bytes.
MAX_BODY_BYTES = 16_384


@dataclass(frozen=True)
class CheckRequest:
    """A request to check one stack."""

    stack: StackArn
    satisfied_after: datetime
    trigger: str

    def to_body(self) -> str:
        """Return the message body."""
        return json.dumps(
            {
                "kind": CHECK_KIND,
                "stack_arn": self.stack.arn,
                "satisfied_after": self.satisfied_after.isoformat(),
                "trigger": self.trigger,
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class FinishRequest:
    """A request to collect the results of a detection that has ended."""

    stack: StackArn
    detection_id: str
    stack_drift_status: str

    def to_body(self) -> str:
        """Return the message body."""
        return json.dumps(
            {
                "kind": FINISH_KIND,
                "stack_arn": self.stack.arn,
                "detection_id": self.detection_id,
                "stack_drift_status": self.stack_drift_status,
            },
            sort_keys=True,
        )


def _text(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"message has no {name}")
    return value


def parse_request(body: Any) -> CheckRequest | FinishRequest:
    """Parse one message body.

    Raises:
        InvalidEventError: when the body is not a JSON object of a known kind with
            valid fields.
    """
    if not isinstance(body, str) or len(body) > MAX_BODY_BYTES:
        raise InvalidEventError("message body is not a short JSON text")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise InvalidEventError("message body is not JSON") from error
    if not isinstance(document, dict):
        raise InvalidEventError("message body is not a JSON object")
    kind = document.get("kind")
    stack = parse_stack_arn(document.get("stack_arn", ""))
    if kind == CHECK_KIND:
        text = _text(document, "satisfied_after")
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            moment = moment.astimezone(timezone.utc)
        except (ValueError, OverflowError) as error:
            raise InvalidEventError(
                "message has an invalid satisfied_after", value=text[:50]
            ) from error
        if moment < EARLIEST_EVENT_TIME:
            raise InvalidEventError(
                "message has an invalid satisfied_after", value=text[:50]
            )
        trigger = document.get("trigger")
        return CheckRequest(
            stack=stack,
            satisfied_after=moment,
            trigger=trigger if isinstance(trigger, str) else "unknown",
        )
    if kind == FINISH_KIND:
        drift_status = document.get("stack_drift_status")
        return FinishRequest(
            stack=stack,
            detection_id=_text(document, "detection_id"),
            stack_drift_status=(
                drift_status if isinstance(drift_status, str) else "UNKNOWN"
            ),
        )
    raise InvalidEventError("message has an unknown kind", kind=str(kind)[:50])
