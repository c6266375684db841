"""Writes and reads of the state table and the config bucket, with state.py's keys.

Every method raises the client's error on failure: a lost record means a lost check,
so the handlers let Lambda retry instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from . import state
from .model import CheckResult

CONDITION_FAILED = "ConditionalCheckFailedException"
# BatchGetItem reads at most 100 keys per call.
BATCH_READ_SIZE = 100
BATCH_READ_ATTEMPTS = 8


class Claim(str, Enum):
    """Outcome of ``StateStore.claim_detection``."""

    CLAIMED = "claimed"
    # A detection of the stack is running and started before the request was made.
    BUSY = "busy"
    # A detection started at or after the request was made, so it covers the request.
    SATISFIED = "satisfied"


class FinishClaim(str, Enum):
    """Outcome of ``StateStore.claim_finish``."""

    # This invocation records the detection's results.
    CLAIMED = "claimed"
    # The results are recorded already.
    DUPLICATE = "duplicate"
    # Another invocation is recording them now: try again after its lease.
    IN_PROGRESS = "in_progress"
    # The detection started but its id is not stored yet: try again shortly.
    EARLY = "early"
    # Another detection of the stack holds the lock; this one was started elsewhere.
    OTHER_RUNNING = "other_running"


def _condition_failed(error: Exception) -> bool:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    return bool(response.get("Error", {}).get("Code") == CONDITION_FAILED)


def _attribute(value: Any) -> dict[str, Any]:
    # A small serialiser for the plain values written here, so the handlers need not
    # load boto3's resource layer.
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    raise TypeError(f"unsupported attribute value {value!r}")


def _plain(attribute: dict[str, Any]) -> Any:
    if "S" in attribute:
        return attribute["S"]
    if "N" in attribute:
        number = attribute["N"]
        return int(number) if number.lstrip("-").isdigit() else float(number)
    if "BOOL" in attribute:
        return attribute["BOOL"]
    return None


def _item(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: _attribute(value) for name, value in values.items()}


class StateStore:
    """The state table and config bucket of one deployment."""

    def __init__(
        self,
        *,
        dynamodb: Any,
        s3: Any,
        table_name: str,
        bucket_name: str,
        history_ttl_days: int,
    ) -> None:
        self.dynamodb = dynamodb
        self.s3 = s3
        self.table_name = table_name
        self.bucket_name = bucket_name
        self.history_ttl_days = history_ttl_days

    def read_latest(self, partition_key: str) -> dict[str, Any]:
        """Return the ``LATEST`` item of a stack as plain values, empty when absent."""
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=_item(
                {
                    state.PARTITION_KEY: partition_key,
                    state.SORT_KEY: state.LATEST_SORT_KEY,
                }
            ),
            ConsistentRead=True,
        )
        return {name: _plain(value) for name, value in response.get("Item", {}).items()}

    def put_update(
        self,
        partition_key: str,
        *,
        stack_arn: str,
        stack_name: str,
        environment: str,
        status: str,
        moment: datetime,
        event_id: str,
    ) -> None:
        """Write an ``UPDATE#`` history item and the update fields of ``LATEST``."""
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item=_item(
                {
                    state.PARTITION_KEY: partition_key,
                    state.SORT_KEY: state.update_sort_key(moment, event_id),
                    "stack_arn": stack_arn,
                    "stack_name": stack_name,
                    "environment": environment,
                    "status": status,
                    "time": moment.isoformat(),
                    "event_id": event_id,
                    state.TTL_ATTRIBUTE: state.expiry_epoch(
                        moment, self.history_ttl_days
                    ),
                }
            ),
        )
        self._update_latest(
            partition_key,
            {
                "stack_arn": stack_arn,
                "stack_name": stack_name,
                "environment": environment,
                "last_update_status": status,
                "last_update_time": moment.isoformat(),
                "last_update_event_id": event_id,
            },
        )

    def put_check(
        self,
        partition_key: str,
        result: CheckResult,
        *,
        environment: str,
        moment: datetime,
        check_id: str,
        report_key: str,
    ) -> None:
        """Write a ``CHECK#`` history item of one check."""
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item=_item(
                {
                    state.PARTITION_KEY: partition_key,
                    state.SORT_KEY: state.check_sort_key(moment, check_id),
                    **_check_fields(result, environment),
                    "check_time": moment.isoformat(),
                    "check_id": check_id,
                    "report_key": report_key,
                    state.TTL_ATTRIBUTE: state.expiry_epoch(
                        moment, self.history_ttl_days
                    ),
                }
            ),
        )

    def put_latest_check(
        self,
        partition_key: str,
        result: CheckResult,
        *,
        environment: str,
        moment: datetime,
        report_key: str,
        alert_fingerprint: str | None,
        alert_verdict: str | None,
    ) -> None:
        """Update the check fields of ``LATEST`` (and alert fields if one was sent)."""
        values: dict[str, Any] = {
            **_check_fields(result, environment),
            "last_check_time": moment.isoformat(),
            "last_report_key": report_key,
        }
        # detection_id on LATEST belongs to the detection lock (see state.py).
        values["last_check_detection_id"] = values.pop("detection_id")
        if alert_fingerprint is not None:
            values["last_alert_fingerprint"] = alert_fingerprint
            values["last_alert_verdict"] = alert_verdict
            values["last_alert_time"] = moment.isoformat()
        self._update_latest(partition_key, values)

    def _update_latest(
        self,
        partition_key: str,
        values: dict[str, Any],
        *,
        remove: Iterable[str] = (),
        condition: str | None = None,
        condition_values: dict[str, Any] | None = None,
    ) -> None:
        """Set ``values`` on ``LATEST`` and remove ``remove``, if ``condition`` holds.

        ``condition`` refers to attributes by their plain names and to its values
        as ``:name`` placeholders given in ``condition_values``.
        """
        names = {f"#a{index}": name for index, name in enumerate(values)}
        attribute_values = {
            f":v{index}": _attribute(value)
            for index, value in enumerate(values.values())
        }
        expression = ""
        if values:
            expression = "SET " + ", ".join(
                f"#a{index} = :v{index}" for index in range(len(values))
            )
        removed = list(remove)
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _item(
                {
                    state.PARTITION_KEY: partition_key,
                    state.SORT_KEY: state.LATEST_SORT_KEY,
                }
            ),
            "UpdateExpression": expression.strip(),
        }
        if names:
            request["ExpressionAttributeNames"] = names
        if condition is not None:
            request["ConditionExpression"] = condition
            attribute_values.update(
                {
                    key: _attribute(value)
                    for key, value in (condition_values or {}).items()
                }
            )
        if attribute_values:
            request["ExpressionAttributeValues"] = attribute_values
        self.dynamodb.update_item(**request)

    def _conditional(
        self,
        partition_key: str,
        values: dict[str, Any],
        *,
        remove: Iterable[str] = (),
        condition: str,
        condition_values: dict[str, Any],
    ) -> bool:
        try:
            self._update_latest(
                partition_key,
                values,
                remove=remove,
                condition=condition,
                condition_values=condition_values,
            )
        except Exception as error:
            if _condition_failed(error):
                return False
            raise
        return True

    # Detection lock; the attributes are described in state.py.

    def claim_detection(
        self,
        partition_key: str,
        *,
        stack_arn: str,
        stack_name: str,
        environment: str,
        satisfied_after: datetime,
        claim_id: str,
        lease_seconds: int,
        now: float | None = None,
    ) -> Claim:
        """Take the stack's detection lock for a request made at ``satisfied_after``."""
        epoch = time.time() if now is None else now
        after = state.timestamp(satisfied_after)
        claimed = self._conditional(
            partition_key,
            {
                "stack_arn": stack_arn,
                "stack_name": stack_name,
                "environment": environment,
                "detection_claim": claim_id,
                "detection_lease_until": int(epoch) + lease_seconds,
            },
            # The previous detection's id goes, so its late events cannot match the
            # new claim; finished_detection_id keeps the id of the last one recorded.
            remove=["detection_id", "finish_lease_until"],
            condition=(
                "(attribute_not_exists(detection_lease_until) "
                "OR detection_lease_until < :now) AND "
                "(attribute_not_exists(last_detection_started_at) "
                "OR last_detection_started_at < :after)"
            ),
            condition_values={":now": int(epoch), ":after": after},
        )
        if claimed:
            return Claim.CLAIMED
        latest = self.read_latest(partition_key)
        started = latest.get("last_detection_started_at")
        if isinstance(started, str) and started >= after:
            return Claim.SATISFIED
        return Claim.BUSY

    def record_detection_start(
        self,
        partition_key: str,
        *,
        claim_id: str,
        detection_id: str | None,
        started: datetime,
        release: bool = False,
    ) -> bool:
        """Store the started detection under the lock held as ``claim_id``.

        With ``release`` (the detection could not start and will not be retried),
        the lock is released as well. Returns False when the lock was lost.
        """
        values: dict[str, Any] = {"last_detection_started_at": state.timestamp(started)}
        remove: list[str] = []
        if detection_id is not None:
            values["detection_id"] = detection_id
        if release:
            remove = ["detection_claim", "detection_lease_until"]
        return self._conditional(
            partition_key,
            values,
            remove=remove,
            condition="detection_claim = :claim",
            condition_values={":claim": claim_id},
        )

    def release_claim(self, partition_key: str, *, claim_id: str) -> bool:
        """Release the lock without recording a start, for a retry later."""
        return self._conditional(
            partition_key,
            {},
            remove=["detection_claim", "detection_lease_until"],
            condition="detection_claim = :claim",
            condition_values={":claim": claim_id},
        )

    def claim_finish(
        self,
        partition_key: str,
        *,
        detection_id: str,
        lease_seconds: int,
        now: float | None = None,
    ) -> FinishClaim:
        """Take the right to record the results of ``detection_id``, once."""
        epoch = int(time.time() if now is None else now)
        not_finished = (
            "(attribute_not_exists(finished_detection_id) "
            "OR finished_detection_id <> :id) AND "
            "(attribute_not_exists(finish_lease_until) OR finish_lease_until < :now)"
        )
        values = {"finish_lease_until": epoch + lease_seconds}
        bound = {":id": detection_id, ":now": epoch}
        if self._conditional(
            partition_key,
            values,
            condition=f"detection_id = :id AND {not_finished}",
            condition_values=bound,
        ):
            return FinishClaim.CLAIMED
        blocked = self._finish_blocked(partition_key, detection_id, epoch)
        if blocked is not None:
            return blocked
        # A detection this library did not start, for example from the console, while
        # no detection of its own runs: its results are recorded like any other.
        if self._conditional(
            partition_key,
            {**values, "detection_id": detection_id},
            condition=(
                "(attribute_not_exists(detection_lease_until) "
                f"OR detection_lease_until < :now) AND {not_finished}"
            ),
            condition_values=bound,
        ):
            return FinishClaim.CLAIMED
        return FinishClaim.IN_PROGRESS

    def _finish_blocked(
        self, partition_key: str, detection_id: str, epoch: int
    ) -> FinishClaim | None:
        """Return why ``claim_finish`` cannot take the detection, or None if it may.

        None means the detection was started outside this library while no
        detection of the library runs, so it is recorded like any other.
        """
        latest = self.read_latest(partition_key)
        if latest.get("finished_detection_id") == detection_id:
            return FinishClaim.DUPLICATE
        if latest.get("detection_id") == detection_id:
            return FinishClaim.IN_PROGRESS
        if self.detection_recorded(partition_key, detection_id):
            return FinishClaim.DUPLICATE
        lease = latest.get("detection_lease_until")
        if isinstance(lease, (int, float)) and lease >= epoch:
            if not latest.get("detection_id"):
                return FinishClaim.EARLY
            return FinishClaim.OTHER_RUNNING
        return None

    def complete_detection(self, partition_key: str, *, detection_id: str) -> bool:
        """Mark ``detection_id`` recorded and release the stack's lock."""
        self._update_marker(partition_key, detection_id, {"recorded": True})
        return self._conditional(
            partition_key,
            {"finished_detection_id": detection_id},
            remove=["detection_claim", "detection_lease_until", "finish_lease_until"],
            condition="detection_id = :id",
            condition_values={":id": detection_id},
        )

    # Detection markers: one item per recorded detection, so a retry reuses the
    # check id and time of its first attempt and a late request finds it recorded.

    def _marker_key(self, partition_key: str, detection_id: str) -> dict[str, Any]:
        return _item(
            {
                state.PARTITION_KEY: partition_key,
                state.SORT_KEY: state.detection_sort_key(detection_id),
            }
        )

    def begin_recording(
        self, partition_key: str, *, detection_id: str, check_id: str, moment: datetime
    ) -> dict[str, Any]:
        """Return the check id, time and alert state of recording ``detection_id``.

        The first attempt stores ``check_id`` and ``moment``; a retry gets the
        stored values back, so it overwrites the same history item and report.
        """
        values = {
            "check_id": check_id,
            "finished_at": moment.isoformat(),
            "alert_sent": False,
            "recorded": False,
            state.TTL_ATTRIBUTE: state.expiry_epoch(moment, self.history_ttl_days),
        }
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={**self._marker_key(partition_key, detection_id), **_item(values)},
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": state.PARTITION_KEY},
            )
        except Exception as error:
            if not _condition_failed(error):
                raise
            response = self.dynamodb.get_item(
                TableName=self.table_name,
                Key=self._marker_key(partition_key, detection_id),
                ConsistentRead=True,
            )
            return {
                name: _plain(value) for name, value in response.get("Item", {}).items()
            }
        return values

    def mark_alert_sent(self, partition_key: str, detection_id: str) -> None:
        """Record that the alert of ``detection_id`` was published."""
        self._update_marker(partition_key, detection_id, {"alert_sent": True})

    def detection_recorded(self, partition_key: str, detection_id: str) -> bool:
        """Return whether the results of ``detection_id`` were recorded."""
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=self._marker_key(partition_key, detection_id),
            ConsistentRead=True,
        )
        item = response.get("Item", {})
        return bool(item.get("recorded", {}).get("BOOL"))

    def _update_marker(
        self, partition_key: str, detection_id: str, values: dict[str, Any]
    ) -> None:
        names = {f"#a{index}": name for index, name in enumerate(values)}
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=self._marker_key(partition_key, detection_id),
            UpdateExpression="SET "
            + ", ".join(f"#a{index} = :v{index}" for index in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                f":v{index}": _attribute(value)
                for index, value in enumerate(values.values())
            },
        )

    def release_finish(self, partition_key: str, *, detection_id: str) -> bool:
        """Give up recording ``detection_id``, so a retry may record it."""
        return self._conditional(
            partition_key,
            {},
            remove=["finish_lease_until"],
            condition="detection_id = :id",
            condition_values={":id": detection_id},
        )

    def read_latest_many(
        self, partition_keys: Iterable[str]
    ) -> dict[str, dict[str, Any]]:
        """Return the ``LATEST`` items of many stacks by partition key.

        Stacks with no item are absent from the result. Unprocessed keys, which
        DynamoDB returns under load, are read again with a short backoff.
        """
        keys = list(dict.fromkeys(partition_keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), BATCH_READ_SIZE):
            pending: list[dict[str, Any]] = [
                _item({state.PARTITION_KEY: key, state.SORT_KEY: state.LATEST_SORT_KEY})
                for key in keys[start : start + BATCH_READ_SIZE]
            ]
            attempt = 0
            while pending:
                response = self.dynamodb.batch_get_item(
                    RequestItems={
                        self.table_name: {"Keys": pending, "ConsistentRead": True}
                    }
                )
                for raw in response.get("Responses", {}).get(self.table_name, []):
                    item = {name: _plain(value) for name, value in raw.items()}
                    found[str(item[state.PARTITION_KEY])] = item
                pending = (
                    response.get("UnprocessedKeys", {})
                    .get(self.table_name, {})
                    .get("Keys", [])
                )
                attempt += 1
                if pending and attempt >= BATCH_READ_ATTEMPTS:
                    raise RuntimeError(
                        f"{len(pending)} state items still unread after {attempt} "
                        "attempts"
                    )
                if pending:
                    time.sleep(min(2.0, 0.05 * 2**attempt))
        return found

    # Nested stacks.

    def set_root(self, partition_key: str, *, root_stack_arn: str) -> None:
        """Record the root stack of a nested stack on its ``LATEST`` item."""
        self._update_latest(partition_key, {"root_stack_arn": root_stack_arn})

    def set_nested_stacks(self, partition_key: str, nested: list[str]) -> None:
        """Record the nested stack ARNs of a stack on its ``LATEST`` item."""
        self._update_latest(partition_key, {"nested_stacks": json.dumps(nested)})

    def put_nested_verdict(
        self,
        root_partition_key: str,
        *,
        stack_arn: str,
        stack_name: str,
        verdict: str,
        check_time: str,
    ) -> None:
        """Write a nested stack's verdict into its root stack's partition.

        ``check_time`` is a ``state.timestamp``; an older verdict never replaces a
        newer one, whichever writer comes last.
        """
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=_item(
                    {
                        state.PARTITION_KEY: root_partition_key,
                        state.SORT_KEY: state.nested_sort_key(stack_name),
                        "stack_arn": stack_arn,
                        "stack_name": stack_name,
                        "verdict": verdict,
                        "check_time": check_time,
                    }
                ),
                ConditionExpression=(
                    "attribute_not_exists(check_time) OR check_time <= :time"
                ),
                ExpressionAttributeValues={":time": {"S": check_time}},
            )
        except Exception as error:
            if not _condition_failed(error):
                raise

    def nested_verdicts(self, root_partition_key: str) -> dict[str, dict[str, Any]]:
        """Return the ``NESTED#`` items of a root stack by nested stack ARN."""
        items: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _item(
                {":pk": root_partition_key, ":prefix": state.NESTED_PREFIX}
            ),
            "ConsistentRead": True,
        }
        while True:
            response = self.dynamodb.query(**params)
            for raw in response.get("Items", []):
                item = {name: _plain(value) for name, value in raw.items()}
                items[str(item.get("stack_arn"))] = item
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            params["ExclusiveStartKey"] = last

    def set_rollup(self, partition_key: str, values: dict[str, Any]) -> None:
        """Write the roll-up fields of a root stack's ``LATEST`` item."""
        self._update_latest(partition_key, values)

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        """Store a JSON document in the config bucket."""
        self.s3.put_object(
            Bucket=self.bucket_name,
            Key=key,
            Body=json.dumps(document, sort_keys=True, default=str).encode(),
            ContentType="application/json",
        )

    def get_json(self, key: str) -> dict[str, Any] | None:
        """Return a JSON document from the config bucket, or ``None`` when absent."""
        try:
            response = self.s3.get_object(Bucket=self.bucket_name, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        document: dict[str, Any] = json.loads(response["Body"].read())
        return document


def _check_fields(result: CheckResult, environment: str) -> dict[str, Any]:
    return {
        "stack_arn": result.stack_id,
        "stack_name": result.stack_name,
        "environment": environment,
        "verdict": result.verdict.value,
        "fingerprint": result.fingerprint(),
        "drifted_count": len(result.drifted),
        "unchecked_count": len(result.unchecked),
        "checked_count": result.checked_count,
        "ignored_count": len(result.ignored),
        "detection_id": result.detection_id,
        "failure_reason": result.failure_reason,
    }
