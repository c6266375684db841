"""Key layout of the state table and the config bucket, defined once for every reader.

State table: partition key ``pk`` and sort key ``sk`` (both strings), TTL attribute
``expires_at`` (epoch seconds). One partition per watched stack and environment:

===========================  ===========================================  =====================================
item                         pk                                           sk
===========================  ===========================================  =====================================
latest state of a stack      ``STACK#<environment>#<account>#<region>#<stack name>``  ``LATEST``
one recorded stack update    same                                         ``UPDATE#<ISO-8601 UTC time>#<event id>``
one drift check              same                                         ``CHECK#<ISO-8601 UTC time>#<check id>``
idempotency record           ``IDEMPOTENCY#<function name>``              hash of the event (Powertools)
===========================  ===========================================  =====================================

The ``LATEST`` item never expires; ``UPDATE#`` and ``CHECK#`` items expire after the
configured number of days, and idempotency records after one hour.

Config bucket:

* ``baselines/<environment>/<account>/<region>/<stack name>.json``: the configuration
  baseline recorded after the stack's last successful update.
* ``reports/<environment>/<account>/<region>/<stack name>/<ISO-8601 UTC time>-<check id>.json``:
  the full report of one check.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"

LATEST_SORT_KEY = "LATEST"
UPDATE_PREFIX = "UPDATE#"
CHECK_PREFIX = "CHECK#"

BASELINE_PREFIX = "baselines/"
REPORT_PREFIX = "reports/"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stack_partition_key(environment: str, account: str, region: str, stack_name: str) -> str:
    """Return the partition key that holds every item of one stack in one environment."""
    return f"STACK#{environment}#{account}#{region}#{stack_name}"


def update_sort_key(moment: datetime, event_id: str) -> str:
    """Return the sort key of the update recorded at ``moment`` for event ``event_id``."""
    return f"{UPDATE_PREFIX}{_timestamp(moment)}#{event_id}"


def check_sort_key(moment: datetime, check_id: str) -> str:
    """Return the sort key of the check that ended at ``moment``."""
    return f"{CHECK_PREFIX}{_timestamp(moment)}#{check_id}"


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
    environment: str, account: str, region: str, stack_name: str, moment: datetime, check_id: str
) -> str:
    """Return the config bucket key of one check's full report."""
    return (
        f"{REPORT_PREFIX}{environment}/{account}/{region}/{stack_name}/"
        f"{_timestamp(moment)}-{check_id}.json"
    )
