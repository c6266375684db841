"""DriftDetector: the stack update rule, the drift validator and the alert topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns

from constructs import Construct

from . import _function, _naming
from .drift_runtime import events as stack_events
from .drift_runtime import settings
from .drift_runtime.ignore import IgnoreRule, dump_rules
from .errors import DriftConstructsError
from .state_tracker import MAX_FUNCTION_TIMEOUT_SECONDS, stack_arn_pattern

if TYPE_CHECKING:
    from .private_endpoints import PrivateEndpoints
    from .state_tracker import StateTracker

# Terminal success statuses the rule matches; the handlers skip every other status.
STACK_SUCCESS_STATUSES = stack_events.CHECKED_STATUSES

DEFAULT_VALIDATOR_TIMEOUT = Duration.minutes(5)

# Lambda limits the total size of a function's environment variable names and values
# to 4 KB.
MAX_ENVIRONMENT_BYTES = 4096
# Size assumed for a variable whose value is a token, such as the topic ARN:
# "arn:aws:sns:" plus a 15-character region, a 12-digit account and a 256-character
# topic name come to fewer than 300 bytes.
TOKEN_VALUE_BYTES = 300

# CloudFormation calls on stacks, limited to the stacks of the deployment's region.
VALIDATOR_STACK_ACTIONS = (
    "cloudformation:DescribeStackResourceDrifts",
    "cloudformation:DescribeStackResources",
    "cloudformation:DescribeStacks",
    "cloudformation:DetectStackDrift",
    "cloudformation:DetectStackResourceDrift",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
)

# Describe calls for the baseline comparison. Their targets are whatever resources
# the watched stacks contain, which are unknown when this stack is synthesized.
BASELINE_DESCRIBE_ACTIONS = (
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
    "lambda:GetFunctionConfiguration",
    "lambda:ListTags",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetEncryptionConfiguration",
    "sns:GetTopicAttributes",
    "sns:ListTagsForResource",
    "sqs:GetQueueAttributes",
    "sqs:ListQueueTags",
)

READ_ONLY_MANAGED_POLICY = "ReadOnlyAccess"


def stack_update_event_pattern() -> events.EventPattern:
    """Return the EventBridge pattern of successful CloudFormation stack updates."""
    return events.EventPattern(
        source=[stack_events.EVENT_SOURCE],
        detail_type=[stack_events.DETAIL_TYPE],
        detail={"status-details": {"status": list(STACK_SUCCESS_STATUSES)}},
    )


@dataclass(frozen=True, kw_only=True)
class DriftDetectorProps:
    """Props of ``DriftDetector``.

    Attributes:
        environment_suffix: Environment name appended to every resource name, for
            example ``"dev"``: lowercase letters, digits and hyphens.
        state_tracker: Tracker that records each update before the check. When
            given, the rule targets the tracker's update handler, which stores the
            baseline and then invokes the validator, and the validator reads the
            tracker's table and bucket. Default: none, so the rule invokes the
            validator directly and the validator gets no table or bucket.
        network: Private subnets and security group for the validator. Default:
            the function runs outside any VPC.
        alert_topic: Existing topic for drift alerts. Default: a new topic named
            ``infrastructure-drift-alerts-<suffix>``.
        alert_topic_props: Settings of the new topic: ``display_name``,
            ``master_key``, ``signature_version``, ``tracing_config`` and
            ``logging_configs`` are used, ``topic_name`` must be unset and FIFO
            topics are rejected. Cannot be combined with ``alert_topic``.
            Default: a standard topic with a display name.
        ignore_rules: Drift the validator does not report. Default: none.
        monitored_resources_read_access: Read permissions for the resources of the
            watched stacks, which CloudFormation's drift detection reads with the
            validator's role (resources it cannot read come back as UNKNOWN).
            ``None`` attaches the AWS-managed ``ReadOnlyAccess`` policy; a sequence
            of statements attaches exactly those, which must not use wildcard
            actions. Default: None.
        validator_timeout: Timeout of the validator, which waits for drift
            detection to finish. Default: 5 minutes.
        log_retention: Retention of the validator's log group. Default: one month.
    """

    environment_suffix: str
    state_tracker: StateTracker | None = None
    network: PrivateEndpoints | None = None
    alert_topic: sns.ITopic | None = None
    alert_topic_props: sns.TopicProps | None = None
    ignore_rules: Sequence[IgnoreRule] = ()
    monitored_resources_read_access: Sequence[iam.PolicyStatement] | None = None
    validator_timeout: Duration | None = None
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH


class DriftDetector(Construct):
    """Checks every successfully updated stack for drift and alerts on findings.

    An EventBridge rule matches ``stack_update_event_pattern()``. Its target is the
    state tracker's update handler when one is given (the handler forwards each
    event to the validator) and the validator otherwise. The validator runs
    CloudFormation drift detection, compares the stored baseline, records the result
    and publishes to the alert topic when the findings change.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: DriftDetectorProps
    ) -> None:
        super().__init__(scope, construct_id)

        # Validate.
        suffix = props.environment_suffix
        rule_name = _naming.stack_update_rule_name(suffix)
        function_name = _naming.validator_function_name(suffix)
        topic_name = _naming.alert_topic_name(suffix)
        _naming.warn_if_suffix_is_token(self, suffix)
        _check_topic_props(props.alert_topic, props.alert_topic_props, topic_name)
        ignore_rules = _validated_ignore_rules(props.ignore_rules)
        read_statements = _validated_read_access(props.monitored_resources_read_access)
        timeout = props.validator_timeout or DEFAULT_VALIDATOR_TIMEOUT
        _check_validator_timeout(timeout)
        tracker = props.state_tracker

        self._environment_suffix = suffix
        self._state_tracker = tracker
        self._ignore_rules = ignore_rules

        # Create.
        self._alert_topic = props.alert_topic or self._create_topic(
            topic_name, props.alert_topic_props
        )
        environment = _function.base_environment(suffix, "drift-validator")
        environment[settings.ENV_ALERT_TOPIC] = self._alert_topic.topic_arn
        environment[settings.ENV_IGNORE_RULES] = dump_rules(ignore_rules)
        if tracker is not None:
            environment[settings.ENV_STATE_TABLE] = tracker.table.table_name
            environment[settings.ENV_CONFIG_BUCKET] = tracker.bucket.bucket_name
            environment[settings.ENV_HISTORY_TTL_DAYS] = str(tracker.history_ttl_days)
        _check_environment_size(environment)
        self._validator = _function.create_function(
            self,
            "Validator",
            function_name=function_name,
            handler=settings.VALIDATOR_HANDLER,
            description=f"Checks updated CloudFormation stacks for drift ({suffix})",
            environment=environment,
            timeout=timeout,
            log_retention=props.log_retention,
            log_removal_policy=(
                tracker.removal_policy if tracker is not None else RemovalPolicy.DESTROY
            ),
            network=props.network,
        )
        self._rule = events.Rule(
            self,
            "StackUpdateRule",
            rule_name=rule_name,
            description=(
                f"Successful CloudFormation stack updates, checked for drift ({suffix})"
            ),
            event_pattern=stack_update_event_pattern(),
        )

        # Wire.
        self._grant_validator_permissions(read_statements)
        if tracker is not None:
            tracker.grant_read_write_state(self._validator)
            tracker.grant_read_baselines(self._validator)
            tracker.grant_write_reports(self._validator)
            tracker.forward_to_validator(self._validator)
            tracker.add_to_rule(self._rule)
        else:
            # TODO: the handlers in drift_runtime currently require the state table
            # and config bucket variables, so a validator without a tracker fails at
            # run time until they make both optional.
            self._rule.add_target(targets.LambdaFunction(self._validator))

    def _create_topic(
        self, topic_name: str, topic_props: sns.TopicProps | None
    ) -> sns.ITopic:
        display_name = f"Infrastructure drift alerts ({self._environment_suffix})"
        if topic_props is None:
            return sns.Topic(
                self,
                "AlertTopic",
                topic_name=topic_name,
                display_name=display_name,
                enforce_ssl=True,
            )
        return sns.Topic(
            self,
            "AlertTopic",
            topic_name=topic_name,
            display_name=topic_props.display_name or display_name,
            master_key=topic_props.master_key,
            signature_version=topic_props.signature_version,
            tracing_config=topic_props.tracing_config,
            logging_configs=topic_props.logging_configs,
            enforce_ssl=True,
        )

    def _grant_validator_permissions(
        self, read_statements: tuple[iam.PolicyStatement, ...] | None
    ) -> None:
        validator = self._validator
        validator.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(VALIDATOR_STACK_ACTIONS),
                resources=[stack_arn_pattern(self)],
            )
        )
        # DescribeStackDriftDetectionStatus takes a detection id, not a stack, and
        # supports no resource-level permissions, so it is the one call on "*".
        validator.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStackDriftDetectionStatus"],
                resources=["*"],
            )
        )
        # The compared resources belong to the watched stacks, which are not known
        # at synth time, so these read-only describe calls are allowed on "*".
        validator.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(BASELINE_DESCRIBE_ACTIONS),
                resources=["*"],
            )
        )
        self._alert_topic.grant_publish(validator)

        role = validator.role
        if role is None:  # pragma: no cover - create_function always makes a role
            raise DriftConstructsError("the validator function has no execution role")
        if read_statements is None:
            role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name(READ_ONLY_MANAGED_POLICY)
            )
        else:
            for statement in read_statements:
                validator.add_to_role_policy(statement)

    @property
    def environment_suffix(self) -> str:
        """Environment suffix of this construct's resource names."""
        return self._environment_suffix

    @property
    def rule(self) -> events.Rule:
        """EventBridge rule that matches successful stack updates."""
        return self._rule

    @property
    def validator(self) -> lambda_.IFunction:
        """Function that runs the drift checks."""
        return self._validator

    @property
    def alert_topic(self) -> sns.ITopic:
        """Topic that receives drift alerts, created or passed in."""
        return self._alert_topic

    @property
    def state_tracker(self) -> StateTracker | None:
        """Tracker whose update handler forwards events to the validator, if any."""
        return self._state_tracker

    @property
    def ignore_rules(self) -> tuple[IgnoreRule, ...]:
        """Ignore rules passed to the validator."""
        return self._ignore_rules


def _check_topic_props(
    topic: sns.ITopic | None, topic_props: sns.TopicProps | None, topic_name: str
) -> None:
    if topic is not None and topic_props is not None:
        raise DriftConstructsError(
            "alert_topic and alert_topic_props were both given: pass alert_topic to "
            "use an existing topic or alert_topic_props to configure a new one, not "
            "both"
        )
    if topic_props is None:
        return
    if topic_props.topic_name is not None and topic_props.topic_name != topic_name:
        raise DriftConstructsError(
            f"alert_topic_props.topic_name {topic_props.topic_name!r} is not "
            f"supported: the alert topic is always named {topic_name!r}; leave "
            "topic_name unset"
        )
    if topic_props.fifo:
        raise DriftConstructsError(
            "alert_topic_props.fifo is True, but drift alerts need a standard topic; "
            "leave fifo unset"
        )


def _validated_ignore_rules(rules: Sequence[IgnoreRule]) -> tuple[IgnoreRule, ...]:
    if isinstance(rules, (str, IgnoreRule)):
        raise DriftConstructsError(
            f"ignore_rules must be a sequence of IgnoreRule, got {rules!r}"
        )
    for rule in rules:
        if not isinstance(rule, IgnoreRule):
            raise DriftConstructsError(
                f"ignore_rules contains {rule!r}, which is not an IgnoreRule"
            )
    return tuple(rules)


def _validated_read_access(
    statements: Sequence[iam.PolicyStatement] | None,
) -> tuple[iam.PolicyStatement, ...] | None:
    if statements is None:
        return None
    result = tuple(statements)
    if not result:
        raise DriftConstructsError(
            "monitored_resources_read_access is empty, so drift detection could read "
            "no resource and would report every one as UNKNOWN; pass read statements "
            "or None for the AWS-managed ReadOnlyAccess policy"
        )
    for statement in result:
        if not isinstance(statement, iam.PolicyStatement):
            raise DriftConstructsError(
                f"monitored_resources_read_access contains {statement!r}, which is "
                "not an iam.PolicyStatement"
            )
        wildcards = [action for action in statement.actions if "*" in action]
        if wildcards:
            raise DriftConstructsError(
                "monitored_resources_read_access contains the wildcard actions "
                f"{wildcards}; list each read action explicitly, for example "
                "'s3:GetBucketVersioning'"
            )
        if statement.effect != iam.Effect.ALLOW:
            raise DriftConstructsError(
                "monitored_resources_read_access statements must allow actions, got "
                f"a statement with effect {statement.effect}"
            )
    return result


def _check_validator_timeout(timeout: Duration) -> None:
    seconds = timeout.to_seconds()
    if not 1 <= seconds <= MAX_FUNCTION_TIMEOUT_SECONDS:
        raise DriftConstructsError(
            "validator_timeout must be between 1 second and 15 minutes (Lambda's "
            f"limit), got {seconds} seconds"
        )


def _environment_bytes(environment: Mapping[str, str]) -> int:
    total = 0
    for name, value in environment.items():
        total += len(name.encode())
        if _naming.is_token(value):
            total += TOKEN_VALUE_BYTES
        else:
            total += len(value.encode())
    return total


def _check_environment_size(environment: Mapping[str, str]) -> None:
    size = _environment_bytes(environment)
    if size > MAX_ENVIRONMENT_BYTES:
        rules_size = len(environment[settings.ENV_IGNORE_RULES].encode())
        raise DriftConstructsError(
            f"ignore_rules serialise to {rules_size} bytes, which brings the "
            f"validator's environment variables to about {size} bytes, over Lambda's "
            f"limit of {MAX_ENVIRONMENT_BYTES} bytes; use fewer or shorter rules, "
            "for example one pattern in place of several logical ids"
        )
