"""StateTracker: table, bucket, update handler, profiles and grants."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match, Template
from construct_helpers import (
    actions_of,
    function_named,
    identity_statements,
    new_stack,
    only_resource,
)

from drift_constructs import (
    DriftConstructsError,
    StateTracker,
    StateTrackerProps,
    stack_update_event_pattern,
)
from drift_constructs.drift_runtime import settings, state

BUCKET_NAME = "infra-config-store-dev-123456789012-us-east-1"


def build(**props: Any) -> tuple[cdk.Stack, StateTracker]:
    stack = new_stack()
    tracker = StateTracker(
        stack,
        "Tracker",
        StateTrackerProps(environment_suffix="dev", **props),
    )
    return stack, tracker


@pytest.fixture(scope="module")
def default_template() -> Template:
    stack, _ = build()
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def production_stack() -> cdk.Stack:
    stack, _ = build(production=True)
    return stack


@pytest.fixture(scope="module")
def production_template(production_stack: cdk.Stack) -> Template:
    return Template.from_stack(production_stack)


def test_table_name(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::DynamoDB::Table", {"TableName": "infrastructure-state-tracker-dev"}
    )


def test_table_keys(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": state.PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": state.SORT_KEY, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": Match.array_with(
                [
                    {"AttributeName": state.PARTITION_KEY, "AttributeType": "S"},
                    {"AttributeName": state.SORT_KEY, "AttributeType": "S"},
                ]
            ),
        },
    )


def test_table_ttl(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TimeToLiveSpecification": {
                "AttributeName": state.TTL_ATTRIBUTE,
                "Enabled": True,
            }
        },
    )


def test_table_on_demand(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::DynamoDB::Table", {"BillingMode": "PAY_PER_REQUEST"}
    )


def test_table_pitr_off_by_default(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": False}},
    )


def test_table_destroyed_by_default(default_template: Template) -> None:
    default_template.has_resource("AWS::DynamoDB::Table", {"DeletionPolicy": "Delete"})


def test_bucket_name(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::S3::Bucket", {"BucketName": BUCKET_NAME}
    )


def test_bucket_encryption(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            }
        },
    )


def test_bucket_blocks_public_access(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            }
        },
    )


def test_bucket_unversioned_by_default(default_template: Template) -> None:
    bucket = only_resource(default_template, "AWS::S3::Bucket")
    assert "VersioningConfiguration" not in bucket["Properties"]


def test_bucket_enforces_ssl(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_bucket_auto_deletes(default_template: Template) -> None:
    default_template.resource_count_is("Custom::S3AutoDeleteObjects", 1)


def test_bucket_destroyed_by_default(default_template: Template) -> None:
    default_template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Delete"})


def test_handler_name_and_entry(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "environment-update-handler-dev",
            "Handler": settings.UPDATE_HANDLER,
        },
    )


def test_handler_timeout_one_minute(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": "environment-update-handler-dev", "Timeout": 60},
    )


def test_handler_environment(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Environment": {
                "Variables": Match.object_like(
                    {
                        settings.ENV_STATE_TABLE: Match.any_value(),
                        settings.ENV_CONFIG_BUCKET: Match.any_value(),
                        settings.ENV_ENVIRONMENT: "dev",
                        settings.ENV_HISTORY_TTL_DAYS: "90",
                        settings.ENV_METRICS_NAMESPACE: "DriftConstructs",
                        settings.ENV_SERVICE_NAME: "environment-update-handler",
                    }
                )
            }
        },
    )


def test_handler_has_no_validator_alone(default_template: Template) -> None:
    function = function_named(default_template, "environment-update-handler-dev")
    variables = function["Environment"]["Variables"]
    assert settings.ENV_VALIDATOR_FUNCTION not in variables


def test_handler_log_group_retention(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "LogGroupName": "/aws/lambda/environment-update-handler-dev",
            "RetentionInDays": 30,
        },
    )


def test_handler_stack_permissions(default_template: Template) -> None:
    default_template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": [
                                "cloudformation:DescribeStacks",
                                "cloudformation:GetTemplate",
                                "cloudformation:ListStackResources",
                            ],
                            "Effect": "Allow",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [
                                        "arn:",
                                        {"Ref": "AWS::Partition"},
                                        ":cloudformation:us-east-1:123456789012:"
                                        "stack/*",
                                    ],
                                ]
                            },
                        }
                    ]
                )
            }
        },
    )


def test_handler_writes_baselines_only(default_template: Template) -> None:
    puts = [
        statement
        for statement in identity_statements(default_template)
        if "s3:PutObject" in actions_of(statement)
    ]
    assert len(puts) == 1
    resource = puts[0]["Resource"]["Fn::Join"][1]
    assert resource[-1] == "/baselines/*"


def test_handler_writes_table(default_template: Template) -> None:
    statements = identity_statements(default_template)
    writes = [s for s in statements if "dynamodb:PutItem" in actions_of(s)]
    assert len(writes) == 1


def test_no_wildcard_identity_actions(default_template: Template) -> None:
    for statement in identity_statements(default_template):
        for action in actions_of(statement):
            assert "*" not in action, statement


def test_production_pitr_on(production_template: Template) -> None:
    production_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    )


def test_production_no_deprecated_pitr(production_template: Template) -> None:
    table = only_resource(production_template, "AWS::DynamoDB::Table")
    assert "PointInTimeRecoveryEnabled" not in table["Properties"]


def test_production_retains_table(production_template: Template) -> None:
    production_template.has_resource(
        "AWS::DynamoDB::Table",
        {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"},
    )


def test_production_retains_bucket(production_template: Template) -> None:
    production_template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})


def test_production_versioned(production_template: Template) -> None:
    production_template.has_resource_properties(
        "AWS::S3::Bucket", {"VersioningConfiguration": {"Status": "Enabled"}}
    )


def test_production_no_auto_delete(production_template: Template) -> None:
    production_template.resource_count_is("Custom::S3AutoDeleteObjects", 0)


def test_production_no_wildcard_anywhere(production_template: Template) -> None:
    # Without auto-delete, the only wildcard action is the bucket's Deny of s3:*
    # over plain HTTP.
    for resource_type in ("AWS::S3::BucketPolicy", "AWS::IAM::Policy"):
        for resource in production_template.find_resources(resource_type).values():
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Deny":
                    continue
                for action in actions_of(statement):
                    assert "*" not in action, statement


def test_retain_warns_about_names(production_stack: cdk.Stack) -> None:
    Annotations.from_stack(production_stack).has_warning(
        "/TestStack/Tracker", Match.string_like_regexp("already exists")
    )


def test_destroy_has_no_warning(default_template: Template) -> None:
    stack, _ = build()
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_retain_policy_disables_auto_delete() -> None:
    stack, _ = build(removal_policy=cdk.RemovalPolicy.RETAIN)
    template = Template.from_stack(stack)
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain"})


def test_explicit_pitr_without_production() -> None:
    stack, _ = build(point_in_time_recovery=True)
    Template.from_stack(stack).has_resource_properties(
        "AWS::DynamoDB::Table",
        {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    )


def test_user_bucket_statement_merges() -> None:
    stack, tracker = build()
    tracker.bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AuditorRead",
            actions=["s3:GetObject"],
            principals=[iam.AccountPrincipal("210987654321")],
            resources=[tracker.bucket.arn_for_objects("reports/*")],
        )
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::S3::BucketPolicy", 1)
    policy = only_resource(template, "AWS::S3::BucketPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    sids = [statement.get("Sid") for statement in statements]
    assert "AuditorRead" in sids
    cleanup = [s for s in statements if "s3:DeleteObject*" in actions_of(s)]
    assert len(cleanup) == 1


def test_grant_read_state() -> None:
    stack, tracker = build()
    role = iam.Role(
        stack, "Reader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
    )
    tracker.grant_read_state(role)
    template = Template.from_stack(stack)
    statements = identity_statements(template)
    reader = [s for s in statements if "dynamodb:Query" in actions_of(s)]
    listing = [s for s in statements if "s3:ListBucket" in actions_of(s)]
    assert len(reader) == 2  # the handler's read/write grant and the reader's
    assert len(listing) == 1


def test_add_to_rule_targets_handler() -> None:
    stack, tracker = build()
    rule = events.Rule(stack, "Updates", event_pattern=stack_update_event_pattern())
    tracker.add_to_rule(rule)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {
                            "Fn::GetAtt": [Match.string_like_regexp("Tracker"), "Arn"]
                        }
                    }
                )
            ]
        },
    )


def test_invalid_ttl_rejected() -> None:
    with pytest.raises(DriftConstructsError, match="history_ttl_days"):
        build(history_ttl_days=0)


def test_timeout_over_limit_rejected() -> None:
    with pytest.raises(DriftConstructsError, match="update_handler_timeout"):
        build(update_handler_timeout=cdk.Duration.minutes(16))
