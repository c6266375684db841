"""Lambda handler that starts drift checks and finishes them when detection ends.

A check spans two invocations, and neither waits for CloudFormation:

1. **Start.** A "CloudFormation Stack Status Change" event (forwarded by the update
   handler or matched by the rule) or a ``check`` message of the check queue (sent by
   the sweeper) starts drift detection on the stack's full ARN and returns.
2. **Finish.** The "CloudFormation Drift Detection Status Change" event of that
   detection finishes the check. So does a ``finish`` message, which the sweeper
   sends for a detection whose event never arrived. The handler reads every page of
   results and compares the stored baseline. It stores the report under
   ``state.report_key``, writes a ``CHECK#`` item, and updates ``LATEST`` and the
   root stack's roll-up. Last, it alerts when ``alerts.alert_kind`` returns a kind
   and emits the check metrics.

The stack's ``LATEST`` item is its detection lock (see ``state.py``), so one detection
per stack runs at a time and each detection is recorded once, whichever of its event
and the sweeper's message comes first. A drift status event never starts a detection,
so checks cannot trigger each other in a loop, including checks of the stack that
deploys this function.

Statuses outside ``events.CHECKED_STATUSES``, detections still in progress and
malformed events are logged and skipped without an AWS call. A check that cannot run
(invalid ignore rules, API errors, time out) is recorded with the ``failed`` verdict.
Errors writing state or publishing the alert are raised, so Lambda retries the event.
In a queue batch, the failed message alone goes back to the queue.
"""

# boto3 and Powertools are imported inside functions to keep start-up short.
# ruff: noqa: PLC0415
from __future__ import annotations

import json
import os
import random
import uuid
from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools import Logger

from . import metrics as metric_names
from . import settings, state
from .events import (
    InvalidEventError,
    StackArn,
    StackEvent,
    accept_event,
    is_drift_status_event,
    parse_drift_event,
    parse_stack_arn,
)

logger = Logger()

# Time kept back from the function's timeout for writing records and the alert.
SAFETY_MARGIN_SECONDS = 20.0
# How long a started detection holds the stack's lock. CloudFormation finishes most
# detections within minutes; an abandoned lock expires after this.
DETECTION_LEASE_SECONDS = 30 * 60
# Margin added to the invocation's remaining time for the lease on recording a
# detection's results, so the lease ends soon after its holder has stopped.
FINISH_LEASE_MARGIN_SECONDS = 60
# A drift status event that arrives while its detection cannot be recorded yet is
# queued again as a finish request with this delay.
RETRY_FINISH_DELAY_SECONDS = 60
# A stack update that arrives while a detection of the stack runs is queued again
# with this delay (SQS allows at most 15 minutes).
BUSY_REQUEUE_DELAY_SECONDS = 60
# Visibility timeout of a queued check that was throttled or found its stack busy:
# doubled per receive up to the cap, with jitter, so throttling slows the queue down.
RETRY_VISIBILITY_BASE_SECONDS = 20
RETRY_VISIBILITY_MAX_SECONDS = 900

STARTED = "started"
SATISFIED = "satisfied"
BUSY = "busy"
THROTTLED = "throttled"
FAILED = "failed"
FINISHED = "finished"
DUPLICATE = "duplicate"
# Outcomes after which a queued message goes back to the queue.
RETRY_OUTCOMES = frozenset({BUSY, THROTTLED})


class RetryLaterError(Exception):
    """Raised when an event arrived too early and must be delivered again."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start or finish drift checks; see the module documentation for the contract."""
    from . import clients

    clients.set_own_account(clients.own_account_from_context(context))
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        return _handle_queue(event, context)
    if is_drift_status_event(event):
        return _handle_drift_event(event, context)
    return _handle_stack_event(event, context)


# Entry points.


def _config() -> Any:
    from .handler_support import ConfigurationError, HandlerConfig

    try:
        config = HandlerConfig.from_environment(require_state=False)
    except ConfigurationError:
        logger.exception("invalid function configuration")
        raise
    if config.table_name is None:
        logger.warning(
            "no state table configured: checks are not recorded or locked, not "
            "compared with a baseline and alerts are not deduplicated"
        )
    return config


def _store(config: Any) -> Any:
    from . import clients
    from .store import StateStore

    if config.table_name is None:
        return None
    return StateStore(
        dynamodb=clients.client("dynamodb"),
        s3=clients.client("s3"),
        table_name=config.table_name,
        bucket_name=config.bucket_name,
        history_ttl_days=config.history_ttl_days,
    )


def _handle_stack_event(event: Any, context: Any) -> dict[str, Any]:
    accepted = accept_event(event, logger)
    if isinstance(accepted, dict):
        return accepted
    stack_event: StackEvent = accepted
    config = _config()
    store = _store(config)

    def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
        response = _start(
            stack_event.stack,
            satisfied_after=stack_event.time,
            trigger="stack-update",
            config=config,
            context=context,
            store=store,
        )
        if response["outcome"] in RETRY_OUTCOMES:
            response["requeued"] = _requeue(stack_event, config)
        return response

    if store is None:
        return process(event, context)
    return _run_idempotent(process, event, context, config)


def _handle_drift_event(event: Any, context: Any) -> dict[str, Any]:
    try:
        drift_event = parse_drift_event(event)
    except InvalidEventError as error:
        logger.warning(
            "skipped invalid event", extra={"problem": str(error), **error.fields}
        )
        return {"skipped": "invalid event"}
    logger.append_keys(
        event_id=drift_event.event_id,
        stack_arn=drift_event.stack.arn,
        detection_id=drift_event.detection_id,
    )
    if not drift_event.is_finished:
        logger.info(
            "skipped detection status",
            extra={"detection_status": drift_event.detection_status},
        )
        return {"skipped": f"detection status {drift_event.detection_status}"}
    config = _config()
    store = _store(config)

    def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return _finish(
                drift_event.stack,
                detection_id=drift_event.detection_id,
                detection_status=drift_event.detection_status,
                stack_drift_status=drift_event.stack_drift_status,
                config=config,
                context=context,
                store=store,
            )
        except RetryLaterError as error:
            if not config.check_queue_url:
                raise
            _queue_finish(drift_event, config, str(error))
            return {
                "stack": drift_event.stack.stack_name,
                "detection_id": drift_event.detection_id,
                "outcome": "retry_queued",
            }

    if store is None:
        return process(event, context)
    return _run_idempotent(process, event, context, config)


def _handle_queue(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from .check_requests import CheckRequest, parse_request

    config = _config()
    store = _store(config)
    failures: list[dict[str, str]] = []
    outcomes: dict[str, int] = {}
    # After one throttled start in an account and region, the batch's other checks
    # there go back to the queue without a call.
    throttled: set[tuple[str, str]] = set()
    for record in event["Records"]:
        if not isinstance(record, dict):
            logger.error("skipped a queue record that is not an object")
            continue
        message_id = str(record.get("messageId", ""))
        try:
            request = parse_request(record.get("body"))
        except InvalidEventError as error:
            # Returned to the queue, which moves it to the failure queue after its
            # receive limit, so the message is kept for inspection.
            logger.error(
                "invalid check request",
                extra={"message_id": message_id, "problem": str(error), **error.fields},
            )
            failures.append({"itemIdentifier": message_id})
            outcomes["invalid"] = outcomes.get("invalid", 0) + 1
            continue
        place = (request.stack.account, request.stack.region)
        try:
            if isinstance(request, CheckRequest):
                if place in throttled:
                    outcome = THROTTLED
                else:
                    outcome = _start(
                        request.stack,
                        satisfied_after=request.satisfied_after,
                        trigger=request.trigger,
                        config=config,
                        context=context,
                        store=store,
                        policy=_queue_policy(),
                    )["outcome"]
                    if outcome == THROTTLED:
                        throttled.add(place)
            else:
                outcome = _finish(
                    request.stack,
                    detection_id=request.detection_id,
                    detection_status=_status_of(request.stack_drift_status),
                    stack_drift_status=request.stack_drift_status,
                    config=config,
                    context=context,
                    store=store,
                )["outcome"]
        except RetryLaterError:
            outcome = BUSY
        except Exception:
            logger.exception(
                "check request failed; returned to the queue",
                extra={"message_id": message_id, "stack_arn": request.stack.arn},
            )
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome in RETRY_OUTCOMES or outcome == "error":
            failures.append({"itemIdentifier": message_id})
            if outcome in RETRY_OUTCOMES:
                _delay_retry(record, config)
    logger.info("processed check requests", extra={"outcomes": outcomes})
    return {"batchItemFailures": failures}


# Start of a check.


def _queue_policy() -> Any:
    from .detection import RetryPolicy

    # A throttled queued check goes back to the queue soon instead of holding the
    # batch: the queue's visibility timeout is the longer backoff.
    return RetryPolicy(base_delay=0.5, max_delay=2.0, max_attempts=3)


def _remaining_seconds(context: Any) -> float:
    return float(context.get_remaining_time_in_millis()) / 1000 - SAFETY_MARGIN_SECONDS


def _partition_key(config: Any, stack: StackArn) -> str:
    return state.stack_partition_key(
        config.environment, stack.account, stack.region, stack.stack_name
    )


def _start(
    stack: StackArn,
    *,
    satisfied_after: datetime,
    trigger: str,
    config: Any,
    context: Any,
    store: Any,
    policy: Any = None,
) -> dict[str, Any]:
    from . import clients
    from .detection import start_detection
    from .store import Claim
    from .verdict import failed_result

    response: dict[str, Any] = {"stack": stack.stack_name, "trigger": trigger}
    partition_key = _partition_key(config, stack)
    claim_id = uuid.uuid4().hex
    if store is not None:
        claim = store.claim_detection(
            partition_key,
            stack_arn=stack.arn,
            stack_name=stack.stack_name,
            environment=config.environment,
            satisfied_after=satisfied_after,
            claim_id=claim_id,
            lease_seconds=DETECTION_LEASE_SECONDS,
        )
        if claim is not Claim.CLAIMED:
            outcome = SATISFIED if claim is Claim.SATISFIED else BUSY
            logger.info("check not started", extra={"outcome": outcome})
            return {**response, "outcome": outcome}

    started = datetime.now(timezone.utc)
    try:
        cloudformation = clients.account_client(
            "cloudformation", stack.account, stack.region, stack.partition
        )
        start = start_detection(
            cloudformation,
            stack.arn,
            remaining_seconds=lambda: _remaining_seconds(context),
            policy=policy,
        )
    except Exception:
        if store is not None:
            store.release_claim(partition_key, claim_id=claim_id)
        raise
    if start.detection_id is not None:
        if store is not None and not store.record_detection_start(
            partition_key,
            claim_id=claim_id,
            detection_id=start.detection_id,
            started=started,
        ):
            logger.warning("the stack's lock expired before the detection started")
        logger.info("drift detection started", extra={"detection": start.detection_id})
        return {**response, "outcome": STARTED, "detection_id": start.detection_id}
    if start.throttled:
        if store is not None:
            store.release_claim(partition_key, claim_id=claim_id)
        logger.warning("drift detection throttled", extra={"problem": start.error})
        return {**response, "outcome": THROTTLED}

    # CloudFormation refused the detection, for example because the stack was
    # deleted: the failure is the check's result, so it is recorded, not retried.
    result = failed_result(stack.arn, stack.stack_name, str(start.error))
    result.extra["api_calls"] = start.api_calls
    recorded = _record_result(stack, result, config=config, store=store)
    if store is not None:
        store.record_detection_start(
            partition_key,
            claim_id=claim_id,
            detection_id=None,
            started=started,
            release=True,
        )
    return {**recorded, **response, "outcome": FAILED}


def _requeue(stack_event: StackEvent, config: Any) -> bool:
    from . import clients
    from .check_requests import CheckRequest

    if not config.check_queue_url:
        raise RetryLaterError(
            "a detection of the stack is running and no check queue is configured"
        )
    request = CheckRequest(
        stack=stack_event.stack,
        satisfied_after=stack_event.time,
        trigger="stack-update",
    )
    clients.client("sqs").send_message(
        QueueUrl=config.check_queue_url,
        MessageBody=request.to_body(),
        DelaySeconds=BUSY_REQUEUE_DELAY_SECONDS,
    )
    logger.info("stack busy or throttled; check queued for later")
    return True


def _queue_finish(drift_event: Any, config: Any, problem: str) -> None:
    from . import clients
    from .check_requests import FinishRequest

    request = FinishRequest(
        stack=drift_event.stack,
        detection_id=drift_event.detection_id,
        stack_drift_status=drift_event.stack_drift_status,
    )
    clients.client("sqs").send_message(
        QueueUrl=config.check_queue_url,
        MessageBody=request.to_body(),
        DelaySeconds=RETRY_FINISH_DELAY_SECONDS,
    )
    logger.info("detection cannot be recorded yet; queued", extra={"problem": problem})


def _delay_retry(record: dict[str, Any], config: Any) -> None:
    from . import clients

    receipt = record.get("receiptHandle")
    if not config.check_queue_url or not isinstance(receipt, str):
        return
    try:
        count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    except (TypeError, ValueError):
        count = 1
    cap = min(
        RETRY_VISIBILITY_MAX_SECONDS,
        RETRY_VISIBILITY_BASE_SECONDS * 2 ** min(max(count - 1, 0), 10),
    )
    delay = int(cap * (0.5 + random.random() / 2))
    try:
        clients.client("sqs").change_message_visibility(
            QueueUrl=config.check_queue_url,
            ReceiptHandle=receipt,
            VisibilityTimeout=delay,
        )
    except Exception:
        # The message stays in the queue and returns after its visibility timeout.
        logger.exception("could not shorten the retry delay of a check request")


# Finish of a check.


def _status_of(stack_drift_status: str) -> str:
    # A stack drift status of IN_SYNC or DRIFTED means the detection completed; any
    # other value means it failed or its outcome is unknown.
    if stack_drift_status in ("IN_SYNC", "DRIFTED"):
        return "DETECTION_COMPLETE"
    return "DETECTION_FAILED"


def _finish(
    stack: StackArn,
    *,
    detection_id: str,
    detection_status: str,
    stack_drift_status: str,
    config: Any,
    context: Any,
    store: Any,
) -> dict[str, Any]:
    from .store import FinishClaim

    response: dict[str, Any] = {"stack": stack.stack_name, "detection_id": detection_id}
    partition_key = _partition_key(config, stack)
    if store is not None:
        lease = int(context.get_remaining_time_in_millis() / 1000)
        claim = store.claim_finish(
            partition_key,
            detection_id=detection_id,
            lease_seconds=lease + FINISH_LEASE_MARGIN_SECONDS,
        )
        if claim is FinishClaim.EARLY:
            raise RetryLaterError(
                f"detection {detection_id} ended before its start was recorded"
            )
        if claim is FinishClaim.IN_PROGRESS:
            raise RetryLaterError(
                f"another invocation is recording detection {detection_id}"
            )
        if claim is not FinishClaim.CLAIMED:
            logger.info("detection already recorded", extra={"claim": claim.value})
            return {**response, "outcome": DUPLICATE, "claim": claim.value}
    try:
        result = _collect(
            stack,
            detection_id=detection_id,
            detection_status=detection_status,
            stack_drift_status=stack_drift_status,
            config=config,
            context=context,
            store=store,
        )
        recorded = _record_result(
            stack, result, config=config, store=store, detection_id=detection_id
        )
        if store is not None:
            _roll_up(stack, result, config=config, store=store)
            store.complete_detection(partition_key, detection_id=detection_id)
    except Exception:
        if store is not None:
            store.release_finish(partition_key, detection_id=detection_id)
        raise
    return {**recorded, **response, "outcome": FINISHED}


def _baseline_findings(
    stack: StackArn, config: Any, store: Any
) -> tuple[list[Any], list[Any]] | None:
    from . import clients
    from .baseline import compare_with_baseline

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
        return clients.account_client(
            service, stack.account, stack.region, stack.partition
        )

    drifts, unchecked = compare_with_baseline(document, client_factory)
    return list(drifts), list(unchecked)


def _collect(
    stack: StackArn,
    *,
    detection_id: str,
    detection_status: str,
    stack_drift_status: str,
    config: Any,
    context: Any,
    store: Any,
) -> Any:
    from . import clients
    from .detection import collect_result
    from .ignore import IgnoreRuleError, effective_rules
    from .model import UncheckedResource
    from .verdict import failed_result

    try:
        rules = effective_rules(config.ignore_rules_text)
    except IgnoreRuleError as error:
        logger.error(
            "invalid ignore rules; check not run", extra={"problem": str(error)}
        )
        return failed_result(
            stack.arn, stack.stack_name, f"invalid ignore rules: {error}", detection_id
        )

    try:
        baseline_findings = _baseline_findings(stack, config, store)
    except Exception as error:
        # The CloudFormation results still count; the stack is listed as unchecked
        # by the baseline comparison so the gap shows in the verdict.
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

    return collect_result(
        clients.account_client(
            "cloudformation", stack.account, stack.region, stack.partition
        ),
        stack.arn,
        detection_id=detection_id,
        detection_status=detection_status,
        stack_drift_status=stack_drift_status,
        remaining_seconds=lambda: _remaining_seconds(context),
        ignore_rules=rules,
        baseline_findings=baseline_findings,
    )


# Recording.


def _record_result(
    stack: StackArn,
    result: Any,
    *,
    config: Any,
    store: Any,
    detection_id: str | None = None,
) -> dict[str, Any]:
    from . import clients
    from .alerts import alert_kind, build_alert
    from .model import Verdict

    finished = datetime.now(timezone.utc)
    if result.verdict is Verdict.FAILED:
        logger.error("drift check failed", extra={"reason": result.failure_reason})

    check_id = uuid.uuid4().hex[:12]
    partition_key = _partition_key(config, stack)
    alert_sent_before = False
    if store is not None and detection_id is not None:
        # A retry after a failed attempt reuses that attempt's check id and time,
        # so it overwrites the same history item and report instead of adding one.
        marker = store.begin_recording(
            partition_key, detection_id=detection_id, check_id=check_id, moment=finished
        )
        check_id = str(marker["check_id"])
        finished = datetime.fromisoformat(str(marker["finished_at"]))
        alert_sent_before = bool(marker.get("alert_sent"))
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
        "account": stack.account,
        "region": stack.region,
        "check_id": check_id,
        "finished_at": finished.isoformat(),
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
        if kind is not None and config.topic_arn and alert_sent_before:
            logger.info(
                "alert already sent by an earlier attempt", extra={"kind": kind}
            )
        elif kind is not None and config.topic_arn:
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
            if store is not None and detection_id is not None:
                store.mark_alert_sent(partition_key, detection_id)
        elif kind is not None:
            logger.warning("alert not sent: no topic configured", extra={"kind": kind})
        sent = kind is not None and bool(config.topic_arn)
        if store is not None:
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

    from .handler_support import publish_metrics

    publish_metrics(
        config.metrics_namespace,
        config.environment,
        check_metrics(result),
        account=stack.account,
        region=stack.region,
        per_account=clients.member_role_arn(stack.account, stack.partition) is not None
        or bool(os.environ.get(settings.ENV_MEMBER_ROLE_NAME)),
    )
    logger.info(
        "drift check finished",
        extra={
            "verdict": result.verdict.value,
            "check_id": check_id,
            "report_key": report_key if store is not None else None,
        },
    )
    return {
        "stack": stack.stack_name,
        "verdict": result.verdict.value,
        "check_id": check_id,
        "report_key": report_key if store is not None else None,
        "alert": kind if sent else None,
    }


# Nesting depth the roll-up follows; CloudFormation allows far fewer levels in practice.
MAX_NESTING_DEPTH = 10


def _check_time(item: dict[str, Any]) -> str:
    # LATEST keeps last_check_time as ISO text; NESTED# items need the fixed-width
    # state.timestamp form so that their times compare as text.
    text = item.get("last_check_time")
    try:
        return state.timestamp(datetime.fromisoformat(str(text)))
    except (TypeError, ValueError, OverflowError):
        return ""


def _nested_of(stack: StackArn, arns: list[str]) -> list[StackArn]:
    nested: list[StackArn] = []
    for arn in arns:
        if arn == stack.arn:
            logger.warning("skipped a stack that lists itself as nested")
            continue
        try:
            nested.append(parse_stack_arn(arn))
        except InvalidEventError:
            logger.warning("skipped a nested stack with an invalid ARN")
    return nested


def _roll_up(stack: StackArn, result: Any, *, config: Any, store: Any) -> None:
    """Keep the root stack's roll-up current after a check of ``stack``.

    A stack's nested stacks come from its ListStackResources (type
    ``AWS::CloudFormation::Stack``) and are checked by their own ARNs. Each nested
    stack records its root, and its verdict is copied into the root's partition. The
    root's ``LATEST`` carries the worst verdict of the whole tree. Stacks checked
    before their parent are re-rooted, with their own nested stacks, when the parent
    is checked.
    """
    from .detection import nested_stack_arns

    partition_key = _partition_key(config, stack)
    latest = store.read_latest(partition_key)
    root_text = latest.get("root_stack_arn")
    root_arn = root_text if isinstance(root_text, str) and root_text else None
    if root_arn == stack.arn:
        root_arn = None
    nested = _nested_of(stack, nested_stack_arns(result))
    top = parse_stack_arn(root_arn) if root_arn else stack
    top_key = _partition_key(config, top)
    if root_arn:
        store.put_nested_verdict(
            top_key,
            stack_arn=stack.arn,
            stack_name=stack.stack_name,
            verdict=result.verdict.value,
            check_time=_check_time(latest),
        )
    if nested:
        store.set_nested_stacks(partition_key, [child.arn for child in nested])
        _adopt(nested, top, top_key, config=config, store=store)
    if root_arn or nested:
        _write_rollup(top_key, store)


def _adopt(
    children: list[StackArn], top: StackArn, top_key: str, *, config: Any, store: Any
) -> None:
    """Record ``top`` as the root of ``children`` and of their nested stacks."""
    seen = {top.arn}
    level = children
    for _depth in range(MAX_NESTING_DEPTH):
        level = [child for child in level if child.arn not in seen]
        if not level:
            return
        seen.update(child.arn for child in level)
        keys = {_partition_key(config, child): child for child in level}
        for key in keys:
            store.set_root(key, root_stack_arn=top.arn)
        next_level: list[StackArn] = []
        # Stacks checked before their parent could not know their root: copy their
        # verdicts now and follow the nested stacks they recorded.
        for key, item in store.read_latest_many(keys).items():
            child = keys[key]
            verdict = item.get("verdict")
            if isinstance(verdict, str):
                store.put_nested_verdict(
                    top_key,
                    stack_arn=child.arn,
                    stack_name=child.stack_name,
                    verdict=verdict,
                    check_time=_check_time(item),
                )
            try:
                grandchildren = json.loads(item.get("nested_stacks") or "[]")
            except ValueError:
                grandchildren = []
            if isinstance(grandchildren, list):
                next_level.extend(
                    _nested_of(
                        child, [arn for arn in grandchildren if isinstance(arn, str)]
                    )
                )
        level = next_level
    logger.warning("nested stacks deeper than the roll-up follows were skipped")


def _write_rollup(root_key: str, store: Any) -> None:
    # NOTE: two checks of one tree that finish at the same moment may write their
    # roll-ups in either order, so the later write can miss the other's verdict
    # until the next check of the tree. The NESTED# items themselves stay correct.
    from .model import Verdict

    root = store.read_latest(root_key)
    children = store.nested_verdicts(root_key)
    try:
        direct = json.loads(root.get("nested_stacks") or "[]")
    except ValueError:
        direct = []
    verdicts = [str(item.get("verdict")) for item in children.values()]
    unverified = [arn for arn in direct if arn not in children]
    own = root.get("verdict")
    verdicts.append(str(own) if own else "unchecked")
    drifted = sum(1 for verdict in verdicts if verdict == Verdict.DRIFTED.value)
    not_in_sync = sum(
        1
        for verdict in verdicts
        if verdict not in (Verdict.DRIFTED.value, Verdict.IN_SYNC.value)
    ) + len(unverified)
    if drifted:
        rollup = Verdict.DRIFTED.value
    elif not_in_sync:
        rollup = Verdict.INCOMPLETE.value
    else:
        rollup = Verdict.IN_SYNC.value
    store.set_rollup(
        root_key,
        {
            "rollup_verdict": rollup,
            "rollup_stacks": len(verdicts) + len(unverified),
            "rollup_drifted_stacks": drifted,
            "rollup_unverified_stacks": not_in_sync,
        },
    )


def _run_idempotent(
    process: Any, event: dict[str, Any], context: Any, config: Any
) -> dict[str, Any]:
    from . import clients
    from .handler_support import run_idempotent

    response: dict[str, Any] = run_idempotent(
        process,
        event,
        context,
        table_name=config.table_name,
        dynamodb=clients.client("dynamodb"),
    )
    return response


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
