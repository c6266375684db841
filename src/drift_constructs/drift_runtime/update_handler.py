"""Lambda handler that records stack updates and their configuration baselines.

Event: an EventBridge "CloudFormation Stack Status Change" event (see ``events.py``).
Only statuses in ``events.CHECKED_STATUSES`` are recorded; other statuses and malformed
events are logged and skipped without an AWS call.

For each recorded update the handler, once per event id:

1. writes an ``UPDATE#`` item and the update fields of the stack's ``LATEST`` item,
2. captures the stack's baseline and stores it under ``state.baseline_key``,
3. emits the ``StackUpdates`` metric,
4. invokes the function named in ``VALIDATOR_FUNCTION_NAME``, when set, asynchronously
   with the same event.

Configuration comes from the environment on every invocation (``handler_support``).
Errors writing state, capturing the baseline or invoking the validator are raised, so
Lambda retries the event.
"""

# boto3 and Powertools are imported inside functions to keep start-up short.
# ruff: noqa: PLC0415
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from . import metrics as metric_names
from . import state
from .events import StackEvent, accept_event

logger = Logger()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Record one stack update; see the module documentation for the contract."""
    accepted = accept_event(event, logger)
    if isinstance(accepted, dict):
        return accepted
    stack_event = accepted

    from . import clients
    from .handler_support import ConfigurationError, HandlerConfig, run_idempotent

    clients.set_own_account(clients.own_account_from_context(context))
    try:
        config = HandlerConfig.from_environment()
    except ConfigurationError:
        logger.exception("invalid function configuration")
        raise
    dynamodb = clients.client("dynamodb")

    def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return _record_update(stack_event, event, config)

    # from_environment() rejects a missing table unless require_state is off.
    table_name = str(config.table_name)
    return run_idempotent(
        process, event, context, table_name=table_name, dynamodb=dynamodb
    )


def _record_update(
    stack_event: StackEvent, event: dict[str, Any], config: Any
) -> dict[str, Any]:
    from . import clients
    from .baseline import capture_baseline
    from .handler_support import publish_metrics
    from .store import StateStore

    stack = stack_event.stack
    store = StateStore(
        dynamodb=clients.client("dynamodb"),
        s3=clients.client("s3"),
        table_name=config.table_name,
        bucket_name=config.bucket_name,
        history_ttl_days=config.history_ttl_days,
    )
    partition_key = state.stack_partition_key(
        config.environment, stack.account, stack.region, stack.stack_name
    )
    try:
        store.put_update(
            partition_key,
            stack_arn=stack.arn,
            stack_name=stack.stack_name,
            environment=config.environment,
            status=stack_event.status,
            moment=stack_event.time,
            event_id=stack_event.event_id,
        )
        cloudformation = clients.account_client(
            "cloudformation", stack.account, stack.region, stack.partition
        )
        document = capture_baseline(cloudformation, stack.arn, stack_event.time)
        key = state.baseline_key(
            config.environment, stack.account, stack.region, stack.stack_name
        )
        store.put_json(key, document)
    except Exception:
        logger.exception("recording stack update failed")
        raise
    logger.info(
        "recorded stack update",
        extra={"status": stack_event.status, "baseline_key": key},
    )
    publish_metrics(
        config.metrics_namespace, config.environment, {metric_names.STACK_UPDATES: 1}
    )

    forwarded_to = None
    if config.validator_function:
        try:
            clients.client("lambda").invoke(
                FunctionName=config.validator_function,
                InvocationType="Event",
                Payload=json.dumps(event).encode(),
            )
        except Exception:
            logger.exception(
                "invoking the validator failed",
                extra={"validator_function": config.validator_function},
            )
            raise
        forwarded_to = config.validator_function
    return {
        "recorded": True,
        "stack": stack.stack_name,
        "status": stack_event.status,
        "baseline_key": key,
        "forwarded_to": forwarded_to,
    }
