"""Member-account stack of a drift hub, and a CDK app that synthesizes it.

The hub is the reference stack (app.py) synthesized with ``-c memberAccounts=...``.
Deploy this stack in each member account, with the hub's suffix and account:

    cdk deploy --app "python member_stack.py" -c environmentSuffix=dev \\
        -c hubAccount=111122223333

Add ``-c hubRegion=<region>`` when the hub runs in another region than this stack.
"""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk
from aws_cdk import Stack

from constructs import Construct
from drift_constructs import DriftMember, DriftMemberProps
from reference_stack import DEFAULT_ENVIRONMENT_SUFFIX


class DriftMemberStack(Stack):
    """Forwards this account's CloudFormation events to the hub and lets it read.

    The member role trusts only the roles of the hub's validator, sweeper and update
    handler, whose names contain the suffix and the hub's region, so both must match
    the hub.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        hub_account: str,
        environment_suffix: str = DEFAULT_ENVIRONMENT_SUFFIX,
        hub_region: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.member = DriftMember(
            self,
            "DriftMember",
            DriftMemberProps(
                environment_suffix=environment_suffix,
                hub_account=hub_account,
                hub_region=hub_region,
            ),
        )
        role = self.member.member_role
        if role is not None:
            cdk.CfnOutput(self, "MemberRoleArn", value=role.role_arn)
        cdk.CfnOutput(self, "HubEventBusArn", value=self.member.hub_event_bus_arn)


def main(app: cdk.App | None = None) -> None:
    """Synthesize the member stack from the CDK context values described above.

    ``app`` defaults to a new ``cdk.App``, which reads the context the CDK CLI
    passes.
    """
    if app is None:
        app = cdk.App()
    suffix = app.node.try_get_context("environmentSuffix") or DEFAULT_ENVIRONMENT_SUFFIX
    hub_account = app.node.try_get_context("hubAccount")
    if not hub_account:
        raise SystemExit(
            "hubAccount is missing: pass the hub's 12-digit account id with "
            "-c hubAccount=<id>"
        )
    hub_region = app.node.try_get_context("hubRegion")
    DriftMemberStack(
        app,
        f"DriftConstructsMember-{suffix}",
        environment_suffix=str(suffix),
        hub_account=str(hub_account),
        hub_region=str(hub_region) if hub_region else None,
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    app.synth()


if __name__ == "__main__":
    main()
