"""DriftDashboard: a CloudWatch dashboard and a drift alarm for one environment."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Fn, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct

from . import _naming, _registry
from .drift_detector import DriftDetector
from .drift_runtime import metrics
from .errors import DriftConstructsError
from .state_tracker import StateTracker

DEFAULT_PERIOD = Duration.minutes(5)
WIDGET_WIDTH = 12
WIDGET_HEIGHT = 6


@dataclass(frozen=True, kw_only=True)
class DriftDashboardProps:
    """Props of ``DriftDashboard``.

    Attributes:
        environment_suffix: Environment name appended to every resource name and
            used as the ``Environment`` dimension of every drift metric.
        drift_detector: Detector whose validator and sweeper get invocation,
            error and duration widgets. Default: none.
        state_tracker: Tracker whose update handler gets the same widgets.
            Default: the detector's tracker, if any.
        alarm_topic: Topic notified when the drift alarm fires, for example the
            detector's ``alert_topic``. Default: the alarm has no action.
        period: Aggregation period of every widget and of the alarms. Default: 5
            minutes.
        failure_queue: Queue of events the drift functions or the rule failed to
            process; an alarm fires when it contains a message. Default: the queue of
            the detector or, without one, of the tracker; no alarm without either.
    """

    environment_suffix: str
    drift_detector: DriftDetector | None = None
    state_tracker: StateTracker | None = None
    alarm_topic: sns.ITopic | None = None
    period: Duration | None = None
    failure_queue: sqs.IQueue | None = None


class DriftDashboard(Construct):
    """Dashboard of the drift metrics, the functions' health and a drift alarm.

    Every drift widget reads a metric from ``drift_runtime.metrics`` with the single
    dimension ``Environment=<suffix>``, the series the handlers write. The alarm
    fires when any check in a period finds a drifted stack (``DriftedStacks`` >= 1).
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: DriftDashboardProps
    ) -> None:
        super().__init__(scope, construct_id)

        # Validate.
        suffix = props.environment_suffix
        dashboard_name = _naming.dashboard_name(suffix)
        alarm_name = _naming.drift_alarm_name(suffix)
        _naming.warn_if_suffix_is_token(self, suffix)
        period = props.period or DEFAULT_PERIOD
        if period.to_seconds() < 60 or period.to_seconds() % 60 != 0:
            raise DriftConstructsError(
                "period must be a whole number of minutes, at least 1, got "
                f"{period.to_seconds()} seconds"
            )
        tracker = props.state_tracker
        if tracker is None and props.drift_detector is not None:
            tracker = props.drift_detector.state_tracker
        failure_queue = props.failure_queue
        if failure_queue is None and props.drift_detector is not None:
            failure_queue = props.drift_detector.failure_queue
        if failure_queue is None and tracker is not None:
            failure_queue = tracker.failure_queue
        failure_alarm_name = (
            _naming.failure_alarm_name(suffix) if failure_queue is not None else None
        )
        self._environment_suffix = suffix
        self._period = period

        # Create.
        self._drift_alarm = cloudwatch.Alarm(
            self,
            "DriftAlarm",
            alarm_name=alarm_name,
            alarm_description=(
                f"A drift check in environment {suffix} found a drifted stack"
            ),
            metric=self._drift_metric(
                metrics.DRIFTED_STACKS, "Maximum", labelled=False
            ),
            threshold=1,
            comparison_operator=(
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self._failure_alarm: cloudwatch.Alarm | None = None
        if failure_queue is not None and failure_alarm_name is not None:
            self._failure_alarm = cloudwatch.Alarm(
                self,
                "FailureAlarm",
                alarm_name=failure_alarm_name,
                alarm_description=(
                    f"Events of environment {suffix} that the drift functions or the "
                    "stack update rule failed to process, after retries, wait in "
                    "the failure queue"
                ),
                metric=failure_queue.metric_approximate_number_of_messages_visible(
                    period=self._period, statistic="Maximum"
                ),
                threshold=1,
                comparison_operator=(
                    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                ),
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            _registry.claim_name(
                self._failure_alarm, _naming.ALARM_RULE.resource, failure_alarm_name
            )
        self._dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=dashboard_name
        )
        _registry.claim_name(
            self._dashboard, _naming.DASHBOARD_RULE.resource, dashboard_name
        )
        _registry.claim_name(self._drift_alarm, _naming.ALARM_RULE.resource, alarm_name)

        # Wire.
        if props.alarm_topic is not None:
            for alarm in (self._drift_alarm, self._failure_alarm):
                if alarm is not None:
                    alarm.add_alarm_action(
                        cloudwatch_actions.SnsAction(props.alarm_topic)
                    )
        self._dashboard.add_widgets(*self._drift_widgets())
        if self._failure_alarm is not None:
            self._dashboard.add_widgets(
                cloudwatch.AlarmWidget(
                    title="Failed events (messages in the failure queue)",
                    alarm=self._failure_alarm,
                    width=WIDGET_WIDTH,
                    height=WIDGET_HEIGHT,
                )
            )
        for title, function in _monitored_functions(props.drift_detector, tracker):
            self._dashboard.add_widgets(*self._function_widgets(title, function))

        # Expose.
        region = Stack.of(self).region
        # NOTE: this is the console domain of the commercial partition; it is wrong
        # for China and GovCloud regions.
        self._dashboard_url = Fn.join(
            "",
            [
                "https://",
                region,
                ".console.aws.amazon.com/cloudwatch/home?region=",
                region,
                "#dashboards:name=",
                dashboard_name,
            ],
        )

    def _drift_metric(
        self, metric_name: str, statistic: str, *, labelled: bool = True
    ) -> cloudwatch.Metric:
        # The alarm's metric has no label, so CloudFormation gets the plain
        # Namespace/MetricName/Dimensions form instead of a metric math list.
        return cloudwatch.Metric(
            namespace=metrics.NAMESPACE,
            metric_name=metric_name,
            dimensions_map={metrics.DIMENSION_ENVIRONMENT: self._environment_suffix},
            statistic=statistic,
            period=self._period,
            label=metric_name if labelled else None,
        )

    def _drift_widgets(self) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.AlarmWidget(
                title="Drift alarm",
                alarm=self._drift_alarm,
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Drifted stacks (max per period)",
                left=[self._drift_metric(metrics.DRIFTED_STACKS, "Maximum")],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Resources per check (sum)",
                left=[
                    self._drift_metric(metrics.DRIFTED_RESOURCES, "Sum"),
                    self._drift_metric(metrics.UNCHECKED_RESOURCES, "Sum"),
                    self._drift_metric(metrics.CHECKED_RESOURCES, "Sum"),
                ],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Failed checks and stack updates (sum)",
                left=[
                    self._drift_metric(metrics.FAILED_CHECKS, "Sum"),
                    self._drift_metric(metrics.STACK_UPDATES, "Sum"),
                ],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Sweeps: stacks queued and skipped (sum)",
                left=[
                    self._drift_metric(metrics.SWEPT_STACKS, "Sum"),
                    self._drift_metric(metrics.SKIPPED_STACKS, "Sum"),
                ],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
        ]

    def _function_widgets(
        self, title: str, function: lambda_.IFunction
    ) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title=f"{title}: invocations and errors",
                left=[
                    function.metric_invocations(period=self._period, statistic="Sum"),
                    function.metric_errors(period=self._period, statistic="Sum"),
                ],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{title}: duration",
                left=[
                    function.metric_duration(period=self._period, statistic="Average"),
                    function.metric_duration(period=self._period, statistic="Maximum"),
                ],
                width=WIDGET_WIDTH,
                height=WIDGET_HEIGHT,
            ),
        ]

    @property
    def environment_suffix(self) -> str:
        """Environment suffix of this construct's resource names."""
        return self._environment_suffix

    @property
    def dashboard(self) -> cloudwatch.Dashboard:
        """The CloudWatch dashboard ``InfrastructureDrift-<suffix>``."""
        return self._dashboard

    @property
    def drift_alarm(self) -> cloudwatch.IAlarm:
        """Alarm that fires when a check finds a drifted stack."""
        return self._drift_alarm

    @property
    def failure_alarm(self) -> cloudwatch.IAlarm | None:
        """Alarm on the failure queue, or None without a queue."""
        return self._failure_alarm

    @property
    def dashboard_url(self) -> str:
        """Console URL of the dashboard in the stack's region (may contain tokens)."""
        return self._dashboard_url


def _monitored_functions(
    detector: DriftDetector | None, tracker: StateTracker | None
) -> list[tuple[str, lambda_.IFunction]]:
    """Return the functions that get health widgets, each with its widget title."""
    functions: list[tuple[str, lambda_.IFunction]] = []
    if detector is not None:
        functions.append(("Drift validator", detector.validator))
        if detector.sweeper is not None:
            functions.append(("Drift sweeper", detector.sweeper))
    if tracker is not None:
        functions.append(("Update handler", tracker.update_handler))
    return functions
