"""Fake bootstrap and deployment of a synthesized CDK stack into the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from drift_constructs.testing.deploy import (
    assets_bucket_name,
    deploy_stack,
    prepare_template,
)
from drift_constructs.testing.emulator import Emulator
from drift_constructs.testing.synth import emulator_environment, synthesize


def _build(app: cdk.App) -> None:
    stack = cdk.Stack(app, "DeployTest", env=emulator_environment())
    s3.Bucket(
        stack,
        "Data",
        versioned=True,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )
    sqs.Queue(stack, "Work")


def test_deploy_synthesized_stack(emulator: Emulator, tmp_path: Path) -> None:
    assembly = synthesize(_build, tmp_path / "cdk.out")

    deployed = deploy_stack(emulator, assembly, "DeployTest", tmp_path / "work")

    ssm = emulator.client("ssm")
    version = ssm.get_parameter(Name="/cdk-bootstrap/hnb659fds/version")
    assert version["Parameter"]["Value"] == "30"
    objects = emulator.client("s3").list_objects_v2(
        Bucket=assets_bucket_name(emulator.account, emulator.region)
    )
    assert any(entry["Key"].endswith(".zip") for entry in objects["Contents"])
    status = emulator.client("cloudformation").describe_stacks(
        StackName=deployed.stack_id
    )["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE"
    targets = [adjustment.target for adjustment in deployed.adjustments]
    assert any("Custom::S3AutoDeleteObjects" in target for target in targets)
    assert any(target.endswith(".VersioningConfiguration") for target in targets), (
        targets
    )
    bucket = deployed.physical_id("Data", "AWS::S3::Bucket")
    versioning = emulator.client("s3").get_bucket_versioning(Bucket=bucket)
    assert versioning["Status"] == "Enabled"

    cloudformation = emulator.client("cloudformation")
    detection = cloudformation.detect_stack_drift(StackName=deployed.stack_id)
    result = cloudformation.describe_stack_drift_detection_status(
        StackDriftDetectionId=detection["StackDriftDetectionId"]
    )
    assert result["StackDriftStatus"] == "IN_SYNC"


def test_prepare_template_removes_custom_chain() -> None:
    template = {
        "Resources": {
            "Handler": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]}},
            },
            "HandlerRole": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Custom": {
                "Type": "Custom::Thing",
                "Properties": {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}},
            },
            "UsesCustom": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": {"Fn::GetAtt": ["Custom", "Name"]}},
            },
            "Kept": {"Type": "AWS::SQS::Queue", "DependsOn": "Custom"},
        },
        "Outputs": {"Name": {"Value": {"Fn::GetAtt": ["UsesCustom", "QueueName"]}}},
    }

    prepared, adjustments = prepare_template(template, "123456789012")

    assert set(prepared["Resources"]) == {"Kept"}
    assert prepared["Outputs"] == {}
    assert len(adjustments) == 5
    assert json.dumps(template).count("Custom::Thing") == 1
