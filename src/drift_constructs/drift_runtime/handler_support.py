"""Pieces both Lambda handlers share: configuration, idempotency and metrics.

Only the handlers import this module. Powertools and boto3 are imported inside the
functions, so a cold start pays for them only on the invocations that need them.
"""

# boto3 and Powertools are imported inside functions to keep start-up short.
# ruff: noqa: PLC0415
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import metrics as metric_names
from . import settings, state

DEFAULT_ENVIRONMENT = "default"
# Idempotency records expire after one hour, so a redelivery within the hour is a no-op.
IDEMPOTENCY_EXPIRY_SECONDS = 3600


class ConfigurationError(RuntimeError):
    """Raised when a required environment variable is missing or invalid."""


@dataclass(frozen=True)
class HandlerConfig:
    """Configuration of one invocation, read from the function's environment."""

    # Unset only for a validator deployed without a state tracker.
    table_name: str | None
    bucket_name: str | None
    environment: str
    history_ttl_days: int
    topic_arn: str | None
    ignore_rules_text: str | None
    validator_function: str | None
    metrics_namespace: str
    check_queue_url: str | None = None

    @classmethod
    def from_environment(
        cls, env: Mapping[str, str] | None = None, *, require_state: bool = True
    ) -> HandlerConfig:
        """Read the configuration; raise ``ConfigurationError`` on a bad variable.

        With ``require_state`` off, the state table and config bucket may both be
        unset (a validator without a state tracker), but not just one of them.
        """
        values = os.environ if env is None else env
        missing = [
            name
            for name in (settings.ENV_STATE_TABLE, settings.ENV_CONFIG_BUCKET)
            if not values.get(name)
        ]
        if missing and (require_state or len(missing) == 1):
            raise ConfigurationError(
                f"missing environment variable(s): {', '.join(missing)}"
            )
        ttl_text = values.get(settings.ENV_HISTORY_TTL_DAYS) or str(
            settings.DEFAULT_HISTORY_TTL_DAYS
        )
        try:
            ttl_days = int(ttl_text)
        except ValueError:
            ttl_days = 0
        if not 0 < ttl_days <= settings.MAX_HISTORY_TTL_DAYS:
            raise ConfigurationError(
                f"{settings.ENV_HISTORY_TTL_DAYS} must be a whole number of days from "
                f"1 to {settings.MAX_HISTORY_TTL_DAYS}, got {ttl_text!r}"
            )
        return cls(
            table_name=values.get(settings.ENV_STATE_TABLE) or None,
            bucket_name=values.get(settings.ENV_CONFIG_BUCKET) or None,
            environment=values.get(settings.ENV_ENVIRONMENT) or DEFAULT_ENVIRONMENT,
            history_ttl_days=ttl_days,
            topic_arn=values.get(settings.ENV_ALERT_TOPIC) or None,
            ignore_rules_text=values.get(settings.ENV_IGNORE_RULES) or None,
            validator_function=values.get(settings.ENV_VALIDATOR_FUNCTION) or None,
            metrics_namespace=values.get(settings.ENV_METRICS_NAMESPACE)
            or metric_names.NAMESPACE,
            check_queue_url=values.get(settings.ENV_CHECK_QUEUE_URL) or None,
        )


def run_idempotent(
    process: Callable[[dict[str, Any], Any], dict[str, Any]],
    event: dict[str, Any],
    context: Any,
    *,
    table_name: str,
    dynamodb: Any,
) -> dict[str, Any]:
    """Run ``process(event, context)`` at most once per EventBridge event id.

    The record lives in the state table under ``state.idempotency_partition_key`` of
    the function's name. A repeated delivery returns the stored response without
    running ``process``; when ``process`` raises, Powertools deletes the record so
    Lambda's retry runs it again.
    """
    from aws_lambda_powertools.utilities.idempotency import (
        IdempotencyConfig,
        idempotent,
    )

    persistence = _persistence_layer(table_name, context.function_name, dynamodb)
    config = IdempotencyConfig(
        event_key_jmespath="id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
    )
    wrapped = idempotent(persistence_store=persistence, config=config)(process)
    response: dict[str, Any] = wrapped(event, context)
    return response


# One persistence layer per table, function and client for the container's lifetime.
# Each new layer registers another hook on the client, so building one per invocation
# would slow every later DynamoDB call of a warm container.
_persistence_layers: dict[tuple[str, str, int], Any] = {}


def _persistence_layer(table_name: str, function_name: str, dynamodb: Any) -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    key = (table_name, function_name, id(dynamodb))
    layer = _persistence_layers.get(key)
    if layer is None:
        layer = DynamoDBPersistenceLayer(
            table_name=table_name,
            key_attr=state.PARTITION_KEY,
            sort_key_attr=state.SORT_KEY,
            static_pk_value=state.idempotency_partition_key(function_name),
            expiry_attr=state.TTL_ATTRIBUTE,
            boto3_client=dynamodb,
        )
        _persistence_layers[key] = layer
    return layer


def publish_metrics(
    namespace: str,
    environment: str,
    values: Mapping[str, float],
    *,
    account: str | None = None,
    region: str | None = None,
    per_account: bool = False,
) -> None:
    """Print one embedded-metric-format record with ``values`` as counts.

    The only dimension is ``Environment``. Powertools adds a ``service`` dimension
    whenever a service name is set, including through POWERTOOLS_SERVICE_NAME, so
    the service is set to an empty string here, which Powertools skips. The account
    and region of the checked stack go into the record as properties, which
    CloudWatch Logs Insights can filter on. With ``per_account`` (a hub), the
    record also carries a second dimension set, ``Environment``, ``Account`` and
    ``Region``, so each member account and region gets its own series.
    """
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    unknown = set(values) - set(metric_names.ALL_METRICS)
    if unknown:
        raise ValueError(f"unknown metric name(s): {', '.join(sorted(unknown))}")
    recorder = Metrics(namespace=namespace, service="")
    recorder.clear_metrics()
    recorder.add_dimension(name=metric_names.DIMENSION_ENVIRONMENT, value=environment)
    for name, value in values.items():
        recorder.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if account:
        recorder.add_metadata(key="account", value=account)
    if region:
        recorder.add_metadata(key="region", value=region)
    add_dimensions = getattr(recorder, "add_dimensions", None)
    if per_account and account and region and add_dimensions is not None:
        # Powertools releases before add_dimensions keep only the properties above.
        add_dimensions(
            **{
                metric_names.DIMENSION_ENVIRONMENT: environment,
                metric_names.DIMENSION_ACCOUNT: account,
                metric_names.DIMENSION_REGION: region,
            }
        )
    recorder.flush_metrics()
