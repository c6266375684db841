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

# Handler entry points relative to the root of the function asset.
UPDATE_HANDLER = "drift_runtime.update_handler.handler"
VALIDATOR_HANDLER = "drift_runtime.validator.handler"

# Default number of days history items stay in the state table before TTL removes them.
DEFAULT_HISTORY_TTL_DAYS = 90

# The AWS service endpoints (the names used in VPC endpoint service names) that the
# handlers call. A function in a subnet without NAT reaches only services that have an
# endpoint in its VPC, so PrivateEndpoints checks its endpoints against this list.
SERVICES_CALLED = frozenset(
    {"cloudformation", "dynamodb", "lambda", "s3", "sns", "sqs"}
)
