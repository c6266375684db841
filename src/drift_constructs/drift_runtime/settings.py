"""Environment variable names and entry points shared by constructs and handlers."""

from __future__ import annotations

# Environment variables the constructs set on the functions and the handlers read.
ENV_STATE_TABLE = "STATE_TABLE_NAME"
ENV_CONFIG_BUCKET = "CONFIG_BUCKET_NAME"
ENV_ALERT_TOPIC = "ALERT_TOPIC_ARN"
ENV_ENVIRONMENT = "DRIFT_ENVIRONMENT"
ENV_IGNORE_RULES = "DRIFT_IGNORE_RULES"
ENV_HISTORY_TTL_DAYS = "HISTORY_TTL_DAYS"
ENV_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
ENV_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
# Set on the update handler when a DriftDetector is attached: after recording an update
# and its baseline, the handler forwards the event to this function asynchronously, so a
# check always runs against the baseline of the update that triggered it.
ENV_VALIDATOR_FUNCTION = "VALIDATOR_FUNCTION_NAME"

# Queue of check requests. The sweeper sends one message per stack it selects, and the
# validator sends a delayed request when a stack update arrives while a detection of
# that stack is still running. The validator consumes the queue.
ENV_CHECK_QUEUE_URL = "CHECK_QUEUE_URL"
# Sweep selection, read by the sweeper. Patterns are JSON lists of shell-style globs
# (fnmatch) on stack names, tags a JSON object of tag key to required value.
ENV_SWEEP_INCLUDE = "SWEEP_STACK_PATTERNS"
ENV_SWEEP_EXCLUDE = "SWEEP_EXCLUDE_PATTERNS"
ENV_SWEEP_TAGS = "SWEEP_REQUIRED_TAGS"
# A stack whose last detection started less than this many seconds ago is skipped.
ENV_SWEEP_MIN_AGE_SECONDS = "SWEEP_MIN_AGE_SECONDS"
# Seconds after its start that the sweeper treats a detection whose status event has
# not arrived as lost, and finishes it. CloudFormation's LastCheckTimestamp is when a
# detection started, not when it ended, so the sweeper waits this long first.
ENV_SWEEP_FINISH_AFTER_SECONDS = "SWEEP_FINISH_AFTER_SECONDS"
DEFAULT_SWEEP_FINISH_AFTER_SECONDS = 15 * 60
# JSON list of the regions the sweeper lists stacks in. Default: the function's region.
ENV_SWEEP_REGIONS = "SWEEP_REGIONS"
# JSON list of the member account ids the sweeper lists stacks in, besides its own.
ENV_MEMBER_ACCOUNTS = "MEMBER_ACCOUNTS"
# Name of the role the hub assumes in a member account for every call on that
# account's stacks and resources.
ENV_MEMBER_ROLE_NAME = "MEMBER_ROLE_NAME"

# Handler entry points relative to the root of the function asset.
UPDATE_HANDLER = "drift_runtime.update_handler.handler"
VALIDATOR_HANDLER = "drift_runtime.validator.handler"
SWEEPER_HANDLER = "drift_runtime.sweeper.handler"

# Default seconds a sweep skips a stack after its last detection started.
DEFAULT_SWEEP_MIN_AGE_SECONDS = 12 * 3600

# Default number of days history items stay in the state table before TTL removes them.
DEFAULT_HISTORY_TTL_DAYS = 90
# Largest accepted history retention, 100 years: expiry times stay far inside the
# range of dates Python and the TTL attribute can hold.
MAX_HISTORY_TTL_DAYS = 36_500
# Largest accepted sweep age settings: one year.
MAX_SWEEP_SECONDS = 366 * 24 * 3600

# The AWS service endpoints (the names used in VPC endpoint service names) that the
# handlers call. A function in a subnet without NAT reaches only services that have an
# endpoint in its VPC, so PrivateEndpoints checks its endpoints against this list.
SERVICES_CALLED = frozenset(
    {"cloudformation", "dynamodb", "lambda", "s3", "sns", "sqs"}
)
# Called only by a hub, to assume the member role of another account.
CROSS_ACCOUNT_SERVICES = frozenset({"sts"})
