"""Least privilege, encryption, failure paths, app-wide names and prop conflicts."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template
from construct_helpers import (
    ACCOUNT,
    REGION,
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
    PrivateEndpoints,
    PrivateEndpointsProps,
    StateTracker,
    StateTrackerProps,
    _naming,
    _registry,
    add_exported_output,
)
from drift_constructs._function import NETWORK_INTERFACE_ACTIONS
from drift_constructs.drift_detector import (
    BASELINE_DESCRIBE_ACTIONS,
    SWEEP_LIST_ACTIONS,
)
from drift_constructs.drift_runtime import settings

ENVIRONMENT = cdk.Environment(account=ACCOUNT, region=REGION)
VALIDATOR = "infrastructure-drift-validator-qa"
UPDATE_HANDLER = "environment-update-handler-qa"
SWEEPER = "infrastructure-drift-sweeper-qa"
FAILURE_QUEUE = "infrastructure-drift-failures-qa"
# The only actions the library allows on "*", each for a reason commented where the
# statement is added.
ACTIONS_ON_STAR = {
    "cloudformation:DescribeStackDriftDetectionStatus",
    *SWEEP_LIST_ACTIONS,
    *BASELINE_DESCRIBE_ACTIONS,
    *NETWORK_INTERFACE_ACTIONS,
}


def reference(
    app: cdk.App,
    suffix: str,
    *,
    production: bool = False,
    environment: cdk.Environment = ENVIRONMENT,
) -> cdk.Stack:
    from reference_stack import DriftReferenceStack

    return DriftReferenceStack(
        app,
        f"DriftConstructsReference-{suffix}",
        environment_suffix=suffix,
        production=production,
        env=environment,
    )


@pytest.fixture(scope="module")
def production_template() -> Template:
    return Template.from_stack(reference(cdk.App(), "qa", production=True))


def test_no_wildcard_identity_actions(
    reference_template: Template, production_template: Template
) -> None:
    for template in (reference_template, production_template):
        for statement in identity_statements(template):
            for action in actions_of(statement):
                assert "*" not in action, statement


def test_star_resource_only_where_needed(
    reference_template: Template, production_template: Template
) -> None:
    for template in (reference_template, production_template):
        for statement in identity_statements(template):
            if statement["Resource"] == "*":
                assert set(actions_of(statement)) <= ACTIONS_ON_STAR, statement


def test_bucket_policy_wildcards_are_cdk_generated(
    reference_template: Template,
) -> None:
    # Known exception: the SSL Deny on s3:* and the auto-delete statement that CDK
    # writes into the bucket policy. Every other bucket statement lists actions.
    policy = only_resource(reference_template, "AWS::S3::BucketPolicy")
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        wildcards = [action for action in actions_of(statement) if "*" in action]
        if not wildcards:
            continue
        is_ssl_deny = statement["Effect"] == "Deny" and "aws:SecureTransport" in (
            json.dumps(statement.get("Condition"))
        )
        is_auto_delete = all(
            action in {"s3:DeleteObject*", "s3:GetBucket*", "s3:List*"}
            for action in wildcards
        )
        assert is_ssl_deny or is_auto_delete, statement


@pytest.mark.parametrize("role", ["UpdateHandlerRole", "ValidatorRole", "SweeperRole"])
def test_function_roles_unmanaged(reference_template: Template, role: str) -> None:
    # CDK's own custom resource providers keep AWSLambdaBasicExecutionRole.
    roles = resources_of(reference_template, "AWS::IAM::Role")
    (found,) = [value for key, value in roles.items() if role in key]
    managed = json.dumps(found["Properties"].get("ManagedPolicyArns", []))
    assert "AWSLambdaBasicExecutionRole" not in managed
    assert "AWSLambdaVPCAccessExecutionRole" not in managed


def test_logs_scoped_to_log_group(reference_template: Template) -> None:
    writes = [
        statement
        for statement in identity_statements(reference_template)
        if "logs:PutLogEvents" in actions_of(statement)
    ]
    # The three functions and the VPC flow log role.
    assert len(writes) == 4
    for statement in writes:
        assert statement["Resource"] != "*", statement


def test_invoke_on_function_arn_only(reference_template: Template) -> None:
    (invoke,) = [
        statement
        for statement in identity_statements(reference_template)
        if actions_of(statement) == ["lambda:InvokeFunction"]
    ]
    assert invoke["Resource"]["Fn::GetAtt"][1] == "Arn"


@pytest.mark.parametrize("construct_id", ["Validator", "UpdateHandler", "Sweeper"])
def test_async_retries_bounded(reference_template: Template, construct_id: str) -> None:
    configs = reference_template.find_resources("AWS::Lambda::EventInvokeConfig")
    matching = [
        config["Properties"]
        for config in configs.values()
        if construct_id in json.dumps(config["Properties"]["FunctionName"])
    ]
    assert len(matching) == 1
    config = matching[0]
    assert config["MaximumRetryAttempts"] == 2
    assert config["MaximumEventAgeInSeconds"] == 3600
    destination = json.dumps(config["DestinationConfig"]["OnFailure"])
    assert "FailureQueue" in destination


def queue_logical_id(template: Template, queue_name: str) -> str:
    found = template.find_resources(
        "AWS::SQS::Queue", {"Properties": {"QueueName": queue_name}}
    )
    assert len(found) == 1, f"expected one queue {queue_name}, found {sorted(found)}"
    return next(iter(found))


def queue_policy(template: Template, queue_name: str) -> dict[str, Any]:
    logical_id = queue_logical_id(template, queue_name)
    found = template.find_resources(
        "AWS::SQS::QueuePolicy", {"Properties": {"Queues": [{"Ref": logical_id}]}}
    )
    assert len(found) == 1, f"expected one policy of {queue_name}, found {found}"
    policy: dict[str, Any] = next(iter(found.values()))
    return policy


def test_failure_queue(reference_template: Template) -> None:
    queues = resources_of(reference_template, "AWS::SQS::Queue")
    properties = queues[queue_logical_id(reference_template, FAILURE_QUEUE)][
        "Properties"
    ]
    assert properties["SqsManagedSseEnabled"] is True
    assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "RedrivePolicy" not in properties


def test_queues_of_reference_stack(reference_template: Template) -> None:
    names = sorted(
        queue["Properties"]["QueueName"]
        for queue in resources_of(reference_template, "AWS::SQS::Queue").values()
    )
    assert names == ["infrastructure-drift-checks-qa", FAILURE_QUEUE]


@pytest.mark.parametrize(
    "queue_name", [FAILURE_QUEUE, "infrastructure-drift-checks-qa"]
)
def test_queue_denies_plain_http(reference_template: Template, queue_name: str) -> None:
    statements = queue_policy(reference_template, queue_name)["Properties"][
        "PolicyDocument"
    ]["Statement"]
    denies = [statement for statement in statements if statement["Effect"] == "Deny"]
    assert len(denies) == 1
    assert denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_failure_queue_policy(reference_template: Template) -> None:
    policy = queue_policy(reference_template, FAILURE_QUEUE)
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    # One statement per rule that uses the queue as its dead-letter queue: stack
    # updates, drift status and the sweep schedule.
    events = [
        statement
        for statement in statements
        if statement.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert len(events) == 3
    for statement in events:
        assert "aws:SourceArn" in json.dumps(statement["Condition"])
    denies = [statement for statement in statements if statement["Effect"] == "Deny"]
    assert "aws:SecureTransport" in json.dumps(denies)


@pytest.mark.parametrize(
    "rule_name",
    [
        "infrastructure-stack-updates-qa",
        "infrastructure-drift-status-qa",
        "infrastructure-drift-sweep-qa",
    ],
)
def test_rule_target_dlq_and_retries(
    reference_template: Template, rule_name: str
) -> None:
    found = reference_template.find_resources(
        "AWS::Events::Rule", {"Properties": {"Name": rule_name}}
    )
    assert len(found) == 1, sorted(found)
    (target,) = next(iter(found.values()))["Properties"]["Targets"]
    assert "FailureQueue" in json.dumps(target["DeadLetterConfig"])
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 3600


def test_failure_alarm(reference_template: Template) -> None:
    reference_template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "infrastructure-drift-failed-events-qa",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Threshold": 1,
        },
    )


def test_failure_alarm_on_dashboard(reference_template: Template) -> None:
    dashboard = only_resource(reference_template, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "FailureAlarm" in body


@pytest.mark.parametrize(
    ("name", "seconds"), [(VALIDATOR, 300), (UPDATE_HANDLER, 60), (SWEEPER, 300)]
)
def test_function_timeouts(
    reference_template: Template, name: str, seconds: int
) -> None:
    assert function_named(reference_template, name)["Timeout"] == seconds


def test_flow_logs(reference_template: Template) -> None:
    reference_template.has_resource_properties(
        "AWS::EC2::FlowLog", {"TrafficType": "ALL", "ResourceType": "VPC"}
    )


# Encryption.


def test_production_table_kms(production_template: Template) -> None:
    table = only_resource(production_template, "AWS::DynamoDB::Table")
    specification = table["Properties"]["SSESpecification"]
    assert specification["SSEEnabled"] is True
    assert specification["SSEType"] == "KMS"


def test_production_bucket_kms(production_template: Template) -> None:
    bucket = only_resource(production_template, "AWS::S3::Bucket")
    rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_production_topic_kms(production_template: Template) -> None:
    topic = only_resource(production_template, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]


def test_production_keys_rotate(production_template: Template) -> None:
    keys = resources_of(production_template, "AWS::KMS::Key")
    assert len(keys) == 2
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize(
    ("principal", "source"),
    [
        ("events.amazonaws.com", ":events:"),
        ("cloudwatch.amazonaws.com", ":cloudwatch:"),
    ],
)
def test_topic_key_allows_publisher(
    production_template: Template, principal: str, source: str
) -> None:
    keys = production_template.find_resources(
        "AWS::KMS::Key",
        {"Properties": {"Description": Match.string_like_regexp("alert topic")}},
    )
    (key,) = keys.values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (statement,) = [s for s in statements if s["Principal"] == {"Service": principal}]
    assert sorted(actions_of(statement)) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    conditions = statement["Condition"]
    assert conditions["StringEquals"]["aws:SourceAccount"] == ACCOUNT
    assert source in json.dumps(conditions["ArnLike"]["aws:SourceArn"])


@pytest.mark.parametrize(
    "principal", ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
)
def test_topic_policy_allows_publisher(
    production_template: Template, principal: str
) -> None:
    policy = only_resource(production_template, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allowed = [s for s in statements if s.get("Principal") == {"Service": principal}]
    assert len(allowed) == 1
    assert actions_of(allowed[0]) == ["sns:Publish"]


def test_validator_publish_key_grant(production_template: Template) -> None:
    grants = [
        statement
        for statement in identity_statements(production_template)
        if "kms:GenerateDataKey" in actions_of(statement)
        and "AlertTopicKey" in json.dumps(statement["Resource"])
    ]
    assert len(grants) == 1
    assert sorted(actions_of(grants[0])) == ["kms:Decrypt", "kms:GenerateDataKey"]


def detector(stack: cdk.Stack, **props: Any) -> DriftDetector:
    return DriftDetector(
        stack, "Detector", DriftDetectorProps(environment_suffix="dev", **props)
    )


def test_given_topic_key_used() -> None:
    stack = new_stack()
    key = kms.Key(stack, "TeamKey", enable_key_rotation=True)
    detector(stack, alert_topic_encryption_key=key)
    template = Template.from_stack(stack)
    topic = only_resource(template, "AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("TeamKey")


def test_imported_topic_key_warns() -> None:
    stack = new_stack()
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    detector(stack, alert_topic_encryption_key=arn)
    Annotations.from_stack(stack).has_warning(
        "/TestStack/Detector", Match.string_like_regexp("events.amazonaws.com")
    )


AWS_MANAGED_KEYS = [
    "alias/aws/sns",
    f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/sns",
    "alias/aws/s3",
]


@pytest.mark.parametrize("key", AWS_MANAGED_KEYS)
def test_aws_managed_key_string_rejected(key: str) -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError) as raised:
        detector(stack, alert_topic_encryption_key=key)
    message = str(raised.value)
    assert "alert_topic_encryption_key" in message
    assert "AWS-managed" in message
    assert "customer-managed" in message


def test_aws_managed_alias_rejected() -> None:
    stack = new_stack()
    alias = kms.Alias.from_alias_name(stack, "SnsAlias", "alias/aws/sns")
    with pytest.raises(DriftConstructsError, match="alert_topic_encryption_key"):
        detector(stack, alert_topic_encryption_key=alias)


def test_aws_managed_key_arn_rejected() -> None:
    stack = new_stack()
    key = kms.Key.from_key_arn(
        stack, "SnsKey", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/sns"
    )
    with pytest.raises(DriftConstructsError, match="'alias/aws/sns'"):
        detector(stack, alert_topic_encryption_key=key)


def test_aws_managed_master_key_rejected() -> None:
    stack = new_stack()
    alias = kms.Alias.from_alias_name(stack, "SnsAlias", "alias/aws/sns")
    with pytest.raises(DriftConstructsError, match=r"alert_topic_props\.master_key"):
        detector(stack, alert_topic_props=sns.TopicProps(master_key=alias))


@pytest.mark.parametrize("key", ["not-a-key", "arn:aws:s3:::bucket", ""])
def test_invalid_key_string_rejected(key: str) -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="is not a KMS key"):
        detector(stack, alert_topic_encryption_key=key)


def test_topic_and_key_rejected() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "Existing")
    key = kms.Key(stack, "Key")
    with pytest.raises(DriftConstructsError) as raised:
        detector(stack, alert_topic=topic, alert_topic_encryption_key=key)
    message = str(raised.value)
    assert "alert_topic and alert_topic_encryption_key" in message


def test_key_and_master_key_rejected() -> None:
    stack = new_stack()
    first = kms.Key(stack, "First")
    second = kms.Key(stack, "Second")
    with pytest.raises(DriftConstructsError, match="pass the key once"):
        detector(
            stack,
            alert_topic_encryption_key=first,
            alert_topic_props=sns.TopicProps(master_key=second),
        )


def test_tracker_given_keys() -> None:
    stack = new_stack()
    table_key = kms.Key(stack, "TableKey")
    bucket_key = kms.Key(stack, "BucketKey")
    StateTracker(
        stack,
        "Tracker",
        StateTrackerProps(
            environment_suffix="dev",
            table_encryption_key=table_key,
            bucket_encryption_key=bucket_key,
        ),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::KMS::Key", 2)
    table = only_resource(template, "AWS::DynamoDB::Table")
    key_id = table["Properties"]["SSESpecification"]["KMSMasterKeyId"]
    assert key_id["Fn::GetAtt"][0].startswith("TableKey")


# App-wide names.


def test_two_suffixes_one_app() -> None:
    app = cdk.App()
    reference(app, "dev")
    reference(app, "prod")
    assembly = app.synth()
    assert len(assembly.stacks) == 2


def test_same_suffix_same_region_rejected() -> None:
    app = cdk.App()
    reference(app, "dev")
    from reference_stack import DriftReferenceStack

    with pytest.raises(DriftConstructsError) as raised:
        DriftReferenceStack(app, "Second", environment_suffix="dev", env=ENVIRONMENT)
    message = str(raised.value)
    assert "already used by" in message
    assert "'dev'" in message
    assert "environment_suffix" in message


def test_same_suffix_other_account_allowed() -> None:
    app = cdk.App()
    reference(app, "dev")
    other = cdk.Environment(account="210987654321", region=REGION)
    from reference_stack import DriftReferenceStack

    # Bucket names are global, so only the bucket would collide: it contains the
    # account, so it differs.
    DriftReferenceStack(app, "Other", environment_suffix="dev", env=other)
    assert len(app.node.children) == 2


def test_duplicate_export_rejected() -> None:
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENVIRONMENT)
    second = cdk.Stack(app, "Second", env=ENVIRONMENT)
    add_exported_output(first, "Out", value="a", export_name="Team-Out-dev")
    with pytest.raises(DriftConstructsError) as raised:
        add_exported_output(second, "Out", value="b", export_name="Team-Out-dev")
    message = str(raised.value)
    assert "CloudFormation export name 'Team-Out-dev'" in message
    assert "First/Out" in message


def test_export_other_region_allowed() -> None:
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENVIRONMENT)
    second = cdk.Stack(
        app, "Second", env=cdk.Environment(account=ACCOUNT, region="eu-west-1")
    )
    add_exported_output(first, "Out", value="a", export_name="Team-Out-dev")
    output = add_exported_output(second, "Out", value="b", export_name="Team-Out-dev")
    assert output.export_name == "Team-Out-dev"


def test_export_agnostic_stacks_conflict() -> None:
    app = cdk.App()
    first = cdk.Stack(app, "First")
    second = cdk.Stack(app, "Second", env=ENVIRONMENT)
    add_exported_output(first, "Out", value="a", export_name="Team-Out-dev")
    with pytest.raises(DriftConstructsError, match="already used"):
        add_exported_output(second, "Out", value="b", export_name="Team-Out-dev")


@pytest.mark.parametrize("name", ["Team_Out", "Team Out", "", "a" * 256, "Out/dev"])
def test_invalid_export_name_rejected(name: str) -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="export_name"):
        add_exported_output(stack, "Out", value="a", export_name=name)


def test_role_name_claimed_across_regions() -> None:
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENVIRONMENT)
    second = cdk.Stack(
        app, "Second", env=cdk.Environment(account=ACCOUNT, region="eu-west-1")
    )
    _registry.claim_name(first, "IAM role name", "team-role", account_wide=True)
    with pytest.raises(DriftConstructsError) as raised:
        _registry.claim_name(second, "IAM role name", "team-role", account_wide=True)
    message = str(raised.value)
    assert "'team-role' of 'Second' is already used by 'First'" in message
    assert "in the same account," in message


def test_role_name_other_account_allowed() -> None:
    app = cdk.App()
    first = cdk.Stack(app, "First", env=ENVIRONMENT)
    other = cdk.Environment(account="210987654321", region=REGION)
    second = cdk.Stack(app, "Second", env=other)
    _registry.claim_name(first, "IAM role name", "team-role", account_wide=True)
    _registry.claim_name(second, "IAM role name", "team-role", account_wide=True)
    with pytest.raises(DriftConstructsError):
        _registry.claim_name(
            cdk.Stack(app, "Third", env=other),
            "IAM role name",
            "team-role",
            account_wide=True,
        )


def test_queue_name_limit() -> None:
    with pytest.raises(DriftConstructsError) as raised:
        _naming.failure_queue_name("a" * 51)
    message = str(raised.value)
    assert "SQS queue name" in message
    assert "limit of 80" in message


def test_log_group_name() -> None:
    name = _naming.function_log_group_name("infrastructure-drift-validator-qa")
    assert name == "/aws/lambda/infrastructure-drift-validator-qa"


def test_log_group_name_invalid() -> None:
    with pytest.raises(DriftConstructsError, match="log group name"):
        _naming.function_log_group_name("bad name")


# Network props.


def network(stack: cdk.Stack, **props: Any) -> PrivateEndpoints:
    return PrivateEndpoints(
        stack, "Network", PrivateEndpointsProps(environment_suffix="dev", **props)
    )


def isolated_vpc(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Existing",
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            )
        ],
    )


@pytest.mark.parametrize(("prop", "value"), [("max_azs", 3), ("flow_logs", True)])
def test_vpc_conflicts_rejected(prop: str, value: object) -> None:
    stack = new_stack()
    vpc = isolated_vpc(stack)
    with pytest.raises(DriftConstructsError) as raised:
        network(stack, vpc=vpc, **{prop: value})
    message = str(raised.value)
    assert f"vpc and {prop}={value!r}" in message


@pytest.mark.parametrize("max_azs", [0, -1, True])
def test_invalid_max_azs_rejected(max_azs: int) -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="max_azs"):
        network(stack, max_azs=max_azs)


def test_existing_endpoint_left_out() -> None:
    stack = new_stack()
    endpoints = network(stack, existing_endpoint_services=["sns"])
    assert "sns" not in endpoints.interface_endpoints
    assert "sns" in endpoints.services
    template = Template.from_stack(stack)
    count = len(settings.SERVICES_CALLED) - 1
    template.resource_count_is("AWS::EC2::VPCEndpoint", count)


def test_existing_and_requested_rejected() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError) as raised:
        network(
            stack,
            services=sorted(settings.SERVICES_CALLED),
            existing_endpoint_services=["sns"],
        )
    message = str(raised.value)
    assert "services and existing_endpoint_services both contain sns" in message


@pytest.mark.parametrize("service", ["sns", "s3"])
def test_add_existing_endpoint_rejected(service: str) -> None:
    stack = new_stack()
    endpoints = network(stack, existing_endpoint_services=[service])
    add = (
        endpoints.add_gateway_endpoint
        if service == "s3"
        else endpoints.add_interface_endpoint
    )
    with pytest.raises(DriftConstructsError, match="existing_endpoint_services"):
        add(service)


def test_endpoint_admits_functions_on_443(reference_template: Template) -> None:
    endpoints = reference_template.find_resources(
        "AWS::EC2::VPCEndpoint", {"Properties": {"VpcEndpointType": "Interface"}}
    )
    for endpoint in endpoints.values():
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
    reference_template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "FromPort": 443,
            "ToPort": 443,
            "SourceSecurityGroupId": {
                "Fn::GetAtt": [
                    Match.string_like_regexp("NetworkFunctionSecurityGroup"),
                    "GroupId",
                ]
            },
        },
    )
