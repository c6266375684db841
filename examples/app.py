"""CDK app of the reference stack: `cdk synth -c environmentSuffix=<name>`.

Add `-c memberAccounts=<id>,<id>` to make the stack a hub for those accounts.
"""

from __future__ import annotations

import os

import aws_cdk as cdk

from reference_stack import (
    DEFAULT_ENVIRONMENT_SUFFIX,
    DriftReferenceStack,
    member_accounts_from_context,
)

app = cdk.App()
suffix = app.node.try_get_context("environmentSuffix") or DEFAULT_ENVIRONMENT_SUFFIX
DriftReferenceStack(
    app,
    f"DriftConstructsReference-{suffix}",
    environment_suffix=str(suffix),
    member_accounts=member_accounts_from_context(app.node),
    env=cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        region=os.environ.get("CDK_DEFAULT_REGION"),
    ),
)
app.synth()
