"""DriftMember: the spoke of a drift hub in another account.

A hub is a ``DriftDetector`` with ``member_accounts`` or ``organization_id``. Each
member account deploys one ``DriftMember`` with the hub's ``environment_suffix``,
which forwards the account's CloudFormation events to the hub's event bus and creates
the role that the hub's functions assume to read its stacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs

from constructs import Construct

from . import _function, _nag, _naming, _registry
from .drift_detector import (
    BASELINE_DESCRIBE_ACTIONS,
    READ_ONLY_MANAGED_POLICY,
    SWEEP_LIST_ACTIONS,
    VALIDATOR_STACK_ACTIONS,
    member_role_arn,
    validated_read_access,
)
from .drift_runtime import events as stack_events
from .errors import DriftConstructsError

# Calls on "*" that the hub makes with the member role: the detection status takes a
# detection id, and listing every stack names no stack. Neither call supports a stack
# ARN as its resource.
MEMBER_ROLE_ACTIONS_ON_ANY_RESOURCE = (
    "cloudformation:DescribeStackDriftDetectionStatus",
    *SWEEP_LIST_ACTIONS,
)


def member_forward_event_pattern() -> events.EventPattern:
    """Return the pattern of the events a member forwards to the hub.

    It matches stack status changes in ``events.CHECKED_STATUSES`` and drift
    detection status changes in ``events.FINISHED_DETECTION_STATUSES``: the events
    that the hub's two rules match on the default bus of the hub account.
    """
    return events.EventPattern(
        source=[stack_events.EVENT_SOURCE],
        detail_type=[stack_events.DETAIL_TYPE, stack_events.DRIFT_DETAIL_TYPE],
        detail={
            "status-details": {
                "$or": [
                    {"status": list(stack_events.CHECKED_STATUSES)},
                    {
                        "detection-status": list(
                            stack_events.FINISHED_DETECTION_STATUSES
                        )
                    },
                ]
            }
        },
    )


@dataclass(frozen=True, kw_only=True)
class DriftMemberProps:
    """Props of ``DriftMember``.

    Attributes:
        environment_suffix: The hub's environment suffix. The hub's event bus and
            role names are built from it, so it must match the hub's
            ``DriftDetectorProps.environment_suffix``.
        hub_account: Account id of the hub, 12 digits. It must differ from this
            stack's account.
        hub_region: Region of the hub. Default: this stack's region.
        member_role_name: Name of the role the hub assumes here; it must match the
            hub's ``DriftDetectorProps.member_role_name``. Default:
            ``drift-constructs-member-<suffix>``.
        monitored_resources_read_access: Read permissions for the resources of
            this account's stacks, which CloudFormation's drift detection reads
            with the member role. ``None`` attaches the AWS-managed
            ``ReadOnlyAccess`` policy; a sequence of statements attaches exactly
            those, which must not use wildcard actions. Default: None.
        create_member_role: Whether this construct creates the member role. IAM
            role names are unique per account, so when one account forwards events
            from several regions, create the role in one region's ``DriftMember``
            and pass False in the others. Default: True.
    """

    environment_suffix: str
    hub_account: str
    hub_region: str | None = None
    member_role_name: str | None = None
    monitored_resources_read_access: Sequence[iam.PolicyStatement] | None = None
    create_member_role: bool = True


class DriftMember(Construct):
    """Forwards this account's CloudFormation events to a drift hub.

    A rule on the default event bus sends every successful stack update and every
    finished drift detection to the hub's bus
    ``infrastructure-drift-hub-<suffix>``, with a dead-letter queue for events
    EventBridge could not deliver. The member role lets the hub's validator,
    sweeper and update handler, and only those three roles, list, read and check
    this account's stacks in every region.

    Deploy the hub before relying on the forwarding: events sent before the hub's
    bus exists, or before its policy admits this account, land in the dead-letter
    queue.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: DriftMemberProps
    ) -> None:
        super().__init__(scope, construct_id)

        # Validate.
        suffix = props.environment_suffix
        stack = Stack.of(self)
        rule_name = _naming.forward_rule_name(suffix)
        queue_name = _naming.forward_failure_queue_name(suffix)
        bus_name = _naming.hub_event_bus_name(suffix)
        _naming.warn_if_suffix_is_token(self, suffix)
        hub_account = _naming.check_account_id("hub_account", props.hub_account)
        if (
            not Token.is_unresolved(stack.account)
            and not Token.is_unresolved(hub_account)
            and hub_account == stack.account
        ):
            raise DriftConstructsError(
                f"hub_account {hub_account!r} is this stack's own account; the hub's "
                "DriftDetector receives its own account's events on the default bus, "
                "so deploy DriftMember only in the other accounts"
            )
        hub_region = props.hub_region
        if hub_region is None:
            hub_region = stack.region
        else:
            _naming.check_region("hub_region", hub_region)
        if props.member_role_name is None:
            role_name = _naming.member_role_name(suffix)
        else:
            role_name = _naming.check_role_name(
                "member_role_name", props.member_role_name
            )
        if not isinstance(props.create_member_role, bool):
            raise DriftConstructsError(
                "create_member_role must be True or False, got "
                f"{props.create_member_role!r}"
            )
        read_statements = validated_read_access(props.monitored_resources_read_access)
        hub_role_names = (
            _naming.hub_validator_role_name(suffix, hub_region),
            _naming.hub_sweeper_role_name(suffix, hub_region),
            _naming.hub_update_handler_role_name(suffix, hub_region),
        )

        self._environment_suffix = suffix
        self._hub_account = hub_account
        self._hub_event_bus_arn = (
            f"arn:{stack.partition}:events:{hub_region}:{hub_account}:"
            f"event-bus/{bus_name}"
        )
        self._hub_role_arns = tuple(
            member_role_arn(stack.partition, hub_account, name)
            for name in hub_role_names
        )

        # Create.
        self._failure_queue = sqs.Queue(
            self,
            "ForwardFailureQueue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=_function.FAILURE_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        _registry.claim_name(
            self._failure_queue, _naming.QUEUE_RULE.resource, queue_name
        )
        _nag.acknowledge(
            self._failure_queue,
            _nag.QUEUE_WITHOUT_DLQ_RULE,
            "this queue is the dead-letter queue of the rule that forwards events "
            "to the drift hub; it receives only events EventBridge could not "
            "deliver after its retries",
        )
        self._forward_rule = events.Rule(
            self,
            "ForwardRule",
            rule_name=rule_name,
            description=(
                f"CloudFormation stack and drift status events, forwarded to the "
                f"drift hub ({suffix})"
            ),
            event_pattern=member_forward_event_pattern(),
        )
        _registry.claim_name(
            self._forward_rule, _naming.EVENT_RULE_RULE.resource, rule_name
        )
        self._member_role: iam.Role | None = None
        if props.create_member_role:
            self._member_role = self._create_member_role(role_name)

        # Wire.
        # The target creates a role that may call events:PutEvents on the hub bus
        # only. The EventBridge documentation recommends a role for every rule
        # whose target is an event bus.
        hub_bus = events.EventBus.from_event_bus_arn(
            self, "HubEventBus", self._hub_event_bus_arn
        )
        self._forward_rule.add_target(
            targets.EventBus(hub_bus, dead_letter_queue=self._failure_queue)
        )
        if self._member_role is not None:
            self._grant_member_role(self._member_role, read_statements)

    def _create_member_role(self, role_name: str) -> iam.Role:
        # The hub roles are matched by aws:PrincipalArn instead of being named as
        # principals: IAM rejects a trust policy that names a role that does not
        # exist yet, and a named role that is deleted and recreated loses the
        # trust. With the condition, members can deploy before the hub, and a hub
        # without a sweeper or a state tracker still works.
        principal = iam.AccountPrincipal(self._hub_account).with_conditions(
            {"ArnEquals": {"aws:PrincipalArn": list(self._hub_role_arns)}}
        )
        role = iam.Role(
            self,
            "MemberRole",
            role_name=role_name,
            assumed_by=principal,
            description=(
                "Read access of the drift hub's functions to the stacks of this "
                f"account ({self._environment_suffix})"
            ),
            max_session_duration=Duration.hours(1),
        )
        _registry.claim_name(
            role,
            _naming.ROLE_RULE.resource,
            role_name,
            account_wide=True,
            remedy=(
                "IAM role names are unique per account, so create the member role "
                "in one DriftMember per account and pass create_member_role=False "
                "to the others"
            ),
        )
        return role

    def _grant_member_role(
        self,
        role: iam.Role,
        read_statements: tuple[iam.PolicyStatement, ...] | None,
    ) -> None:
        stack = Stack.of(self)
        # One role serves every region of the account, because IAM is global and
        # the hub may sweep several regions.
        stacks_in_any_region = stack.format_arn(
            service="cloudformation",
            region="*",
            resource="stack",
            resource_name="*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(VALIDATOR_STACK_ACTIONS),
                resources=[stacks_in_any_region],
            )
        )

        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(MEMBER_ROLE_ACTIONS_ON_ANY_RESOURCE), resources=["*"]
            )
        )
        # The compared resources belong to stacks that are unknown at synth time.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(BASELINE_DESCRIBE_ACTIONS), resources=["*"]
            )
        )

        policy = role.node.find_child("DefaultPolicy")
        _nag.acknowledge_resource(
            policy,
            _nag.WILDCARD_PERMISSION_RULE,
            stacks_in_any_region,
            "the drift hub checks any stack of this account, in every region it "
            "sweeps or receives events from; the stack names are unknown at synth",
        )
        _nag.acknowledge_resource(
            policy,
            _nag.WILDCARD_PERMISSION_RULE,
            "*",
            "DescribeStackDriftDetectionStatus takes a detection id, listing every "
            "stack names no stack, and the baseline describe calls read resources "
            "of stacks that are unknown at synth; none of them takes a stack ARN",
        )

        if read_statements is None:
            role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name(READ_ONLY_MANAGED_POLICY)
            )
            _nag.acknowledge(
                role,
                f"{_nag.MANAGED_POLICY_RULE}[Policy::arn:<AWS::Partition>:iam::aws:"
                f"policy/{READ_ONLY_MANAGED_POLICY}]",
                "CloudFormation drift detection reads every resource of a checked "
                "stack with this role, and the resource types are unknown at synth; "
                "pass monitored_resources_read_access to list the reads",
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
        """Environment suffix shared with the hub."""
        return self._environment_suffix

    @property
    def hub_account(self) -> str:
        """Account id of the hub."""
        return self._hub_account

    @property
    def hub_event_bus_arn(self) -> str:
        """ARN of the hub's event bus that the forward rule targets."""
        return self._hub_event_bus_arn

    @property
    def hub_role_arns(self) -> tuple[str, ...]:
        """ARNs of the hub's validator, sweeper and update handler roles.

        The member role trusts these roles and no other principal.
        """
        return self._hub_role_arns

    @property
    def forward_rule(self) -> events.Rule:
        """Rule on the default bus that forwards events to the hub."""
        return self._forward_rule

    @property
    def member_role(self) -> iam.IRole | None:
        """Role the hub assumes, or None when ``create_member_role`` is False."""
        return self._member_role

    @property
    def failure_queue(self) -> sqs.IQueue:
        """Dead-letter queue of events the forward rule could not deliver."""
        return self._failure_queue
