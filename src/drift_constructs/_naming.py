"""Physical names of every resource the constructs create, validated at synth time.

Every name ends with the environment suffix, so several environments can live in one
account and region. Builders check the finished name against the rules of the AWS
resource it names and raise ``DriftConstructsError`` when it breaks one.

Unresolved tokens are never measured or matched as text. When the suffix is a token,
the builders return the name unchecked and the constructs add a warning annotation.
When the stack's account or region is a token, the bucket name and the hub role names
are measured with the longest value either can take.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Annotations, Token

from constructs import IConstruct

from .errors import DriftConstructsError

ENVIRONMENT_SUFFIX_PROP = "environment_suffix"

# An AWS account id is always 12 digits.
MAX_ACCOUNT_LENGTH = 12
# Maximum region name length in botocore 1.44's endpoints data, all partitions
# included: "us-isof-south-1". Commercial regions such as "ap-southeast-7" have at
# most 14 characters.
MAX_REGION_LENGTH = 15

SUFFIX_TOKEN_WARNING_ID = "drift-constructs:environmentSuffixIsToken"

_SUFFIX_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_SUFFIX_RULE = (
    "lowercase letters, digits and hyphens, starting and ending with a letter or digit"
)
# S3 reserves these name endings for access points and other features.
_RESERVED_BUCKET_ENDINGS = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap")


@dataclass(frozen=True)
class NameRule:
    """Naming rule of one kind of AWS resource.

    Attributes:
        resource: What the name names, as it appears in error messages.
        min_length: Minimum number of characters.
        max_length: Maximum number of characters.
        pattern: Regular expression the whole name must match.
        pattern_text: The pattern in words, for error messages.
    """

    resource: str
    min_length: int
    max_length: int
    pattern: re.Pattern[str]
    pattern_text: str


BUCKET_RULE = NameRule(
    "S3 bucket name",
    3,
    63,
    re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
    "lowercase letters, digits, dots and hyphens, starting and ending with a letter "
    "or digit",
)
FUNCTION_RULE = NameRule(
    "Lambda function name",
    1,
    64,
    re.compile(r"[A-Za-z0-9_-]+"),
    "letters, digits, hyphens and underscores",
)
TABLE_RULE = NameRule(
    "DynamoDB table name",
    3,
    255,
    re.compile(r"[A-Za-z0-9_.-]+"),
    "letters, digits, underscores, hyphens and dots",
)
TOPIC_RULE = NameRule(
    "SNS topic name",
    1,
    256,
    re.compile(r"[A-Za-z0-9_-]+"),
    "letters, digits, hyphens and underscores",
)
EVENT_RULE_RULE = NameRule(
    "EventBridge rule name",
    1,
    64,
    re.compile(r"[A-Za-z0-9_.-]+"),
    "letters, digits, dots, hyphens and underscores",
)
DASHBOARD_RULE = NameRule(
    "CloudWatch dashboard name",
    1,
    255,
    re.compile(r"[A-Za-z0-9_-]+"),
    "letters, digits, hyphens and underscores",
)
ALARM_RULE = NameRule(
    "CloudWatch alarm name",
    1,
    255,
    re.compile(r"[A-Za-z0-9_-]+"),
    "letters, digits, hyphens and underscores",
)
QUEUE_RULE = NameRule(
    "SQS queue name",
    1,
    80,
    re.compile(r"[A-Za-z0-9_-]+"),
    "letters, digits, hyphens and underscores",
)
LOG_GROUP_RULE = NameRule(
    "CloudWatch Logs log group name",
    1,
    512,
    re.compile(r"[A-Za-z0-9_./#-]+"),
    "letters, digits, underscores, hyphens, slashes, dots and number signs",
)
EXPORT_RULE = NameRule(
    "CloudFormation export name",
    1,
    255,
    re.compile(r"[A-Za-z0-9:-]+"),
    "letters, digits, colons and hyphens",
)
EVENT_BUS_RULE = NameRule(
    "EventBridge event bus name",
    1,
    256,
    re.compile(r"[A-Za-z0-9_.-]+"),
    "letters, digits, dots, hyphens and underscores",
)
ROLE_RULE = NameRule(
    "IAM role name",
    1,
    64,
    re.compile(r"[A-Za-z0-9_+=,.@-]+"),
    "letters, digits and the characters _+=,.@-",
)


_ACCOUNT_ID_PATTERN = re.compile(r"[0-9]{12}")
_ORGANIZATION_ID_PATTERN = re.compile(r"o-[a-z0-9]{10,32}")
# Region names such as "us-east-1", "us-gov-west-1" and "eusc-de-east-1".
_REGION_PATTERN = re.compile(r"[a-z]+(?:-[a-z]+)+-[0-9]{1,2}")


# Every string-encoded CDK token contains this text, and Token.is_unresolved checks
# for it first (aws-cdk-lib 2.275, core/lib/private/encoding.js, unresolved()).
_TOKEN_MARKER = "Token["


def is_token(value: str) -> bool:
    """Return whether ``value`` contains an unresolved CDK token.

    A string without the token marker is decided here, without the jsii call to
    ``Token.is_unresolved``: most names the constructs check contain no token.
    """
    if isinstance(value, str) and _TOKEN_MARKER not in value:
        return False
    return Token.is_unresolved(value)


def validate_suffix(suffix: str) -> bool:
    """Validate an environment suffix.

    Uppercase letters are rejected rather than lowered, because the suffix is part of
    the S3 bucket name, which AWS allows only in lowercase, and a silently changed
    suffix would give other resources names the caller did not write.

    Returns:
        True when the suffix was checked, False when it is an unresolved token and
        could not be.

    Raises:
        DriftConstructsError: when the suffix is empty, contains uppercase letters or
            contains characters other than lowercase letters, digits and hyphens.
    """
    if not isinstance(suffix, str):
        raise DriftConstructsError(
            f"{ENVIRONMENT_SUFFIX_PROP} must be a string, got {type(suffix).__name__} "
            f"{suffix!r}"
        )
    if is_token(suffix):
        return False
    if not suffix:
        raise DriftConstructsError(
            f"{ENVIRONMENT_SUFFIX_PROP} is empty; it must contain {_SUFFIX_RULE}, "
            "for example 'dev'"
        )
    if suffix != suffix.lower() and _SUFFIX_PATTERN.fullmatch(suffix.lower()):
        raise DriftConstructsError(
            f"{ENVIRONMENT_SUFFIX_PROP} {suffix!r} is invalid: lowercase is required "
            "because the suffix is part of the S3 bucket name and S3 bucket names are "
            f"lowercase; use {suffix.lower()!r}"
        )
    if not _SUFFIX_PATTERN.fullmatch(suffix):
        raise DriftConstructsError(
            f"{ENVIRONMENT_SUFFIX_PROP} {suffix!r} is invalid: it must contain only "
            f"{_SUFFIX_RULE}"
        )
    return True


def warn_if_suffix_is_token(scope: IConstruct, suffix: str) -> None:
    """Add a warning annotation to ``scope`` when the suffix cannot be validated."""
    if is_token(suffix):
        Annotations.of(scope).add_warning_v2(
            SUFFIX_TOKEN_WARNING_ID,
            f"{ENVIRONMENT_SUFFIX_PROP} is an unresolved token, so the names built "
            "from it were not checked against AWS naming rules; deployment fails if "
            "a name turns out too long or contains invalid characters.",
        )


def check_account_id(prop: str, value: str) -> str:
    """Check an AWS account id given as ``prop``; a token is returned unchecked.

    Raises:
        DriftConstructsError: when the value is not a string of exactly 12 digits.
    """
    if isinstance(value, str) and is_token(value):
        return value
    if not isinstance(value, str) or not _ACCOUNT_ID_PATTERN.fullmatch(value):
        raise DriftConstructsError(
            f"invalid account id {value!r} in {prop}: an AWS account id is a string "
            "of exactly 12 digits, for example '123456789012'"
        )
    return value


def check_organization_id(prop: str, value: str) -> str:
    """Check an AWS Organizations id given as ``prop``; a token is returned unchecked.

    Raises:
        DriftConstructsError: when the value is not ``o-`` followed by 10 to 32
            lowercase letters or digits.
    """
    if isinstance(value, str) and is_token(value):
        return value
    if not isinstance(value, str) or not _ORGANIZATION_ID_PATTERN.fullmatch(value):
        raise DriftConstructsError(
            f"{prop} {value!r} is not an organization id: it must be 'o-' followed "
            "by 10 to 32 lowercase letters or digits, for example 'o-a1b2c3d4e5'"
        )
    return value


def check_region(prop: str, value: str) -> str:
    """Check an AWS region name given as ``prop``; a token is returned unchecked.

    Raises:
        DriftConstructsError: when the value is not a region name such as
            ``us-east-1``.
    """
    if isinstance(value, str) and is_token(value):
        return value
    if (
        not isinstance(value, str)
        or len(value) > MAX_REGION_LENGTH
        or not _REGION_PATTERN.fullmatch(value)
    ):
        raise DriftConstructsError(
            f"invalid region name {value!r} in {prop}: use a region name such as "
            "'us-east-1' or 'eu-central-1'"
        )
    return value


def _check_name(
    rule: NameRule,
    name: str,
    measured: str,
    blame: str,
    assumption: str = "",
    *,
    shorten: str = ENVIRONMENT_SUFFIX_PROP,
) -> str:
    # ``measured`` is ``name`` with tokens replaced by their longest possible values.
    # ``blame`` names the input that decides the name's length, for the message, and
    # ``shorten`` the input to shorten.
    length = len(measured)
    if length > rule.max_length:
        raise DriftConstructsError(
            f"{blame} makes the {rule.resource} {name!r} {length} characters long, "
            f"over the limit of {rule.max_length} characters for {rule.resource}s"
            f"{assumption}; use a shorter {shorten}"
        )
    if length < rule.min_length:
        raise DriftConstructsError(
            f"{blame} makes the {rule.resource} {name!r} {length} characters long, "
            f"under the minimum of {rule.min_length} characters for {rule.resource}s"
        )
    if not rule.pattern.fullmatch(measured):
        raise DriftConstructsError(
            f"{blame} makes the {rule.resource} {name!r} invalid: it may contain only "
            f"{rule.pattern_text}"
        )
    return name


def _suffixed_name(rule: NameRule, prefix: str, suffix: str) -> str:
    name = f"{prefix}-{suffix}"
    if not validate_suffix(suffix):
        return name
    return _check_name(rule, name, name, f"{ENVIRONMENT_SUFFIX_PROP} {suffix!r}")


def state_table_name(suffix: str) -> str:
    """Return the state table name, ``infrastructure-state-tracker-<suffix>``."""
    return _suffixed_name(TABLE_RULE, "infrastructure-state-tracker", suffix)


def update_function_name(suffix: str) -> str:
    """Return the update handler's name, ``environment-update-handler-<suffix>``."""
    return _suffixed_name(FUNCTION_RULE, "environment-update-handler", suffix)


def validator_function_name(suffix: str) -> str:
    """Return the validator's name, ``infrastructure-drift-validator-<suffix>``."""
    return _suffixed_name(FUNCTION_RULE, "infrastructure-drift-validator", suffix)


def alert_topic_name(suffix: str) -> str:
    """Return the alert topic name, ``infrastructure-drift-alerts-<suffix>``."""
    return _suffixed_name(TOPIC_RULE, "infrastructure-drift-alerts", suffix)


def stack_update_rule_name(suffix: str) -> str:
    """Return the EventBridge rule name, ``infrastructure-stack-updates-<suffix>``."""
    return _suffixed_name(EVENT_RULE_RULE, "infrastructure-stack-updates", suffix)


def dashboard_name(suffix: str) -> str:
    """Return the dashboard name, ``InfrastructureDrift-<suffix>``."""
    return _suffixed_name(DASHBOARD_RULE, "InfrastructureDrift", suffix)


def drift_alarm_name(suffix: str) -> str:
    """Return the drift alarm name, ``infrastructure-drift-detected-<suffix>``."""
    return _suffixed_name(ALARM_RULE, "infrastructure-drift-detected", suffix)


def failure_queue_name(suffix: str) -> str:
    """Return the failure queue name, ``infrastructure-drift-failures-<suffix>``."""
    return _suffixed_name(QUEUE_RULE, "infrastructure-drift-failures", suffix)


def failure_alarm_name(suffix: str) -> str:
    """Return ``infrastructure-drift-failed-events-<suffix>``, the failure alarm."""
    return _suffixed_name(ALARM_RULE, "infrastructure-drift-failed-events", suffix)


def check_queue_name(suffix: str) -> str:
    """Return the check queue name, ``infrastructure-drift-checks-<suffix>``."""
    return _suffixed_name(QUEUE_RULE, "infrastructure-drift-checks", suffix)


def drift_status_rule_name(suffix: str) -> str:
    """Return the drift status rule name, ``infrastructure-drift-status-<suffix>``."""
    return _suffixed_name(EVENT_RULE_RULE, "infrastructure-drift-status", suffix)


def sweeper_function_name(suffix: str) -> str:
    """Return the sweeper's name, ``infrastructure-drift-sweeper-<suffix>``."""
    return _suffixed_name(FUNCTION_RULE, "infrastructure-drift-sweeper", suffix)


def sweep_rule_name(suffix: str) -> str:
    """Return the schedule rule name, ``infrastructure-drift-sweep-<suffix>``."""
    return _suffixed_name(EVENT_RULE_RULE, "infrastructure-drift-sweep", suffix)


def hub_event_bus_name(suffix: str) -> str:
    """Return the hub's event bus name, ``infrastructure-drift-hub-<suffix>``."""
    return _suffixed_name(EVENT_BUS_RULE, "infrastructure-drift-hub", suffix)


def forward_rule_name(suffix: str) -> str:
    """Return a member's rule name, ``infrastructure-drift-forward-<suffix>``."""
    return _suffixed_name(EVENT_RULE_RULE, "infrastructure-drift-forward", suffix)


def forward_failure_queue_name(suffix: str) -> str:
    """Return ``infrastructure-drift-forward-failures-<suffix>``, a member's DLQ."""
    return _suffixed_name(QUEUE_RULE, "infrastructure-drift-forward-failures", suffix)


def member_role_name(suffix: str) -> str:
    """Return the default member role name, ``drift-constructs-member-<suffix>``."""
    return _suffixed_name(ROLE_RULE, "drift-constructs-member", suffix)


def check_role_name(prop: str, name: str) -> str:
    """Check an IAM role name given as ``prop``; a token is returned unchecked.

    Raises:
        DriftConstructsError: when the name is not a string, is empty, is longer
            than 64 characters or contains characters IAM does not allow.
    """
    if not isinstance(name, str):
        raise DriftConstructsError(
            f"{prop} must be a string, got {type(name).__name__} {name!r}"
        )
    if is_token(name):
        return name
    return _check_name(ROLE_RULE, name, name, f"{prop} {name!r}", shorten=prop)


def _hub_role_name(kind: str, suffix: str, region: str) -> str:
    name = f"drift-hub-{kind}-{suffix}-{region}"
    if not validate_suffix(suffix):
        return name
    measured_region = region
    assumption = ""
    if is_token(region):
        measured_region = "a" * MAX_REGION_LENGTH
        assumption = (
            " (the region is not fixed, so the longest region name, "
            f"{MAX_REGION_LENGTH} characters, was assumed)"
        )
    elif not re.fullmatch(r"[a-z0-9-]+", region):
        raise DriftConstructsError(
            f"region {region!r} cannot be part of the {ROLE_RULE.resource} {name!r}: "
            "it must be non-empty and contain only lowercase letters, digits and "
            "hyphens"
        )
    measured = f"drift-hub-{kind}-{suffix}-{measured_region}"
    return _check_name(
        ROLE_RULE, name, measured, f"{ENVIRONMENT_SUFFIX_PROP} {suffix!r}", assumption
    )


def hub_validator_role_name(suffix: str, region: str) -> str:
    """Return the hub validator's role name, ``drift-hub-validator-<suffix>-<region>``.

    IAM role names are unique per account, and the region in the name lets one hub
    account run a hub per region. ``region`` is the hub stack's region and may be a
    token, which is measured as ``MAX_REGION_LENGTH`` characters.
    """
    return _hub_role_name("validator", suffix, region)


def hub_sweeper_role_name(suffix: str, region: str) -> str:
    """Return the hub sweeper's role name, ``drift-hub-sweeper-<suffix>-<region>``.

    ``region`` is handled as in ``hub_validator_role_name``.
    """
    return _hub_role_name("sweeper", suffix, region)


def hub_update_handler_role_name(suffix: str, region: str) -> str:
    """Return ``drift-hub-updater-<suffix>-<region>``, the update handler's hub role.

    ``region`` is handled as in ``hub_validator_role_name``.
    """
    return _hub_role_name("updater", suffix, region)


def function_log_group_name(function_name: str) -> str:
    """Return ``/aws/lambda/<function_name>``, the log group Lambda writes to."""
    name = f"/aws/lambda/{function_name}"
    if is_token(function_name):
        return name
    return _check_name(
        LOG_GROUP_RULE,
        name,
        name,
        f"function name {function_name!r}",
        shorten="function name",
    )


def check_export_name(prop: str, name: str) -> str:
    """Check a CloudFormation export name; an unresolved token is returned unchecked.

    Raises:
        DriftConstructsError: when the name is empty, longer than 255 characters or
            contains characters other than letters, digits, colons and hyphens.
    """
    if is_token(name):
        return name
    return _check_name(EXPORT_RULE, name, name, f"{prop} {name!r}", shorten=prop)


def config_bucket_name(suffix: str, account: str, region: str) -> str:
    """Return the bucket name ``infra-config-store-<suffix>-<account>-<region>``.

    ``account`` and ``region`` are the stack's, and either may be a token. A token is
    measured as its longest possible value, 12 characters for an account and
    ``MAX_REGION_LENGTH`` for a region, so a name that passes here fits in any
    account and region.
    """
    name = f"infra-config-store-{suffix}-{account}-{region}"
    if not validate_suffix(suffix):
        return name

    assumed = []
    measured_account = account
    if is_token(account):
        measured_account = "0" * MAX_ACCOUNT_LENGTH
        assumed.append(f"an account id of {MAX_ACCOUNT_LENGTH} characters")
    measured_region = region
    if is_token(region):
        measured_region = "a" * MAX_REGION_LENGTH
        assumed.append(f"a region name of {MAX_REGION_LENGTH} characters")
    assumption = ""
    if assumed:
        assumption = (
            " (the stack's account or region is not fixed, so the longest possible "
            f"values were assumed: {' and '.join(assumed)})"
        )

    for label, value, measured_value in (
        ("stack account", account, measured_account),
        ("stack region", region, measured_region),
    ):
        if not re.fullmatch(r"[a-z0-9-]+", measured_value):
            raise DriftConstructsError(
                f"{label} {value!r} cannot be part of the {BUCKET_RULE.resource} "
                f"{name!r}: it must be non-empty and contain only lowercase letters, "
                "digits and hyphens"
            )

    measured = f"infra-config-store-{suffix}-{measured_account}-{measured_region}"
    _check_name(
        BUCKET_RULE,
        name,
        measured,
        f"{ENVIRONMENT_SUFFIX_PROP} {suffix!r}",
        assumption,
    )
    for ending in _RESERVED_BUCKET_ENDINGS:
        if measured.endswith(ending):
            raise DriftConstructsError(
                f"the {BUCKET_RULE.resource} {name!r} is invalid: S3 reserves names "
                f"ending in {ending!r}; check the stack region {region!r}"
            )
    return name
