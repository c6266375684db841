"""Lambda handler that checks a stack for drift and records and alerts the result.

Event: the EventBridge "CloudFormation Stack Status Change" event, usually forwarded
by the update handler. Statuses outside ``events.CHECKED_STATUSES`` and malformed
events are logged and skipped without an AWS call.

For each checked event the handler, once per event id:

1. compares live configuration with the stored baseline, when one exists,
2. runs CloudFormation drift detection with ``detection.run_check`` within the
   function's remaining time minus ``SAFETY_MARGIN_SECONDS``,
3. stores the full report under ``state.report_key`` and writes a ``CHECK#`` item,
4. publishes an SNS alert or recovery message when ``alerts.alert_kind`` returns one,
5. updates the stack's ``LATEST`` item and emits the check metrics.

A check that cannot run (invalid ignore rules, API errors, time out) is recorded with
the ``failed`` verdict. Errors writing state or publishing the alert are raised, so
Lambda retries the event.
"""

# boto3 and Powertools are imported inside functions to keep start-up short.
# ruff: noqa: PLC0415
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools import Logger

from . import metrics as metric_names
from . import state
from .events import StackEvent, accept_event

logger = Logger()

# Time kept back from the function's timeout for writing records and the alert.
SAFETY_MARGIN_SECONDS = 20.0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Check one stack for drift; see the module documentation for the contract."""
    accepted = accept_event(event, logger)
    if isinstance(accepted, dict):
        return accepted
    stack_event = accepted

    from . import clients
    from .handler_support import ConfigurationError, HandlerConfig, run_idempotent

    try:
        config = HandlerConfig.from_environment(require_state=False)
    except ConfigurationError:
        logger.exception("invalid function configuration")
        raise

    if config.table_name is None:
        logger.warning(
            "no state table configured: the check is not recorded, not compared "
            "with a baseline and alerts are not deduplicated"
        )
        return _check_stack(stack_event, config, context, stateless=True)

    def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return _check_stack(stack_event, config, context)

    return run_idempotent(
        process,
        event,
        context,
        table_name=config.table_name,
        dynamodb=clients.client("dynamodb"),
    )


def _remaining_seconds(context: Any) -> float:
    return float(context.get_remaining_time_in_millis()) / 1000 - SAFETY_MARGIN_SECONDS


def _baseline_findings(
    stack_event: StackEvent, config: Any, store: Any
) -> tuple[list[Any], list[Any]] | None:
    from . import clients
    from .baseline import compare_with_baseline

    stack = stack_event.stack
    key = state.baseline_key(
        config.environment, stack.account, stack.region, stack.stack_name
    )
    document = None if store is None else store.get_json(key)
    if document is None:
        logger.info(
            "no baseline stored; checking with CloudFormation only", extra={"key": key}
        )
        return None

    def client_factory(service: str) -> Any:
        return clients.client(service, stack.region)

    drifts, unchecked = compare_with_baseline(document, client_factory)
    return list(drifts), list(unchecked)


def _run(stack_event: StackEvent, config: Any, context: Any, store: Any) -> Any:
    from . import clients
    from .detection import run_check
    from .ignore import IgnoreRuleError, effective_rules
    from .model import UncheckedResource
    from .verdict import failed_result

    stack = stack_event.stack
    try:
        rules = effective_rules(config.ignore_rules_text)
    except IgnoreRuleError as error:
        logger.error(
            "invalid ignore rules; check not run", extra={"problem": str(error)}
        )
        return failed_result(
            stack.arn, stack.stack_name, f"invalid ignore rules: {error}"
        )

    try:
        baseline_findings = _baseline_findings(stack_event, config, store)
    except Exception as error:
        # The CloudFormation check still runs; the stack is listed as unchecked by the
        # baseline comparison so the gap shows in the verdict.
        logger.exception("baseline comparison failed")
        baseline_findings = (
            [],
            [
                UncheckedResource(
                    stack.stack_name,
                    f"baseline comparison failed: {type(error).__name__}: {error}",
                    "AWS::CloudFormation::Stack",
                )
            ],
        )

    return run_check(
        clients.client("cloudformation", stack.region),
        stack.arn,
        remaining_seconds=lambda: _remaining_seconds(context),
        ignore_rules=rules,
        baseline_findings=baseline_findings,
    )


def _check_stack(
    stack_event: StackEvent, config: Any, context: Any, *, stateless: bool = False
) -> dict[str, Any]:
    from . import clients
    from .alerts import alert_kind, build_alert
    from .model import Verdict
    from .store import StateStore

    stack = stack_event.stack
    started = datetime.now(timezone.utc)
    store = None
    if not stateless:
        store = StateStore(
            dynamodb=clients.client("dynamodb"),
            s3=clients.client("s3"),
            table_name=config.table_name,
            bucket_name=config.bucket_name,
            history_ttl_days=config.history_ttl_days,
        )
    result = _run(stack_event, config, context, store)
    finished = datetime.now(timezone.utc)
    if result.verdict is Verdict.FAILED:
        logger.error("drift check failed", extra={"reason": result.failure_reason})

    check_id = uuid.uuid4().hex[:12]
    partition_key = state.stack_partition_key(
        config.environment, stack.account, stack.region, stack.stack_name
    )
    report_key = state.report_key(
        config.environment,
        stack.account,
        stack.region,
        stack.stack_name,
        moment=finished,
        check_id=check_id,
    )
    report = {
        **result.to_dict(),
        "environment": config.environment,
        "event_id": stack_event.event_id,
        "check_id": check_id,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "duration_seconds": round((finished - started).total_seconds(), 3),
    }
    try:
        latest: dict[str, Any] = {}
        if store is not None:
            store.put_json(report_key, report)
            store.put_check(
                partition_key,
                result,
                environment=config.environment,
                moment=finished,
                check_id=check_id,
                report_key=report_key,
            )
            latest = store.read_latest(partition_key)
        kind = alert_kind(
            result,
            latest.get("last_alert_fingerprint"),
            latest.get("last_alert_verdict"),
        )
        if kind is not None and config.topic_arn:
            alert = build_alert(
                result,
                environment=config.environment,
                region=stack.region,
                kind=kind,
                partition=stack.partition,
            )
            clients.client("sns").publish(
                TopicArn=config.topic_arn,
                Subject=alert.subject,
                Message=alert.body,
                MessageAttributes=alert.message_attributes(),
            )
            logger.info(
                "sent alert", extra={"kind": kind, "verdict": result.verdict.value}
            )
        elif kind is not None:
            logger.warning("alert not sent: no topic configured", extra={"kind": kind})
        sent = kind is not None and bool(config.topic_arn)
        if store is None:
            return _finish(
                stack_event,
                config,
                result,
                check_id=check_id,
                report_key=None,
                kind=kind,
                sent=sent,
            )
        store.put_latest_check(
            partition_key,
            result,
            environment=config.environment,
            moment=finished,
            report_key=report_key,
            alert_fingerprint=result.fingerprint() if sent else None,
            alert_verdict=result.verdict.value if sent else None,
        )
    except Exception:
        logger.exception("recording the check failed", extra={"check_id": check_id})
        raise

    return _finish(
        stack_event,
        config,
        result,
        check_id=check_id,
        report_key=report_key,
        kind=kind,
        sent=sent,
    )


def _finish(
    stack_event: StackEvent,
    config: Any,
    result: Any,
    *,
    check_id: str,
    report_key: str | None,
    kind: str | None,
    sent: bool,
) -> dict[str, Any]:
    from .handler_support import publish_metrics

    publish_metrics(config.metrics_namespace, config.environment, check_metrics(result))
    logger.info(
        "drift check finished",
        extra={
            "verdict": result.verdict.value,
            "check_id": check_id,
            "report_key": report_key,
        },
    )
    return {
        "stack": stack_event.stack.stack_name,
        "verdict": result.verdict.value,
        "check_id": check_id,
        "report_key": report_key,
        "alert": kind if sent else None,
    }


def check_metrics(result: Any) -> dict[str, float]:
    """Return the metric values of one check result."""
    from .model import Verdict

    return {
        metric_names.DRIFTED_STACKS: 1 if result.verdict is Verdict.DRIFTED else 0,
        metric_names.DRIFTED_RESOURCES: len(result.drifted),
        metric_names.UNCHECKED_RESOURCES: len(result.unchecked),
        metric_names.CHECKED_RESOURCES: result.checked_count,
        metric_names.FAILED_CHECKS: 1 if result.verdict is Verdict.FAILED else 0,
    }
