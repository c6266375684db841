"""DriftMember: forwarding rule, member role, trust in the hub's roles, the example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from construct_helpers import (
    ACCOUNT,
    MEMBER_ACCOUNT,
    REGION,
    actions_of,
    identity_statements,
    new_stack,
    only_resource,
    policy_statements_of_role,
    render,
    resources_of,
)

from drift_constructs import DriftConstructsError, DriftMember, DriftMemberProps
from drift_constructs.drift_detector import (
    BASELINE_DESCRIBE_ACTIONS,
    VALIDATOR_STACK_ACTIONS,
)

HUB_BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/infrastructure-drift-hub-qa"
HUB_ROLE_ARNS = [
    f"arn:aws:iam::{ACCOUNT}:role/drift-hub-validator-qa-us-east-1",
    f"arn:aws:iam::{ACCOUNT}:role/drift-hub-sweeper-qa-us-east-1",
    f"arn:aws:iam::{ACCOUNT}:role/drift-hub-updater-qa-us-east-1",
]


def member_role(template: Template) -> dict[str, Any]:
    found = template.find_resources(
        "AWS::IAM::Role",
        {"Properties": {"RoleName": "drift-constructs-member-qa"}},
    )
    assert len(found) == 1, sorted(found)
    properties: dict[str, Any] = next(iter(found.values()))["Properties"]
    return properties


def test_forward_rule(member_template: Template) -> None:
    rule = only_resource(member_template, "AWS::Events::Rule")["Properties"]
    assert rule["Name"] == "infrastructure-drift-forward-qa"
    assert "EventBusName" not in rule
    assert rule["EventPattern"] == {
        "source": ["aws.cloudformation"],
        "detail-type": [
            "CloudFormation Stack Status Change",
            "CloudFormation Drift Detection Status Change",
        ],
        "detail": {
            "status-details": {
                "$or": [
                    {
                        "status": [
                            "CREATE_COMPLETE",
                            "UPDATE_COMPLETE",
                            "UPDATE_ROLLBACK_COMPLETE",
                            "IMPORT_COMPLETE",
                        ]
                    },
                    {"detection-status": ["DETECTION_COMPLETE", "DETECTION_FAILED"]},
                ]
            }
        },
    }


def test_forward_target(member_template: Template) -> None:
    rule = only_resource(member_template, "AWS::Events::Rule")["Properties"]
    (target,) = rule["Targets"]
    assert render(target["Arn"]) == HUB_BUS_ARN
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith(
        "DriftMemberForwardFailureQueue"
    )
    assert target["RoleArn"]["Fn::GetAtt"][0].startswith("DriftMemberForwardRule")


def test_forward_role_puts_on_hub_bus_only(member_template: Template) -> None:
    statements = policy_statements_of_role(member_template, "DriftMemberForwardRule")
    assert len(statements) == 1
    assert actions_of(statements[0]) == ["events:PutEvents"]
    assert render(statements[0]["Resource"]) == HUB_BUS_ARN


def test_forward_failure_queue(member_template: Template) -> None:
    queue = only_resource(member_template, "AWS::SQS::Queue")["Properties"]
    assert queue["QueueName"] == "infrastructure-drift-forward-failures-qa"
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    policy = only_resource(member_template, "AWS::SQS::QueuePolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_member_role_trust(member_template: Template) -> None:
    trust = member_role(member_template)["AssumeRolePolicyDocument"]["Statement"]
    assert len(trust) == 1
    (statement,) = trust
    assert statement["Action"] == "sts:AssumeRole"
    assert render(statement["Principal"]) == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert render(statement["Condition"]) == {
        "ArnEquals": {"aws:PrincipalArn": HUB_ROLE_ARNS}
    }


def test_member_role_session(member_template: Template) -> None:
    assert member_role(member_template)["MaxSessionDuration"] == 3600


def test_member_role_read_only_access(member_template: Template) -> None:
    managed = render(member_role(member_template)["ManagedPolicyArns"])
    assert managed == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]


def test_member_role_permissions(member_template: Template) -> None:
    statements = policy_statements_of_role(member_template, "DriftMemberMemberRole")
    on_stacks = [s for s in statements if s["Resource"] != "*"]
    assert len(on_stacks) == 1
    assert actions_of(on_stacks[0]) == list(VALIDATOR_STACK_ACTIONS)
    assert render(on_stacks[0]["Resource"]) == (
        f"arn:aws:cloudformation:*:{MEMBER_ACCOUNT}:stack/*"
    )
    on_star = {
        action
        for statement in statements
        if statement["Resource"] == "*"
        for action in actions_of(statement)
    }
    assert on_star == {
        "cloudformation:DescribeStackDriftDetectionStatus",
        "cloudformation:DescribeStacks",
        "cloudformation:ListStacks",
        *BASELINE_DESCRIBE_ACTIONS,
    }


def test_member_no_wildcard_actions(member_template: Template) -> None:
    for statement in identity_statements(member_template):
        for action in actions_of(statement):
            assert "*" not in action, statement


def test_member_outputs(member_template: Template) -> None:
    outputs = member_template.to_json()["Outputs"]
    assert render(outputs["HubEventBusArn"]["Value"]) == HUB_BUS_ARN
    assert outputs["MemberRoleArn"]["Value"]["Fn::GetAtt"][1] == "Arn"


# Hub and member synthesized in one app: the names on both sides agree.


def test_trust_matches_hub_role_names(
    hub_template: Template, member_template: Template
) -> None:
    hub_role_names = sorted(
        role["Properties"]["RoleName"]
        for role in resources_of(hub_template, "AWS::IAM::Role").values()
        if "RoleName" in role["Properties"]
    )
    trusted = render(
        member_role(member_template)["AssumeRolePolicyDocument"]["Statement"][0][
            "Condition"
        ]["ArnEquals"]["aws:PrincipalArn"]
    )
    assert sorted(trusted) == sorted(
        f"arn:aws:iam::{ACCOUNT}:role/{name}" for name in hub_role_names
    )


def test_hub_assumes_member_role(
    hub_template: Template, member_template: Template
) -> None:
    role_name = member_role(member_template)["RoleName"]
    member_role_arn = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/{role_name}"
    for statement in identity_statements(hub_template):
        if "sts:AssumeRole" in actions_of(statement) and "Condition" not in statement:
            assert member_role_arn in render(statement["Resource"])


def test_forward_target_is_hub_bus(
    hub_template: Template, member_template: Template
) -> None:
    bus = only_resource(hub_template, "AWS::Events::EventBus")
    statement = bus["Properties"]["Policy"]["Statement"][0]
    rule = only_resource(member_template, "AWS::Events::Rule")["Properties"]
    (target,) = rule["Targets"]
    assert render(target["Arn"]) == render(statement["Resource"])
    assert f"arn:aws:iam::{MEMBER_ACCOUNT}:root" in render(
        statement["Principal"]["AWS"]
    )


# Member variants.


def build(stack: cdk.Stack, construct_id: str = "Member", **props: Any) -> DriftMember:
    return DriftMember(
        stack,
        construct_id,
        DriftMemberProps(environment_suffix="dev", **props),
    )


def member_stack() -> cdk.Stack:
    return new_stack(account=MEMBER_ACCOUNT)


def test_hub_in_other_region() -> None:
    stack = member_stack()
    member = build(stack, hub_account=ACCOUNT, hub_region="eu-west-1")
    template = Template.from_stack(stack)
    rule = only_resource(template, "AWS::Events::Rule")["Properties"]
    (target,) = rule["Targets"]
    assert render(target["Arn"]) == (
        f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/infrastructure-drift-hub-dev"
    )
    assert render(stack.resolve(list(member.hub_role_arns))) == [
        f"arn:aws:iam::{ACCOUNT}:role/drift-hub-validator-dev-eu-west-1",
        f"arn:aws:iam::{ACCOUNT}:role/drift-hub-sweeper-dev-eu-west-1",
        f"arn:aws:iam::{ACCOUNT}:role/drift-hub-updater-dev-eu-west-1",
    ]


def test_custom_role_name_and_reads() -> None:
    stack = member_stack()
    read = iam.PolicyStatement(actions=["ec2:DescribeVpcs"], resources=["*"])
    build(
        stack,
        hub_account=ACCOUNT,
        member_role_name="team-drift-reader",
        monitored_resources_read_access=[read],
    )
    template = Template.from_stack(stack)
    roles = template.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": "team-drift-reader"}}
    )
    (role,) = roles.values()
    assert "ManagedPolicyArns" not in role["Properties"]
    reads = [
        statement
        for statement in identity_statements(template)
        if actions_of(statement) == ["ec2:DescribeVpcs"]
    ]
    assert len(reads) == 1


def test_without_member_role() -> None:
    stack = member_stack()
    member = build(stack, hub_account=ACCOUNT, create_member_role=False)
    template = Template.from_stack(stack)
    assert member.member_role is None
    names = [
        role["Properties"].get("RoleName")
        for role in resources_of(template, "AWS::IAM::Role").values()
    ]
    # Only the forward rule's role, which CloudFormation names.
    assert names == [None]
    template.resource_count_is("AWS::Events::Rule", 1)


def test_role_name_once_per_account() -> None:
    app = cdk.App()
    stacks = {
        region: cdk.Stack(
            app,
            f"Member-{region}",
            env=cdk.Environment(account=MEMBER_ACCOUNT, region=region),
        )
        for region in ("us-east-1", "us-west-2", "eu-central-1")
    }
    build(stacks["us-east-1"], hub_account=ACCOUNT)
    west = build(
        stacks["us-west-2"],
        hub_account=ACCOUNT,
        hub_region="us-east-1",
        create_member_role=False,
    )
    assert west.member_role is None
    with pytest.raises(DriftConstructsError) as raised:
        build(stacks["eu-central-1"], hub_account=ACCOUNT, hub_region="us-east-1")
    message = str(raised.value)
    assert "IAM role name 'drift-constructs-member-dev'" in message
    assert "in the same account" in message
    assert "create_member_role=False" in message


REJECTED = [
    ("hub_account", "123", "'123'"),
    ("hub_account", 123456789012, "123456789012"),
    ("hub_account", "", "''"),
    ("hub_account", MEMBER_ACCOUNT, "own account"),
    ("hub_region", "EU-WEST-1", "'EU-WEST-1'"),
    ("hub_region", "", "''"),
    ("member_role_name", "bad name", "'bad name'"),
    ("member_role_name", "r" * 65, "65 characters"),
    ("monitored_resources_read_access", [], "is empty"),
    ("create_member_role", "no", "'no'"),
]


@pytest.mark.parametrize(("prop", "value", "shown"), REJECTED)
def test_invalid_member_prop_rejected(prop: str, value: Any, shown: str) -> None:
    props: dict[str, Any] = {"hub_account": ACCOUNT, prop: value}
    with pytest.raises(DriftConstructsError) as raised:
        build(member_stack(), **props)
    message = str(raised.value)
    assert prop in message
    assert shown in message


def test_wildcard_read_statement_rejected() -> None:
    read = iam.PolicyStatement(actions=["s3:Get*"], resources=["*"])
    with pytest.raises(DriftConstructsError, match="wildcard actions"):
        build(
            member_stack(),
            hub_account=ACCOUNT,
            monitored_resources_read_access=[read],
        )


def test_invalid_suffix_rejected() -> None:
    with pytest.raises(DriftConstructsError, match="environment_suffix"):
        DriftMember(
            member_stack(),
            "Member",
            DriftMemberProps(environment_suffix="Dev", hub_account=ACCOUNT),
        )


# The example app of examples/member_stack.py.


def test_example_app_synthesizes(tmp_path: Path) -> None:
    import member_stack

    context = {"environmentSuffix": "qa", "hubAccount": ACCOUNT}
    member_stack.main(cdk.App(outdir=str(tmp_path), context=context))
    template = json.loads(
        (tmp_path / "DriftConstructsMember-qa.template.json").read_text()
    )
    rules = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Events::Rule"
    ]
    assert len(rules) == 1
    assert rules[0]["Properties"]["Name"] == "infrastructure-drift-forward-qa"
    assert f":{ACCOUNT}:event-bus/infrastructure-drift-hub-qa" in json.dumps(rules)


def test_example_app_needs_hub_account() -> None:
    import member_stack

    with pytest.raises(SystemExit, match="hubAccount"):
        member_stack.main(cdk.App(context={"environmentSuffix": "qa"}))
