"""PrivateEndpoints: isolated VPC, gateway and interface endpoints, security groups."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Match, Template
from construct_helpers import function_named, new_stack, resources_of

from drift_constructs import (
    DriftConstructsError,
    DriftDetector,
    DriftDetectorProps,
    PrivateEndpoints,
    PrivateEndpointsProps,
    StateTracker,
    StateTrackerProps,
)
from drift_constructs.drift_runtime import settings
from drift_constructs.private_endpoints import GATEWAY_SERVICES

INTERFACE_SERVICES = sorted(settings.SERVICES_CALLED - set(GATEWAY_SERVICES))


def build(stack: cdk.Stack, **props: Any) -> PrivateEndpoints:
    return PrivateEndpoints(
        stack,
        "Network",
        PrivateEndpointsProps(environment_suffix="dev", **props),
    )


@pytest.fixture(scope="module")
def network_template() -> Template:
    stack = new_stack()
    network = build(stack)
    tracker = StateTracker(
        stack,
        "Tracker",
        StateTrackerProps(environment_suffix="dev", network=network),
    )
    DriftDetector(
        stack,
        "Detector",
        DriftDetectorProps(
            environment_suffix="dev", network=network, state_tracker=tracker
        ),
    )
    return Template.from_stack(stack)


def service_name(service: str) -> dict[str, object]:
    return {
        "Fn::Join": [
            "",
            ["com.amazonaws.", {"Ref": "AWS::Region"}, f".{service}"],
        ]
    }


def endpoint_for(template: Template, service: str) -> dict[str, object]:
    found = template.find_resources(
        "AWS::EC2::VPCEndpoint",
        {"Properties": {"ServiceName": Match.string_like_regexp(f"\\.{service}$")}},
    )
    if not found:
        found = template.find_resources(
            "AWS::EC2::VPCEndpoint",
            {"Properties": {"ServiceName": service_name(service)}},
        )
    assert len(found) == 1, f"expected one endpoint for {service}, found {found}"
    return dict(next(iter(found.values()))["Properties"])


def test_no_internet_gateway(network_template: Template) -> None:
    network_template.resource_count_is("AWS::EC2::InternetGateway", 0)


def test_no_nat_gateway(network_template: Template) -> None:
    network_template.resource_count_is("AWS::EC2::NatGateway", 0)


def test_subnets_are_isolated(network_template: Template) -> None:
    for subnet in resources_of(network_template, "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


@pytest.mark.parametrize("service", sorted(settings.SERVICES_CALLED))
def test_endpoint_per_service(network_template: Template, service: str) -> None:
    endpoint = endpoint_for(network_template, service)
    assert endpoint["VpcEndpointType"] in ("Gateway", "Interface")


@pytest.mark.parametrize("service", sorted(GATEWAY_SERVICES))
def test_gateway_endpoints(network_template: Template, service: str) -> None:
    endpoint = endpoint_for(network_template, service)
    assert endpoint["VpcEndpointType"] == "Gateway"


@pytest.mark.parametrize("service", INTERFACE_SERVICES)
def test_interface_private_dns(network_template: Template, service: str) -> None:
    endpoint = endpoint_for(network_template, service)
    assert endpoint["VpcEndpointType"] == "Interface"
    assert endpoint["PrivateDnsEnabled"] is True


@pytest.mark.parametrize("service", INTERFACE_SERVICES)
def test_interface_in_isolated_subnets(
    network_template: Template, service: str
) -> None:
    endpoint = endpoint_for(network_template, service)
    subnets = endpoint["SubnetIds"]
    assert isinstance(subnets, list)
    assert len(subnets) == 2


def test_https_ingress_from_functions(network_template: Template) -> None:
    network_template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "IpProtocol": "tcp",
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


def test_endpoint_group_has_no_cidr_ingress(network_template: Template) -> None:
    groups = network_template.find_resources(
        "AWS::EC2::SecurityGroup",
        {"Properties": {"SecurityGroupIngress": Match.any_value()}},
    )
    assert groups == {}


@pytest.mark.parametrize(
    "name", ["environment-update-handler-dev", "infrastructure-drift-validator-dev"]
)
def test_functions_in_vpc(network_template: Template, name: str) -> None:
    config = function_named(network_template, name)["VpcConfig"]
    (group,) = config["SecurityGroupIds"]
    assert group["Fn::GetAtt"][0].startswith("NetworkFunctionSecurityGroup")


def test_missing_service_fails() -> None:
    stack = new_stack()
    services = sorted(settings.SERVICES_CALLED - {"sqs"})
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, services=services)
    message = str(raised.value)
    assert "sqs" in message
    assert "cloudformation" not in message


def test_existing_endpoint_counts() -> None:
    stack = new_stack()
    services = sorted(settings.SERVICES_CALLED - {"sqs"})
    network = build(stack, services=services, existing_endpoint_services=["sqs"])
    assert "sqs" in network.services
    assert "sqs" not in network.interface_endpoints


def test_endpoint_requested_twice_reused() -> None:
    stack = new_stack()
    network = build(stack)
    first = network.interface_endpoints["sns"]
    assert network.add_interface_endpoint("sns") is first


def test_second_network_reuses_endpoints() -> None:
    stack = new_stack()
    first = build(stack)
    second = PrivateEndpoints(
        stack, "Second", PrivateEndpointsProps(environment_suffix="qa", vpc=first.vpc)
    )
    reused = second.interface_endpoints["sns"].node.path
    assert reused == first.interface_endpoints["sns"].node.path
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::VPCEndpoint", len(settings.SERVICES_CALLED))


def test_gateway_service_as_interface_rejected() -> None:
    stack = new_stack()
    network = build(stack)
    with pytest.raises(DriftConstructsError, match="gateway endpoint"):
        network.add_interface_endpoint("s3")


def test_existing_vpc_used() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Existing",
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            )
        ],
    )
    network = build(stack, vpc=vpc)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::VPC", 1)
    assert network.vpc is vpc


def test_invalid_service_name_rejected() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="invalid service name"):
        build(stack, services=[*settings.SERVICES_CALLED, "Bad Name"])


def test_cross_account_adds_sts() -> None:
    stack = new_stack()
    network = build(stack, cross_account=True)
    assert "sts" in network.interface_endpoints
    assert network.services == settings.SERVICES_CALLED | {"sts"}
    Template.from_stack(stack).resource_count_is(
        "AWS::EC2::VPCEndpoint", len(settings.SERVICES_CALLED) + 1
    )


def test_no_sts_by_default() -> None:
    stack = new_stack()
    network = build(stack)
    assert "sts" not in network.services


def test_cross_account_requires_sts() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError) as raised:
        build(stack, cross_account=True, services=sorted(settings.SERVICES_CALLED))
    message = str(raised.value)
    assert "leaves out endpoints for sts" in message


def test_cross_account_existing_sts() -> None:
    stack = new_stack()
    network = build(stack, cross_account=True, existing_endpoint_services=["sts"])
    assert "sts" in network.services
    assert "sts" not in network.interface_endpoints


def test_cross_account_not_bool_rejected() -> None:
    stack = new_stack()
    with pytest.raises(DriftConstructsError, match="cross_account must be True or"):
        build(stack, cross_account="yes")
