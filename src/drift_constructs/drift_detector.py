"""DriftDetector: event rules, check queue, validator, sweep, hub and alert topic."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
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
DEFAULT_SWEEPER_TIMEOUT = Duration.minutes(5)

# Lambda limits the total size of a function's environment variable names and values
# to 4 KB.
MAX_ENVIRONMENT_BYTES = 4096
# Size assumed for a variable whose value is a token, such as the topic ARN:
# "arn:aws:sns:" plus a 15-character region, a 12-digit account and a 256-character
# topic name come to fewer than 300 bytes.
TOKEN_VALUE_BYTES = 300

# The validator reads check requests in batches of up to 10 messages, at most
# check_concurrency batches at a time. Lambda allows a maximum concurrency from 2 to
# 1000 for an SQS event source.
CHECK_BATCH_SIZE = 10
DEFAULT_CHECK_CONCURRENCY = 2
MIN_CHECK_CONCURRENCY = 2
MAX_CHECK_CONCURRENCY = 1000
# The Lambda developer guide (SQS event sources) recommends a visibility timeout of
# at least six times the function timeout, so a message is not received again while
# a retried batch still runs.
CHECK_VISIBILITY_TIMEOUT_FACTOR = 6
# The validator returns throttled and busy checks to the queue, so one request may be
# received many times before it runs. After this many receives it moves to the
# failure queue.
CHECK_MAX_RECEIVE_COUNT = 20
# Calls the validator makes on the check queue itself: a delayed request for a stack
# whose detection is still running, and a shorter visibility for a throttled message.
CHECK_QUEUE_VALIDATOR_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:SendMessage")

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

# Calls the sweeper makes to list every stack of an account and region. DescribeStacks
# without a stack name needs both permissions (CloudFormation API reference,
# DescribeStacks), and neither call names a stack, so they are allowed on "*".
SWEEP_LIST_ACTIONS = ("cloudformation:DescribeStacks", "cloudformation:ListStacks")
# The sweeper reads the LATEST items of the listed stacks to skip recent detections.
SWEEPER_TABLE_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem")

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

# Sweep patterns are fnmatch globs on stack names. Stack names contain letters,
# digits and hyphens, and the glob syntax adds * ? [ ] and !.
_STACK_NAME_PATTERN = re.compile(r"[A-Za-z0-9*?\[\]!-]+")
# CloudFormation stack tags: keys of 1 to 128 and values of 1 to 256 characters,
# made of letters, digits, spaces and the characters _ . : / = + - @.
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
_TAG_PUNCTUATION = frozenset(" _.:/=+-@")


def stack_update_event_pattern() -> events.EventPattern:
    """Return the EventBridge pattern of successful CloudFormation stack updates."""
    return events.EventPattern(
        source=[stack_events.EVENT_SOURCE],
        detail_type=[stack_events.DETAIL_TYPE],
        detail={"status-details": {"status": list(STACK_SUCCESS_STATUSES)}},
    )


def drift_status_event_pattern() -> events.EventPattern:
    """Return the EventBridge pattern of finished CloudFormation drift detections."""
    return events.EventPattern(
        source=[stack_events.EVENT_SOURCE],
        detail_type=[stack_events.DRIFT_DETAIL_TYPE],
        detail={
            "status-details": {
                "detection-status": list(stack_events.FINISHED_DETECTION_STATUSES)
            }
        },
    )


@dataclass(frozen=True, kw_only=True)
class DriftDetectorProps:
    """Props of ``DriftDetector``.

    Attributes:
        environment_suffix: Environment name appended to every resource name, for
            example ``"dev"``: lowercase letters, digits and hyphens.
        state_tracker: Tracker that records each update before the check. When
            given, the rule targets the tracker's update handler, which stores the
            baseline and then invokes the validator, and the validator and sweeper
            read the tracker's table (the validator also its bucket). Default:
            none, so the rule invokes the validator directly and neither function
            gets a table or bucket.
        network: Private subnets and security group for the validator and the
            sweeper. A hub (see ``member_accounts``) needs a network with an STS
            endpoint, ``PrivateEndpointsProps(cross_account=True)``. Default: the
            functions run outside any VPC.
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
        validator_timeout: Timeout of the validator. The check queue's visibility
            timeout is six times this value. Default: 5 minutes.
        log_retention: Retention of the functions' log groups. Default: one month.
        check_concurrency: Maximum number of validator invocations that process
            the check queue at the same time, from 2 to 1000. Each one starts up
            to 10 detections, so this bounds the rate of CloudFormation calls during
            a sweep. Default: 2.
        sweep_enabled: Whether a schedule invokes the sweeper, which queues a
            check for every selected stack, so drift from changes made outside
            CloudFormation is found without a stack update. Default: True.
        sweep_schedule: When the sweep runs. Default:
            ``events.Schedule.rate(Duration.days(1))``.
        sweep_stack_patterns: Shell-style patterns (``fnmatch``) of the stack names
            the sweep selects, for example ``"app-*"``. Default: ``("*",)``, every
            stack.
        sweep_exclude_patterns: Patterns of stack names the sweep leaves out,
            even when an include pattern matches. Default: none.
        sweep_required_tags: Stack tags, key to value, that a stack must all carry
            to be swept. Default: None, no tag filter.
        sweep_min_age: Time since a stack's last detection started below which the
            sweep skips the stack, in whole seconds. Default: 12 hours
            (``settings.DEFAULT_SWEEP_MIN_AGE_SECONDS``).
        sweep_regions: Regions whose stacks the sweep lists, in this account and in
            every member account. The validator may check stacks in all of them.
            Default: the stack's region.
        sweeper_timeout: Timeout of the sweeper. Default: 5 minutes.
        member_accounts: Accounts whose stacks this detector checks as a hub,
            besides its own: their ``DriftMember`` stacks forward stack events to
            the hub event bus, and the sweep lists their stacks. 12-digit account
            ids, without duplicates and without the stack's own account.
            Default: none.
        organization_id: AWS Organizations id (``o-...``) whose accounts may send
            events to the hub event bus and whose member roles the functions may
            assume. The sweep still lists only ``member_accounts``.
            Default: None.
        member_role_name: Name of the role that ``DriftMember`` creates in each
            member account and that the hub's functions assume there. Only
            valid with ``member_accounts`` or ``organization_id``. Default:
            ``drift-constructs-member-<suffix>``.
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
    check_concurrency: int = DEFAULT_CHECK_CONCURRENCY
    sweep_enabled: bool = True
    sweep_schedule: events.Schedule | None = None
    sweep_stack_patterns: Sequence[str] = ("*",)
    sweep_exclude_patterns: Sequence[str] = ()
    sweep_required_tags: Mapping[str, str] | None = None
    sweep_min_age: Duration | None = None
    sweep_regions: Sequence[str] = ()
    sweeper_timeout: Duration | None = None
    member_accounts: Sequence[str] = ()
    organization_id: str | None = None
    member_role_name: str | None = None


@dataclass(frozen=True)
class _SweepSettings:
    schedule: events.Schedule
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    required_tags: dict[str, str]
    # Text of the environment variable: whole seconds, or a token.
    min_age_seconds: str
    regions: tuple[str, ...]
    timeout: Duration


@dataclass(frozen=True)
class _HubSettings:
    accounts: tuple[str, ...]
    organization_id: str | None
    member_role_name: str
    # Fixed names, so that member roles can trust exactly these roles.
    validator_role_name: str
    sweeper_role_name: str | None
    update_handler_role_name: str | None


class DriftDetector(Construct):
    """Checks stacks for drift and alerts on findings.

    A check has two steps. A start request begins CloudFormation drift detection
    and returns: the stack update rule (``stack_update_event_pattern()``) sends one
    for each successful update, through the state tracker's update handler when one
    is given, and the check queue delivers the sweeper's requests. When detection
    ends, the drift status rule (``drift_status_event_pattern()``) invokes the
    validator again, which reads the results, compares the stored baseline,
    records the result and publishes to the alert topic when the findings change.

    In hub mode (``member_accounts`` or ``organization_id``), an event bus receives
    the events that ``DriftMember`` stacks forward from other accounts, and the same
    two rules on it send them on as on the default bus. The validator, the sweeper
    and the tracker's update handler get fixed role names, which member roles trust,
    and assume the member role of a stack's account for every call on that
    account's stacks and resources.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: DriftDetectorProps
    ) -> None:
        super().__init__(scope, construct_id)

        # Validate.
        suffix = props.environment_suffix
        stack = Stack.of(self)
        rule_name = _naming.stack_update_rule_name(suffix)
        status_rule_name = _naming.drift_status_rule_name(suffix)
        topic_name = _naming.alert_topic_name(suffix)
        queue_name = _naming.check_queue_name(suffix)
        _naming.warn_if_suffix_is_token(self, suffix)
        topic_key = self._validated_topic_key(props, topic_name)
        ignore_rules = _validated_ignore_rules(props.ignore_rules)
        read_statements = validated_read_access(props.monitored_resources_read_access)
        timeout = props.validator_timeout or DEFAULT_VALIDATOR_TIMEOUT
        _check_function_timeout("validator_timeout", timeout)
        check_concurrency = _validated_check_concurrency(props.check_concurrency)
        sweep = _validated_sweep(props)
        hub = _validated_hub(props, stack.account, stack.region, sweep is not None)
        if hub is not None:
            _check_cross_account_networks(props)
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
        self._hub = hub

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
        self._check_queue = self._create_check_queue(
            queue_name, timeout, removal_policy
        )
        self._validator = self._create_validator(
            props, timeout, check_concurrency, removal_policy
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
        self._drift_status_rule = self._create_drift_status_rule(
            "DriftStatusRule", status_rule_name, None
        )
        self._sweeper: lambda_.Function | None = None
        self._sweep_rule: events.Rule | None = None
        if sweep is not None:
            self._sweeper, self._sweep_rule = self._create_sweep(
                props, sweep, removal_policy
            )
        self._hub_event_bus: events.EventBus | None = None
        if hub is not None:
            self._hub_event_bus = self._create_hub(hub, rule_name, status_rule_name)

        # Wire.
        self._wire(read_statements, sweep.regions if sweep is not None else ())

    def _wire(
        self,
        read_statements: tuple[iam.PolicyStatement, ...] | None,
        swept_regions: Sequence[str],
    ) -> None:
        self._grant_validator_permissions(read_statements, swept_regions)
        tracker = self._state_tracker
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
            # NOTE: without a tracker the validator neither records nor locks
            # checks, compares no baseline and does not deduplicate alerts. It logs
            # a warning on each invocation.
            self._rule.add_target(event_target(self._validator, self._failure_queue))
            acknowledge_stack_pattern(_default_policy(self._validator))
        if self._sweeper is not None:
            self._grant_sweeper_permissions(self._sweeper)
        hub = self._hub
        if hub is not None:
            for function in (self._validator, self._sweeper):
                if function is not None:
                    self._allow_member_roles(function, hub)
            if tracker is not None and hub.update_handler_role_name is not None:
                tracker.use_member_role(
                    role_name=hub.update_handler_role_name,
                    member_role_name=hub.member_role_name,
                )
                self._allow_member_roles(tracker.update_handler, hub)

    # Creation steps.

    def _validated_topic_key(
        self, props: DriftDetectorProps, topic_name: str
    ) -> kms.IKey | None:
        _check_topic_props(props.alert_topic, props.alert_topic_props, topic_name)
        topic_key = _encryption.key_from_prop(
            self,
            "AlertTopicKeyReference",
            "alert_topic_encryption_key",
            props.alert_topic_encryption_key,
        )
        _check_topic_key(props, topic_key)
        return topic_key

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

    def _create_check_queue(
        self,
        queue_name: str,
        validator_timeout: Duration,
        removal_policy: RemovalPolicy,
    ) -> sqs.Queue:
        visibility_seconds = CHECK_VISIBILITY_TIMEOUT_FACTOR * int(
            validator_timeout.to_seconds()
        )
        queue = sqs.Queue(
            self,
            "CheckQueue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(visibility_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=CHECK_MAX_RECEIVE_COUNT, queue=self._failure_queue
            ),
            removal_policy=removal_policy,
        )
        _registry.claim_name(queue, _naming.QUEUE_RULE.resource, queue_name)
        return queue

    def _create_validator(
        self,
        props: DriftDetectorProps,
        timeout: Duration,
        check_concurrency: int,
        removal_policy: RemovalPolicy,
    ) -> lambda_.Function:
        suffix = self._environment_suffix
        hub = self._hub
        tracker = self._state_tracker
        environment = _function.base_environment(suffix, "drift-validator")
        environment[settings.ENV_ALERT_TOPIC] = self._alert_topic.topic_arn
        environment[settings.ENV_IGNORE_RULES] = dump_rules(self._ignore_rules)
        environment[settings.ENV_CHECK_QUEUE_URL] = self._check_queue.queue_url
        if hub is not None:
            environment[settings.ENV_MEMBER_ROLE_NAME] = hub.member_role_name
        if tracker is not None:
            environment[settings.ENV_STATE_TABLE] = tracker.table.table_name
            environment[settings.ENV_CONFIG_BUCKET] = tracker.bucket.bucket_name
            environment[settings.ENV_HISTORY_TTL_DAYS] = str(tracker.history_ttl_days)
        _check_environment_size(environment)

        validator = _function.create_function(
            self,
            "Validator",
            function_name=_naming.validator_function_name(suffix),
            handler=settings.VALIDATOR_HANDLER,
            description=f"Checks CloudFormation stacks for drift ({suffix})",
            environment=environment,
            timeout=timeout,
            log_retention=props.log_retention,
            log_removal_policy=removal_policy,
            network=props.network,
            failure_queue=self._failure_queue,
            role_name=hub.validator_role_name if hub is not None else None,
        )
        validator.add_event_source(
            event_sources.SqsEventSource(
                self._check_queue,
                batch_size=CHECK_BATCH_SIZE,
                max_concurrency=check_concurrency,
                report_batch_item_failures=True,
            )
        )
        return validator

    def _create_drift_status_rule(
        self, construct_id: str, rule_name: str, event_bus: events.IEventBus | None
    ) -> events.Rule:
        rule = events.Rule(
            self,
            construct_id,
            rule_name=rule_name,
            event_bus=event_bus,
            description=(
                f"Finished CloudFormation drift detections, whose results the "
                f"validator records ({self._environment_suffix})"
            ),
            event_pattern=drift_status_event_pattern(),
        )
        rule.add_target(event_target(self._validator, self._failure_queue))
        if event_bus is None:
            _registry.claim_name(rule, _naming.EVENT_RULE_RULE.resource, rule_name)
        return rule

    def _create_sweep(
        self,
        props: DriftDetectorProps,
        sweep: _SweepSettings,
        removal_policy: RemovalPolicy,
    ) -> tuple[lambda_.Function, events.Rule]:
        suffix = self._environment_suffix
        function_name = _naming.sweeper_function_name(suffix)
        rule_name = _naming.sweep_rule_name(suffix)
        regions = list(sweep.regions) or [Stack.of(self).region]
        hub = self._hub
        environment = _function.base_environment(suffix, "drift-sweeper")
        environment.update(
            {
                settings.ENV_CHECK_QUEUE_URL: self._check_queue.queue_url,
                settings.ENV_SWEEP_INCLUDE: _json_text(self, list(sweep.include)),
                settings.ENV_SWEEP_EXCLUDE: _json_text(self, list(sweep.exclude)),
                settings.ENV_SWEEP_TAGS: _json_text(self, sweep.required_tags),
                settings.ENV_SWEEP_MIN_AGE_SECONDS: sweep.min_age_seconds,
                settings.ENV_SWEEP_REGIONS: _json_text(self, regions),
                settings.ENV_MEMBER_ACCOUNTS: _json_text(
                    self, list(hub.accounts) if hub is not None else []
                ),
            }
        )
        if hub is not None:
            environment[settings.ENV_MEMBER_ROLE_NAME] = hub.member_role_name
        tracker = self._state_tracker
        if tracker is not None:
            environment[settings.ENV_STATE_TABLE] = tracker.table.table_name
            environment[settings.ENV_CONFIG_BUCKET] = tracker.bucket.bucket_name
            environment[settings.ENV_HISTORY_TTL_DAYS] = str(tracker.history_ttl_days)
        _check_sweeper_environment_size(environment)

        sweeper = _function.create_function(
            self,
            "Sweeper",
            function_name=function_name,
            handler=settings.SWEEPER_HANDLER,
            description=f"Queues scheduled drift checks of selected stacks ({suffix})",
            environment=environment,
            timeout=sweep.timeout,
            log_retention=props.log_retention,
            log_removal_policy=removal_policy,
            network=props.network,
            failure_queue=self._failure_queue,
            role_name=hub.sweeper_role_name if hub is not None else None,
        )

        rule = events.Rule(
            self,
            "SweepRule",
            rule_name=rule_name,
            description=f"Schedule of the drift sweep ({suffix})",
            schedule=sweep.schedule,
        )
        rule.add_target(event_target(sweeper, self._failure_queue))
        _registry.claim_name(rule, _naming.EVENT_RULE_RULE.resource, rule_name)
        return sweeper, rule

    def _create_hub(
        self, hub: _HubSettings, rule_name: str, status_rule_name: str
    ) -> events.EventBus:
        suffix = self._environment_suffix
        bus_name = _naming.hub_event_bus_name(suffix)
        bus = events.EventBus(
            self,
            "HubEventBus",
            event_bus_name=bus_name,
            description=(
                f"CloudFormation events that member accounts forward to the drift "
                f"hub ({suffix})"
            ),
        )
        _registry.claim_name(bus, _naming.EVENT_BUS_RULE.resource, bus_name)
        # The policy goes on the bus resource itself. EventBus.add_to_resource_policy
        # would add an AWS::Events::EventBusPolicy per statement, and cdk-nag 3.0.2
        # checks those through a deprecated property, which fails when deprecated
        # APIs are turned into errors (JSII_DEPRECATED=fail).
        cfn_bus = bus.node.default_child
        if not isinstance(cfn_bus, events.CfnEventBus):  # pragma: no cover
            raise DriftConstructsError("the hub event bus has no CfnEventBus")
        cfn_bus.policy = _hub_bus_policy(Stack.of(self), hub, bus_name)

        # Rule names are unique per bus, so these reuse the default bus rules' names.
        update_rule = events.Rule(
            self,
            "HubStackUpdateRule",
            rule_name=rule_name,
            event_bus=bus,
            description=(
                f"Successful stack updates in member accounts, checked for drift "
                f"({suffix})"
            ),
            event_pattern=stack_update_event_pattern(),
        )
        if self._state_tracker is not None:
            self._state_tracker.add_to_rule(update_rule)
        else:
            update_rule.add_target(event_target(self._validator, self._failure_queue))
        self._create_drift_status_rule("HubDriftStatusRule", status_rule_name, bus)
        return bus

    # Permissions.

    def _stack_patterns(self, regions: Sequence[str]) -> list[str]:
        """Return the stack ARN patterns of the stack's region and of ``regions``."""
        stack = Stack.of(self)
        patterns = [stack_arn_pattern(self)]
        for region in regions:
            if region == stack.region:
                continue
            patterns.append(
                stack.format_arn(
                    service="cloudformation",
                    region=region,
                    resource="stack",
                    resource_name="*",
                    arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                )
            )
        return patterns

    def _grant_validator_permissions(
        self,
        read_statements: tuple[iam.PolicyStatement, ...] | None,
        swept_regions: Sequence[str],
    ) -> None:
        validator = self._validator
        policy = _default_policy(validator)
        patterns = self._stack_patterns(swept_regions)
        validator.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(VALIDATOR_STACK_ACTIONS),
                resources=patterns,
            )
        )
        # The own region's pattern is acknowledged with the tracker's findings.
        for pattern in patterns[1:]:
            _nag.acknowledge_resource(
                policy,
                _nag.WILDCARD_PERMISSION_RULE,
                pattern,
                "the sweep queues checks of any stack in this region, selected by "
                "name patterns and tags at run time, so the validator reads any "
                "stack there",
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
        # The SQS event source grants receive and delete; these are the validator's
        # own calls on the queue.
        validator.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(CHECK_QUEUE_VALIDATOR_ACTIONS),
                resources=[self._check_queue.queue_arn],
            )
        )
        _encryption.grant_key(
            validator, self._alert_topic_key, TOPIC_PUBLISH_KEY_ACTIONS
        )
        _nag.acknowledge_resource(
            policy,
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
            managed_policy = iam.ManagedPolicy.from_aws_managed_policy_name(
                READ_ONLY_MANAGED_POLICY
            )
            role.add_managed_policy(managed_policy)
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

    def _grant_sweeper_permissions(self, sweeper: lambda_.Function) -> None:
        sweeper.add_to_role_policy(
            iam.PolicyStatement(actions=list(SWEEP_LIST_ACTIONS), resources=["*"])
        )
        _nag.acknowledge_resource(
            _default_policy(sweeper),
            _nag.WILDCARD_PERMISSION_RULE,
            "*",
            "the sweeper lists every stack of its account and region with "
            "DescribeStacks without a stack name, which needs "
            "cloudformation:DescribeStacks and cloudformation:ListStacks on all "
            "resources, because such a call names no stack",
        )
        sweeper.add_to_role_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"], resources=[self._check_queue.queue_arn]
            )
        )
        tracker = self._state_tracker
        if tracker is not None:
            sweeper.add_to_role_policy(
                iam.PolicyStatement(
                    actions=list(SWEEPER_TABLE_ACTIONS),
                    resources=[tracker.table.table_arn],
                )
            )
            _encryption.grant_key(
                sweeper,
                tracker.table_encryption_key,
                _encryption.KEY_DECRYPT_ACTIONS,
            )

    def _allow_member_roles(
        self, function: lambda_.IFunction, hub: _HubSettings
    ) -> None:
        partition = Stack.of(self).partition
        name = hub.member_role_name
        if hub.accounts:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[
                        member_role_arn(partition, account, name)
                        for account in hub.accounts
                    ],
                )
            )
        if hub.organization_id is not None:
            # The role's account is only known from each event, so the ARN has a
            # wildcard account and the condition limits it to the organization.
            any_account_role = member_role_arn(partition, "*", name)
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[any_account_role],
                    conditions={
                        "StringEquals": {"aws:ResourceOrgID": hub.organization_id}
                    },
                )
            )
            _nag.acknowledge_resource(
                _default_policy(function),
                _nag.WILDCARD_PERMISSION_RULE,
                any_account_role,
                "the function assumes the member role in any account of the "
                "organization that forwards an event, and the aws:ResourceOrgID "
                "condition limits the role to accounts of that organization",
            )

    # Properties.

    @property
    def environment_suffix(self) -> str:
        """Environment suffix of this construct's resource names."""
        return self._environment_suffix

    @property
    def rule(self) -> events.Rule:
        """EventBridge rule that matches successful stack updates."""
        return self._rule

    @property
    def drift_status_rule(self) -> events.Rule:
        """EventBridge rule that sends finished drift detections to the validator."""
        return self._drift_status_rule

    @property
    def validator(self) -> lambda_.IFunction:
        """Function that starts drift checks and records their results."""
        return self._validator

    @property
    def check_queue(self) -> sqs.IQueue:
        """Queue of check requests from the sweeper and the validator itself."""
        return self._check_queue

    @property
    def sweeper(self) -> lambda_.IFunction | None:
        """Function that queues scheduled checks, or None when the sweep is off."""
        return self._sweeper

    @property
    def sweep_rule(self) -> events.Rule | None:
        """Schedule rule that invokes the sweeper, or None when the sweep is off."""
        return self._sweep_rule

    @property
    def hub_event_bus(self) -> events.IEventBus | None:
        """Event bus that receives member accounts' events, or None outside a hub."""
        return self._hub_event_bus

    @property
    def member_role_name(self) -> str | None:
        """Name of the role assumed in member accounts, or None outside a hub."""
        return self._hub.member_role_name if self._hub is not None else None

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
        """Queue of events and check requests that could not be processed."""
        return self._failure_queue

    @property
    def alert_topic_encryption_key(self) -> kms.IKey | None:
        """KMS key of the alert topic, or None when unencrypted or unknown."""
        return self._alert_topic_key

    @property
    def ignore_rules(self) -> tuple[IgnoreRule, ...]:
        """Ignore rules passed to the validator."""
        return self._ignore_rules


def member_role_arn(partition: str, account: str, role_name: str) -> str:
    """Return ``arn:<partition>:iam::<account>:role/<role_name>``."""
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def _default_policy(function: lambda_.IFunction) -> IConstruct:
    role = function.role
    if role is None:  # pragma: no cover - create_function always makes a role
        raise DriftConstructsError(f"the function {function.node.path} has no role")
    return role.node.find_child("DefaultPolicy")


def _has_token(value: Any) -> bool:
    if isinstance(value, str):
        return _naming.is_token(value)
    if isinstance(value, Mapping):
        return any(_has_token(key) or _has_token(item) for key, item in value.items())
    return any(_has_token(item) for item in value)


def _json_text(scope: IConstruct, value: list[str] | dict[str, str]) -> str:
    """Return ``value`` as JSON text; tokens in it are resolved at deployment."""
    if _has_token(value):
        return Stack.of(scope).to_json_string(value)
    return json.dumps(value, separators=(",", ":"))


# Validation of the check queue, sweep and hub props.


def _validated_check_concurrency(value: int) -> int:
    if isinstance(value, (int, float)) and Token.is_unresolved(value):
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not MIN_CHECK_CONCURRENCY <= value <= MAX_CHECK_CONCURRENCY
    ):
        raise DriftConstructsError(
            f"check_concurrency must be a whole number from {MIN_CHECK_CONCURRENCY} "
            f"to {MAX_CHECK_CONCURRENCY} (Lambda's limits for the maximum concurrency "
            f"of an SQS event source), got {value!r}"
        )
    return value


def _validated_sweep(props: DriftDetectorProps) -> _SweepSettings | None:
    """Check the sweep props; return None when the sweep is off.

    The props are checked even when ``sweep_enabled`` is False, so a mistake shows
    before the sweep is switched on.
    """
    if not isinstance(props.sweep_enabled, bool):
        raise DriftConstructsError(
            f"sweep_enabled must be True or False, got {props.sweep_enabled!r}"
        )
    schedule = props.sweep_schedule
    if schedule is None:
        schedule = events.Schedule.rate(Duration.days(1))
    elif not isinstance(schedule, events.Schedule):
        raise DriftConstructsError(
            f"sweep_schedule must be an events.Schedule, for example "
            f"events.Schedule.rate(Duration.days(1)), got {schedule!r}"
        )
    include = _validated_patterns(
        "sweep_stack_patterns", props.sweep_stack_patterns, allow_empty=False
    )
    exclude = _validated_patterns(
        "sweep_exclude_patterns", props.sweep_exclude_patterns, allow_empty=True
    )
    required_tags = _validated_tags(props.sweep_required_tags)
    min_age_seconds = _validated_min_age(props.sweep_min_age)
    regions = _validated_regions(props.sweep_regions)
    timeout = props.sweeper_timeout or DEFAULT_SWEEPER_TIMEOUT
    _check_function_timeout("sweeper_timeout", timeout)
    if not props.sweep_enabled:
        return None
    return _SweepSettings(
        schedule=schedule,
        include=include,
        exclude=exclude,
        required_tags=required_tags,
        min_age_seconds=min_age_seconds,
        regions=regions,
        timeout=timeout,
    )


def _validated_patterns(
    prop: str, patterns: Sequence[str], *, allow_empty: bool
) -> tuple[str, ...]:
    if isinstance(patterns, str) or not isinstance(patterns, Sequence):
        raise DriftConstructsError(
            f"{prop} must be a sequence of stack name patterns, for example "
            f"['app-*'], got {patterns!r}"
        )
    if not patterns and not allow_empty:
        raise DriftConstructsError(
            f"{prop} is empty, so the sweep would select no stack; pass ['*'] for "
            "every stack, or set sweep_enabled=False to turn the sweep off"
        )
    for pattern in patterns:
        if isinstance(pattern, str) and Token.is_unresolved(pattern):
            continue
        if not isinstance(pattern, str) or not _STACK_NAME_PATTERN.fullmatch(pattern):
            raise DriftConstructsError(
                f"{prop} contains the invalid pattern {pattern!r}: a pattern is a "
                "non-empty string of the letters, digits and hyphens of stack names "
                "and the fnmatch characters * ? [ ] !, for example 'app-*'"
            )
    return tuple(patterns)


def _is_tag_text(text: str) -> bool:
    return all(
        character.isalnum() or character in _TAG_PUNCTUATION for character in text
    )


def _validated_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise DriftConstructsError(
            "sweep_required_tags must be a mapping of tag key to value, for example "
            f"{{'team': 'payments'}}, got {tags!r}"
        )
    for key, value in tags.items():
        for part, text, max_length in (
            ("key", key, MAX_TAG_KEY_LENGTH),
            ("value", value, MAX_TAG_VALUE_LENGTH),
        ):
            if isinstance(text, str) and Token.is_unresolved(text):
                continue
            if (
                not isinstance(text, str)
                or not 1 <= len(text) <= max_length
                or not _is_tag_text(text)
            ):
                raise DriftConstructsError(
                    f"sweep_required_tags contains the invalid tag {part} {text!r} "
                    f"(tag {key!r}): a CloudFormation stack tag {part} has 1 to "
                    f"{max_length} characters, made of letters, digits, spaces and "
                    "the characters _ . : / = + - @"
                )
    return dict(tags)


def _validated_min_age(min_age: Duration | None) -> str:
    if min_age is None:
        return str(settings.DEFAULT_SWEEP_MIN_AGE_SECONDS)
    if not isinstance(min_age, Duration):
        raise DriftConstructsError(
            "sweep_min_age must be a Duration, for example Duration.hours(12), got "
            f"{min_age!r}"
        )
    seconds = min_age.to_seconds(integral=False)
    if Token.is_unresolved(seconds):
        return Token.as_string(seconds)
    # Duration itself rejects negative amounts, so only fractions remain to check.
    if not 0 <= seconds <= settings.MAX_SWEEP_SECONDS or seconds != int(seconds):
        raise DriftConstructsError(
            "sweep_min_age must be a whole number of seconds from 0 to "
            f"{settings.MAX_SWEEP_SECONDS} (one year), got {seconds} seconds"
        )
    return str(int(seconds))


def _validated_regions(regions: Sequence[str]) -> tuple[str, ...]:
    if isinstance(regions, str) or not isinstance(regions, Sequence):
        raise DriftConstructsError(
            "sweep_regions must be a sequence of region names, for example "
            f"['us-east-1', 'eu-west-1'], got {regions!r}"
        )
    for region in regions:
        _naming.check_region("sweep_regions", region)
    _check_no_duplicates("sweep_regions", regions)
    return tuple(regions)


def _check_no_duplicates(prop: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if Token.is_unresolved(value):
            continue
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    if repeated:
        raise DriftConstructsError(
            f"{prop} lists {', '.join(repr(value) for value in repeated)} more than "
            "once; list each value once"
        )


def _validated_hub(
    props: DriftDetectorProps, own_account: str, region: str, sweep_enabled: bool
) -> _HubSettings | None:
    """Check the hub props; return None outside hub mode."""
    accounts = props.member_accounts
    if isinstance(accounts, str) or not isinstance(accounts, Sequence):
        raise DriftConstructsError(
            "member_accounts must be a sequence of 12-digit account ids, for "
            f"example ['111122223333'], got {accounts!r}"
        )
    for account in accounts:
        _naming.check_account_id("member_accounts", account)
    _check_no_duplicates("member_accounts", accounts)

    if not Token.is_unresolved(own_account) and own_account in accounts:
        raise DriftConstructsError(
            f"member_accounts contains the stack's own account {own_account!r}; the "
            "hub checks its own stacks through the default event bus without a "
            "member role, so remove it"
        )
    organization_id = props.organization_id
    if organization_id is not None:
        _naming.check_organization_id("organization_id", organization_id)

    if not accounts and organization_id is None:
        if props.member_role_name is not None:
            raise DriftConstructsError(
                f"member_role_name {props.member_role_name!r} was given without "
                "member_accounts or organization_id; the member role is only used "
                "by a hub, so pass the member accounts or leave member_role_name "
                "unset"
            )
        return None

    if props.member_role_name is None:
        role_name = _naming.member_role_name(props.environment_suffix)
    else:
        role_name = _naming.check_role_name("member_role_name", props.member_role_name)
    suffix = props.environment_suffix
    return _HubSettings(
        accounts=tuple(accounts),
        organization_id=organization_id,
        member_role_name=role_name,
        validator_role_name=_naming.hub_validator_role_name(suffix, region),
        sweeper_role_name=(
            _naming.hub_sweeper_role_name(suffix, region) if sweep_enabled else None
        ),
        update_handler_role_name=(
            _naming.hub_update_handler_role_name(suffix, region)
            if props.state_tracker is not None
            else None
        ),
    )


def _hub_bus_policy(
    stack: Stack, hub: _HubSettings, bus_name: str
) -> iam.PolicyDocument:
    """Return the hub bus policy that lets member accounts put CloudFormation events."""
    # Members may send only CloudFormation's stack and drift status events.
    # EventBridge documents both condition keys for PutEvents in bus policies.
    event_conditions: dict[str, Any] = {
        "ForAllValues:StringEquals": {"events:source": [stack_events.EVENT_SOURCE]},
        "StringEquals": {
            "events:detail-type": [
                stack_events.DETAIL_TYPE,
                stack_events.DRIFT_DETAIL_TYPE,
            ]
        },
    }
    # Built from the name, because the bus's own Arn attribute would make the bus
    # depend on itself.
    bus_arn = stack.format_arn(
        service="events",
        resource="event-bus",
        resource_name=bus_name,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )

    statements: list[iam.PolicyStatement] = []
    if hub.accounts:
        statements.append(
            iam.PolicyStatement(
                sid="MemberAccountsPutEvents",
                actions=["events:PutEvents"],
                principals=[iam.AccountPrincipal(account) for account in hub.accounts],
                resources=[bus_arn],
                conditions=event_conditions,
            )
        )
    if hub.organization_id is not None:
        organization_conditions = {
            **event_conditions,
            "StringEquals": {
                **event_conditions["StringEquals"],
                "aws:PrincipalOrgID": hub.organization_id,
            },
        }
        statements.append(
            iam.PolicyStatement(
                sid="OrganizationPutEvents",
                actions=["events:PutEvents"],
                principals=[iam.AnyPrincipal()],
                resources=[bus_arn],
                conditions=organization_conditions,
            )
        )
    return iam.PolicyDocument(statements=statements)


def _check_cross_account_networks(props: DriftDetectorProps) -> None:
    networks = [("network", props.network)]
    if props.state_tracker is not None:
        networks.append(("the state tracker's network", props.state_tracker.network))
    for label, network in networks:
        if network is None:
            continue
        missing = sorted(settings.CROSS_ACCOUNT_SERVICES - network.services)
        if missing:
            raise DriftConstructsError(
                f"{label} has no endpoint for {', '.join(missing)}, which the "
                "functions of a hub call to assume the member roles, and functions "
                "without NAT reach only services with an endpoint in their VPC; "
                "create the network with PrivateEndpointsProps(cross_account=True), "
                f"or list {missing} in existing_endpoint_services if the VPC "
                "already has the endpoint"
            )


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


def validated_read_access(
    statements: Sequence[iam.PolicyStatement] | None,
) -> tuple[iam.PolicyStatement, ...] | None:
    """Check ``monitored_resources_read_access``; return the statements or None.

    Raises:
        DriftConstructsError: when the sequence is empty or contains anything but
            allow statements without wildcard actions.
    """
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


def _check_function_timeout(prop: str, timeout: Duration) -> None:
    if not isinstance(timeout, Duration):
        raise DriftConstructsError(
            f"{prop} must be a Duration, for example Duration.minutes(5), got "
            f"{timeout!r}"
        )
    seconds = timeout.to_seconds()
    if not 1 <= seconds <= MAX_FUNCTION_TIMEOUT_SECONDS:
        raise DriftConstructsError(
            f"{prop} must be between 1 second and 15 minutes (Lambda's limit), got "
            f"{seconds} seconds"
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


def _check_sweeper_environment_size(environment: Mapping[str, str]) -> None:
    size = _environment_bytes(environment)
    if size > MAX_ENVIRONMENT_BYTES:
        raise DriftConstructsError(
            "sweep_stack_patterns, sweep_exclude_patterns, sweep_required_tags, "
            "sweep_regions and member_accounts bring the sweeper's environment "
            f"variables to about {size} bytes, over Lambda's limit of "
            f"{MAX_ENVIRONMENT_BYTES} bytes; use fewer or shorter patterns, for "
            "example one 'app-*' in place of several stack names"
        )
