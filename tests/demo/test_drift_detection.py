"""Drift detection operations of the emulator, through a real boto3 client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drift_constructs.testing.emulator import Emulator

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {"Tags": [{"Key": "team", "Value": "orders"}]},
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "Alerts"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}},
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
    }
}
MODELED = {"Table", "Bucket", "Topic", "Queue"}


def _create_stack(emulator: Emulator) -> str:
    cloudformation = emulator.client("cloudformation")
    stack_id = cloudformation.create_stack(
        StackName="drift-test", TemplateBody=json.dumps(TEMPLATE)
    )["StackId"]
    return str(stack_id)


def _physical_id(emulator: Emulator, stack_id: str, logical_id: str) -> str:
    resource = emulator.client("cloudformation").describe_stack_resource(
        StackName=stack_id, LogicalResourceId=logical_id
    )
    return str(resource["StackResourceDetail"]["PhysicalResourceId"])


def _detect(emulator: Emulator, stack: str) -> tuple[dict[str, Any], dict[str, Any]]:
    cloudformation = emulator.client("cloudformation")
    detection_id = cloudformation.detect_stack_drift(StackName=stack)[
        "StackDriftDetectionId"
    ]
    status = cloudformation.describe_stack_drift_detection_status(
        StackDriftDetectionId=detection_id
    )
    drifts = cloudformation.describe_stack_resource_drifts(StackName=stack)
    by_id = {
        drift["LogicalResourceId"]: drift for drift in drifts["StackResourceDrifts"]
    }
    return status, by_id


def test_unchanged_stack_in_sync(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)

    status, drifts = _detect(emulator, stack_id)

    assert status["DetectionStatus"] == "DETECTION_COMPLETE"
    assert status["StackDriftStatus"] == "IN_SYNC"
    assert status["DriftedStackResourceCount"] == 0
    assert status["StackId"] == stack_id
    for logical_id in MODELED:
        assert drifts[logical_id]["StackResourceDriftStatus"] == "IN_SYNC", logical_id
        assert drifts[logical_id]["PropertyDifferences"] == []


def test_changed_property_modified(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)
    topic_arn = _physical_id(emulator, stack_id, "Topic")
    emulator.client("sns").set_topic_attributes(
        TopicArn=topic_arn, AttributeName="DisplayName", AttributeValue="Changed"
    )

    status, drifts = _detect(emulator, "drift-test")

    assert status["StackDriftStatus"] == "DRIFTED"
    assert status["DriftedStackResourceCount"] == 1
    topic = drifts["Topic"]
    assert topic["StackResourceDriftStatus"] == "MODIFIED"
    assert topic["PropertyDifferences"] == [
        {
            "PropertyPath": "/DisplayName",
            "ExpectedValue": "Alerts",
            "ActualValue": "Changed",
            "DifferenceType": "NOT_EQUAL",
        }
    ]
    assert json.loads(topic["ExpectedProperties"]) == {"DisplayName": "Alerts"}
    assert json.loads(topic["ActualProperties"])["DisplayName"] == "Changed"
    assert drifts["Table"]["StackResourceDriftStatus"] == "IN_SYNC"


def test_table_billing_mode_modified(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)
    table = _physical_id(emulator, stack_id, "Table")
    emulator.client("dynamodb").update_table(
        TableName=table,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )

    _, drifts = _detect(emulator, stack_id)

    differences = drifts["Table"]["PropertyDifferences"]
    assert [d["PropertyPath"] for d in differences] == ["/BillingMode"]
    assert differences[0]["ExpectedValue"] == "PAY_PER_REQUEST"
    assert differences[0]["ActualValue"] == "PROVISIONED"


def test_removed_tag_reported(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)
    bucket = _physical_id(emulator, stack_id, "Bucket")
    emulator.client("s3").delete_bucket_tagging(Bucket=bucket)

    _, drifts = _detect(emulator, stack_id)

    differences = drifts["Bucket"]["PropertyDifferences"]
    assert drifts["Bucket"]["StackResourceDriftStatus"] == "MODIFIED"
    assert differences[0]["PropertyPath"] == "/Tags/0"
    assert differences[0]["DifferenceType"] == "REMOVE"


def test_deleted_resource_deleted(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)
    queue_url = _physical_id(emulator, stack_id, "Queue")
    emulator.client("sqs").delete_queue(QueueUrl=queue_url)

    status, drifts = _detect(emulator, stack_id)

    assert status["StackDriftStatus"] == "DRIFTED"
    assert drifts["Queue"]["StackResourceDriftStatus"] == "DELETED"
    assert "ActualProperties" not in drifts["Queue"]


def test_unmodeled_type_not_checked(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)

    status, drifts = _detect(emulator, stack_id)

    assert drifts["Role"]["StackResourceDriftStatus"] == "NOT_CHECKED"
    assert "AWS::IAM::Role" in drifts["Role"]["DriftStatusReason"]
    assert status["StackDriftStatus"] == "IN_SYNC"


def test_resource_drifts_paginate(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)
    _detect(emulator, stack_id)
    cloudformation = emulator.client("cloudformation")

    seen: list[str] = []
    pages = 0
    params: dict[str, Any] = {"StackName": stack_id, "MaxResults": 2}
    while True:
        page = cloudformation.describe_stack_resource_drifts(**params)
        pages += 1
        assert len(page["StackResourceDrifts"]) <= 2
        seen += [drift["LogicalResourceId"] for drift in page["StackResourceDrifts"]]
        if "NextToken" not in page:
            break
        params["NextToken"] = page["NextToken"]

    assert pages == 3
    assert sorted(seen) == sorted(TEMPLATE["Resources"])


def test_status_filter_and_invalid_token(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)
    _detect(emulator, stack_id)
    cloudformation = emulator.client("cloudformation")

    page = cloudformation.describe_stack_resource_drifts(
        StackName=stack_id, StackResourceDriftStatusFilters=["NOT_CHECKED"]
    )
    assert [d["LogicalResourceId"] for d in page["StackResourceDrifts"]] == ["Role"]
    with pytest.raises(ClientError, match="Invalid NextToken"):
        cloudformation.describe_stack_resource_drifts(
            StackName=stack_id, NextToken="not-a-token"
        )


def test_single_resource_detection(emulator: Emulator) -> None:
    stack_id = _create_stack(emulator)

    drift = emulator.client("cloudformation").detect_stack_resource_drift(
        StackName=stack_id, LogicalResourceId="Queue"
    )["StackResourceDrift"]

    assert drift["StackResourceDriftStatus"] == "IN_SYNC"
    assert drift["PhysicalResourceId"].endswith(
        drift["PhysicalResourceId"].split("/")[-1]
    )


def test_unknown_stack_rejected(emulator: Emulator) -> None:
    with pytest.raises(ClientError, match="does not exist"):
        emulator.client("cloudformation").detect_stack_drift(StackName="missing")
