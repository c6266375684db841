"""Test stack of the baseline tests, with helpers to deploy and capture it."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any

import boto3

from drift_constructs.drift_runtime.baseline import capture_baseline

REGION = "us-east-1"
CAPTURED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

# One resource of each supported type, with the intrinsic functions CDK templates use.
TEMPLATE: dict[str, Any] = {
    "Parameters": {"Retention": {"Type": "Number", "Default": "345600"}},
    "Resources": {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": {"Fn::Sub": "${AWS::StackName}-orders"},
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "Tags": [{"Key": "team", "Value": "data"}],
            },
        },
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
            },
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "Orders"}},
        "DeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": 30,
                "MessageRetentionPeriod": {"Ref": "Retention"},
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]},
                    "maxReceiveCount": 5,
                },
            },
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": LAMBDA_TRUST_POLICY},
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "MemorySize": 256,
                "Timeout": 10,
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                "Environment": {
                    "Variables": {
                        "TABLE": {"Ref": "Table"},
                        "TOPIC": {"Ref": "Topic"},
                        "REGION": {"Ref": "AWS::Region"},
                    }
                },
                "Tags": [{"Key": "team", "Value": "data"}],
            },
        },
    },
    "Outputs": {
        "TableName": {
            "Value": {"Ref": "Table"},
            "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-table"}},
        }
    },
}


def client(service: str) -> Any:
    """Return a boto3 client of ``service`` in the test region."""
    # boto3-stubs types boto3.client per literal service name only.
    make_client: Any = boto3.client
    return make_client(service, region_name=REGION)


def template_copy() -> dict[str, Any]:
    """Return a copy of the test template that a test may change."""
    return copy.deepcopy(TEMPLATE)


def deploy(stack_name: str, template: dict[str, Any] | None = None) -> str:
    """Create a stack in moto and apply what moto's CloudFormation leaves out.

    moto 5.2 creates the bucket without its VersioningConfiguration and the function
    without its Tags, so both are set here the way CloudFormation would set them.
    """
    body = template if template is not None else TEMPLATE
    cloudformation = client("cloudformation")
    stack_id = cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(body),
        Tags=[{"Key": "owner", "Value": "platform"}],
    )["StackId"]
    resources = physical_ids(stack_id)
    versioning = body["Resources"]["Bucket"]["Properties"]["VersioningConfiguration"]
    client("s3").put_bucket_versioning(
        Bucket=resources["Bucket"], VersioningConfiguration=versioning
    )
    lambda_client = client("lambda")
    function_arn = lambda_client.get_function_configuration(
        FunctionName=resources["Function"]
    )["FunctionArn"]
    tags = body["Resources"]["Function"]["Properties"]["Tags"]
    lambda_client.tag_resource(
        Resource=function_arn, Tags={tag["Key"]: tag["Value"] for tag in tags}
    )
    return str(stack_id)


def physical_ids(stack_id: str) -> dict[str, str]:
    """Return the physical id of each logical id of a stack."""
    summaries = client("cloudformation").list_stack_resources(StackName=stack_id)
    return {
        summary["LogicalResourceId"]: summary["PhysicalResourceId"]
        for summary in summaries["StackResourceSummaries"]
    }


def capture(stack_id: str) -> dict[str, Any]:
    """Capture the baseline of a moto stack."""
    return capture_baseline(client("cloudformation"), stack_id, CAPTURED_AT)
