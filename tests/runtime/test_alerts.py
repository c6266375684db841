"""Alert messages stay within SNS's limits whatever the findings contain."""

from __future__ import annotations

from drift_constructs.drift_runtime import alerts
from drift_constructs.drift_runtime.model import (
    CheckResult,
    DifferenceType,
    PropertyDifference,
    ResourceDrift,
    Verdict,
)

STACK_ARN = "arn:aws:cloudformation:us-east-1:111111111111:stack/app-prod/uuid-1"


def drifted_result(*drifts: ResourceDrift) -> CheckResult:
    return CheckResult(STACK_ARN, "app-prod", Verdict.DRIFTED, drifted=drifts)


def test_long_value_is_shortened() -> None:
    definition = "x" * 140_000
    drift = ResourceDrift(
        "StateMachine",
        "AWS::StepFunctions::StateMachine",
        "MODIFIED",
        (
            PropertyDifference(
                "/DefinitionString",
                definition,
                definition + "y",
                DifferenceType.NOT_EQUAL,
            ),
        ),
    )

    alert = alerts.build_alert(
        drifted_result(drift), environment="prod", region="us-east-1"
    )

    assert len(alert.body.encode()) < alerts.MAX_BODY_BYTES
    assert "140000 characters in all" in alert.body
    assert "140001 characters in all" in alert.body


def test_many_drifts_fit_message_limit() -> None:
    difference = PropertyDifference(
        "/Tags/0/Value", "a" * 250, "b" * 250, DifferenceType.NOT_EQUAL
    )
    drifts = tuple(
        ResourceDrift(f"Queue{index}", "AWS::SQS::Queue", "MODIFIED", (difference,))
        for index in range(2_000)
    )

    alert = alerts.build_alert(
        drifted_result(*drifts), environment="prod", region="us-east-1"
    )

    assert len(alert.body.encode()) <= alerts.MAX_BODY_BYTES
    assert "Drift details: https://" in alert.body
    assert "left out to fit the SNS message size limit" in alert.body
