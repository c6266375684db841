"""Name building and validation in ``drift_constructs._naming``."""

from __future__ import annotations

import re
import string
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from construct_helpers import new_stack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift_constructs import (
    DriftConstructsError,
    StateTracker,
    StateTrackerProps,
    _naming,
)

LONG_SUFFIX = "feature-branch-1234"

# AWS naming rules, written out independently of the module under test.
AWS_NAME_RULES: dict[str, tuple[re.Pattern[str], int, int]] = {
    "bucket": (re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]"), 3, 63),
    "function": (re.compile(r"[A-Za-z0-9_-]+"), 1, 64),
    "table": (re.compile(r"[A-Za-z0-9_.-]+"), 3, 255),
    "topic": (re.compile(r"[A-Za-z0-9_-]+"), 1, 256),
    "rule": (re.compile(r"[A-Za-z0-9_.-]+"), 1, 64),
    "dashboard": (re.compile(r"[A-Za-z0-9_-]+"), 1, 255),
    "alarm": (re.compile(r"[A-Za-z0-9_-]+"), 1, 255),
    "queue": (re.compile(r"[A-Za-z0-9_-]+"), 1, 80),
    "log group": (re.compile(r"[A-Za-z0-9_./#-]+"), 1, 512),
    "role": (re.compile(r"[A-Za-z0-9+=,.@_-]+"), 1, 64),
    "event bus": (re.compile(r"[A-Za-z0-9._-]+"), 1, 256),
}


def botocore_regions() -> list[str]:
    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("s3", partition_name=partition))
    return sorted(regions)


REGIONS = botocore_regions()
SUFFIXES = st.one_of(
    st.text(max_size=70),
    st.text(alphabet=string.ascii_letters + string.digits + "-_.!/ ", max_size=70),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,30}[a-z0-9]", fullmatch=True),
)
ACCOUNTS = st.one_of(
    st.from_regex(r"\d{12}", fullmatch=True), st.just(cdk.Aws.ACCOUNT_ID)
)
REGION_NAMES = st.one_of(st.sampled_from(REGIONS), st.just(cdk.Aws.REGION))


def build_all_names(suffix: str, account: str, region: str) -> dict[str, list[str]]:
    return {
        "bucket": [_naming.config_bucket_name(suffix, account, region)],
        "function": [
            _naming.update_function_name(suffix),
            _naming.validator_function_name(suffix),
            _naming.sweeper_function_name(suffix),
        ],
        "table": [_naming.state_table_name(suffix)],
        "topic": [_naming.alert_topic_name(suffix)],
        "rule": [
            _naming.stack_update_rule_name(suffix),
            _naming.drift_status_rule_name(suffix),
            _naming.sweep_rule_name(suffix),
            _naming.forward_rule_name(suffix),
        ],
        "dashboard": [_naming.dashboard_name(suffix)],
        "alarm": [_naming.drift_alarm_name(suffix), _naming.failure_alarm_name(suffix)],
        "queue": [
            _naming.failure_queue_name(suffix),
            _naming.check_queue_name(suffix),
            _naming.forward_failure_queue_name(suffix),
        ],
        "log group": [
            _naming.function_log_group_name(_naming.update_function_name(suffix)),
            _naming.function_log_group_name(_naming.validator_function_name(suffix)),
            _naming.function_log_group_name(_naming.sweeper_function_name(suffix)),
        ],
        "role": [
            _naming.member_role_name(suffix),
            _naming.hub_validator_role_name(suffix, region),
            _naming.hub_sweeper_role_name(suffix, region),
            _naming.hub_update_handler_role_name(suffix, region),
        ],
        "event bus": [_naming.hub_event_bus_name(suffix)],
    }


def test_bucket_name_over_limit() -> None:
    stack = new_stack(region="ap-southeast-2")
    with pytest.raises(DriftConstructsError) as raised:
        StateTracker(
            stack, "Tracker", StateTrackerProps(environment_suffix=LONG_SUFFIX)
        )
    message = str(raised.value)
    assert LONG_SUFFIX in message
    assert "environment_suffix" in message
    assert " 66 characters" in message
    assert "limit of 63" in message
    assert "S3 bucket name" in message


def test_bucket_name_fits_us_east_1() -> None:
    name = _naming.config_bucket_name(LONG_SUFFIX, "123456789012", "us-east-1")
    assert len(name) == 61
    assert name == "infra-config-store-feature-branch-1234-123456789012-us-east-1"


def test_bucket_name_length_in_sydney() -> None:
    with pytest.raises(DriftConstructsError, match=r"\b66 characters"):
        _naming.config_bucket_name(LONG_SUFFIX, "123456789012", "ap-southeast-2")


def test_uppercase_suffix_rejected() -> None:
    with pytest.raises(DriftConstructsError) as raised:
        _naming.validate_suffix("Dev")
    message = str(raised.value)
    assert "'Dev'" in message
    assert "lowercase is required" in message
    assert "S3 bucket names are lowercase" in message
    assert "'dev'" in message


def test_uppercase_suffix_rejected_by_construct() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="lowercase is required"):
        StateTracker(stack, "Tracker", StateTrackerProps(environment_suffix="Dev"))


@pytest.mark.parametrize("suffix", ["", "-dev", "dev-", "dev_1", "dév", "a b"])
def test_invalid_suffix_rejected(suffix: str) -> None:
    with pytest.raises(DriftConstructsError, match="environment_suffix"):
        _naming.validate_suffix(suffix)


def test_unresolved_environment_uses_worst_case() -> None:
    stack = new_stack(account=None, region=None)
    # 19 + 15 + 1 + 12 + 1 + 15 = 63 fits; one more character does not.
    fitting = "a" * 15
    assert _naming.config_bucket_name(fitting, stack.account, stack.region)
    with pytest.raises(DriftConstructsError) as raised:
        _naming.config_bucket_name(fitting + "b", stack.account, stack.region)
    message = str(raised.value)
    assert "64 characters" in message
    assert "longest possible values were assumed" in message


def test_unresolved_environment_synthesizes() -> None:
    stack = new_stack(account=None, region=None)
    StateTracker(stack, "Tracker", StateTrackerProps(environment_suffix="dev"))
    names = [child.node.id for child in stack.node.find_all()]
    assert "ConfigBucket" in names


def test_unresolved_environment_rejects_long_suffix() -> None:
    stack = new_stack(account=None, region=None)
    with pytest.raises(DriftConstructsError, match="longest possible values"):
        StateTracker(
            stack, "Tracker", StateTrackerProps(environment_suffix=LONG_SUFFIX)
        )


def test_token_suffix_warns() -> None:
    stack = new_stack()
    suffix = cdk.CfnParameter(stack, "Suffix").value_as_string
    StateTracker(stack, "Tracker", StateTrackerProps(environment_suffix=suffix))
    annotations = Annotations.from_stack(stack)
    annotations.has_warning(
        "/TestStack/Tracker", Match.string_like_regexp("unresolved token")
    )


def test_token_suffix_not_measured() -> None:
    stack = new_stack()
    suffix = cdk.CfnParameter(stack, "Suffix").value_as_string
    assert _naming.validate_suffix(suffix) is False
    assert _naming.config_bucket_name(suffix, "123456789012", "ap-southeast-2")


def test_function_name_limit() -> None:
    with pytest.raises(DriftConstructsError) as raised:
        _naming.validator_function_name("a" * 40)
    message = str(raised.value)
    assert "Lambda function name" in message
    assert "limit of 64" in message


def test_rule_name_limit() -> None:
    with pytest.raises(DriftConstructsError, match="EventBridge rule name"):
        _naming.stack_update_rule_name("a" * 40)


def test_invalid_region_rejected() -> None:
    with pytest.raises(DriftConstructsError, match="stack region"):
        _naming.config_bucket_name("dev", "123456789012", "US-EAST-1")


def test_names_end_with_suffix() -> None:
    names = build_all_names("qa", "123456789012", "us-east-1")
    for kind, values in names.items():
        for value in values:
            assert "qa" in value, kind


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    suffix=st.one_of(
        st.text(max_size=40),
        st.from_regex(r"[a-z0-9][a-z0-9-]{0,30}[a-z0-9]", fullmatch=True),
    ),
    account=st.one_of(st.text(max_size=14), st.from_regex(r"\d{12}", fullmatch=True)),
    region=st.one_of(
        st.text(max_size=20),
        st.sampled_from(["us-east-1", "ap-southeast-2", "ap-southeast-7"]),
    ),
)
def test_names_valid_or_library_error(suffix: str, account: str, region: str) -> None:
    try:
        names = build_all_names(suffix, account, region)
    except DriftConstructsError:
        return
    for kind, values in names.items():
        pattern, min_length, max_length = AWS_NAME_RULES[kind]
        for value in values:
            assert min_length <= len(value) <= max_length, (kind, value)
            assert pattern.fullmatch(value), (kind, value)


def test_botocore_regions_loaded() -> None:
    assert "ap-southeast-2" in REGIONS
    assert max(len(region) for region in REGIONS) <= _naming.MAX_REGION_LENGTH


@settings(max_examples=300, deadline=None)
@given(suffix=SUFFIXES, account=ACCOUNTS, region=REGION_NAMES)
def test_names_any_environment(suffix: str, account: str, region: str) -> None:
    try:
        names = build_all_names(suffix, account, region)
    except DriftConstructsError:
        return
    for kind, values in names.items():
        pattern, min_length, max_length = AWS_NAME_RULES[kind]
        for value in values:
            if cdk.Token.is_unresolved(value):
                # Only the bucket and hub role names contain the account or region,
                # and their fixed parts were checked with the longest values.
                assert kind in ("bucket", "role"), value
                continue
            assert min_length <= len(value) <= max_length, (kind, value)
            assert pattern.fullmatch(value), (kind, value)


@settings(max_examples=5, deadline=None)
@given(
    suffix=SUFFIXES,
    account=st.one_of(st.from_regex(r"\d{12}", fullmatch=True), st.none()),
    region=st.one_of(st.sampled_from(REGIONS), st.none()),
)
def test_reference_stack_any_input(
    suffix: str, account: str | None, region: str | None
) -> None:
    from reference_stack import DriftReferenceStack

    app = cdk.App()
    environment = cdk.Environment(account=account, region=region)
    try:
        stack = DriftReferenceStack(
            app, "Reference", environment_suffix=suffix, env=environment
        )
    except DriftConstructsError:
        return
    template = Template.from_stack(stack).to_json()
    assert template["Resources"]


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (_naming.check_queue_name, "infrastructure-drift-checks-qa"),
        (_naming.drift_status_rule_name, "infrastructure-drift-status-qa"),
        (_naming.sweeper_function_name, "infrastructure-drift-sweeper-qa"),
        (_naming.sweep_rule_name, "infrastructure-drift-sweep-qa"),
        (_naming.hub_event_bus_name, "infrastructure-drift-hub-qa"),
        (_naming.forward_rule_name, "infrastructure-drift-forward-qa"),
        (_naming.member_role_name, "drift-constructs-member-qa"),
    ],
)
def test_new_names(builder: Any, expected: str) -> None:
    assert builder("qa") == expected


def test_hub_role_names() -> None:
    assert (
        _naming.hub_validator_role_name("qa", "ap-southeast-2")
        == "drift-hub-validator-qa-ap-southeast-2"
    )
    assert (
        _naming.hub_sweeper_role_name("qa", "ap-southeast-2")
        == "drift-hub-sweeper-qa-ap-southeast-2"
    )
    assert (
        _naming.hub_update_handler_role_name("qa", "ap-southeast-2")
        == "drift-hub-updater-qa-ap-southeast-2"
    )


def test_hub_role_name_over_limit() -> None:
    # 20 + 30 + 1 + 14 = 65 characters.
    with pytest.raises(DriftConstructsError) as raised:
        _naming.hub_validator_role_name("a" * 30, "ap-southeast-2")
    message = str(raised.value)
    assert "IAM role name" in message
    assert "65 characters" in message
    assert "limit of 64" in message


def test_hub_role_name_invalid_region() -> None:
    with pytest.raises(DriftConstructsError, match="region 'US-EAST-1'"):
        _naming.hub_sweeper_role_name("qa", "US-EAST-1")


@pytest.mark.parametrize("name", ["team-drift-reader", "a" * 64, "x+=,.@_-"])
def test_role_name_accepted(name: str) -> None:
    assert _naming.check_role_name("member_role_name", name) == name


@pytest.mark.parametrize("account", ["000000000000", "123456789012"])
def test_account_id_accepted(account: str) -> None:
    assert _naming.check_account_id("hub_account", account) == account


@pytest.mark.parametrize(
    "region", ["us-east-1", "us-gov-west-1", "us-isof-south-1", "ap-southeast-7"]
)
def test_region_accepted(region: str) -> None:
    assert _naming.check_region("hub_region", region) == region


def test_botocore_regions_accepted() -> None:
    for region in REGIONS:
        assert _naming.check_region("sweep_regions", region) == region


@pytest.mark.parametrize("organization", ["o-a1b2c3d4e5", "o-" + "a" * 32])
def test_organization_id_accepted(organization: str) -> None:
    assert _naming.check_organization_id("organization_id", organization)


def test_organization_id_too_long() -> None:
    with pytest.raises(DriftConstructsError, match="organization_id"):
        _naming.check_organization_id("organization_id", "o-" + "a" * 33)


def test_uppercase_invalid_suffix_no_hint() -> None:
    with pytest.raises(DriftConstructsError, match="must contain only") as caught:
        _naming.validate_suffix("Dev_1")

    assert "use 'dev_1'" not in str(caught.value)
