"""PrivateEndpoints: a VPC without internet access in which the drift functions run."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

from constructs import Construct

from . import _naming
from .drift_runtime import settings
from .errors import DriftConstructsError

HTTPS_PORT = 443

# Services reached through gateway endpoints, which route by prefix list and need no
# security group. Every other service gets an interface endpoint.
GATEWAY_SERVICES: Mapping[str, ec2.GatewayVpcEndpointAwsService] = MappingProxyType(
    {
        "s3": ec2.GatewayVpcEndpointAwsService.S3,
        "dynamodb": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
    }
)

_SERVICE_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]*")

DEFAULT_MAX_AZS = 2


@dataclass(frozen=True, kw_only=True)
class PrivateEndpointsProps:
    """Props of ``PrivateEndpoints``.

    Attributes:
        environment_suffix: Environment name appended to every resource name, for
            example ``"dev"``: lowercase letters, digits and hyphens.
        vpc: VPC to add the endpoints to. Default: a new VPC with one private
            isolated subnet per availability zone, no NAT gateway and no internet
            gateway.
        subnet_selection: Subnets for the interface endpoints and the functions.
            Default: the VPC's private isolated subnets.
        max_azs: Number of availability zones of the new VPC. Cannot be combined
            with ``vpc``. Default: 2.
        services: Endpoint service names (as in ``com.amazonaws.<region>.<name>``)
            to create endpoints for. ``s3`` and ``dynamodb`` get gateway endpoints,
            all others interface endpoints with private DNS. Default: the services
            the drift functions call, ``settings.SERVICES_CALLED``, plus
            ``settings.CROSS_ACCOUNT_SERVICES`` when ``cross_account``.
        existing_endpoint_services: Services for which the VPC already has an
            endpoint that this construct did not create. No endpoint is created for
            them and they count as present in the check below. A service listed
            here and in ``services`` is rejected, because two interface endpoints
            with private DNS for one service cannot coexist in a VPC. Default: none.
        flow_logs: Whether the new VPC sends flow logs of all traffic to a
            CloudWatch Logs log group. Cannot be combined with ``vpc``. Default:
            True for a new VPC.
        flow_log_retention: Retention of the flow log group. Default: one month.
        removal_policy: Removal policy of the flow log group. Default: DESTROY.
        cross_account: Whether the functions also reach other accounts, as the
            validator and sweeper of a hub ``DriftDetector`` do: they assume member
            roles through STS, so ``settings.CROSS_ACCOUNT_SERVICES`` (``sts``)
            becomes required too. A hub ``DriftDetector`` rejects a network without
            an STS endpoint. Default: False.

    Every service in ``settings.SERVICES_CALLED`` (and, with ``cross_account``, in
    ``settings.CROSS_ACCOUNT_SERVICES``) must be in ``services`` or
    ``existing_endpoint_services``, because a function without NAT reaches only
    services that have an endpoint in its VPC.
    """

    environment_suffix: str
    vpc: ec2.IVpc | None = None
    subnet_selection: ec2.SubnetSelection | None = None
    max_azs: int | None = None
    services: Sequence[str] | None = None
    existing_endpoint_services: Sequence[str] = ()
    flow_logs: bool | None = None
    flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    removal_policy: RemovalPolicy | None = None
    cross_account: bool = False


class PrivateEndpoints(Construct):
    """VPC endpoints for every AWS service the drift functions call.

    Pass this construct as ``network`` to ``StateTracker`` and ``DriftDetector`` to
    run their functions in ``subnet_selection`` with ``security_group``. Interface
    endpoints admit TCP 443 only from that security group.

    Endpoints are created as children of the VPC with a fixed id per service, so a
    second ``PrivateEndpoints`` on the same VPC reuses them and only opens them to
    its own function security group. Two interface endpoints with private DNS for
    one service cannot coexist in a VPC.

    NOTE: when the VPC belongs to another stack, the endpoints are created in that
    stack, as with ``IVpc.add_interface_endpoint``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: PrivateEndpointsProps
    ) -> None:
        super().__init__(scope, construct_id)

        # Validate.
        _naming.validate_suffix(props.environment_suffix)
        _naming.warn_if_suffix_is_token(self, props.environment_suffix)
        if not isinstance(props.cross_account, bool):
            raise DriftConstructsError(
                f"cross_account must be True or False, got {props.cross_account!r}"
            )
        required = frozenset(settings.SERVICES_CALLED)
        if props.cross_account:
            required |= settings.CROSS_ACCOUNT_SERVICES
        existing = _validated_services(
            "existing_endpoint_services", props.existing_endpoint_services
        )
        if props.services is None:
            requested = required - existing
        else:
            requested = _validated_services("services", props.services)
        _check_existing_not_requested(requested, existing)
        _check_required_services(requested, existing, required)
        _check_vpc_props(props)

        # Create.
        self._environment_suffix = props.environment_suffix
        self._existing_services = existing
        self._vpc = props.vpc or self._create_vpc(props)
        self._subnet_selection = props.subnet_selection or ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
        )
        self._security_group = ec2.SecurityGroup(
            self,
            "FunctionSecurityGroup",
            vpc=self._vpc,
            description=(
                f"drift-constructs functions ({props.environment_suffix}): HTTPS out "
                "to VPC endpoints"
            ),
            allow_all_outbound=False,
        )
        self._endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self._vpc,
            description=(
                f"drift-constructs interface endpoints ({props.environment_suffix}): "
                "HTTPS in from the drift functions"
            ),
            allow_all_outbound=False,
        )
        self._interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        self._gateway_endpoints: dict[str, ec2.GatewayVpcEndpoint] = {}

        # Wire.
        # Gateway endpoint traffic goes to prefix lists that are unknown at synth
        # time, so the functions may send HTTPS anywhere. Without NAT or an internet
        # gateway, only the endpoints can respond.
        self._security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(HTTPS_PORT),
            "HTTPS to VPC endpoints",
        )
        self._endpoint_security_group.add_ingress_rule(
            self._security_group,
            ec2.Port.tcp(HTTPS_PORT),
            "HTTPS from the drift functions",
        )
        for service in sorted(requested):
            if service in GATEWAY_SERVICES:
                self.add_gateway_endpoint(service)
            else:
                self.add_interface_endpoint(service)

        # Expose: properties below.
        self._services = frozenset(requested | existing)

    @staticmethod
    def _endpoint_id(service: str) -> str:
        return f"DriftConstructsEndpoint-{service}"

    def _create_vpc(self, props: PrivateEndpointsProps) -> ec2.Vpc:
        flow_logs: dict[str, ec2.FlowLogOptions] | None = None
        if props.flow_logs is not False:
            log_group = logs.LogGroup(
                self,
                "FlowLogGroup",
                retention=props.flow_log_retention,
                removal_policy=props.removal_policy or RemovalPolicy.DESTROY,
            )
            flow_logs = {
                "FlowLog": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            }
        return ec2.Vpc(
            self,
            "Vpc",
            vpc_name=f"drift-constructs-{props.environment_suffix}",
            max_azs=props.max_azs if props.max_azs is not None else DEFAULT_MAX_AZS,
            flow_logs=flow_logs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=24,
                )
            ],
        )

    def add_interface_endpoint(self, service: str) -> ec2.InterfaceVpcEndpoint:
        """Add an interface endpoint with private DNS, or reuse the VPC's existing one.

        The endpoint admits TCP 443 from this construct's function security group.

        Raises:
            DriftConstructsError: when ``service`` is a gateway service, is listed in
                ``existing_endpoint_services``, or when the VPC has a construct with
                the endpoint's id that is not an interface endpoint.
        """
        if service in GATEWAY_SERVICES:
            raise DriftConstructsError(
                f"service {service!r} uses a gateway endpoint; call "
                "add_gateway_endpoint instead"
            )
        if service in self._interface_endpoints:
            return self._interface_endpoints[service]
        if service in self._existing_services:
            raise DriftConstructsError(
                f"cannot add an interface endpoint for {service!r}: it is listed in "
                "existing_endpoint_services, so the VPC already has one, and a "
                "second endpoint with private DNS for the same service fails to "
                "deploy"
            )

        endpoint_id = self._endpoint_id(service)
        found = self._vpc.node.try_find_child(endpoint_id)
        if found is None:
            endpoint = self._vpc.add_interface_endpoint(
                endpoint_id,
                service=ec2.InterfaceVpcEndpointAwsService(service),
                private_dns_enabled=True,
                subnets=self._subnet_selection,
                security_groups=[self._endpoint_security_group],
                open=False,
            )
        elif isinstance(found, ec2.InterfaceVpcEndpoint):
            endpoint = found
            endpoint.connections.allow_from(
                self._security_group,
                ec2.Port.tcp(HTTPS_PORT),
                f"HTTPS from the drift functions ({self._environment_suffix})",
            )
        else:
            raise DriftConstructsError(
                f"cannot add an interface endpoint for {service!r}: the VPC already "
                f"has a construct with id {endpoint_id!r} that is not an interface "
                "endpoint"
            )
        self._interface_endpoints[service] = endpoint
        return endpoint

    def add_gateway_endpoint(self, service: str) -> ec2.GatewayVpcEndpoint:
        """Add a gateway endpoint (``s3`` or ``dynamodb``), or reuse the VPC's one.

        Raises:
            DriftConstructsError: when ``service`` has no gateway endpoint, is listed
                in ``existing_endpoint_services``, or the VPC has a construct with
                the endpoint's id that is not a gateway endpoint.
        """
        if service not in GATEWAY_SERVICES:
            raise DriftConstructsError(
                f"service {service!r} has no gateway endpoint; gateway endpoints "
                f"exist for {sorted(GATEWAY_SERVICES)}"
            )
        if service in self._gateway_endpoints:
            return self._gateway_endpoints[service]
        if service in self._existing_services:
            raise DriftConstructsError(
                f"cannot add a gateway endpoint for {service!r}: it is listed in "
                "existing_endpoint_services, so the VPC already has one, and a route "
                "table holds one route per service prefix list"
            )

        endpoint_id = self._endpoint_id(service)
        found = self._vpc.node.try_find_child(endpoint_id)
        if found is None:
            endpoint = self._vpc.add_gateway_endpoint(
                endpoint_id,
                service=GATEWAY_SERVICES[service],
                subnets=[self._subnet_selection],
            )
        elif isinstance(found, ec2.GatewayVpcEndpoint):
            endpoint = found
        else:
            raise DriftConstructsError(
                f"cannot add a gateway endpoint for {service!r}: the VPC already has "
                f"a construct with id {endpoint_id!r} that is not a gateway endpoint"
            )
        self._gateway_endpoints[service] = endpoint
        return endpoint

    @property
    def environment_suffix(self) -> str:
        """Environment suffix of this construct's resource names."""
        return self._environment_suffix

    @property
    def vpc(self) -> ec2.IVpc:
        """VPC the endpoints are in."""
        return self._vpc

    @property
    def subnet_selection(self) -> ec2.SubnetSelection:
        """Subnets of the interface endpoints, for the functions."""
        return self._subnet_selection

    @property
    def security_group(self) -> ec2.ISecurityGroup:
        """Security group for the functions, admitted by the interface endpoints."""
        return self._security_group

    @property
    def endpoint_security_group(self) -> ec2.ISecurityGroup:
        """Security group of the interface endpoints this construct created."""
        return self._endpoint_security_group

    @property
    def interface_endpoints(self) -> Mapping[str, ec2.InterfaceVpcEndpoint]:
        """Interface endpoints by service name, created or reused."""
        return MappingProxyType(self._interface_endpoints)

    @property
    def gateway_endpoints(self) -> Mapping[str, ec2.GatewayVpcEndpoint]:
        """Gateway endpoints by service name, created or reused."""
        return MappingProxyType(self._gateway_endpoints)

    @property
    def services(self) -> frozenset[str]:
        """Services reachable from the subnets, both created and declared existing."""
        return self._services


def _validated_services(prop: str, services: Sequence[str] | None) -> frozenset[str]:
    if services is None:
        return frozenset(settings.SERVICES_CALLED)
    if isinstance(services, str):
        raise DriftConstructsError(
            f"{prop} must be a sequence of service names, got the string {services!r}"
        )
    for service in services:
        if not isinstance(service, str) or not _SERVICE_PATTERN.fullmatch(service):
            raise DriftConstructsError(
                f"{prop} contains the invalid service name {service!r}: use the "
                "lowercase name from the endpoint service name "
                "com.amazonaws.<region>.<name>, for example 'sqs'"
            )
    return frozenset(services)


def _check_required_services(
    requested: frozenset[str], existing: frozenset[str], required: frozenset[str]
) -> None:
    missing = sorted(required - requested - existing)
    if missing:
        raise DriftConstructsError(
            f"services leaves out endpoints for {', '.join(missing)}, which the drift "
            "functions call; without NAT they cannot reach a service that has no "
            "endpoint in the VPC. Add the missing services to services, or to "
            "existing_endpoint_services if the VPC already has endpoints for them"
        )


def _check_existing_not_requested(
    requested: frozenset[str], existing: frozenset[str]
) -> None:
    both = sorted(requested & existing)
    if both:
        raise DriftConstructsError(
            f"services and existing_endpoint_services both contain {', '.join(both)}: "
            "an endpoint the VPC already has cannot be created again, because two "
            "interface endpoints with private DNS for one service cannot coexist in "
            "a VPC; remove them from services"
        )


def _check_vpc_props(props: PrivateEndpointsProps) -> None:
    if props.vpc is not None:
        for prop, value in (("max_azs", props.max_azs), ("flow_logs", props.flow_logs)):
            if value is not None:
                raise DriftConstructsError(
                    f"vpc and {prop}={value!r} were both given: {prop} configures "
                    f"the VPC this construct creates; leave {prop} unset to use the "
                    "existing VPC, or leave vpc unset to create one"
                )
    elif props.max_azs is not None and (
        isinstance(props.max_azs, bool) or props.max_azs < 1
    ):
        raise DriftConstructsError(f"max_azs must be at least 1, got {props.max_azs!r}")
