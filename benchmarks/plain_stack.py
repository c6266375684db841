"""The reference stack's resources written with plain aws-cdk-lib L2 constructs.

``synth_time.py`` synthesizes this stack and ``DriftReferenceStack`` in turn to
measure what the drift-constructs layer adds to synth time. The resource set
matches the reference stack at its defaults, type by type (57 resources): an
isolated two-AZ VPC with a flow log, four interface and two gateway endpoints,
two security groups, the state table, the config bucket, the failure queue, the
check queue, three functions (update handler, validator, sweeper) with their log
groups and failure destinations, the validator's event source mapping on the
check queue, the stack update, drift status and sweep schedule rules, the topic,
the dashboard, two alarms and five outputs. It reuses the same Lambda code
directory, so asset hashing costs the same. ``synth_time.py`` prints the resource
counts of both templates, so a difference shows up when the reference stack grows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from constructs import Construct

PACKAGE_DIRECTORY = (
    Path(__file__).resolve().parents[1] / "src" / "drift_constructs"
).as_posix()
ASSET_EXCLUDE = ["*", "!drift_runtime", "!drift_runtime/**", "**/__pycache__"]
INTERFACE_SERVICES = ("cloudformation", "lambda", "sns", "sqs")
LAYER_ARN = (
    "arn:aws:lambda:{region}:017000801446:layer:"
    "AWSLambdaPowertoolsPythonV3-python314-arm64:38"
)
METRIC_NAMES = (
    "DriftedStacks",
    "DriftedResources",
    "UncheckedResources",
    "CheckedResources",
    "FailedChecks",
    "StackUpdates",
    "SweptStacks",
    "SkippedStacks",
)
HANDLERS = (
    ("UpdateHandler", "drift_runtime.update_handler.handler"),
    ("Validator", "drift_runtime.validator.handler"),
    ("Sweeper", "drift_runtime.sweeper.handler"),
)


class PlainReferenceStack(Stack):
    """Same resources as ``DriftReferenceStack``, without drift-constructs."""

    def __init__(
        self, scope: Construct, construct_id: str, *, suffix: str = "dev", **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=24,
                )
            ],
        )
        vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                logs.LogGroup(
                    self,
                    "FlowLogGroup",
                    retention=logs.RetentionDays.ONE_MONTH,
                    removal_policy=RemovalPolicy.DESTROY,
                )
            ),
        )
        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        function_group = ec2.SecurityGroup(
            self, "FunctionGroup", vpc=vpc, allow_all_outbound=False
        )
        endpoint_group = ec2.SecurityGroup(
            self, "EndpointGroup", vpc=vpc, allow_all_outbound=False
        )
        function_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443))
        endpoint_group.add_ingress_rule(function_group, ec2.Port.tcp(443))
        for service in INTERFACE_SERVICES:
            vpc.add_interface_endpoint(
                f"Endpoint-{service}",
                service=ec2.InterfaceVpcEndpointAwsService(service),
                subnets=subnets,
                security_groups=[endpoint_group],
                open=False,
            )
        vpc.add_gateway_endpoint(
            "Endpoint-s3",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[subnets],
        )
        vpc.add_gateway_endpoint(
            "Endpoint-dynamodb",
            service=ec2.GatewayVpcEndpointAwsService.DYNAMODB,
            subnets=[subnets],
        )

        table = dynamodb.Table(
            self,
            "StateTable",
            table_name=f"drift-state-{suffix}",
            partition_key=dynamodb.Attribute(
                name="pk", type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expires_at",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            removal_policy=RemovalPolicy.DESTROY,
        )
        bucket = s3.Bucket(
            self,
            "ConfigBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            auto_delete_objects=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        topic = sns.Topic(
            self, "AlertTopic", topic_name=f"drift-alerts-{suffix}", enforce_ssl=True
        )

        failure_queue = sqs.Queue(
            self,
            "FailureQueue",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        check_queue = sqs.Queue(
            self,
            "CheckQueue",
            visibility_timeout=Duration.minutes(30),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=20, queue=failure_queue
            ),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        code = lambda_.Code.from_asset(PACKAGE_DIRECTORY, exclude=ASSET_EXCLUDE)
        functions = {}
        for name, handler in HANDLERS:
            log_group = logs.LogGroup(
                self,
                f"{name}LogGroup",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            )
            layer = lambda_.LayerVersion.from_layer_version_arn(
                self, f"{name}Layer", LAYER_ARN.format(region=self.region)
            )
            functions[name] = lambda_.Function(
                self,
                name,
                runtime=lambda_.Runtime.PYTHON_3_14,
                architecture=lambda_.Architecture.ARM_64,
                handler=handler,
                code=code,
                layers=[layer],
                environment={
                    "STATE_TABLE_NAME": table.table_name,
                    "CONFIG_BUCKET_NAME": bucket.bucket_name,
                    "ALERT_TOPIC_ARN": topic.topic_arn,
                    "CHECK_QUEUE_URL": check_queue.queue_url,
                },
                timeout=Duration.minutes(5),
                memory_size=256,
                log_group=log_group,
                vpc=vpc,
                vpc_subnets=subnets,
                security_groups=[function_group],
                on_failure=destinations.SqsDestination(failure_queue),
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            )
        update_handler = functions["UpdateHandler"]
        validator = functions["Validator"]
        sweeper = functions["Sweeper"]
        validator.add_event_source(
            event_sources.SqsEventSource(
                check_queue,
                batch_size=10,
                max_concurrency=2,
                report_batch_item_failures=True,
            )
        )
        check_queue.grant_send_messages(validator)
        check_queue.grant_send_messages(sweeper)

        stack_arns = self.format_arn(
            service="cloudformation", resource="stack", resource_name="*"
        )
        for function in (update_handler, validator, sweeper):
            table.grant_read_write_data(function)
            bucket.grant_read_write(function)
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=[
                        "cloudformation:DescribeStacks",
                        "cloudformation:GetTemplate",
                        "cloudformation:ListStackResources",
                        "cloudformation:DetectStackDrift",
                        "cloudformation:DescribeStackResourceDrifts",
                    ],
                    resources=[stack_arns],
                )
            )
        validator.grant_invoke(update_handler)
        topic.grant_publish(validator)
        validator.role.add_managed_policy(  # type: ignore[union-attr]
            iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")
        )

        rule = events.Rule(
            self,
            "StackUpdateRule",
            event_pattern=events.EventPattern(
                source=["aws.cloudformation"],
                detail_type=["CloudFormation Stack Status Change"],
                detail={"status-details": {"status": ["UPDATE_COMPLETE"]}},
            ),
        )
        rule.add_target(
            targets.LambdaFunction(
                update_handler, retry_attempts=2, dead_letter_queue=failure_queue
            )
        )
        status_rule = events.Rule(
            self,
            "DriftStatusRule",
            event_pattern=events.EventPattern(
                source=["aws.cloudformation"],
                detail_type=["CloudFormation Drift Detection Status Change"],
                detail={
                    "status-details": {
                        "detection-status": ["DETECTION_COMPLETE", "DETECTION_FAILED"]
                    }
                },
            ),
        )
        status_rule.add_target(
            targets.LambdaFunction(
                validator, retry_attempts=2, dead_letter_queue=failure_queue
            )
        )
        sweep_rule = events.Rule(
            self, "SweepRule", schedule=events.Schedule.rate(Duration.days(1))
        )
        sweep_rule.add_target(
            targets.LambdaFunction(
                sweeper, retry_attempts=2, dead_letter_queue=failure_queue
            )
        )

        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="DriftConstructs",
                metric_name=name,
                dimensions_map={"Environment": suffix},
                statistic=statistic,
                period=Duration.minutes(5),
            )

        alarm = cloudwatch.Alarm(
            self,
            "DriftAlarm",
            metric=metric("DriftedStacks", "Maximum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=(
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        failure_alarm = cloudwatch.Alarm(
            self,
            "FailureAlarm",
            metric=failure_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=(
                cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        failure_alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.AlarmWidget(title="Drift alarm", alarm=alarm),
            cloudwatch.GraphWidget(
                title="Drifted stacks", left=[metric("DriftedStacks", "Maximum")]
            ),
            cloudwatch.GraphWidget(
                title="Resources",
                left=[metric(name, "Sum") for name in METRIC_NAMES[1:4]],
            ),
            cloudwatch.GraphWidget(
                title="Checks",
                left=[metric(name, "Sum") for name in METRIC_NAMES[4:6]],
            ),
            cloudwatch.GraphWidget(
                title="Sweeps", left=[metric(name, "Sum") for name in METRIC_NAMES[6:]]
            ),
            cloudwatch.AlarmWidget(title="Failed events", alarm=failure_alarm),
        )
        for function in (validator, sweeper, update_handler):
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Invocations and errors",
                    left=[function.metric_invocations(), function.metric_errors()],
                ),
                cloudwatch.GraphWidget(
                    title="Duration",
                    left=[
                        function.metric_duration(statistic="Average"),
                        function.metric_duration(statistic="Maximum"),
                    ],
                ),
            )

        outputs = {
            "StateTableName": table.table_name,
            "ConfigBucketName": bucket.bucket_name,
            "DriftValidationFunctionName": validator.function_name,
            "VpcId": vpc.vpc_id,
            "DashboardName": dashboard.dashboard_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
