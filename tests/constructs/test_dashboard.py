"""DriftDashboard: widgets from the metric constants, alarm, URL."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from construct_helpers import new_stack, only_resource

from drift_constructs import (
    DriftConstructsError,
    DriftDashboard,
    DriftDashboardProps,
    DriftDetector,
    DriftDetectorProps,
    StateTracker,
    StateTrackerProps,
)
from drift_constructs.drift_runtime import metrics


@pytest.fixture(scope="module")
def built() -> tuple[cdk.Stack, DriftDashboard]:
    stack = new_stack()
    tracker = StateTracker(
        stack, "Tracker", StateTrackerProps(environment_suffix="dev")
    )
    detector = DriftDetector(
        stack,
        "Detector",
        DriftDetectorProps(environment_suffix="dev", state_tracker=tracker),
    )
    dashboard = DriftDashboard(
        stack,
        "Dashboard",
        DriftDashboardProps(
            environment_suffix="dev",
            drift_detector=detector,
            alarm_topic=detector.alert_topic,
        ),
    )
    return stack, dashboard


@pytest.fixture(scope="module")
def template(built: tuple[cdk.Stack, DriftDashboard]) -> Template:
    return Template.from_stack(built[0])


@pytest.fixture(scope="module")
def body(template: Template) -> dict[str, Any]:
    dashboard = only_resource(template, "AWS::CloudWatch::Dashboard")
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    # Tokens (function names, the alarm ARN) become placeholders, so the body parses.
    text = "".join(part if isinstance(part, str) else "TOKEN" for part in parts)
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def metric_rows(body: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for widget in body["widgets"]:
        rows.extend(widget["properties"].get("metrics", []))
    return rows


def test_dashboard_name(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "InfrastructureDrift-dev"}
    )


@pytest.mark.parametrize("metric_name", metrics.ALL_METRICS)
def test_widget_per_metric(body: dict[str, Any], metric_name: str) -> None:
    rows = [
        row for row in metric_rows(body) if row[:2] == [metrics.NAMESPACE, metric_name]
    ]
    assert rows, f"no widget shows {metric_name}"


def test_drift_metrics_use_environment(body: dict[str, Any]) -> None:
    for row in metric_rows(body):
        if row[0] == metrics.NAMESPACE:
            assert row[2:4] == [metrics.DIMENSION_ENVIRONMENT, "dev"], row


def test_drift_metrics_only_known_names(body: dict[str, Any]) -> None:
    for row in metric_rows(body):
        if row[0] == metrics.NAMESPACE:
            assert row[1] in metrics.ALL_METRICS, row


@pytest.mark.parametrize("metric_name", ["Invocations", "Errors", "Duration"])
def test_function_widgets(body: dict[str, Any], metric_name: str) -> None:
    rows = [row for row in metric_rows(body) if row[:2] == ["AWS/Lambda", metric_name]]
    # Update handler, validator and sweeper; duration is shown as average and
    # maximum.
    expected = 6 if metric_name == "Duration" else 3
    assert len(rows) == expected


def test_sweep_widget(body: dict[str, Any]) -> None:
    (widget,) = [
        widget
        for widget in body["widgets"]
        if widget["properties"].get("title", "").startswith("Sweeps")
    ]
    names = [row[1] for row in widget["properties"]["metrics"]]
    assert names == [metrics.SWEPT_STACKS, metrics.SKIPPED_STACKS]
    for row in widget["properties"]["metrics"]:
        assert row[2:4] == [metrics.DIMENSION_ENVIRONMENT, "dev"], row
        assert row[4]["stat"] == "Sum", row


def test_sweeper_widgets_titled(body: dict[str, Any]) -> None:
    titles = [widget["properties"].get("title", "") for widget in body["widgets"]]
    assert "Drift sweeper: invocations and errors" in titles
    assert "Drift sweeper: duration" in titles


def test_no_sweeper_widgets_when_off() -> None:
    stack = new_stack()
    detector = DriftDetector(
        stack,
        "Detector",
        DriftDetectorProps(environment_suffix="dev", sweep_enabled=False),
    )
    DriftDashboard(
        stack,
        "Dashboard",
        DriftDashboardProps(environment_suffix="dev", drift_detector=detector),
    )
    dashboard = only_resource(Template.from_stack(stack), "AWS::CloudWatch::Dashboard")
    assert "Drift sweeper" not in json.dumps(dashboard)
    assert "Drift validator" in json.dumps(dashboard)


def test_alarm_on_drifted_stacks(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "infrastructure-drift-detected-dev",
            "Namespace": metrics.NAMESPACE,
            "MetricName": metrics.DRIFTED_STACKS,
            "Dimensions": [{"Name": metrics.DIMENSION_ENVIRONMENT, "Value": "dev"}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def alarm_named(template: Template, name: str) -> dict[str, Any]:
    found = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"AlarmName": name}}
    )
    assert len(found) == 1, f"expected one alarm {name}, found {sorted(found)}"
    alarm: dict[str, Any] = next(iter(found.values()))
    return alarm


def test_alarm_notifies_topic(template: Template) -> None:
    alarm = alarm_named(template, "infrastructure-drift-detected-dev")
    actions = alarm["Properties"]["AlarmActions"]
    assert actions == [{"Ref": actions[0]["Ref"]}]
    assert actions[0]["Ref"].startswith("DetectorAlertTopic")


def test_alarm_on_dashboard(body: dict[str, Any]) -> None:
    alarm_widgets = [
        widget
        for widget in body["widgets"]
        if "annotations" in widget["properties"]
        and "alarms" in widget["properties"]["annotations"]
    ]
    # The drift alarm and the failure queue alarm.
    assert len(alarm_widgets) == 2


def test_dashboard_url(built: tuple[cdk.Stack, DriftDashboard]) -> None:
    stack, dashboard = built
    url = stack.resolve(dashboard.dashboard_url)
    assert url == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#dashboards:name=InfrastructureDrift-dev"
    )


def test_dashboard_url_region_token() -> None:
    stack = new_stack(account=None, region=None)
    dashboard = DriftDashboard(
        stack, "Dashboard", DriftDashboardProps(environment_suffix="dev")
    )
    resolved = json.dumps(stack.resolve(dashboard.dashboard_url))
    assert '{"Ref": "AWS::Region"}' in resolved


def test_alarm_without_topic() -> None:
    stack = new_stack()
    DriftDashboard(stack, "Dashboard", DriftDashboardProps(environment_suffix="dev"))
    alarm = only_resource(Template.from_stack(stack), "AWS::CloudWatch::Alarm")
    assert "AlarmActions" not in alarm["Properties"]


def test_alarm_topic_passed() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Topic")
    DriftDashboard(
        stack,
        "Dashboard",
        DriftDashboardProps(environment_suffix="dev", alarm_topic=topic),
    )
    alarm = only_resource(Template.from_stack(stack), "AWS::CloudWatch::Alarm")
    assert len(alarm["Properties"]["AlarmActions"]) == 1


def test_sub_minute_period_rejected() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="period"):
        DriftDashboard(
            stack,
            "Dashboard",
            DriftDashboardProps(
                environment_suffix="dev", period=cdk.Duration.seconds(30)
            ),
        )
