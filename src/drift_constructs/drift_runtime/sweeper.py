"""Lambda handler of the scheduled sweep: select stacks and queue their checks.

Most drift comes from changes made outside CloudFormation, which raise no stack event,
so a schedule invokes this handler (once a day by default). For each account (its own
and those in ``MEMBER_ACCOUNTS``) and each region in ``SWEEP_REGIONS`` it:

1. lists every stack with DescribeStacks, following every page, including nested
   stacks, which are checked by their own ARNs;
2. keeps the stacks in a checkable status whose name matches ``SWEEP_STACK_PATTERNS``
   and none of ``SWEEP_EXCLUDE_PATTERNS`` and which carry every tag in
   ``SWEEP_REQUIRED_TAGS``. A nested stack follows its root stack's name and tags;
3. reads the stacks' ``LATEST`` items and skips those whose last detection started
   less than ``SWEEP_MIN_AGE_SECONDS`` ago or is still running;
4. sends a ``finish`` request for each detection whose status event never arrived:
   one that started more than ``SWEEP_FINISH_AFTER_SECONDS`` ago and that
   CloudFormation reports (its ``DriftInformation.LastCheckTimestamp``, the start of
   the stack's latest detection, is not older than the recorded start). It sends a
   ``check`` request for each other selected stack. Requests go to the check queue,
   ten per SendMessageBatch call.

The validator consumes the queue at a bounded concurrency. A throttled check goes
back to the queue, so throttling slows the sweep down instead of failing it. An
account or region that cannot be listed is logged and counted, and the others are
still swept. The handler then raises, so the failure shows in the function's errors.
"""

# boto3 and Powertools are imported inside functions to keep start-up short.
# ruff: noqa: PLC0415
from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aws_lambda_powertools import Logger

from . import metrics as metric_names
from . import settings, state
from .check_requests import CheckRequest, FinishRequest
from .events import CHECKED_STATUSES, InvalidEventError, StackArn, parse_stack_arn

logger = Logger()

# SendMessageBatch takes at most 10 messages.
SEND_BATCH_SIZE = 10
SEND_ATTEMPTS = 5
SAFETY_MARGIN_SECONDS = 10.0


class SweepError(RuntimeError):
    """Raised after a sweep in which some accounts or regions could not be listed."""


@dataclass(frozen=True)
class SweepConfig:
    """The sweep's selection, read from the function's environment."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]
    required_tags: Mapping[str, str]
    min_age: timedelta
    regions: tuple[str, ...]
    accounts: tuple[str, ...]
    finish_after: timedelta = timedelta(
        seconds=settings.DEFAULT_SWEEP_FINISH_AFTER_SECONDS
    )

    @classmethod
    def from_environment(
        cls, own_account: str, env: Mapping[str, str] | None = None
    ) -> SweepConfig:
        """Read the selection; raise ``ValueError`` naming a malformed variable."""
        values = os.environ if env is None else env
        include = _string_list(values, settings.ENV_SWEEP_INCLUDE, ["*"])
        exclude = _string_list(values, settings.ENV_SWEEP_EXCLUDE, [])
        members = _string_list(values, settings.ENV_MEMBER_ACCOUNTS, [])
        region = values.get("AWS_REGION") or values.get("AWS_DEFAULT_REGION") or ""
        regions = _string_list(values, settings.ENV_SWEEP_REGIONS, [region])
        tags_text = values.get(settings.ENV_SWEEP_TAGS) or "{}"
        try:
            tags = json.loads(tags_text)
        except ValueError as error:
            raise ValueError(f"{settings.ENV_SWEEP_TAGS} is not JSON") from error
        if not isinstance(tags, dict) or not all(
            isinstance(key, str) and isinstance(value, str)
            for key, value in tags.items()
        ):
            raise ValueError(
                f"{settings.ENV_SWEEP_TAGS} must be a JSON object of strings"
            )
        min_age = _seconds(
            values,
            settings.ENV_SWEEP_MIN_AGE_SECONDS,
            settings.DEFAULT_SWEEP_MIN_AGE_SECONDS,
        )
        finish_after = _seconds(
            values,
            settings.ENV_SWEEP_FINISH_AFTER_SECONDS,
            settings.DEFAULT_SWEEP_FINISH_AFTER_SECONDS,
        )
        accounts = tuple(dict.fromkeys([own_account, *members]))
        return cls(
            include=tuple(include),
            exclude=tuple(exclude),
            required_tags=dict(tags),
            min_age=timedelta(seconds=min_age),
            finish_after=timedelta(seconds=finish_after),
            regions=tuple(item for item in dict.fromkeys(regions) if item),
            accounts=tuple(item for item in accounts if item),
        )


def _seconds(values: Mapping[str, str], name: str, default: int) -> int:
    text = values.get(name) or str(default)
    try:
        seconds = int(text)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= settings.MAX_SWEEP_SECONDS:
        raise ValueError(
            f"{name} must be a whole number of seconds from 0 to "
            f"{settings.MAX_SWEEP_SECONDS}, got {text!r}"
        )
    return seconds


def _string_list(values: Mapping[str, str], name: str, default: list[str]) -> list[str]:
    text = values.get(name)
    if not text:
        return default
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{name} is not JSON") from error
    if not isinstance(parsed, list) or not all(
        isinstance(item, str) for item in parsed
    ):
        raise ValueError(f"{name} must be a JSON list of strings")
    return parsed


@dataclass
class ListedStack:
    """One stack of a DescribeStacks page, as far as the sweep needs it."""

    stack: StackArn
    status: str
    tags: dict[str, str]
    root_arn: str | None
    last_check: datetime | None
    drift_status: str


@dataclass
class SweepSummary:
    """Counts of one sweep, returned by the handler and logged."""

    listed: int = 0
    selected: int = 0
    queued_checks: int = 0
    queued_finishes: int = 0
    skipped_recent: int = 0
    skipped_running: int = 0
    failed_places: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the counts as a JSON object."""
        return {
            "listed": self.listed,
            "selected": self.selected,
            "queued_checks": self.queued_checks,
            "queued_finishes": self.queued_finishes,
            "skipped_recent": self.skipped_recent,
            "skipped_running": self.skipped_running,
            "failed_places": self.failed_places,
        }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run one sweep; see the module documentation for the contract."""
    from . import clients
    from .handler_support import ConfigurationError, HandlerConfig, publish_metrics

    own_account = clients.own_account_from_context(context) or ""
    clients.set_own_account(own_account or None)
    try:
        config = HandlerConfig.from_environment(require_state=False)
        sweep = SweepConfig.from_environment(own_account)
    except (ConfigurationError, ValueError):
        logger.exception("invalid function configuration")
        raise
    if not config.check_queue_url:
        logger.error("no check queue configured; nothing can be queued")
        raise SweepError(f"{settings.ENV_CHECK_QUEUE_URL} is not set")

    now = datetime.now(timezone.utc)
    summary = SweepSummary()
    listed: list[ListedStack] = []
    for account in sweep.accounts:
        for region in sweep.regions:
            place = f"{account}/{region}"
            try:
                listed.extend(_list_stacks(account, region, context))
            except Exception:
                logger.exception("listing stacks failed", extra={"place": place})
                summary.failed_places.append(place)
    summary.listed = len(listed)
    selected = select_stacks(listed, sweep)
    summary.selected = len(selected)

    latest = _latest_items(selected, config)
    requests: list[CheckRequest | FinishRequest] = []
    satisfied_after = now - sweep.min_age
    for item in selected:
        key = state.stack_partition_key(
            config.environment,
            item.stack.account,
            item.stack.region,
            item.stack.stack_name,
        )
        decision = decide(
            item,
            latest.get(key, {}),
            now=now,
            min_age=sweep.min_age,
            finish_after=sweep.finish_after,
        )
        if decision == "finish":
            requests.append(
                FinishRequest(
                    stack=item.stack,
                    detection_id=str(latest[key]["detection_id"]),
                    stack_drift_status=item.drift_status,
                )
            )
            summary.queued_finishes += 1
        elif decision == "running":
            summary.skipped_running += 1
        elif decision == "recent":
            summary.skipped_recent += 1
        else:
            requests.append(
                CheckRequest(
                    stack=item.stack, satisfied_after=satisfied_after, trigger="sweep"
                )
            )
            summary.queued_checks += 1
    _send(requests, config.check_queue_url)
    publish_metrics(
        config.metrics_namespace,
        config.environment,
        {
            metric_names.SWEPT_STACKS: summary.queued_checks,
            metric_names.SKIPPED_STACKS: summary.skipped_recent
            + summary.skipped_running,
        },
    )
    logger.info("sweep finished", extra=summary.to_dict())
    if summary.failed_places:
        raise SweepError("could not list stacks in " + ", ".join(summary.failed_places))
    return summary.to_dict()


def _list_stacks(account: str, region: str, context: Any) -> list[ListedStack]:
    from . import clients
    from .detection import ApiCaller, RetryPolicy

    cloudformation = clients.account_client("cloudformation", account, region)
    caller = ApiCaller(
        cloudformation,
        lambda: (
            float(context.get_remaining_time_in_millis()) / 1000 - SAFETY_MARGIN_SECONDS
        ),
        None,
        None,
        RetryPolicy(),
    )
    stacks: list[ListedStack] = []
    params: dict[str, Any] = {}
    while True:
        page = caller.call("DescribeStacks", **params)
        for raw in page.get("Stacks", []):
            parsed = listed_stack(raw)
            if parsed is not None:
                stacks.append(parsed)
        token = page.get("NextToken")
        if not token:
            return stacks
        params["NextToken"] = token


def listed_stack(raw: Mapping[str, Any]) -> ListedStack | None:
    """Convert one DescribeStacks entry; None (logged) when its ARN is invalid."""
    try:
        stack = parse_stack_arn(str(raw.get("StackId", "")))
    except InvalidEventError:
        logger.warning(
            "skipped a stack with an invalid ARN",
            extra={"stack_id": str(raw.get("StackId"))[:300]},
        )
        return None
    drift = raw.get("DriftInformation") or {}
    last_check = drift.get("LastCheckTimestamp")
    if isinstance(last_check, datetime) and last_check.tzinfo is None:
        last_check = last_check.replace(tzinfo=timezone.utc)
    tags = {
        str(tag.get("Key")): str(tag.get("Value"))
        for tag in raw.get("Tags") or []
        if isinstance(tag, dict)
    }
    root = raw.get("RootId")
    return ListedStack(
        stack=stack,
        status=str(raw.get("StackStatus", "")),
        tags=tags,
        root_arn=root if isinstance(root, str) and root else None,
        last_check=last_check if isinstance(last_check, datetime) else None,
        drift_status=str(drift.get("StackDriftStatus") or "UNKNOWN"),
    )


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def select_stacks(stacks: list[ListedStack], sweep: SweepConfig) -> list[ListedStack]:
    """Return the stacks the sweep checks, in listing order.

    A nested stack inherits the decision of its root stack, so a root selected by
    name or tag is checked together with all of its nested stacks.
    """
    by_arn = {item.stack.arn: item for item in stacks}

    def passes_filters(item: ListedStack) -> bool:
        name = item.stack.stack_name
        return (
            _matches(name, sweep.include)
            and not _matches(name, sweep.exclude)
            and all(
                item.tags.get(key) == value
                for key, value in sweep.required_tags.items()
            )
        )

    selected = []
    for item in stacks:
        if item.status not in CHECKED_STATUSES:
            continue
        judge = by_arn.get(item.root_arn, item) if item.root_arn else item
        if passes_filters(judge):
            selected.append(item)
    return selected


def decide(
    item: ListedStack,
    latest: Mapping[str, Any],
    *,
    now: datetime,
    min_age: timedelta,
    finish_after: timedelta = timedelta(
        seconds=settings.DEFAULT_SWEEP_FINISH_AFTER_SECONDS
    ),
) -> str:
    """Return what the sweep does with a stack: check, finish, running or recent."""
    started = latest.get("last_detection_started_at")
    detection_id = latest.get("detection_id")
    lease = latest.get("detection_lease_until")
    unfinished = bool(
        isinstance(detection_id, str)
        and detection_id
        and latest.get("finished_detection_id") != detection_id
        and lease is not None
    )
    if (
        unfinished
        and isinstance(started, str)
        and started <= state.timestamp(now - finish_after)
        and item.last_check is not None
        and state.timestamp(item.last_check) >= started
    ):
        return "finish"
    if isinstance(lease, (int, float)) and lease >= now.timestamp():
        return "running"
    if isinstance(started, str) and started >= state.timestamp(now - min_age):
        return "recent"
    return "check"


def _latest_items(
    selected: list[ListedStack], config: Any
) -> dict[str, dict[str, Any]]:
    from . import clients
    from .store import StateStore

    if config.table_name is None:
        logger.warning("no state table configured: every selected stack is queued")
        return {}
    store = StateStore(
        dynamodb=clients.client("dynamodb"),
        s3=clients.client("s3"),
        table_name=config.table_name,
        bucket_name=config.bucket_name or "",
        history_ttl_days=config.history_ttl_days,
    )
    keys = [
        state.stack_partition_key(
            config.environment,
            item.stack.account,
            item.stack.region,
            item.stack.stack_name,
        )
        for item in selected
    ]
    latest: dict[str, dict[str, Any]] = store.read_latest_many(keys)
    return latest


def _send(requests: list[CheckRequest | FinishRequest], queue_url: str) -> None:
    from . import clients

    sqs = clients.client("sqs")
    for start in range(0, len(requests), SEND_BATCH_SIZE):
        batch = requests[start : start + SEND_BATCH_SIZE]
        entries = {
            str(index): {"Id": str(index), "MessageBody": request.to_body()}
            for index, request in enumerate(batch)
        }
        for _attempt in range(SEND_ATTEMPTS):
            response = sqs.send_message_batch(
                QueueUrl=queue_url, Entries=list(entries.values())
            )
            failed = response.get("Failed", [])
            entries = {item["Id"]: entries[item["Id"]] for item in failed}
            if not entries:
                break
        if entries:
            raise SweepError(
                f"{len(entries)} check request(s) could not be queued after "
                f"{SEND_ATTEMPTS} attempts"
            )
