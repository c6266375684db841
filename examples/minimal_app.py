"""Smallest useful drift-constructs app: state tracking and drift detection.

The detector checks each stack after every successful update and, in a daily sweep,
every stack of the account and region. Synthesize it with
``cdk synth --app "python minimal_app.py"`` from this folder, or run
``python minimal_app.py`` with ``CDK_OUTDIR`` set. The functions run outside any VPC;
add ``PrivateEndpoints`` (see reference_stack.py) to run them in private subnets.
"""

from __future__ import annotations

import aws_cdk as cdk

from drift_constructs import (
    DriftDetector,
    DriftDetectorProps,
    IgnoreRule,
    StateTracker,
    StateTrackerProps,
)

app = cdk.App()
stack = cdk.Stack(app, "DriftMinimal-dev")

tracker = StateTracker(
    stack, "StateTracker", StateTrackerProps(environment_suffix="dev")
)
detector = DriftDetector(
    stack,
    "DriftDetector",
    DriftDetectorProps(
        environment_suffix="dev",
        state_tracker=tracker,
        ignore_rules=[
            IgnoreRule(
                reason="Tags are managed by the organization's tagging policy",
                property_path="/Tags",
            )
        ],
    ),
)
cdk.CfnOutput(stack, "AlertTopicArn", value=detector.alert_topic.topic_arn)

app.synth()
