"""The small application stack that the local demo watches for drift."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct

TOPIC_DISPLAY_NAME = "Order notices"


class DemoAppStack(cdk.Stack):
    """An orders table, an uploads bucket, a notices topic and a jobs queue."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.table = dynamodb.Table(
            self,
            "Orders",
            partition_key=dynamodb.Attribute(
                name="pk", type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.bucket = s3.Bucket(
            self,
            "Uploads",
            versioned=True,
            encryption=s3.BucketEncryption.S3_MANAGED,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.topic = sns.Topic(self, "Notices", display_name=TOPIC_DISPLAY_NAME)
        self.queue = sqs.Queue(
            self, "Jobs", visibility_timeout=cdk.Duration.seconds(60)
        )
