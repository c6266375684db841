"""Baseline capture and live comparison against stacks deployed in moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from drift_constructs.drift_runtime.baseline import capture_baseline
from drift_constructs.drift_runtime.live import compare_with_baseline
from drift_constructs.drift_runtime.model import DifferenceType

from .stacks import CAPTURED_AT, REGION, capture, client, deploy, physical_ids

pytestmark = pytest.mark.usefixtures("aws")

ACCOUNT = "123456789012"


def test_capture_records_stack_metadata() -> None:
    stack_id = deploy("app-dev")
    baseline = capture(stack_id)

    assert baseline["schema_version"] == 1
    assert baseline["stack_id"] == stack_id
    assert baseline["stack_name"] == "app-dev"
    assert baseline["account"] == ACCOUNT
    assert baseline["region"] == REGION
    assert baseline["partition"] == "aws"
    assert baseline["captured_at"] == "2024-05-01T12:00:00+00:00"
    assert baseline["template"]["format"] == "json"
    assert baseline["template"]["limitation"] is None
    assert baseline["parameters"] == {"Retention": "345600"}
    assert baseline["outputs"] == {"TableName": "app-dev-orders"}
    assert baseline["exports"] == {"TableName": "app-dev-table"}
    assert baseline["tags"] == {"owner": "platform"}
    assert json.loads(json.dumps(baseline)) == baseline


def test_capture_resolves_intrinsics() -> None:
    stack_id = deploy("app-dev")
    ids = physical_ids(stack_id)
    resources = capture(stack_id)["resources"]

    assert set(resources) == set(ids)
    for logical_id, resource in resources.items():
        assert resource["physical_id"] == ids[logical_id]
        assert resource["unresolved"] == []

    table = resources["Table"]
    assert table["type"] == "AWS::DynamoDB::Table"
    assert table["properties"]["TableName"] == "app-dev-orders"
    assert table["properties"]["BillingMode"] == "PAY_PER_REQUEST"

    queue = resources["Queue"]["properties"]
    dead_letter_name = ids["DeadLetters"].rsplit("/", 1)[-1]
    assert queue["MessageRetentionPeriod"] == "345600"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == (
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dead_letter_name}"
    )

    function = resources["Function"]["properties"]
    assert function["Role"] == f"arn:aws:iam::{ACCOUNT}:role/{ids['Role']}"
    assert function["Environment"]["Variables"] == {
        "TABLE": "app-dev-orders",
        "TOPIC": ids["Topic"],
        "REGION": REGION,
    }


def test_role_arn_matches_live_role() -> None:
    stack_id = deploy("app-dev")
    ids = physical_ids(stack_id)
    baseline = capture(stack_id)

    live_arn = client("iam").get_role(RoleName=ids["Role"])["Role"]["Arn"]
    assert baseline["resources"]["Function"]["properties"]["Role"] == live_arn


def test_untouched_stack_has_no_drift(client_factory: Callable[[str], Any]) -> None:
    baseline = capture(deploy("app-dev"))

    drifted, unchecked = compare_with_baseline(baseline, client_factory)

    assert drifted == []
    assert unchecked == []


def _drift_by_id(baseline: dict[str, Any], factory: Callable[[str], Any]) -> Any:
    drifted, unchecked = compare_with_baseline(baseline, factory)
    assert unchecked == []
    return {drift.logical_id: drift for drift in drifted}


def test_out_of_band_changes_are_modified(
    client_factory: Callable[[str], Any],
) -> None:
    stack_id = deploy("app-dev")
    ids = physical_ids(stack_id)
    baseline = capture(stack_id)

    client("dynamodb").update_table(
        TableName=ids["Table"],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    client("s3").put_bucket_versioning(
        Bucket=ids["Bucket"], VersioningConfiguration={"Status": "Suspended"}
    )
    client("sns").set_topic_attributes(
        TopicArn=ids["Topic"], AttributeName="DisplayName", AttributeValue="Changed"
    )
    client("sqs").set_queue_attributes(
        QueueUrl=ids["Queue"], Attributes={"VisibilityTimeout": "60"}
    )

    drifts = _drift_by_id(baseline, client_factory)

    assert set(drifts) == {"Table", "Bucket", "Topic", "Queue"}
    expected = {
        "Table": ("/BillingMode", "PAY_PER_REQUEST", "PROVISIONED"),
        "Bucket": ("/VersioningConfiguration/Status", "Enabled", "Suspended"),
        "Topic": ("/DisplayName", "Orders", "Changed"),
        "Queue": ("/VisibilityTimeout", 30, 60),
    }
    for logical_id, (path, before, after) in expected.items():
        drift = drifts[logical_id]
        assert drift.status == "MODIFIED", logical_id
        assert drift.source == "baseline", logical_id
        assert drift.physical_id == ids[logical_id], logical_id
        assert len(drift.differences) == 1, drift.differences
        difference = drift.differences[0]
        assert difference.path == path
        assert difference.expected == before
        assert difference.actual == after
        assert difference.type is DifferenceType.NOT_EQUAL


def test_function_changes_are_modified(client_factory: Callable[[str], Any]) -> None:
    stack_id = deploy("app-dev")
    ids = physical_ids(stack_id)
    baseline = capture(stack_id)
    variables = baseline["resources"]["Function"]["properties"]["Environment"]
    changed_variables = {**variables["Variables"], "EXTRA": "1"}

    client("lambda").update_function_configuration(
        FunctionName=ids["Function"],
        MemorySize=512,
        Environment={"Variables": changed_variables},
    )

    drift = _drift_by_id(baseline, client_factory)["Function"]

    assert [difference.to_dict() for difference in drift.differences] == [
        {
            "path": "/Environment/Variables/EXTRA",
            "expected": None,
            "actual": "1",
            "type": "ADD",
        },
        {"path": "/MemorySize", "expected": 256, "actual": 512, "type": "NOT_EQUAL"},
    ]


def test_removed_tag_is_reported(client_factory: Callable[[str], Any]) -> None:
    stack_id = deploy("app-dev")
    ids = physical_ids(stack_id)
    baseline = capture(stack_id)
    table_arn = client("dynamodb").describe_table(TableName=ids["Table"])["Table"][
        "TableArn"
    ]

    client("dynamodb").untag_resource(ResourceArn=table_arn, TagKeys=["team"])

    drift = _drift_by_id(baseline, client_factory)["Table"]

    assert len(drift.differences) == 1
    assert drift.differences[0].path == "/Tags/0"
    assert drift.differences[0].type is DifferenceType.REMOVE


def test_stack_tags_on_resources_are_not_drift(
    client_factory: Callable[[str], Any],
) -> None:
    stack_id = deploy("app-dev")
    ids = physical_ids(stack_id)
    baseline = capture(stack_id)
    table_arn = client("dynamodb").describe_table(TableName=ids["Table"])["Table"][
        "TableArn"
    ]

    # CloudFormation copies stack tags to resources and adds aws: tags itself.
    client("dynamodb").tag_resource(
        ResourceArn=table_arn,
        Tags=[
            {"Key": "owner", "Value": "platform"},
            {"Key": "aws:cloudformation:stack-name", "Value": "app-dev"},
        ],
    )

    drifted, _ = compare_with_baseline(baseline, client_factory)

    assert drifted == []


def test_deleted_resources_are_deleted(client_factory: Callable[[str], Any]) -> None:
    stack_id = deploy("app-dev")
    ids = physical_ids(stack_id)
    baseline = capture(stack_id)

    client("sqs").delete_queue(QueueUrl=ids["Queue"])
    client("dynamodb").delete_table(TableName=ids["Table"])
    client("sns").delete_topic(TopicArn=ids["Topic"])
    client("lambda").delete_function(FunctionName=ids["Function"])
    client("s3").delete_bucket(Bucket=ids["Bucket"])

    drifts = _drift_by_id(baseline, client_factory)

    assert set(drifts) == {"Queue", "Table", "Topic", "Function", "Bucket"}
    for logical_id, drift in drifts.items():
        assert drift.status == "DELETED", logical_id
        assert drift.differences == (), logical_id
        assert drift.physical_id == ids[logical_id], logical_id
        assert drift.source == "baseline", logical_id


def test_access_denied_is_unchecked() -> None:
    stack_id = deploy("app-dev")
    baseline = capture(stack_id)
    denied = boto3.client("dynamodb", region_name=REGION)
    stubber = Stubber(denied)
    stubber.add_client_error(
        "describe_table",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform dynamodb:DescribeTable",
        http_status_code=400,
    )

    def factory(service: str) -> Any:
        return denied if service == "dynamodb" else client(service)

    with stubber:
        drifted, unchecked = compare_with_baseline(baseline, factory)

    assert drifted == []
    assert len(unchecked) == 1
    assert unchecked[0].logical_id == "Table"
    assert unchecked[0].resource_type == "AWS::DynamoDB::Table"
    assert "AccessDeniedException" in unchecked[0].reason
    assert "dynamodb:DescribeTable" in unchecked[0].reason


def test_unsupported_types_are_skipped(client_factory: Callable[[str], Any]) -> None:
    stack_id = deploy("app-dev")
    baseline = capture(stack_id)
    client("iam").delete_role(RoleName=physical_ids(stack_id)["Role"])

    drifted, unchecked = compare_with_baseline(baseline, client_factory)

    assert [drift.logical_id for drift in drifted] == []
    assert unchecked == []


def test_yaml_template_gives_limited_baseline() -> None:
    body = "\n".join(
        [
            "Resources:",
            "  Topic:",
            "    Type: AWS::SNS::Topic",
            "    Properties:",
            "      DisplayName: !Sub '${AWS::StackName}-topic'",
        ]
    )
    cloudformation = client("cloudformation")
    stack_id = cloudformation.create_stack(StackName="yaml-app", TemplateBody=body)[
        "StackId"
    ]

    baseline = capture_baseline(cloudformation, stack_id, CAPTURED_AT)

    assert baseline["template"]["format"] == "not-json"
    assert "not JSON" in baseline["template"]["limitation"]
    topic = baseline["resources"]["Topic"]
    assert topic["type"] == "AWS::SNS::Topic"
    assert topic["physical_id"].startswith("arn:aws:sns:")
    assert topic["properties"] == {}


def test_original_template_when_processed_rejected() -> None:
    stack_id = deploy("app-dev")
    cloudformation = client("cloudformation")
    stubbed = boto3.client("cloudformation", region_name=REGION)
    real_template = cloudformation.get_template(StackName=stack_id)["TemplateBody"]
    stubber = Stubber(stubbed)
    stubber.add_response(
        "describe_stacks", cloudformation.describe_stacks(StackName=stack_id)
    )
    stubber.add_client_error(
        "get_template",
        service_error_code="ValidationError",
        expected_params={"StackName": stack_id, "TemplateStage": "Processed"},
    )
    stubber.add_response(
        "get_template",
        {"TemplateBody": json.dumps(real_template)},
        {"StackName": stack_id},
    )
    stubber.add_response(
        "list_stack_resources", cloudformation.list_stack_resources(StackName=stack_id)
    )

    with stubber:
        baseline = capture_baseline(stubbed, stack_id, CAPTURED_AT)

    assert baseline["template"]["stage"] == "Original"
    assert baseline["resources"]["Table"]["properties"]["TableName"] == "app-dev-orders"
