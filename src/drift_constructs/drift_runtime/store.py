"""Writes and reads of the state table and the config bucket, with state.py's keys.

Every method raises the client's error on failure: a lost record means a lost check,
so the handlers let Lambda retry instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import state
from .model import CheckResult


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
        if alert_fingerprint is not None:
            values["last_alert_fingerprint"] = alert_fingerprint
            values["last_alert_verdict"] = alert_verdict
            values["last_alert_time"] = moment.isoformat()
        self._update_latest(partition_key, values)

    def _update_latest(self, partition_key: str, values: dict[str, Any]) -> None:
        names = {f"#a{index}": name for index, name in enumerate(values)}
        attribute_values = {
            f":v{index}": _attribute(value)
            for index, value in enumerate(values.values())
        }
        assignments = ", ".join(
            f"#a{index} = :v{index}" for index in range(len(values))
        )
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=_item(
                {
                    state.PARTITION_KEY: partition_key,
                    state.SORT_KEY: state.LATEST_SORT_KEY,
                }
            ),
            UpdateExpression=f"SET {assignments}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attribute_values,
        )

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
