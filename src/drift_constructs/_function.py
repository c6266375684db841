"""Factory for the Lambda functions: role, runtime, code, logs, network, retries."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from constructs import Construct

from . import _nag, _naming, _registry
from .drift_runtime import metrics, settings

if TYPE_CHECKING:
    from .private_endpoints import PrivateEndpoints

# Python 3.14 is the newest Lambda runtime in aws-cdk-lib 2.275, and Powertools for
# AWS Lambda (Python) v3 publishes a layer for it.
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

# Public layer ARN parts, from the Powertools for AWS Lambda (Python) v3 install docs.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python314-arm64"
# NOTE: 38 is the newest version of this layer found in public code; newer versions
# may exist. The layer version only changes the Powertools release the functions load.
POWERTOOLS_LAYER_VERSION = 38

# The asset is the drift_constructs package directory filtered down to drift_runtime/,
# so the handlers import it as the top-level package ``drift_runtime``.
PACKAGE_DIRECTORY = Path(__file__).resolve().parent
ASSET_EXCLUDE = (
    "*",
    "!drift_runtime",
    "!drift_runtime/**",
    "**/__pycache__",
    "**/*.pyc",
)

DEFAULT_MEMORY_MIB = 256

# Asynchronous invocations (EventBridge, the update handler's forward) that fail are
# retried twice, then sent to the failure queue. An event older than an hour is sent
# there too, because a drift check that late no longer matches the stack's state.
ASYNC_RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = Duration.hours(1)

# Calls Lambda makes with the execution role to attach a function to a VPC, as in the
# AWS managed policy AWSLambdaVPCAccessExecutionRole (v3). The Lambda developer guide
# states that ec2:DescribeNetworkInterfaces works only on "Resource": "*", and the
# network interfaces do not exist before Lambda creates them.
NETWORK_INTERFACE_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)


def powertools_layer_arn(region: str) -> str:
    """Return the ARN of the Powertools public layer in ``region`` (may be a token)."""
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}"
    )


def function_code() -> lambda_.Code:
    """Return the code asset that contains only the ``drift_runtime`` package."""
    return lambda_.Code.from_asset(str(PACKAGE_DIRECTORY), exclude=list(ASSET_EXCLUDE))


def base_environment(environment_suffix: str, service_name: str) -> dict[str, str]:
    """Return the variables every function carries: environment, metrics, service."""
    return {
        settings.ENV_ENVIRONMENT: environment_suffix,
        settings.ENV_METRICS_NAMESPACE: metrics.NAMESPACE,
        settings.ENV_SERVICE_NAME: service_name,
    }


def create_function(
    scope: Construct,
    construct_id: str,
    *,
    function_name: str,
    handler: str,
    description: str,
    environment: Mapping[str, str],
    timeout: Duration,
    log_retention: logs.RetentionDays,
    log_removal_policy: RemovalPolicy,
    network: PrivateEndpoints | None,
    failure_queue: sqs.IQueue,
    role_name: str | None = None,
) -> lambda_.Function:
    """Create one drift function with its own role and log group.

    The log group is created explicitly, named as Lambda would name it, so its
    retention and removal policy are part of the stack. The role gets no AWS managed
    policy: it may write to that log group only and, in a VPC, manage the function's
    network interfaces. Failed asynchronous invocations go to ``failure_queue``.
    ``role_name`` gives the role a fixed name, claimed across the app; default: a
    name CloudFormation generates.
    """
    log_group_name = _naming.function_log_group_name(function_name)
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}LogGroup",
        log_group_name=log_group_name,
        retention=log_retention,
        removal_policy=log_removal_policy,
    )
    role = iam.Role(
        scope,
        f"{construct_id}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"Execution role of the Lambda function {function_name}",
        role_name=role_name,
    )
    if role_name is not None:
        _registry.claim_name(
            role, _naming.ROLE_RULE.resource, role_name, account_wide=True
        )
    log_group.grant_write(role)
    if network is not None:
        # The statement goes to the default policy, which the function depends on,
        # because Lambda checks these permissions when it creates the function.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(NETWORK_INTERFACE_ACTIONS), resources=["*"]
            )
        )
        _nag.acknowledge_resource(
            role.node.find_child("DefaultPolicy"),
            _nag.WILDCARD_PERMISSION_RULE,
            "*",
            "Lambda manages the function's VPC network interfaces with the execution "
            "role; ec2:DescribeNetworkInterfaces works only on all resources and the "
            "interfaces get their ids when Lambda creates them. The other statements "
            "on all resources are commented where the constructs add them.",
        )
    layer = lambda_.LayerVersion.from_layer_version_arn(
        scope,
        f"{construct_id}PowertoolsLayer",
        powertools_layer_arn(Stack.of(scope).region),
    )
    function = lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler,
        code=function_code(),
        role=role,
        layers=[layer],
        environment=dict(environment),
        timeout=timeout,
        memory_size=DEFAULT_MEMORY_MIB,
        log_group=log_group,
        vpc=network.vpc if network is not None else None,
        vpc_subnets=network.subnet_selection if network is not None else None,
        security_groups=[network.security_group] if network is not None else None,
        retry_attempts=ASYNC_RETRY_ATTEMPTS,
        max_event_age=MAX_EVENT_AGE,
        on_failure=destinations.SqsDestination(failure_queue),
    )
    _registry.claim_name(function, _naming.FUNCTION_RULE.resource, function_name)
    _registry.claim_name(log_group, _naming.LOG_GROUP_RULE.resource, log_group_name)
    return function


# SQS keeps messages for at most 14 days.
FAILURE_RETENTION = Duration.days(14)


def create_failure_queue(
    scope: Construct, construct_id: str, *, suffix: str, removal_policy: RemovalPolicy
) -> sqs.Queue:
    """Create the queue for events and check requests that could not be processed.

    The queue is encrypted with SQS-managed keys, which EventBridge and Lambda can
    use without a key policy, accepts HTTPS requests only and keeps messages for the
    SQS maximum of 14 days.
    """
    queue_name = _naming.failure_queue_name(suffix)
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=FAILURE_RETENTION,
        removal_policy=removal_policy,
    )
    _registry.claim_name(queue, _naming.QUEUE_RULE.resource, queue_name)
    _nag.acknowledge(
        queue,
        _nag.QUEUE_WITHOUT_DLQ_RULE,
        "this queue is the dead-letter queue of the rules and of the check queue "
        "and the on-failure destination of the drift functions; a message lands "
        "here only after its retries, and the failure alarm on DriftDashboard "
        "reports it",
    )
    return queue
