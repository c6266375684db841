"""Key layout of the state table and the config bucket, defined once for every reader.

State table: partition key ``pk`` and sort key ``sk`` (both strings), TTL attribute
``expires_at`` (epoch seconds). Each watched stack has one partition per environment,
``pk = STACK#<environment>#<account>#<region>#<stack name>``, with these sort keys:

* ``LATEST``: the latest state of the stack. It never expires.
* ``UPDATE#<ISO-8601 UTC time>#<event id>``: one recorded stack update.
* ``CHECK#<ISO-8601 UTC time>#<check id>``: one drift check.
* ``DETECTION#<detection id>``: the check id and time of recording one detection,
  whether its alert was sent and whether it is recorded, so a retried recording
  reuses them and a late request for a recorded detection is dropped. It expires
  with the history items.
* ``NESTED#<nested stack name>``: in the partition of a root stack, the latest
  verdict of one of its nested stacks, which are checked by their own ARNs. The root's
  ``LATEST`` item carries the roll-up of its own and these verdicts.

``UPDATE#`` and ``CHECK#`` items expire after the configured number of days.

The ``LATEST`` item also serves as the stack's detection lock, because CloudFormation
runs one drift detection per stack at a time:

* ``detection_claim`` and ``detection_lease_until`` (epoch seconds): while the lease
  is in the future no other detection of the stack starts. A finished check removes
  both; an abandoned lease expires.
* ``last_detection_started_at``: when the latest detection started. A check request
  made before that time is covered by that detection and dropped.
* ``detection_id``: the detection that holds the lock, removed when a new claim
  is taken; ``finished_detection_id``: the latest detection whose results were
  recorded; ``finish_lease_until``: held while one invocation records a detection's
  results, so no other records them twice. ``last_check_detection_id`` is the
  detection of the latest recorded check.
Powertools idempotency records use ``pk = IDEMPOTENCY#<function name>`` with a hash of
the event as ``sk`` and expire after one hour.

Config bucket:

* ``baselines/<environment>/<account>/<region>/<stack name>.json``: the configuration
  baseline recorded after the stack's last successful update.
* ``reports/<environment>/<account>/<region>/<stack name>/<time>-<check id>.json``:
  the full report of one check, ``<time>`` in ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"

LATEST_SORT_KEY = "LATEST"
UPDATE_PREFIX = "UPDATE#"
CHECK_PREFIX = "CHECK#"
NESTED_PREFIX = "NESTED#"
DETECTION_PREFIX = "DETECTION#"

BASELINE_PREFIX = "baselines/"
REPORT_PREFIX = "reports/"


def timestamp(moment: datetime) -> str:
    """Return ``moment`` as fixed-width ISO-8601 UTC text, which sorts by time."""
    return _timestamp(moment)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stack_partition_key(
    environment: str, account: str, region: str, stack_name: str
) -> str:
    """Return the partition key of one stack in one environment."""
    return f"STACK#{environment}#{account}#{region}#{stack_name}"


def update_sort_key(moment: datetime, event_id: str) -> str:
    """Return the sort key of the update recorded at ``moment`` for ``event_id``."""
    return f"{UPDATE_PREFIX}{_timestamp(moment)}#{event_id}"


def check_sort_key(moment: datetime, check_id: str) -> str:
    """Return the sort key of the check that ended at ``moment``."""
    return f"{CHECK_PREFIX}{_timestamp(moment)}#{check_id}"


def detection_sort_key(detection_id: str) -> str:
    """Return the sort key of the marker item of one detection."""
    return f"{DETECTION_PREFIX}{detection_id}"


def nested_sort_key(stack_name: str) -> str:
    """Return the sort key of a nested stack's verdict in its root's partition."""
    return f"{NESTED_PREFIX}{stack_name}"


def idempotency_partition_key(function_name: str) -> str:
    """Return the partition key of one function's idempotency records."""
    return f"IDEMPOTENCY#{function_name}"


def expiry_epoch(moment: datetime, days: int) -> int:
    """Return the TTL value, in epoch seconds, of an item written at ``moment``."""
    return int((moment + timedelta(days=days)).timestamp())


def baseline_key(environment: str, account: str, region: str, stack_name: str) -> str:
    """Return the config bucket key of a stack's configuration baseline."""
    return f"{BASELINE_PREFIX}{environment}/{account}/{region}/{stack_name}.json"


def report_key(
    environment: str,
    account: str,
    region: str,
    stack_name: str,
    *,
    moment: datetime,
    check_id: str,
) -> str:
    """Return the config bucket key of one check's full report."""
    return (
        f"{REPORT_PREFIX}{environment}/{account}/{region}/{stack_name}/"
        f"{_timestamp(moment)}-{check_id}.json"
    )
