"""Factory for the Lambda functions: runtime, layer, code asset, logs, network."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct

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
    """Return the variables both functions carry: environment, metrics and service."""
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
) -> lambda_.Function:
    """Create one drift function with its own log group.

    The log group is created explicitly, named as Lambda would name it, so its
    retention and removal policy are part of the stack.
    """
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}LogGroup",
        log_group_name=f"/aws/lambda/{function_name}",
        retention=log_retention,
        removal_policy=log_removal_policy,
    )
    layer = lambda_.LayerVersion.from_layer_version_arn(
        scope,
        f"{construct_id}PowertoolsLayer",
        powertools_layer_arn(Stack.of(scope).region),
    )
    return lambda_.Function(
        scope,
        construct_id,
        function_name=function_name,
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler,
        code=function_code(),
        layers=[layer],
        environment=dict(environment),
        timeout=timeout,
        memory_size=DEFAULT_MEMORY_MIB,
        log_group=log_group,
        vpc=network.vpc if network is not None else None,
        vpc_subnets=network.subnet_selection if network is not None else None,
        security_groups=[network.security_group] if network is not None else None,
    )
