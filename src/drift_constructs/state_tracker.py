"""StateTracker: the state table, the config bucket and the stack update handler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from constructs import Construct

from . import _function, _naming
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


@dataclass(frozen=True, kw_only=True)
class StateTrackerProps:
    """Props of ``StateTracker``.

    Attributes:
        environment_suffix: Environment name appended to every resource name, for
            example ``"dev"``: lowercase letters, digits and hyphens.
        production: Profile switch for long-lived environments. When True the
            defaults below become: removal policy RETAIN, point-in-time recovery on
            and bucket versioning on (so no auto-deletion of objects). Default: False.
        removal_policy: Removal policy of the table, the bucket and the log group.
            The bucket's objects are deleted with the stack only under DESTROY.
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
        if isinstance(props.history_ttl_days, bool) or props.history_ttl_days < 1:
            raise DriftConstructsError(
                "history_ttl_days must be a whole number of days of at least 1, got "
                f"{props.history_ttl_days!r}"
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
        self._validator: lambda_.IFunction | None = None

        # Create.
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
            removal_policy=self._removal_policy,
        )
        self._bucket = s3.Bucket(
            self,
            "ConfigBucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=versioned,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            auto_delete_objects=auto_delete_objects,
            removal_policy=self._removal_policy,
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
        )

        # Wire.
        # Read access as well as write: Powertools idempotency reads its records back.
        self._table.grant_read_write_data(self._update_handler)
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
        if self._removal_policy != RemovalPolicy.DESTROY:
            Annotations.of(self).add_warning_v2(
                RETAINED_NAME_WARNING_ID,
                f"The state table {table_name!r} and the config bucket "
                f"{bucket_name!r} are retained when the stack is deleted, and their "
                "names are fixed: deploying again with the same environment_suffix "
                "fails with 'already exists' until they are deleted or imported.",
            )

    def add_to_rule(self, rule: events.Rule, *, retry_attempts: int = 2) -> None:
        """Add the update handler as a target of ``rule``.

        Use this when the tracker runs without a ``DriftDetector``; the rule should
        match ``stack_update_event_pattern()``. ``retry_attempts`` is the number of
        times EventBridge retries a failed asynchronous invocation.
        """
        rule.add_target(
            targets.LambdaFunction(self._update_handler, retry_attempts=retry_attempts)
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
        validator.grant_invoke(self._update_handler)

    def grant_read_state(self, grantee: iam.IGrantable) -> None:
        """Grant read access to the state table and to every object in the bucket."""
        self._table.grant_read_data(grantee)
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

    def grant_read_write_state(self, grantee: iam.IGrantable) -> None:
        """Grant read and write access to the state table's items."""
        self._table.grant_read_write_data(grantee)

    def grant_read_baselines(self, grantee: iam.IGrantable) -> None:
        """Grant ``s3:GetObject`` on the bucket's ``baselines/`` objects."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject"],
            resource_arns=[self._bucket.arn_for_objects(f"{state.BASELINE_PREFIX}*")],
        )

    def grant_write_reports(self, grantee: iam.IGrantable) -> None:
        """Grant ``s3:PutObject`` on the bucket's ``reports/`` objects."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject"],
            resource_arns=[self._bucket.arn_for_objects(f"{state.REPORT_PREFIX}*")],
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


def stack_arn_pattern(scope: Construct) -> str:
    """Return ``arn:<partition>:cloudformation:<region>:<account>:stack/*``."""
    return Stack.of(scope).format_arn(
        service="cloudformation",
        resource="stack",
        resource_name="*",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def _check_timeout(prop: str, timeout: Duration) -> None:
    seconds = timeout.to_seconds()
    if not 1 <= seconds <= MAX_FUNCTION_TIMEOUT_SECONDS:
        raise DriftConstructsError(
            f"{prop} must be between 1 second and 15 minutes (Lambda's limit), got "
            f"{seconds} seconds"
        )
