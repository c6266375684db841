"""DriftDetector: check queue, drift status rule, scheduled sweep and their props."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template
from construct_helpers import (
    actions_of,
    function_named,
    new_stack,
    only_resource,
    policy_statements_of_role,
    render,
    resources_of,
)

from drift_constructs import (
    DriftConstructsError,
    DriftDetector,
    DriftDetectorProps,
    drift_status_event_pattern,
)
from drift_constructs.drift_detector import SWEEP_LIST_ACTIONS
from drift_constructs.drift_runtime import events as stack_events
from drift_constructs.drift_runtime import settings

SWEEPER = "infrastructure-drift-sweeper-qa"
VALIDATOR = "infrastructure-drift-validator-qa"
CHECK_QUEUE = "infrastructure-drift-checks-qa"
FAILURE_QUEUE = "infrastructure-drift-failures-qa"


def build(stack: cdk.Stack, **props: Any) -> DriftDetector:
    return DriftDetector(
        stack, "Detector", DriftDetectorProps(environment_suffix="dev", **props)
    )


def logical_id_of(template: Template, resource_type: str, **properties: Any) -> str:
    found = template.find_resources(resource_type, {"Properties": properties})
    assert len(found) == 1, f"expected one {resource_type} {properties}, found {found}"
    return next(iter(found))


def rule_named(template: Template, name: str) -> dict[str, Any]:
    found = template.find_resources("AWS::Events::Rule", {"Properties": {"Name": name}})
    assert len(found) == 1, f"expected one rule {name}, found {sorted(found)}"
    properties: dict[str, Any] = next(iter(found.values()))["Properties"]
    return properties


# The reference stack: tracker, network and the default sweep.


def test_check_queue(reference_template: Template) -> None:
    check_queue = logical_id_of(
        reference_template, "AWS::SQS::Queue", QueueName=CHECK_QUEUE
    )
    failure_queue = logical_id_of(
        reference_template, "AWS::SQS::Queue", QueueName=FAILURE_QUEUE
    )
    properties = resources_of(reference_template, "AWS::SQS::Queue")[check_queue][
        "Properties"
    ]
    assert properties["SqsManagedSseEnabled"] is True
    # Six times the validator's timeout of 5 minutes.
    assert properties["VisibilityTimeout"] == 6 * 300
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [failure_queue, "Arn"]},
        "maxReceiveCount": 20,
    }


def test_validator_consumes_check_queue(reference_template: Template) -> None:
    check_queue = logical_id_of(
        reference_template, "AWS::SQS::Queue", QueueName=CHECK_QUEUE
    )
    mapping = only_resource(reference_template, "AWS::Lambda::EventSourceMapping")
    properties = mapping["Properties"]
    assert properties["EventSourceArn"] == {"Fn::GetAtt": [check_queue, "Arn"]}
    assert properties["FunctionName"]["Ref"].startswith("DriftDetectorValidator")
    assert properties["BatchSize"] == 10
    assert properties["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_validator_knows_check_queue(reference_template: Template) -> None:
    check_queue = logical_id_of(
        reference_template, "AWS::SQS::Queue", QueueName=CHECK_QUEUE
    )
    variables = function_named(reference_template, VALIDATOR)["Environment"][
        "Variables"
    ]
    assert variables[settings.ENV_CHECK_QUEUE_URL] == {"Ref": check_queue}
    assert settings.ENV_MEMBER_ROLE_NAME not in variables


def test_validator_sends_to_check_queue(reference_template: Template) -> None:
    check_queue = logical_id_of(
        reference_template, "AWS::SQS::Queue", QueueName=CHECK_QUEUE
    )
    statements = policy_statements_of_role(
        reference_template, "DriftDetectorValidatorRole"
    )
    # The other SendMessage statement is the on-failure destination's, on the
    # failure queue.
    sends = [
        s
        for s in statements
        if "sqs:SendMessage" in actions_of(s)
        and s["Resource"] == {"Fn::GetAtt": [check_queue, "Arn"]}
    ]
    assert len(sends) == 1
    assert sorted(actions_of(sends[0])) == [
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
    ]


def test_drift_status_rule(reference_template: Template) -> None:
    rule = rule_named(reference_template, "infrastructure-drift-status-qa")
    assert rule["EventPattern"] == {
        "source": ["aws.cloudformation"],
        "detail-type": ["CloudFormation Drift Detection Status Change"],
        "detail": {
            "status-details": {
                "detection-status": ["DETECTION_COMPLETE", "DETECTION_FAILED"]
            }
        },
    }
    assert "EventBusName" not in rule
    (target,) = rule["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("DriftDetectorValidator")


def test_drift_status_pattern_from_runtime() -> None:
    pattern = drift_status_event_pattern()
    assert pattern.detail_type == [stack_events.DRIFT_DETAIL_TYPE]
    assert pattern.detail == {
        "status-details": {
            "detection-status": list(stack_events.FINISHED_DETECTION_STATUSES)
        }
    }


def test_sweeper_function(reference_template: Template) -> None:
    sweeper = function_named(reference_template, SWEEPER)
    assert sweeper["Handler"] == settings.SWEEPER_HANDLER
    assert sweeper["Timeout"] == 300
    assert sweeper["Runtime"] == "python3.14"
    assert sweeper["VpcConfig"]["SecurityGroupIds"]


def test_sweeper_default_environment(reference_template: Template) -> None:
    check_queue = logical_id_of(
        reference_template, "AWS::SQS::Queue", QueueName=CHECK_QUEUE
    )
    variables = function_named(reference_template, SWEEPER)["Environment"]["Variables"]
    assert variables[settings.ENV_CHECK_QUEUE_URL] == {"Ref": check_queue}
    assert variables[settings.ENV_ENVIRONMENT] == "qa"
    assert variables[settings.ENV_SERVICE_NAME] == "drift-sweeper"
    assert json.loads(variables[settings.ENV_SWEEP_INCLUDE]) == ["*"]
    assert json.loads(variables[settings.ENV_SWEEP_EXCLUDE]) == []
    assert json.loads(variables[settings.ENV_SWEEP_TAGS]) == {}
    assert variables[settings.ENV_SWEEP_MIN_AGE_SECONDS] == str(
        settings.DEFAULT_SWEEP_MIN_AGE_SECONDS
    )
    assert json.loads(variables[settings.ENV_SWEEP_REGIONS]) == ["us-east-1"]
    assert json.loads(variables[settings.ENV_MEMBER_ACCOUNTS]) == []
    assert settings.ENV_MEMBER_ROLE_NAME not in variables
    assert variables[settings.ENV_STATE_TABLE]["Ref"].startswith("StateTracker")
    assert variables[settings.ENV_CONFIG_BUCKET]["Ref"].startswith("StateTracker")
    assert variables[settings.ENV_HISTORY_TTL_DAYS] == "90"


def test_sweeper_permissions(reference_template: Template) -> None:
    check_queue = logical_id_of(
        reference_template, "AWS::SQS::Queue", QueueName=CHECK_QUEUE
    )
    table = logical_id_of(
        reference_template,
        "AWS::DynamoDB::Table",
        TableName="infrastructure-state-tracker-qa",
    )
    statements = policy_statements_of_role(
        reference_template, "DriftDetectorSweeperRole"
    )

    by_action: dict[str, list[Any]] = {}
    for statement in statements:
        for action in actions_of(statement):
            by_action.setdefault(action, []).append(statement["Resource"])
    for action in SWEEP_LIST_ACTIONS:
        assert by_action.pop(action) == ["*"]
    failure_queue = logical_id_of(
        reference_template, "AWS::SQS::Queue", QueueName=FAILURE_QUEUE
    )
    # The failure queue is the on-failure destination of asynchronous invocations.
    assert by_action.pop("sqs:SendMessage") == [
        {"Fn::GetAtt": [failure_queue, "Arn"]},
        {"Fn::GetAtt": [check_queue, "Arn"]},
    ]
    for action in ("sqs:GetQueueAttributes", "sqs:GetQueueUrl"):
        assert by_action.pop(action) == [{"Fn::GetAtt": [failure_queue, "Arn"]}]
    for action in ("dynamodb:BatchGetItem", "dynamodb:GetItem"):
        assert by_action.pop(action) == [{"Fn::GetAtt": [table, "Arn"]}]
    # What remains: writing the log group and the VPC network interfaces.
    remaining = sorted(by_action)
    assert all(action.startswith(("logs:", "ec2:")) for action in remaining), remaining


def test_sweep_rule(reference_template: Template) -> None:
    rule = rule_named(reference_template, "infrastructure-drift-sweep-qa")
    assert rule["ScheduleExpression"] == "rate(1 day)"
    assert "EventPattern" not in rule
    (target,) = rule["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("DriftDetectorSweeper")
    assert "FailureQueue" in json.dumps(target["DeadLetterConfig"])


def test_sweeper_invoked_by_rule_only(reference_template: Template) -> None:
    permissions = [
        permission["Properties"]
        for permission in resources_of(
            reference_template, "AWS::Lambda::Permission"
        ).values()
        if "DriftDetectorSweeper"
        in json.dumps(permission["Properties"]["FunctionName"])
    ]
    assert len(permissions) == 1
    assert permissions[0]["Principal"] == "events.amazonaws.com"
    assert permissions[0]["SourceArn"]["Fn::GetAtt"][0].startswith(
        "DriftDetectorSweepRule"
    )


# Custom sweep props, without a tracker.


@pytest.fixture(scope="module")
def custom() -> tuple[DriftDetector, Template]:
    stack = new_stack()
    detector = build(
        stack,
        check_concurrency=5,
        validator_timeout=cdk.Duration.minutes(1),
        sweep_schedule=events.Schedule.cron(minute="0", hour="3"),
        sweep_stack_patterns=["app-*", "svc-[ab]?"],
        sweep_exclude_patterns=["app-sandbox-*"],
        sweep_required_tags={"team": "payments", "cost:center": "1 2"},
        sweep_min_age=cdk.Duration.hours(1),
        sweep_regions=["us-east-1", "eu-west-1"],
        sweeper_timeout=cdk.Duration.minutes(2),
    )
    return detector, Template.from_stack(stack)


def test_custom_environment(custom: tuple[DriftDetector, Template]) -> None:
    template = custom[1]
    variables = function_named(template, "infrastructure-drift-sweeper-dev")[
        "Environment"
    ]["Variables"]
    assert json.loads(variables[settings.ENV_SWEEP_INCLUDE]) == ["app-*", "svc-[ab]?"]
    assert json.loads(variables[settings.ENV_SWEEP_EXCLUDE]) == ["app-sandbox-*"]
    assert json.loads(variables[settings.ENV_SWEEP_TAGS]) == {
        "team": "payments",
        "cost:center": "1 2",
    }
    assert variables[settings.ENV_SWEEP_MIN_AGE_SECONDS] == "3600"
    assert json.loads(variables[settings.ENV_SWEEP_REGIONS]) == [
        "us-east-1",
        "eu-west-1",
    ]
    assert settings.ENV_STATE_TABLE not in variables
    assert settings.ENV_CONFIG_BUCKET not in variables


def test_custom_schedule(custom: tuple[DriftDetector, Template]) -> None:
    rule = rule_named(custom[1], "infrastructure-drift-sweep-dev")
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"


def test_custom_concurrency(custom: tuple[DriftDetector, Template]) -> None:
    mapping = only_resource(custom[1], "AWS::Lambda::EventSourceMapping")
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_custom_visibility_timeout(custom: tuple[DriftDetector, Template]) -> None:
    custom[1].has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": "infrastructure-drift-checks-dev"}
    )
    queues = custom[1].find_resources(
        "AWS::SQS::Queue",
        {"Properties": {"QueueName": "infrastructure-drift-checks-dev"}},
    )
    (queue,) = queues.values()
    assert queue["Properties"]["VisibilityTimeout"] == 6 * 60


def test_custom_sweeper_timeout(custom: tuple[DriftDetector, Template]) -> None:
    sweeper = function_named(custom[1], "infrastructure-drift-sweeper-dev")
    assert sweeper["Timeout"] == 120


def test_swept_regions_in_validator_policy(
    custom: tuple[DriftDetector, Template],
) -> None:
    statements = policy_statements_of_role(custom[1], "DetectorValidatorRole")
    (detect,) = [
        s for s in statements if "cloudformation:DetectStackDrift" in actions_of(s)
    ]
    resources = render(detect["Resource"])
    assert resources == [
        "arn:aws:cloudformation:us-east-1:123456789012:stack/*",
        "arn:aws:cloudformation:eu-west-1:123456789012:stack/*",
    ]


def test_sweeper_without_tracker_reads_no_table(
    custom: tuple[DriftDetector, Template],
) -> None:
    statements = policy_statements_of_role(custom[1], "DetectorSweeperRole")
    actions = {action for s in statements for action in actions_of(s)}
    assert not [action for action in actions if action.startswith("dynamodb:")]
    assert "sts:AssumeRole" not in actions


def test_custom_properties_exposed(custom: tuple[DriftDetector, Template]) -> None:
    detector = custom[0]
    assert detector.sweeper is not None
    assert detector.sweep_rule is not None
    assert detector.check_queue is not None
    assert detector.drift_status_rule is not None
    assert detector.hub_event_bus is None
    assert detector.member_role_name is None


def test_sweep_disabled() -> None:
    stack = new_stack()
    detector = build(stack, sweep_enabled=False)
    template = Template.from_stack(stack)
    assert detector.sweeper is None
    assert detector.sweep_rule is None
    names = [
        function["Properties"]["FunctionName"]
        for function in resources_of(template, "AWS::Lambda::Function").values()
    ]
    assert names == ["infrastructure-drift-validator-dev"]
    rules = sorted(
        rule["Properties"]["Name"]
        for rule in resources_of(template, "AWS::Events::Rule").values()
    )
    assert rules == [
        "infrastructure-drift-status-dev",
        "infrastructure-stack-updates-dev",
    ]
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)


def test_tokens_pass_unvalidated() -> None:
    stack = new_stack()
    pattern = cdk.CfnParameter(stack, "Pattern").value_as_string
    region = cdk.CfnParameter(stack, "Region").value_as_string
    age = cdk.CfnParameter(stack, "Age", type="Number").value_as_number
    build(
        stack,
        sweep_stack_patterns=[pattern],
        sweep_regions=[region],
        sweep_min_age=cdk.Duration.seconds(age),
    )
    variables = function_named(
        Template.from_stack(stack), "infrastructure-drift-sweeper-dev"
    )["Environment"]["Variables"]
    assert "Pattern" in json.dumps(variables[settings.ENV_SWEEP_INCLUDE])
    assert "Region" in json.dumps(variables[settings.ENV_SWEEP_REGIONS])
    assert "Age" in json.dumps(variables[settings.ENV_SWEEP_MIN_AGE_SECONDS])


# Rejected props. Each message names the prop and the rejected value.

REJECTED = [
    ("check_concurrency", 1, "got 1"),
    ("check_concurrency", 1001, "1001"),
    ("check_concurrency", True, "True"),
    ("check_concurrency", 2.5, "2.5"),
    ("check_concurrency", "2", "'2'"),
    ("sweep_enabled", "yes", "'yes'"),
    ("sweep_schedule", "rate(1 day)", "'rate(1 day)'"),
    ("sweep_stack_patterns", "app-*", "'app-*'"),
    ("sweep_stack_patterns", [], "is empty"),
    ("sweep_stack_patterns", [""], "''"),
    ("sweep_stack_patterns", ["app *"], "'app *'"),
    ("sweep_stack_patterns", ["app/x"], "'app/x'"),
    ("sweep_stack_patterns", [3], "pattern 3"),
    ("sweep_exclude_patterns", "app-*", "'app-*'"),
    ("sweep_exclude_patterns", [""], "''"),
    ("sweep_required_tags", ["team"], "['team']"),
    ("sweep_required_tags", {"": "x"}, "key ''"),
    ("sweep_required_tags", {"team": ""}, "value ''"),
    ("sweep_required_tags", {"team": 5}, "value 5"),
    ("sweep_required_tags", {"team": "a\nb"}, "value 'a\\nb'"),
    ("sweep_required_tags", {"k" * 129: "v"}, "1 to 128 characters"),
    ("sweep_required_tags", {"team": "v" * 257}, "1 to 256 characters"),
    ("sweep_min_age", 3600, "3600"),
    ("sweep_min_age", cdk.Duration.millis(1500), "1.5 seconds"),
    ("sweep_regions", "us-east-1", "'us-east-1'"),
    ("sweep_regions", ["US-EAST-1"], "'US-EAST-1'"),
    ("sweep_regions", ["mars-1"], "'mars-1'"),
    ("sweep_regions", [""], "''"),
    ("sweep_regions", ["us-east-1", "us-east-1"], "'us-east-1' more than once"),
    ("sweeper_timeout", cdk.Duration.minutes(16), "960"),
    ("sweeper_timeout", 300, "300"),
    ("validator_timeout", 300, "300"),
]


@pytest.mark.parametrize(("prop", "value", "shown"), REJECTED)
def test_invalid_prop_rejected(prop: str, value: Any, shown: str) -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, **{prop: value})
    message = str(raised.value)
    assert prop in message
    assert shown in message


def test_invalid_sweep_props_rejected_when_off() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="sweep_regions"):
        build(stack, sweep_enabled=False, sweep_regions=["nowhere"])


@pytest.mark.parametrize("concurrency", [2, 1000])
def test_concurrency_limits_accepted(concurrency: int) -> None:
    stack = new_stack()
    detector = build(stack, check_concurrency=concurrency, sweep_enabled=False)
    assert detector.check_queue is not None


def test_oversized_sweep_environment_rejected() -> None:
    stack = new_stack()
    patterns = [f"application-stack-{index:04d}-*" for index in range(200)]
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, sweep_stack_patterns=patterns)
    message = str(raised.value)
    assert "sweep_stack_patterns" in message
    assert "4096" in message
