"""DriftDetector: rule, validator, topic, wiring with a tracker and IAM."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template
from construct_helpers import (
    actions_of,
    function_named,
    identity_statements,
    new_stack,
    only_resource,
    resources_of,
)

from drift_constructs import (
    DriftConstructsError,
    DriftDetector,
    DriftDetectorProps,
    IgnoreRule,
    StateTracker,
    StateTrackerProps,
)
from drift_constructs.drift_runtime import ignore, settings

VALIDATOR = "infrastructure-drift-validator-dev"
UPDATE_HANDLER = "environment-update-handler-dev"
STACK_ARN_PATTERN = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":cloudformation:us-east-1:123456789012:stack/*",
        ],
    ]
}
RULES = (
    IgnoreRule(reason="tags are managed by a tagging service", property_path="/Tags"),
    IgnoreRule(reason="scaled by hand", resource_type="AWS::ECS::Service"),
)


def build(stack: cdk.Stack, **props: Any) -> DriftDetector:
    return DriftDetector(
        stack,
        "Detector",
        DriftDetectorProps(environment_suffix="dev", **props),
    )


@pytest.fixture(scope="module")
def alone_template() -> Template:
    stack = new_stack()
    build(stack, ignore_rules=RULES)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def tracked_template() -> Template:
    stack = new_stack()
    tracker = StateTracker(
        stack, "Tracker", StateTrackerProps(environment_suffix="dev")
    )
    build(stack, state_tracker=tracker)
    return Template.from_stack(stack)


def validator_statements(template: Template) -> list[dict[str, Any]]:
    policies = template.find_resources(
        "AWS::IAM::Policy",
        {
            "Properties": {
                "Roles": [{"Ref": Match.string_like_regexp("DetectorValidator")}]
            }
        },
    )
    assert policies
    statements: list[dict[str, Any]] = []
    for policy in policies.values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def test_rule_name(alone_template: Template) -> None:
    alone_template.has_resource_properties(
        "AWS::Events::Rule", {"Name": "infrastructure-stack-updates-dev"}
    )


def test_rule_pattern(alone_template: Template) -> None:
    alone_template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.cloudformation"],
                "detail-type": ["CloudFormation Stack Status Change"],
                "detail": {
                    "status-details": {
                        "status": [
                            "CREATE_COMPLETE",
                            "UPDATE_COMPLETE",
                            "UPDATE_ROLLBACK_COMPLETE",
                            "IMPORT_COMPLETE",
                        ]
                    }
                },
            }
        },
    )


def test_alone_rule_targets_validator(alone_template: Template) -> None:
    alone_template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {
                            "Fn::GetAtt": [
                                Match.string_like_regexp("DetectorValidator"),
                                "Arn",
                            ]
                        }
                    }
                )
            ]
        },
    )


def test_validator_name_and_entry(alone_template: Template) -> None:
    validator = function_named(alone_template, VALIDATOR)
    assert validator["Handler"] == settings.VALIDATOR_HANDLER


def test_validator_timeout(alone_template: Template) -> None:
    validator = function_named(alone_template, VALIDATOR)
    assert validator["Timeout"] == 300


def test_validator_runtime(alone_template: Template) -> None:
    validator = function_named(alone_template, VALIDATOR)
    assert validator["Runtime"] == "python3.14"
    assert validator["Architectures"] == ["arm64"]


def test_validator_powertools_layer(alone_template: Template) -> None:
    validator = function_named(alone_template, VALIDATOR)
    layer = json.dumps(validator["Layers"])
    assert "arn:aws:lambda:us-east-1:017000801446:layer:" in layer
    assert "AWSLambdaPowertoolsPythonV3-python314-arm64:" in layer


def test_validator_environment(alone_template: Template) -> None:
    variables = function_named(alone_template, VALIDATOR)["Environment"]["Variables"]
    assert variables[settings.ENV_ENVIRONMENT] == "dev"
    assert variables[settings.ENV_METRICS_NAMESPACE] == "DriftConstructs"
    assert variables[settings.ENV_SERVICE_NAME] == "drift-validator"
    assert variables[settings.ENV_ALERT_TOPIC]["Ref"].startswith("DetectorAlertTopic")


def test_ignore_rules_round_trip(alone_template: Template) -> None:
    variables = function_named(alone_template, VALIDATOR)["Environment"]["Variables"]
    assert ignore.parse_rules(variables[settings.ENV_IGNORE_RULES]) == RULES


def test_topic_name(alone_template: Template) -> None:
    alone_template.has_resource_properties(
        "AWS::SNS::Topic", {"TopicName": "infrastructure-drift-alerts-dev"}
    )


def test_status_call_alone_on_star(alone_template: Template) -> None:
    on_star = [
        statement
        for statement in validator_statements(alone_template)
        if "cloudformation:DescribeStackDriftDetectionStatus" in actions_of(statement)
    ]
    assert len(on_star) == 1
    assert on_star[0]["Resource"] == "*"
    assert actions_of(on_star[0]) == [
        "cloudformation:DescribeStackDriftDetectionStatus"
    ]


def test_no_other_cloudformation_on_star(alone_template: Template) -> None:
    for statement in validator_statements(alone_template):
        actions = actions_of(statement)
        cloudformation = [a for a in actions if a.startswith("cloudformation:")]
        if statement["Resource"] == "*":
            assert cloudformation in (
                [],
                ["cloudformation:DescribeStackDriftDetectionStatus"],
            )


def test_detection_limited_to_stacks(alone_template: Template) -> None:
    expected = {
        "cloudformation:DetectStackDrift",
        "cloudformation:DetectStackResourceDrift",
        "cloudformation:DescribeStackResourceDrifts",
        "cloudformation:ListStackResources",
        "cloudformation:DescribeStacks",
        "cloudformation:GetTemplate",
    }
    for statement in validator_statements(alone_template):
        granted = expected & set(actions_of(statement))
        if granted:
            assert statement["Resource"] == STACK_ARN_PATTERN


def test_detection_actions_granted(alone_template: Template) -> None:
    granted: set[str] = set()
    for statement in validator_statements(alone_template):
        granted.update(actions_of(statement))
    assert "cloudformation:DetectStackDrift" in granted
    assert "cloudformation:DescribeStackResourceDrifts" in granted
    assert "cloudformation:ListStackResources" in granted


def test_publish_on_topic(alone_template: Template) -> None:
    publish = [
        statement
        for statement in validator_statements(alone_template)
        if actions_of(statement) == ["sns:Publish"]
    ]
    assert len(publish) == 1
    assert "Ref" in publish[0]["Resource"]


def test_describe_calls_on_star(alone_template: Template) -> None:
    describe = [
        statement
        for statement in validator_statements(alone_template)
        if "dynamodb:DescribeTable" in actions_of(statement)
    ]
    assert len(describe) == 1
    actions = actions_of(describe[0])
    assert describe[0]["Resource"] == "*"
    assert "s3:GetBucketVersioning" in actions
    assert "sqs:GetQueueAttributes" in actions
    assert "lambda:GetFunctionConfiguration" in actions
    assert "sns:GetTopicAttributes" in actions


def test_read_only_access_default(alone_template: Template) -> None:
    role = alone_template.find_resources(
        "AWS::IAM::Role",
        {
            "Properties": {
                "ManagedPolicyArns": Match.array_with(
                    [
                        {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:",
                                    {"Ref": "AWS::Partition"},
                                    ":iam::aws:policy/ReadOnlyAccess",
                                ],
                            ]
                        }
                    ]
                )
            }
        },
    )
    assert len(role) == 1


def test_no_wildcard_actions(tracked_template: Template) -> None:
    for statement in identity_statements(tracked_template):
        for action in actions_of(statement):
            assert "*" not in action, statement


def test_tracked_rule_targets_handler(tracked_template: Template) -> None:
    tracked_template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {
                            "Fn::GetAtt": [
                                Match.string_like_regexp("TrackerUpdateHandler"),
                                "Arn",
                            ]
                        }
                    }
                )
            ]
        },
    )


def test_tracked_handler_knows_validator(tracked_template: Template) -> None:
    variables = function_named(tracked_template, UPDATE_HANDLER)["Environment"][
        "Variables"
    ]
    reference = variables[settings.ENV_VALIDATOR_FUNCTION]
    assert reference["Ref"].startswith("DetectorValidator")


def test_tracked_handler_invokes_validator(tracked_template: Template) -> None:
    invoke = [
        statement
        for statement in identity_statements(tracked_template)
        if actions_of(statement) == ["lambda:InvokeFunction"]
    ]
    assert len(invoke) == 1
    assert "DetectorValidator" in json.dumps(invoke[0]["Resource"])


def test_tracked_validator_state_access(tracked_template: Template) -> None:
    variables = function_named(tracked_template, VALIDATOR)["Environment"]["Variables"]
    assert settings.ENV_STATE_TABLE in variables
    assert settings.ENV_CONFIG_BUCKET in variables


def test_tracked_validator_bucket_prefixes(tracked_template: Template) -> None:
    statements = validator_statements(tracked_template)
    gets = [s for s in statements if actions_of(s) == ["s3:GetObject"]]
    puts = [s for s in statements if actions_of(s) == ["s3:PutObject"]]
    assert len(gets) == 1
    assert len(puts) == 1
    assert json.dumps(gets[0]["Resource"]).endswith('"/baselines/*"]]}')
    assert json.dumps(puts[0]["Resource"]).endswith('"/reports/*"]]}')


def test_tracked_validator_table_access(tracked_template: Template) -> None:
    statements = validator_statements(tracked_template)
    table = [s for s in statements if "dynamodb:PutItem" in actions_of(s)]
    assert len(table) == 1


def test_existing_topic_used() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Existing", topic_name="team-alerts")
    detector = build(stack, alert_topic=topic)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SNS::Topic", 1)
    assert detector.alert_topic is topic


def test_topic_and_props_rejected() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Existing")
    with pytest.raises(DriftConstructsError, match="both"):
        build(
            stack,
            alert_topic=topic,
            alert_topic_props=sns.TopicProps(display_name="Drift"),
        )


def test_topic_props_applied() -> None:
    stack = new_stack()
    build(stack, alert_topic_props=sns.TopicProps(display_name="Drift in dev"))
    Template.from_stack(stack).has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": "infrastructure-drift-alerts-dev", "DisplayName": "Drift in dev"},
    )


def test_explicit_read_statements() -> None:
    stack = new_stack()
    read = iam.PolicyStatement(actions=["ec2:DescribeVpcs"], resources=["*"])
    build(stack, monitored_resources_read_access=[read])
    template = Template.from_stack(stack)
    assert "ReadOnlyAccess" not in json.dumps(resources_of(template, "AWS::IAM::Role"))
    granted = [
        s for s in validator_statements(template) if "ec2:DescribeVpcs" in actions_of(s)
    ]
    assert len(granted) == 1


def test_wildcard_read_statement_rejected() -> None:
    stack = new_stack()
    read = iam.PolicyStatement(actions=["s3:Get*"], resources=["*"])
    with pytest.raises(DriftConstructsError, match="wildcard"):
        build(stack, monitored_resources_read_access=[read])


def test_oversized_ignore_rules_rejected() -> None:
    stack = new_stack()
    rules = [
        IgnoreRule(reason="r" * 100, logical_id=f"Resource{index:03d}" + "x" * 40)
        for index in range(40)
    ]
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, ignore_rules=rules)
    message = str(raised.value)
    assert "ignore_rules" in message
    assert "4096" in message


def test_second_detector_on_tracker_rejected() -> None:
    stack = new_stack()
    tracker = StateTracker(
        stack, "Tracker", StateTrackerProps(environment_suffix="dev")
    )
    build(stack, state_tracker=tracker)
    with pytest.raises(DriftConstructsError, match="one DriftDetector"):
        DriftDetector(
            stack,
            "Second",
            DriftDetectorProps(environment_suffix="dev2", state_tracker=tracker),
        )


def test_validator_timeout_limit() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="validator_timeout"):
        build(stack, validator_timeout=cdk.Duration.minutes(20))


def test_single_topic_resource(alone_template: Template) -> None:
    topic = only_resource(alone_template, "AWS::SNS::Topic")
    assert topic["Properties"]["TopicName"] == "infrastructure-drift-alerts-dev"
