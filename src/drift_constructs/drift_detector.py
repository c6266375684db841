"""DriftDetector: the stack update rule, the drift validator and the alert topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct, IConstruct

from . import _encryption, _function, _nag, _naming, _registry
from .drift_runtime import events as stack_events
from .drift_runtime import settings, state
from .drift_runtime.ignore import IgnoreRule, dump_rules
from .errors import DriftConstructsError
from .state_tracker import (
    MAX_FUNCTION_TIMEOUT_SECONDS,
    acknowledge_stack_pattern,
    event_target,
    stack_arn_pattern,
)

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

# KMS actions SNS performs with the publisher's access on an encrypted topic.
TOPIC_PUBLISH_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


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
        alert_topic_encryption_key: Customer-managed KMS key of the new topic, as
            a ``kms.IKey``, a key or alias ARN or an alias name. The construct adds
            key policy statements that let EventBridge and CloudWatch alarms of the
            stack's account and region use it. For a key defined outside the app it
            adds a warning instead. AWS-managed keys such as ``alias/aws/sns`` are
            rejected, because those services cannot use them. Cannot be combined
            with ``alert_topic`` or ``alert_topic_props.master_key``. Default: a
            key this construct creates when ``production``, else no encryption.
        production: Whether to create a customer-managed key, with automatic
            rotation, for the new alert topic. Default: the state tracker's
            ``production``, or False without a tracker.
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
    alert_topic_encryption_key: kms.IKey | str | None = None
    production: bool | None = None


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
        topic_key = _encryption.key_from_prop(
            self,
            "AlertTopicKeyReference",
            "alert_topic_encryption_key",
            props.alert_topic_encryption_key,
        )
        _check_topic_key(props, topic_key)
        ignore_rules = _validated_ignore_rules(props.ignore_rules)
        read_statements = _validated_read_access(props.monitored_resources_read_access)
        timeout = props.validator_timeout or DEFAULT_VALIDATOR_TIMEOUT
        _check_validator_timeout(timeout)
        tracker = props.state_tracker
        production = props.production
        if production is None:
            production = tracker.production if tracker is not None else False
        removal_policy = (
            tracker.removal_policy if tracker is not None else RemovalPolicy.DESTROY
        )

        self._environment_suffix = suffix
        self._state_tracker = tracker
        self._ignore_rules = ignore_rules

        # Create.
        self._alert_topic, self._alert_topic_key = self._alert_topic_and_key(
            props, topic_name, topic_key, production=production
        )
        if tracker is not None:
            self._failure_queue: sqs.IQueue = tracker.failure_queue
        else:
            self._failure_queue = _function.create_failure_queue(
                self, "FailureQueue", suffix=suffix, removal_policy=removal_policy
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
            log_removal_policy=removal_policy,
            network=props.network,
            failure_queue=self._failure_queue,
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
        _registry.claim_name(self._rule, _naming.EVENT_RULE_RULE.resource, rule_name)

        # Wire.
        self._grant_validator_permissions(read_statements)
        if tracker is not None:
            tracker.grant_read_write_state(self._validator)
            tracker.grant_read_baselines(self._validator)
            tracker.grant_write_reports(self._validator)
            tracker.forward_to_validator(self._validator)
            tracker.add_to_rule(self._rule)
            tracker.acknowledge_function_findings(
                self._validator, (state.BASELINE_PREFIX, state.REPORT_PREFIX)
            )
        else:
            # TODO: the handlers in drift_runtime currently require the state table
            # and config bucket variables, so a validator without a tracker fails at
            # run time until they make both optional.
            self._rule.add_target(event_target(self._validator, self._failure_queue))
            acknowledge_stack_pattern(self._validator_policy())

    def _alert_topic_and_key(
        self,
        props: DriftDetectorProps,
        topic_name: str,
        topic_key: kms.IKey | None,
        *,
        production: bool,
    ) -> tuple[sns.ITopic, kms.IKey | None]:
        if props.alert_topic is not None:
            return props.alert_topic, getattr(props.alert_topic, "master_key", None)
        if topic_key is None and props.alert_topic_props is not None:
            topic_key = props.alert_topic_props.master_key
        if topic_key is None and production:
            removal_policy = (
                props.state_tracker.removal_policy
                if props.state_tracker is not None
                else RemovalPolicy.DESTROY
            )
            topic_key = _encryption.create_key(
                self,
                "AlertTopicKey",
                f"drift-constructs alert topic ({self._environment_suffix})",
                removal_policy,
            )
        return self._create_topic(topic_name, props.alert_topic_props, topic_key), (
            topic_key
        )

    def _create_topic(
        self,
        topic_name: str,
        topic_props: sns.TopicProps | None,
        key: kms.IKey | None,
    ) -> sns.ITopic:
        display_name = f"Infrastructure drift alerts ({self._environment_suffix})"
        topic = sns.Topic(
            self,
            "AlertTopic",
            topic_name=topic_name,
            display_name=(
                topic_props.display_name
                if topic_props is not None and topic_props.display_name
                else display_name
            ),
            master_key=key,
            signature_version=(
                topic_props.signature_version if topic_props is not None else None
            ),
            tracing_config=(
                topic_props.tracing_config if topic_props is not None else None
            ),
            logging_configs=(
                topic_props.logging_configs if topic_props is not None else None
            ),
            enforce_ssl=True,
        )
        _registry.claim_name(topic, _naming.TOPIC_RULE.resource, topic_name)
        if key is not None:
            _encryption.allow_topic_publishers(self, key, topic)
        return topic

    def _validator_policy(self) -> IConstruct:
        role = self._validator.role
        if role is None:  # pragma: no cover - create_function always makes a role
            raise DriftConstructsError("the validator function has no execution role")
        return role.node.find_child("DefaultPolicy")

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
        # supports no resource-level permissions, so it is the one CloudFormation
        # call on "*".
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
        # Publish without CDK's grant_publish, which adds wildcard KMS actions.
        validator.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sns:Publish"], resources=[self._alert_topic.topic_arn]
            )
        )
        _encryption.grant_key(
            validator, self._alert_topic_key, TOPIC_PUBLISH_KEY_ACTIONS
        )
        _nag.acknowledge_resource(
            self._validator_policy(),
            _nag.WILDCARD_PERMISSION_RULE,
            "*",
            "cloudformation:DescribeStackDriftDetectionStatus takes a detection id "
            "and has no resource-level permissions, and the baseline describe calls "
            "read resources of watched stacks that are unknown at synth",
        )

        role = validator.role
        if role is None:  # pragma: no cover - create_function always makes a role
            raise DriftConstructsError("the validator function has no execution role")
        if read_statements is None:
            policy = iam.ManagedPolicy.from_aws_managed_policy_name(
                READ_ONLY_MANAGED_POLICY
            )
            role.add_managed_policy(policy)
            _nag.acknowledge(
                role,
                f"{_nag.MANAGED_POLICY_RULE}[Policy::arn:<AWS::Partition>:iam::aws:"
                f"policy/{READ_ONLY_MANAGED_POLICY}]",
                "CloudFormation drift detection reads every resource of a watched "
                "stack with the validator's role, and the resource types are unknown "
                "at synth; pass monitored_resources_read_access to list the reads",
            )
        else:
            # A policy of its own, so the acknowledgements of the library's
            # statements on "*" do not cover the caller's statements.
            iam.Policy(
                self,
                "MonitoredResourcesReadPolicy",
                roles=[role],
                statements=list(read_statements),
            )

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
    def failure_queue(self) -> sqs.IQueue:
        """Queue of events that the validator or the rule target failed to process."""
        return self._failure_queue

    @property
    def alert_topic_encryption_key(self) -> kms.IKey | None:
        """KMS key of the alert topic, or None when unencrypted or unknown."""
        return self._alert_topic_key

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


def _check_topic_key(props: DriftDetectorProps, key: kms.IKey | None) -> None:
    if key is not None and props.alert_topic is not None:
        raise DriftConstructsError(
            "alert_topic and alert_topic_encryption_key were both given: the key "
            "applies only to a topic the construct creates; encrypt the existing "
            "topic yourself or leave alert_topic unset"
        )
    master_key = (
        props.alert_topic_props.master_key
        if props.alert_topic_props is not None
        else None
    )
    if key is not None and master_key is not None and master_key is not key:
        raise DriftConstructsError(
            "alert_topic_encryption_key and alert_topic_props.master_key were both "
            "given; pass the key once, as alert_topic_encryption_key"
        )
    if key is not None:
        _encryption.check_topic_key("alert_topic_encryption_key", key)
    if master_key is not None:
        _encryption.check_topic_key("alert_topic_props.master_key", master_key)


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
