"""Reference stack: the drift-constructs of one environment, optionally a hub."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import RemovalPolicy, Stack

from constructs import Construct, Node
from drift_constructs import (
    DriftDashboard,
    DriftDashboardProps,
    DriftDetector,
    DriftDetectorProps,
    PrivateEndpoints,
    PrivateEndpointsProps,
    StateTracker,
    StateTrackerProps,
    add_exported_output,
)

DEFAULT_ENVIRONMENT_SUFFIX = "dev"
EXPORT_PREFIX = "DriftConstructs"
# CDK context key with the member account ids of a hub, comma separated:
# cdk synth -c memberAccounts=111122223333,444455556666
MEMBER_ACCOUNTS_CONTEXT = "memberAccounts"


def member_accounts_from_context(node: Node) -> list[str]:
    """Return the account ids in the ``memberAccounts`` context value, if any.

    Blanks around the ids and empty entries are dropped; DriftDetector validates the
    ids themselves.
    """
    value = node.try_get_context(MEMBER_ACCOUNTS_CONTEXT)
    if not value:
        return []
    return [account.strip() for account in str(value).split(",") if account.strip()]


class DriftReferenceStack(Stack):
    """Private endpoints, state tracking, drift detection and a dashboard.

    The functions run in isolated subnets; the rule sends stack updates to the
    update handler, which records them and forwards each one to the validator, and a
    daily sweep queues a check of every stack.

    ``member_accounts`` makes the stack a hub: it adds the hub event bus and an STS
    endpoint, and each member account deploys ``DriftMemberStack`` from
    member_stack.py with the same suffix.

    ``production`` switches the constructs to their production profile: retained
    data, point-in-time recovery, bucket versioning, customer-managed KMS keys for
    the table, bucket and alert topic, and retained flow logs. Export names end with
    the suffix, so stacks of different suffixes can share an account and region.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_suffix: str = DEFAULT_ENVIRONMENT_SUFFIX,
        production: bool = False,
        member_accounts: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        suffix = environment_suffix
        hub = bool(member_accounts)

        self.network = PrivateEndpoints(
            self,
            "Network",
            PrivateEndpointsProps(
                environment_suffix=suffix,
                removal_policy=RemovalPolicy.RETAIN if production else None,
                cross_account=hub,
            ),
        )
        self.state_tracker = StateTracker(
            self,
            "StateTracker",
            StateTrackerProps(
                environment_suffix=suffix, network=self.network, production=production
            ),
        )
        self.drift_detector = DriftDetector(
            self,
            "DriftDetector",
            DriftDetectorProps(
                environment_suffix=suffix,
                network=self.network,
                state_tracker=self.state_tracker,
                member_accounts=member_accounts,
            ),
        )
        self.dashboard = DriftDashboard(
            self,
            "Dashboard",
            DriftDashboardProps(
                environment_suffix=suffix,
                drift_detector=self.drift_detector,
                alarm_topic=self.drift_detector.alert_topic,
            ),
        )

        outputs = {
            "StateTableName": self.state_tracker.table.table_name,
            "ConfigBucketName": self.state_tracker.bucket.bucket_name,
            "DriftValidationFunctionName": (
                self.drift_detector.validator.function_name
            ),
            "VpcId": self.network.vpc.vpc_id,
            "DashboardUrl": self.dashboard.dashboard_url,
        }
        for name, value in outputs.items():
            add_exported_output(
                self, name, value=value, export_name=f"{EXPORT_PREFIX}-{name}-{suffix}"
            )
