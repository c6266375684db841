"""StateTracker: the state table, the config bucket and the stack update handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from constructs import Construct, IConstruct

from . import _encryption, _function, _nag, _naming, _registry
from .drift_runtime import settings, state
from .errors import DriftConstructsError

if TYPE_CHECKING:
    from .private_endpoints import PrivateEndpoints

RETAINED_NAME_WARNING_ID = "drift-constructs:retainedResourceHasFixedName"

DEFAULT_UPDATE_HANDLER_TIMEOUT = Duration.minutes(1)
# Lambda's own limit on a function's timeout.
MAX_FUNCTION_TIMEOUT_SECONDS = 900

# Calls the update handler makes to read the stack it records.
UPDATE_HANDLER_STACK_ACTIONS = (
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
)

# Item actions on the state table, listed instead of CDK's grant methods, which add
# wildcard KMS actions when the table has a customer-managed key.
TABLE_READ_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)
TABLE_WRITE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)

EVENT_TARGET_RETRY_ATTEMPTS = 2


@dataclass(frozen=True, kw_only=True)
class StateTrackerProps:
    """Props of ``StateTracker``.

    Attributes:
        environment_suffix: Environment name appended to every resource name, for
            example ``"dev"``: lowercase letters, digits and hyphens.
        production: Profile switch for long-lived environments. When True the
            defaults below become: removal policy RETAIN, point-in-time recovery on,
            bucket versioning on (so no auto-deletion of objects) and a new
            customer-managed KMS key for the table and the bucket. Default: False.
        removal_policy: Removal policy of the table, the bucket, the failure queue,
            the log group and any key this construct creates. The bucket's objects
            are deleted with the stack only under DESTROY. Under any other policy
            the table and the bucket outlive the stack with their fixed names. A
            new deployment with the same ``environment_suffix`` then fails until
            they are deleted or imported, and the construct adds a warning
            annotation that warns about it.
            Default: RETAIN when ``production``, else DESTROY.
        point_in_time_recovery: Whether the table has point-in-time recovery.
            Default: the value of ``production``.
        bucket_versioned: Whether the config bucket keeps object versions.
            Default: the value of ``production``.
        network: Private subnets and security group for the update handler.
            Default: the function runs outside any VPC.
        history_ttl_days: Days that update and check history items stay in the
            table before DynamoDB's TTL deletes them. Default:
            ``settings.DEFAULT_HISTORY_TTL_DAYS`` (90).
        log_retention: Retention of the update handler's log group. Default: one
            month.
        update_handler_timeout: Timeout of the update handler. Default: 1 minute.
        table_encryption_key: Customer-managed KMS key of the state table.
            Default: a key this construct creates when ``customer_managed_keys``,
            else the key DynamoDB owns.
        bucket_encryption_key: Customer-managed KMS key of the config bucket.
            Default: a key this construct creates when ``customer_managed_keys``,
            else S3-managed keys (SSE-S3).
        customer_managed_keys: Whether to create one KMS key, with automatic
            rotation, for the table and the bucket when no key is passed for them.
            Default: the value of ``production``.
        server_access_logs_bucket: Bucket that receives the config bucket's server
            access logs, under the prefix ``<bucket name>/``. Default: no access
            logs.
    """

    environment_suffix: str
    production: bool = False
    removal_policy: RemovalPolicy | None = None
    point_in_time_recovery: bool | None = None
    bucket_versioned: bool | None = None
    network: PrivateEndpoints | None = None
    history_ttl_days: int = settings.DEFAULT_HISTORY_TTL_DAYS
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    update_handler_timeout: Duration | None = None
    table_encryption_key: kms.IKey | None = None
    bucket_encryption_key: kms.IKey | None = None
    customer_managed_keys: bool | None = None
    server_access_logs_bucket: s3.IBucket | None = None


class StateTracker(Construct):
    """Records every successful stack update and the stack's configuration baseline.

    The update handler receives CloudFormation "Stack Status Change" events. When a
    ``DriftDetector`` is given this tracker, the detector's rule targets the handler.
    Used alone, attach the handler to a rule yourself::

        pattern = stack_update_event_pattern()
        rule = events.Rule(self, "StackUpdates", event_pattern=pattern)
        tracker.add_to_rule(rule)

    ``stack_update_event_pattern`` is exported by ``drift_constructs``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: StateTrackerProps
    ) -> None:
        super().__init__(scope, construct_id)

        # Validate.
        suffix = props.environment_suffix
        stack = Stack.of(self)
        table_name = _naming.state_table_name(suffix)
        bucket_name = _naming.config_bucket_name(suffix, stack.account, stack.region)
        function_name = _naming.update_function_name(suffix)
        _naming.warn_if_suffix_is_token(self, suffix)
        if (
            isinstance(props.history_ttl_days, bool)
            or not isinstance(props.history_ttl_days, int)
            or not 1 <= props.history_ttl_days <= settings.MAX_HISTORY_TTL_DAYS
        ):
            raise DriftConstructsError(
                "history_ttl_days must be a whole number of days from 1 to "
                f"{settings.MAX_HISTORY_TTL_DAYS}, got {props.history_ttl_days!r}"
            )
        timeout = props.update_handler_timeout or DEFAULT_UPDATE_HANDLER_TIMEOUT
        _check_timeout("update_handler_timeout", timeout)

        self._environment_suffix = suffix
        self._production = props.production
        self._history_ttl_days = props.history_ttl_days
        self._removal_policy = props.removal_policy or (
            RemovalPolicy.RETAIN if props.production else RemovalPolicy.DESTROY
        )
        self._point_in_time_recovery = (
            props.production
            if props.point_in_time_recovery is None
            else props.point_in_time_recovery
        )
        versioned = (
            props.production
            if props.bucket_versioned is None
            else props.bucket_versioned
        )
        auto_delete_objects = self._removal_policy == RemovalPolicy.DESTROY
        create_keys = (
            props.production
            if props.customer_managed_keys is None
            else props.customer_managed_keys
        )
        self._validator: lambda_.IFunction | None = None
        self._network = props.network
        self._hub_role_name: str | None = None

        # Create.
        created_key: kms.IKey | None = None
        if create_keys and (
            props.table_encryption_key is None or props.bucket_encryption_key is None
        ):
            created_key = _encryption.create_key(
                self,
                "StateKey",
                f"drift-constructs state table and config bucket ({suffix})",
                self._removal_policy,
            )
        self._table_key = props.table_encryption_key or created_key
        self._bucket_key = props.bucket_encryption_key or created_key
        self._table = dynamodb.Table(
            self,
            "StateTable",
            table_name=table_name,
            partition_key=dynamodb.Attribute(
                name=state.PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=state.SORT_KEY, type=dynamodb.AttributeType.STRING
            ),
            time_to_live_attribute=state.TTL_ATTRIBUTE,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=(
                dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=self._point_in_time_recovery
                )
            ),
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if self._table_key is not None
                else dynamodb.TableEncryption.DEFAULT
            ),
            encryption_key=self._table_key,
            removal_policy=self._removal_policy,
        )
        self._bucket = s3.Bucket(
            self,
            "ConfigBucket",
            bucket_name=bucket_name,
            encryption=(
                s3.BucketEncryption.KMS
                if self._bucket_key is not None
                else s3.BucketEncryption.S3_MANAGED
            ),
            encryption_key=self._bucket_key,
            bucket_key_enabled=True if self._bucket_key is not None else None,
            versioned=versioned,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            auto_delete_objects=auto_delete_objects,
            removal_policy=self._removal_policy,
            server_access_logs_bucket=props.server_access_logs_bucket,
            server_access_logs_prefix=(
                f"{bucket_name}/"
                if props.server_access_logs_bucket is not None
                else None
            ),
        )
        _registry.claim_name(self._table, _naming.TABLE_RULE.resource, table_name)
        _registry.claim_name(
            self._bucket, _naming.BUCKET_RULE.resource, bucket_name, global_name=True
        )
        self._failure_queue = _function.create_failure_queue(
            self, "FailureQueue", suffix=suffix, removal_policy=self._removal_policy
        )
        environment = _function.base_environment(suffix, "environment-update-handler")
        environment.update(
            {
                settings.ENV_STATE_TABLE: self._table.table_name,
                settings.ENV_CONFIG_BUCKET: self._bucket.bucket_name,
                settings.ENV_HISTORY_TTL_DAYS: str(props.history_ttl_days),
            }
        )
        self._update_handler = _function.create_function(
            self,
            "UpdateHandler",
            function_name=function_name,
            handler=settings.UPDATE_HANDLER,
            description=(
                f"Records CloudFormation stack updates and baselines ({suffix})"
            ),
            environment=environment,
            timeout=timeout,
            log_retention=props.log_retention,
            log_removal_policy=self._removal_policy,
            network=props.network,
            failure_queue=self._failure_queue,
        )

        # Wire.
        # Read access as well as write: Powertools idempotency reads its records back.
        self.grant_read_write_state(self._update_handler)
        self.grant_read_baselines(self._update_handler)
        self._update_handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(UPDATE_HANDLER_STACK_ACTIONS),
                resources=[stack_arn_pattern(self)],
            )
        )
        self._update_handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[self._bucket.arn_for_objects(f"{state.BASELINE_PREFIX}*")],
            )
        )
        _encryption.grant_key(
            self._update_handler,
            self._bucket_key,
            _encryption.KEY_ENCRYPT_DECRYPT_ACTIONS,
        )
        self.acknowledge_function_findings(
            self._update_handler, (state.BASELINE_PREFIX,)
        )
        self._acknowledge_resource_findings(props)
        if self._removal_policy != RemovalPolicy.DESTROY:
            Annotations.of(self).add_warning_v2(
                RETAINED_NAME_WARNING_ID,
                f"The state table {table_name!r} and the config bucket "
                f"{bucket_name!r} are retained when the stack is deleted, and their "
                "names are fixed: deploying again with the same environment_suffix "
                "fails with 'already exists' until they are deleted or imported.",
            )

    def add_to_rule(
        self, rule: events.Rule, *, retry_attempts: int = EVENT_TARGET_RETRY_ATTEMPTS
    ) -> None:
        """Add the update handler as a target of ``rule``.

        Use this when the tracker runs without a ``DriftDetector``; the rule should
        match ``stack_update_event_pattern()``. ``retry_attempts`` is the number of
        times EventBridge retries a failed delivery before it sends the event to
        the failure queue.
        """
        rule.add_target(
            event_target(self._update_handler, self._failure_queue, retry_attempts)
        )

    def forward_to_validator(self, validator: lambda_.IFunction) -> None:
        """Make the update handler invoke ``validator`` after storing each baseline.

        Sets ``settings.ENV_VALIDATOR_FUNCTION`` and grants ``lambda:InvokeFunction``.

        Raises:
            DriftConstructsError: when a different validator is already connected,
                because the handler forwards to one function only.
        """
        if self._validator is validator:
            return
        if self._validator is not None:
            raise DriftConstructsError(
                f"StateTracker {self.node.path!r} already forwards to the validator "
                f"{self._validator.node.path!r}; a tracker can serve one DriftDetector"
            )
        self._validator = validator
        self._update_handler.add_environment(
            settings.ENV_VALIDATOR_FUNCTION, validator.function_name
        )
        # Only the unqualified ARN: the handler invokes the function by name, so
        # versions and aliases (the ARN with ":*") need no grant.
        self._update_handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[validator.function_arn]
            )
        )

    def use_member_role(self, *, role_name: str, member_role_name: str) -> None:
        """Prepare the update handler to read stacks of a hub's member accounts.

        A hub ``DriftDetector`` calls this. The update handler's role gets the fixed
        name ``role_name``, which member roles trust, and the handler gets
        ``settings.ENV_MEMBER_ROLE_NAME``, so it reads member stacks' templates with
        the member role. The detector grants ``sts:AssumeRole`` on the member roles.

        Raises:
            DriftConstructsError: when the tracker already serves a hub with another
                role name.
        """
        if self._hub_role_name == role_name:
            return
        if self._hub_role_name is not None:
            raise DriftConstructsError(
                f"StateTracker {self.node.path!r} already serves a hub as the role "
                f"{self._hub_role_name!r}; a tracker can serve one DriftDetector"
            )
        role = self._update_handler.role
        cfn_role = role.node.default_child if role is not None else None
        if not isinstance(cfn_role, iam.CfnRole):  # pragma: no cover
            raise DriftConstructsError("the update handler has no execution role")
        cfn_role.role_name = role_name
        _registry.claim_name(
            cfn_role, _naming.ROLE_RULE.resource, role_name, account_wide=True
        )
        self._hub_role_name = role_name
        self._update_handler.add_environment(
            settings.ENV_MEMBER_ROLE_NAME, member_role_name
        )

    def grant_read_state(self, grantee: iam.IGrantable) -> None:
        """Grant read access to the state table and to every object in the bucket.

        With customer-managed keys, ``kms:Decrypt`` and ``kms:DescribeKey`` on them
        are granted too.
        """
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(TABLE_READ_ACTIONS),
            resource_arns=[self._table.table_arn],
        )
        _encryption.grant_key(grantee, self._table_key, _encryption.KEY_DECRYPT_ACTIONS)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self._bucket.arn_for_objects("*")],
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self._bucket.bucket_arn],
        )
        _encryption.grant_key(
            grantee, self._bucket_key, _encryption.KEY_DECRYPT_ACTIONS
        )

    def grant_read_write_state(self, grantee: iam.IGrantable) -> None:
        """Grant read and write access to the state table's items.

        With a customer-managed table key, the key's encrypt and decrypt actions are
        granted too.
        """
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[*TABLE_READ_ACTIONS, *TABLE_WRITE_ACTIONS],
            resource_arns=[self._table.table_arn],
        )
        _encryption.grant_key(
            grantee, self._table_key, _encryption.KEY_ENCRYPT_DECRYPT_ACTIONS
        )

    def grant_read_baselines(self, grantee: iam.IGrantable) -> None:
        """Grant ``s3:GetObject`` on the bucket's ``baselines/`` objects.

        With a customer-managed bucket key, decrypt access to it is granted too.
        """
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self._bucket.arn_for_objects(f"{state.BASELINE_PREFIX}*")],
        )
        _encryption.grant_key(
            grantee, self._bucket_key, _encryption.KEY_DECRYPT_ACTIONS
        )

    def grant_write_reports(self, grantee: iam.IGrantable) -> None:
        """Grant ``s3:PutObject`` on the bucket's ``reports/`` objects.

        With a customer-managed bucket key, its encrypt and decrypt actions are
        granted too.
        """
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject"],
            resource_arns=[self._bucket.arn_for_objects(f"{state.REPORT_PREFIX}*")],
        )
        _encryption.grant_key(
            grantee, self._bucket_key, _encryption.KEY_ENCRYPT_DECRYPT_ACTIONS
        )

    def acknowledge_function_findings(
        self, function: lambda_.Function, prefixes: tuple[str, ...]
    ) -> None:
        """Acknowledge the wildcard resources a drift function's policy needs.

        These are the stack ARN pattern and the bucket ``prefixes`` it reads or
        writes, on the function role's default policy only.
        """
        role = function.role
        if role is None:  # pragma: no cover - create_function always makes a role
            raise DriftConstructsError(f"the function {function.node.path} has no role")
        policy = role.node.find_child("DefaultPolicy")
        acknowledge_stack_pattern(policy)
        for prefix in prefixes:
            _nag.acknowledge_resource(
                policy,
                _nag.WILDCARD_PERMISSION_RULE,
                self._bucket.arn_for_objects(f"{prefix}*"),
                f"the function reads or writes objects under {prefix} only, one per "
                "stack and update, whose keys are made at run time",
            )

    def _acknowledge_resource_findings(self, props: StateTrackerProps) -> None:
        if props.server_access_logs_bucket is None:
            _nag.acknowledge(
                self._bucket,
                _nag.ACCESS_LOGS_RULE,
                "only the drift functions read and write this bucket, and CloudTrail "
                "records their calls; pass server_access_logs_bucket to log access",
            )
        if not self._point_in_time_recovery:
            _nag.acknowledge(
                self._table,
                _nag.PITR_RULE,
                "point-in-time recovery is off by design in the test profile, "
                "which is for short-lived environments; the production profile "
                "turns it on",
            )

    @property
    def environment_suffix(self) -> str:
        """Environment suffix of this construct's resource names."""
        return self._environment_suffix

    @property
    def table(self) -> dynamodb.ITable:
        """State table, keyed as ``drift_runtime.state`` describes."""
        return self._table

    @property
    def bucket(self) -> s3.IBucket:
        """Config bucket with ``baselines/`` and ``reports/`` prefixes."""
        return self._bucket

    @property
    def update_handler(self) -> lambda_.IFunction:
        """Function that records stack updates and baselines."""
        return self._update_handler

    @property
    def removal_policy(self) -> RemovalPolicy:
        """Removal policy applied to the table, the bucket and the log group."""
        return self._removal_policy

    @property
    def production(self) -> bool:
        """Whether the production profile is on."""
        return self._production

    @property
    def point_in_time_recovery(self) -> bool:
        """Whether the table has point-in-time recovery."""
        return self._point_in_time_recovery

    @property
    def history_ttl_days(self) -> int:
        """Days history items stay in the table."""
        return self._history_ttl_days

    @property
    def failure_queue(self) -> sqs.IQueue:
        """Queue of events that the functions or the rule target failed to process."""
        return self._failure_queue

    @property
    def network(self) -> PrivateEndpoints | None:
        """Network of the update handler, or None outside a VPC."""
        return self._network

    @property
    def table_encryption_key(self) -> kms.IKey | None:
        """Customer-managed key of the table, passed or created, if any."""
        return self._table_key

    @property
    def bucket_encryption_key(self) -> kms.IKey | None:
        """Customer-managed key of the bucket, passed or created, if any."""
        return self._bucket_key


def stack_arn_pattern(scope: IConstruct) -> str:
    """Return ``arn:<partition>:cloudformation:<region>:<account>:stack/*``."""
    return Stack.of(scope).format_arn(
        service="cloudformation",
        resource="stack",
        resource_name="*",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def acknowledge_stack_pattern(policy: IConstruct) -> None:
    """Acknowledge the stack ARN pattern in a drift function's ``policy``."""
    _nag.acknowledge_resource(
        policy,
        _nag.WILDCARD_PERMISSION_RULE,
        stack_arn_pattern(policy),
        "the function reads any stack of its account and region, because every "
        "stack there can send an update event; the names are unknown at synth",
    )


def event_target(
    function: lambda_.IFunction,
    failure_queue: sqs.IQueue,
    retry_attempts: int = EVENT_TARGET_RETRY_ATTEMPTS,
) -> targets.LambdaFunction:
    """Return a rule target for ``function`` that sends undelivered events to a queue.

    EventBridge retries a failed delivery ``retry_attempts`` times within an hour,
    then puts the event in ``failure_queue``. CDK adds a queue policy statement that
    lets events.amazonaws.com send messages from this rule only.
    """
    if isinstance(retry_attempts, bool) or not 0 <= retry_attempts <= 185:
        raise DriftConstructsError(
            "retry_attempts must be a whole number from 0 to 185 (EventBridge's "
            f"limit), got {retry_attempts!r}"
        )
    return targets.LambdaFunction(
        function,
        dead_letter_queue=failure_queue,
        retry_attempts=retry_attempts,
        max_event_age=_function.MAX_EVENT_AGE,
    )


def _check_timeout(prop: str, timeout: Duration) -> None:
    seconds = timeout.to_seconds()
    if not 1 <= seconds <= MAX_FUNCTION_TIMEOUT_SECONDS:
        raise DriftConstructsError(
            f"{prop} must be between 1 second and 15 minutes (Lambda's limit), got "
            f"{seconds} seconds"
        )
