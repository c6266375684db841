"""CloudWatch metric names and dimensions: the handlers write them, the dashboard reads.

The handlers emit these in embedded metric format, one data point per check or update,
with exactly the dimensions in ``DIMENSIONS``. DriftDashboard builds every widget and
alarm from the same constants, so each one reads a series that is written.
"""

from __future__ import annotations

NAMESPACE = "DriftConstructs"

# The only dimension of every metric: the environment suffix of the deployment.
DIMENSION_ENVIRONMENT = "Environment"
DIMENSIONS = (DIMENSION_ENVIRONMENT,)
# A hub also writes each check metric with these three dimensions, one series per
# member account and region. The dashboard reads the Environment series only.
DIMENSION_ACCOUNT = "Account"
DIMENSION_REGION = "Region"
HUB_DIMENSIONS = (DIMENSION_ENVIRONMENT, DIMENSION_ACCOUNT, DIMENSION_REGION)

# 1 when a check ends drifted, else 0.
DRIFTED_STACKS = "DriftedStacks"
# Number of drifted resources found by one check, after ignore rules.
DRIFTED_RESOURCES = "DriftedResources"
# Number of resources one check could not verify (unknown, failed or missing results).
UNCHECKED_RESOURCES = "UncheckedResources"
# Number of resources one check verified.
CHECKED_RESOURCES = "CheckedResources"
# 1 when a check fails outright (API error, retries or time exhausted), else 0.
FAILED_CHECKS = "FailedChecks"
# 1 per recorded stack update.
STACK_UPDATES = "StackUpdates"

# Stacks one sweep queued for a check, and stacks it left out because their last
# detection is recent or still running.
SWEPT_STACKS = "SweptStacks"
SKIPPED_STACKS = "SkippedStacks"

ALL_METRICS = (
    DRIFTED_STACKS,
    DRIFTED_RESOURCES,
    UNCHECKED_RESOURCES,
    CHECKED_RESOURCES,
    FAILED_CHECKS,
    STACK_UPDATES,
    SWEPT_STACKS,
    SKIPPED_STACKS,
)
