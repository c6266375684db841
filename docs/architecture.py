"""Draw the reference stack as a Mermaid flowchart derived from its template.

The diagram is computed from a synthesized CloudFormation template, never drawn by
hand, so it changes when the constructs change. By default this script synthesizes
``examples/reference_stack.py`` with the environment suffix ``dev``. It writes the
flowchart to ``docs/architecture.mmd`` and between the markers
``<!-- architecture:start -->`` and ``<!-- architecture:end -->`` of README.md.

Usage::

    python docs/architecture.py            # regenerate both files
    python docs/architecture.py --check    # exit 1 when either file is stale
    python docs/architecture.py --template cdk.out/Stack.template.json

What becomes what:

* Resources are grouped into one subgraph per top-level construct of the stack,
  read from the ``aws:cdk:path`` metadata. ``cdk synth`` adds that metadata, and
  this script turns it on when it synthesizes. Without it every node is drawn
  outside any subgraph.
* IAM roles and policies, Lambda permissions, event invoke configurations, event
  source mappings and SNS subscriptions are drawn as arrows, not nodes. Log
  groups, flow logs and resource policies are left out. Subnets, route tables and
  security groups count as part of their VPC, and all VPC endpoints of one
  construct share one node. A Lambda function that only serves a custom resource
  counts as part of that custom resource.
* Every other resource is a node labelled with its type and its physical name
  when the name is a literal (pseudo parameters are kept as ``${AWS::Region}``),
  else its construct path. A resource type this script does not know still gets
  a node.
* An arrow goes from a resource to each resource its properties reference with
  ``Ref``, ``Fn::GetAtt`` or ``Fn::Sub``, labelled with what the reference is for.
  A policy statement that allows actions draws an arrow from the resource that
  uses the role to each resource the statement names, labelled with the actions.
  Event source mappings, Lambda permissions and SNS subscriptions draw an arrow
  from the event source to its consumer, and failure destinations one from the
  function to the destination. Dotted arrows are what a dashboard or an alarm
  watches.
"""

# ruff: noqa: PLC0415
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLES = REPOSITORY / "examples"
README = REPOSITORY / "README.md"
MERMAID_FILE = REPOSITORY / "docs" / "architecture.mmd"

START_MARKER = "<!-- architecture:start -->"
END_MARKER = "<!-- architecture:end -->"
ENVIRONMENT_SUFFIX = "dev"
STACK_ID = f"DriftConstructsReference-{ENVIRONMENT_SUFFIX}"
# Context key that makes CDK add aws:cdk:path metadata to each resource. The CDK
# CLI sets it for every synth.
PATH_METADATA_CONTEXT = "aws:cdk:enable-path-metadata"
PATH_METADATA_KEY = "aws:cdk:path"
# Estimated number of nodes above which the diagram no longer reads well on a
# README page.
MAX_NODES = 30
REGENERATE_COMMAND = "python docs/architecture.py"

ROLE_TYPE = "AWS::IAM::Role"
POLICY_TYPES = frozenset({"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"})
VPC_TYPE = "AWS::EC2::VPC"
ENDPOINT_TYPE = "AWS::EC2::VPCEndpoint"
FUNCTION_TYPE = "AWS::Lambda::Function"
CUSTOM_RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"

# Resources drawn as arrows by ``_folded_edges``.
EDGE_TYPES = frozenset(
    {
        ROLE_TYPE,
        *POLICY_TYPES,
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Lambda::EventSourceMapping",
        "AWS::SNS::Subscription",
    }
)
# Resources not drawn at all.
OMITTED_TYPES = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::EC2::FlowLog",
        "AWS::Events::EventBusPolicy",
        "AWS::Lambda::LayerVersionPermission",
        "AWS::Logs::LogGroup",
        "AWS::Logs::LogStream",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
    }
)
# Resources that count as part of the VPC they reference.
NETWORK_PART_TYPES = frozenset(
    {
        "AWS::EC2::EgressOnlyInternetGateway",
        "AWS::EC2::EIP",
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::NetworkAcl",
        "AWS::EC2::NetworkAclEntry",
        "AWS::EC2::Route",
        "AWS::EC2::RouteTable",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::Subnet",
        "AWS::EC2::SubnetNetworkAclAssociation",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::VPCCidrBlock",
        "AWS::EC2::VPCGatewayAttachment",
    }
)
# Resources that count as the resource their property names.
ALIAS_PROPERTIES = {
    "AWS::KMS::Alias": "TargetKeyId",
    "AWS::Lambda::Alias": "FunctionName",
    "AWS::Lambda::Version": "FunctionName",
}

# Labels of references, by resource type and property path with list positions
# left out. The first matching prefix wins, and "*" matches any type.
REFERENCE_LABELS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("AWS::Events::Rule", ("Targets", "DeadLetterConfig"), "dead-letter queue"),
    ("AWS::Events::Rule", ("Targets",), "target"),
    ("AWS::Events::Rule", ("EventBusName",), "event bus"),
    ("AWS::Scheduler::Schedule", ("Target", "DeadLetterConfig"), "dead-letter queue"),
    ("AWS::Scheduler::Schedule", ("Target",), "target"),
    ("AWS::SQS::Queue", ("RedrivePolicy",), "dead-letter queue"),
    (FUNCTION_TYPE, ("DeadLetterConfig",), "dead-letter queue"),
    ("AWS::CloudWatch::Alarm", ("AlarmActions",), "alarm action"),
    ("AWS::CloudWatch::Alarm", ("OKActions",), "OK action"),
    ("AWS::CloudWatch::Alarm", ("InsufficientDataActions",), "alarm action"),
    ("AWS::CloudWatch::Alarm", ("Dimensions",), "metric"),
    ("AWS::CloudWatch::Alarm", ("Metrics",), "metric"),
    ("AWS::CloudWatch::Dashboard", ("DashboardBody",), "widget"),
    ("*", ("KmsMasterKeyId",), "KMS key"),
    ("*", ("KMSMasterKeyId",), "KMS key"),
    ("*", ("SSESpecification",), "KMS key"),
    ("*", ("BucketEncryption",), "KMS key"),
    ("*", ("KmsKeyId",), "KMS key"),
)
# Properties written for people. A resource they mention is not a dependency.
TEXT_PROPERTIES = frozenset({"AlarmDescription", "Description"})
# Labels of arrows that show monitoring, drawn dotted.
WATCH_LABELS = frozenset({"metric", "widget"})
# Label of an arrow from a Lambda permission, drawn only where no other arrow joins
# the same two nodes (a rule target already shows that the rule invokes the function).
PERMISSION_LABEL = "lambda:InvokeFunction"


@dataclass(frozen=True, order=True)
class Node:
    """One box of the diagram.

    Attributes:
        node_id: Mermaid id, unique in the diagram.
        group: Top-level construct that owns the resources, or "" for none.
        label: Text of the box, with ``<br/>`` between lines.
        resource_type: CloudFormation type of the resources the node stands for.
    """

    node_id: str
    group: str
    label: str
    resource_type: str


@dataclass(frozen=True, order=True)
class Edge:
    """One arrow of the diagram, with all labels between the same two nodes."""

    source: str
    target: str
    labels: tuple[str, ...]

    @property
    def dotted(self) -> bool:
        """Whether every label of the arrow is a monitoring relation."""
        return all(label in WATCH_LABELS for label in self.labels)


@dataclass(frozen=True)
class Diagram:
    """Nodes and arrows, sorted, ready to render."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> Node:
        """Return the node with ``node_id``.

        Raises:
            KeyError: when the diagram has no such node.
        """
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(node_id)

    def render(self) -> str:
        """Return the Mermaid flowchart text, ending with a newline."""
        lines = [
            "flowchart LR",
            f"  %% Generated by {REGENERATE_COMMAND} from the synthesized "
            "reference stack; do not edit.",
        ]
        groups: dict[str, list[Node]] = defaultdict(list)
        for node in self.nodes:
            groups[node.group].append(node)
        for group in sorted(groups):
            indent = "  "
            if group:
                lines.append(f'  subgraph construct_{_mermaid_id(group)}["{group}"]')
                indent = "    "
            for node in groups[group]:
                lines.append(f'{indent}{node.node_id}["{_escape(node.label)}"]')
            if group:
                lines.append("  end")
        for edge in self.edges:
            arrow = "-.->" if edge.dotted else "-->"
            label = _escape(", ".join(edge.labels))
            lines.append(f'  {edge.source} {arrow}|"{label}"| {edge.target}')
        return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace('"', "#quot;")


def _mermaid_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


# Template reading ----------------------------------------------------------------


def iter_references(
    value: Any, resources: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield ``(property path, logical id)`` for each resource ``value`` references.

    Follows ``Ref``, ``Fn::GetAtt`` (list or dotted string) and the ``${Name}`` and
    ``${Name.Attribute}`` forms in ``Fn::Sub``. The path contains the property keys
    from the outside in, without list positions. Pseudo parameters and parameters
    are not resources, so they are not yielded.
    """
    if isinstance(value, list):
        for item in value:
            yield from iter_references(item, resources, path)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            if argument in resources:
                yield path, argument
            return
        if key == "Fn::GetAtt":
            name = argument[0] if isinstance(argument, list) else str(argument)
            name = name.split(".", 1)[0]
            if name in resources:
                yield path, name
            return
        if key == "Fn::Sub":
            yield from _sub_references(argument, resources, path)
            return
    for key, item in value.items():
        yield from iter_references(item, resources, (*path, key))


def _sub_references(
    argument: Any, resources: Mapping[str, Any], path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], str]]:
    text, variables = (argument, {}) if isinstance(argument, str) else argument
    for match in re.finditer(r"\$\{([^}!]+)\}", str(text)):
        name = match.group(1).split(".", 1)[0]
        if name in resources and name not in variables:
            yield path, name
    yield from iter_references(variables, resources, path)


def literal_text(value: Any) -> str | None:
    """Return ``value`` as text when it needs no resource, else None.

    Strings are returned as they are. Pseudo parameters become ``${AWS::Name}``, as
    in ``Fn::Sub``, and ``Fn::Join`` of such parts is joined.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str) and argument.startswith("AWS::"):
            return f"${{{argument}}}"
        if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            texts = [literal_text(part) for part in parts]
            if isinstance(separator, str) and all(t is not None for t in texts):
                return separator.join(t for t in texts if t is not None)
    return None


def physical_name(resource_type: str, properties: Mapping[str, Any]) -> str | None:
    """Return the literal physical name of a resource, or None.

    Looks at ``<Kind>Name`` (``TableName`` for ``AWS::DynamoDB::Table``), then
    ``Name``, then a ``Name`` tag.
    """
    kind = resource_type.rsplit("::", 1)[-1]
    for key in (f"{kind}Name", "Name"):
        if key in properties:
            return literal_text(properties[key])
    tags = properties.get("Tags")
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, dict) and tag.get("Key") == "Name":
                return literal_text(tag.get("Value"))
    return None


def construct_path(resource: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the resource's construct path below the stack, or () without metadata.

    The trailing ``Resource`` or ``Default`` id, which L2 constructs give their
    CloudFormation resource, is dropped.
    """
    path = resource.get("Metadata", {}).get(PATH_METADATA_KEY)
    if not isinstance(path, str):
        return ()
    parts = tuple(path.split("/")[1:])
    if len(parts) > 1 and parts[-1] in ("Resource", "Default"):
        parts = parts[:-1]
    return parts


def _type_label(resource_type: str) -> str:
    if resource_type.startswith("AWS::"):
        return " ".join(resource_type.split("::")[1:])
    return resource_type


def _statements(document: Any) -> list[Mapping[str, Any]]:
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        return [statements]
    return [s for s in statements if isinstance(s, dict)]


def _actions(statement: Mapping[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    if isinstance(actions, str):
        return [actions]
    return [action for action in actions if isinstance(action, str)]


def summarize_actions(actions: Sequence[str]) -> str:
    """Return ``s3:GetObject`` for one action of a service, ``s3 (3 actions)`` else."""
    by_service: dict[str, set[str]] = defaultdict(set)
    for action in actions:
        service = action.split(":", 1)[0]
        by_service[service].add(action)
    parts = []
    for service in sorted(by_service):
        names = by_service[service]
        if len(names) == 1:
            parts.append(next(iter(names)))
        else:
            parts.append(f"{service} ({len(names)} actions)")
    return ", ".join(parts)


# Diagram building ----------------------------------------------------------------


@dataclass
class _Builder:
    """Maps each resource to a node, then collects the arrows between nodes."""

    resources: Mapping[str, Mapping[str, Any]]
    node_of: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edge_labels: dict[tuple[str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    permission_edges: set[tuple[str, str]] = field(default_factory=set)
    grants: dict[tuple[str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    _references: dict[str, list[tuple[tuple[str, ...], str]]] = field(
        default_factory=dict
    )

    def type_of(self, logical_id: str) -> str:
        return str(self.resources[logical_id].get("Type", ""))

    def properties_of(self, logical_id: str) -> Mapping[str, Any]:
        properties = self.resources[logical_id].get("Properties", {})
        return properties if isinstance(properties, dict) else {}

    def references(self, logical_id: str) -> list[tuple[tuple[str, ...], str]]:
        if logical_id not in self._references:
            properties = self.properties_of(logical_id)
            self._references[logical_id] = list(
                iter_references(properties, self.resources)
            )
        return self._references[logical_id]

    # Nodes.

    def add_nodes(self) -> None:
        ids: dict[str, str] = {}
        endpoints: dict[str, list[str]] = defaultdict(list)
        for logical_id in self.resources:
            resource_type = self.type_of(logical_id)
            if resource_type == ENDPOINT_TYPE:
                endpoints[self._group(logical_id)].append(logical_id)
            elif self._is_node_type(resource_type) and not self._serves_custom(
                logical_id
            ):
                ids[logical_id] = self._node_id(logical_id, ids)
        for logical_id, node_id in ids.items():
            self.node_of[logical_id] = node_id
            self.nodes[node_id] = Node(
                node_id=node_id,
                group=self._group(logical_id),
                label=self._label(logical_id),
                resource_type=self.type_of(logical_id),
            )
        for group, members in endpoints.items():
            self._add_endpoint_node(group, members)
        self._add_aliases()

    def _is_node_type(self, resource_type: str) -> bool:
        return resource_type not in (
            EDGE_TYPES | OMITTED_TYPES | NETWORK_PART_TYPES | ALIAS_PROPERTIES.keys()
        )

    def _serves_custom(self, logical_id: str) -> bool:
        # A function referenced only as the service token of custom resources is
        # part of them, not a component of its own.
        if self.type_of(logical_id) != FUNCTION_TYPE:
            return False
        users = [
            (path, other)
            for other in self.resources
            for path, target in self.references(other)
            if target == logical_id and self.type_of(other) != ROLE_TYPE
        ]
        return bool(users) and all(
            path[:1] == ("ServiceToken",) and _is_custom(self.type_of(other))
            for path, other in users
        )

    def _group(self, logical_id: str) -> str:
        path = construct_path(self.resources[logical_id])
        return path[0] if len(path) > 1 else ""

    def _node_id(self, logical_id: str, assigned: Mapping[str, str]) -> str:
        path = construct_path(self.resources[logical_id])
        candidate = _mermaid_id("_".join(path)) if path else logical_id
        if candidate in assigned.values() or not candidate:
            candidate = _mermaid_id(logical_id)
        return candidate

    def _label(self, logical_id: str) -> str:
        resource_type = self.type_of(logical_id)
        properties = self.properties_of(logical_id)
        name = physical_name(resource_type, properties)
        if name is None:
            path = construct_path(self.resources[logical_id])
            name = "/".join(path[1:] or path) or logical_id
        lines = [_type_label(resource_type), name]
        schedule = literal_text(properties.get("ScheduleExpression"))
        if schedule:
            lines.append(schedule)
        return "<br/>".join(lines)

    def _add_endpoint_node(self, group: str, members: list[str]) -> None:
        services: dict[str, list[str]] = defaultdict(list)
        for logical_id in members:
            properties = self.properties_of(logical_id)
            service = literal_text(properties.get("ServiceName")) or logical_id
            kind = str(properties.get("VpcEndpointType", "Gateway")).lower()
            services[kind].append(service.rsplit(".", 1)[-1])
        node_id = _mermaid_id(f"{group}_VpcEndpoints" if group else "VpcEndpoints")
        lines = ["EC2 VPCEndpoint"]
        for kind in sorted(services):
            lines.append(f"{kind}: {', '.join(sorted(services[kind]))}")
        self.nodes[node_id] = Node(
            node_id=node_id,
            group=group,
            label="<br/>".join(lines),
            resource_type=ENDPOINT_TYPE,
        )
        for logical_id in members:
            self.node_of[logical_id] = node_id

    def _add_aliases(self) -> None:
        # Network parts and aliases point at another resource that may itself be
        # an alias, so resolve until nothing changes.
        changed = True
        while changed:
            changed = False
            for logical_id in self.resources:
                if logical_id in self.node_of:
                    continue
                target = self._alias_target(logical_id)
                if target is not None and target in self.node_of:
                    self.node_of[logical_id] = self.node_of[target]
                    changed = True

    def _alias_target(self, logical_id: str) -> str | None:
        resource_type = self.type_of(logical_id)
        if resource_type in ALIAS_PROPERTIES:
            value = self.properties_of(logical_id).get(ALIAS_PROPERTIES[resource_type])
            for _, target in iter_references(value, self.resources):
                return target
            return None
        if resource_type in NETWORK_PART_TYPES:
            for _, target in self.references(logical_id):
                if target in self.node_of or self.type_of(target) in NETWORK_PART_TYPES:
                    return target
            return None
        if resource_type == FUNCTION_TYPE:
            for other in self.resources:
                if _is_custom(self.type_of(other)) and any(
                    target == logical_id for _, target in self.references(other)
                ):
                    return other
        return None

    # Edges.

    def add_edges(self) -> None:
        for logical_id in self.resources:
            resource_type = self.type_of(logical_id)
            if resource_type in EDGE_TYPES:
                self._folded_edges(logical_id, resource_type)
            elif resource_type not in OMITTED_TYPES and logical_id in self.node_of:
                self._reference_edges(logical_id, resource_type)

    def _add_edge(
        self, source_id: str, target_id: str, label: str, *, permission: bool = False
    ) -> None:
        source = self.node_of.get(source_id)
        target = self.node_of.get(target_id)
        if source is None or target is None or source == target:
            return
        if permission:
            self.permission_edges.add((source, target))
        else:
            self.edge_labels[(source, target)].add(label)

    def _reference_edges(self, logical_id: str, resource_type: str) -> None:
        for path, target in self.references(logical_id):
            target_type = self.type_of(target)
            if target_type == ROLE_TYPE or target_type in POLICY_TYPES:
                continue
            if (path and path[0] in TEXT_PROPERTIES) or target not in self.node_of:
                continue
            self._add_edge(
                logical_id, target, self._reference_label(resource_type, path, target)
            )

    def _reference_label(
        self, resource_type: str, path: tuple[str, ...], target: str
    ) -> str:
        if self.nodes[self.node_of[target]].resource_type == VPC_TYPE:
            return "in"
        if path[:2] == ("Environment", "Variables") and len(path) > 2:
            return path[2]
        for label_type, prefix, label in REFERENCE_LABELS:
            if label_type in ("*", resource_type) and path[: len(prefix)] == prefix:
                return label
        return path[0] if path else "reference"

    def _role_users(self, role_id: str) -> list[str]:
        return sorted(
            other
            for other in self.resources
            if other in self.node_of
            and self.type_of(other) not in EDGE_TYPES
            and any(target == role_id for _, target in self.references(other))
        )

    def _folded_edges(self, logical_id: str, resource_type: str) -> None:
        properties = self.properties_of(logical_id)
        if resource_type in POLICY_TYPES:
            roles = [
                target
                for _, target in iter_references(
                    properties.get("Roles", []), self.resources
                )
            ]
            self._policy_edges(roles, properties.get("PolicyDocument"))
        elif resource_type == ROLE_TYPE:
            for policy in properties.get("Policies", []):
                self._policy_edges([logical_id], policy.get("PolicyDocument"))
        else:
            self._resource_link_edges(resource_type, properties)

    def _policy_edges(self, roles: list[str], document: Any) -> None:
        users = sorted({user for role in roles for user in self._role_users(role)})
        for statement in _statements(document):
            if statement.get("Effect") != "Allow":
                continue
            actions = _actions(statement)
            resources = statement.get("Resource", [])
            for _, target in iter_references(resources, self.resources):
                for user in users:
                    self.grants[(user, target)].update(actions)

    def _resource_link_edges(
        self, resource_type: str, properties: Mapping[str, Any]
    ) -> None:
        def first(key: str) -> str | None:
            for _, target in iter_references(properties.get(key), self.resources):
                return target
            return None

        function = first("FunctionName")
        if resource_type == "AWS::Lambda::Permission":
            source = first("SourceArn")
            if source is not None and function is not None:
                self._add_edge(source, function, PERMISSION_LABEL, permission=True)
        elif resource_type == "AWS::Lambda::EventSourceMapping":
            source = first("EventSourceArn")
            if source is not None and function is not None:
                self._add_edge(source, function, "event source")
        elif resource_type == "AWS::SNS::Subscription":
            topic = first("TopicArn")
            endpoint = first("Endpoint")
            if topic is not None and endpoint is not None:
                self._add_edge(topic, endpoint, "subscription")
        if function is not None:
            destinations = properties.get("DestinationConfig", {})
            for outcome, label in (
                ("OnFailure", "on failure"),
                ("OnSuccess", "on success"),
            ):
                for _, target in iter_references(
                    destinations.get(outcome), self.resources
                ):
                    self._add_edge(function, target, label)

    def diagram(self) -> Diagram:
        # Actions of every policy of a role are summarized together per target.
        for (user, target), actions in self.grants.items():
            self._add_edge(user, target, summarize_actions(sorted(actions)))
        for pair in self.permission_edges:
            if pair not in self.edge_labels:
                self.edge_labels[pair].add(PERMISSION_LABEL)
        edges = tuple(
            sorted(
                Edge(source=source, target=target, labels=tuple(sorted(labels)))
                for (source, target), labels in self.edge_labels.items()
            )
        )
        nodes = tuple(sorted(self.nodes.values()))
        return Diagram(nodes=nodes, edges=edges)


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == CUSTOM_RESOURCE_TYPE


def build_diagram(template: Mapping[str, Any]) -> Diagram:
    """Return the diagram of a synthesized CloudFormation template."""
    resources = template.get("Resources", {})
    builder = _Builder(resources=resources)
    builder.add_nodes()
    builder.add_edges()
    return builder.diagram()


# Synthesis and files -------------------------------------------------------------


def synthesize_reference_template(outdir: Path) -> dict[str, Any]:
    """Synthesize the reference stack into ``outdir`` and return its template.

    The stack gets the suffix ``ENVIRONMENT_SUFFIX`` and no account or region, so
    names that contain them show pseudo parameters. Path metadata is turned on.
    """
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    import aws_cdk as cdk

    from reference_stack import DriftReferenceStack

    app = cdk.App(outdir=str(outdir), context={PATH_METADATA_CONTEXT: True})
    stack = DriftReferenceStack(app, STACK_ID, environment_suffix=ENVIRONMENT_SUFFIX)
    assembly = app.synth()
    template: dict[str, Any] = assembly.get_stack_by_name(stack.stack_name).template
    return template


def readme_block(flowchart: str) -> str:
    """Return the README text from the start marker to the end marker."""
    return f"{START_MARKER}\n```mermaid\n{flowchart}```\n{END_MARKER}"


def replace_readme_block(readme: str, flowchart: str) -> str:
    """Return ``readme`` with the text between the markers replaced.

    Raises:
        ValueError: when the markers are missing, repeated or out of order.
    """
    start = readme.find(START_MARKER)
    end = readme.find(END_MARKER)
    if (
        start < 0
        or end < start
        or readme.count(START_MARKER) != 1
        or readme.count(END_MARKER) != 1
    ):
        raise ValueError(
            f"the README must contain {START_MARKER!r} once, followed by "
            f"{END_MARKER!r} once; add them where the diagram belongs"
        )
    return readme[:start] + readme_block(flowchart) + readme[end + len(END_MARKER) :]


def check_node_count(diagram: Diagram, max_nodes: int) -> None:
    """Reject a diagram with more than ``max_nodes`` nodes.

    Raises:
        ValueError: when the diagram is too large to read on one page.
    """
    if len(diagram.nodes) > max_nodes:
        raise ValueError(
            f"the diagram has {len(diagram.nodes)} nodes, more than the maximum of "
            f"{max_nodes} that stay readable; draw more resource types as arrows "
            "(EDGE_TYPES) or as parts of another node, or raise --max-nodes"
        )


def stale_files(flowchart: str, readme_path: Path, mermaid_path: Path) -> list[Path]:
    """Return the files whose diagram differs from ``flowchart``."""
    stale = []
    readme = readme_path.read_text()
    if replace_readme_block(readme, flowchart) != readme:
        stale.append(readme_path)
    if not mermaid_path.exists() or mermaid_path.read_text() != flowchart:
        stale.append(mermaid_path)
    return stale


def write_files(flowchart: str, readme_path: Path, mermaid_path: Path) -> None:
    """Write the flowchart into the README block and into the Mermaid file."""
    readme = readme_path.read_text()
    readme_path.write_text(replace_readme_block(readme, flowchart))
    mermaid_path.write_text(flowchart)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the diagram, then write the files or, with --check, compare them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--template",
        type=Path,
        help="synthesized template (JSON) to draw; default: synthesize the "
        "reference stack",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when README.md or the Mermaid file is stale",
    )
    parser.add_argument(
        "--readme", type=Path, default=README, help="README with the markers"
    )
    parser.add_argument(
        "--output", type=Path, default=MERMAID_FILE, help="Mermaid file to write"
    )
    parser.add_argument(
        "--max-nodes",
        type=int,
        default=MAX_NODES,
        help=f"maximum number of nodes (default {MAX_NODES})",
    )
    args = parser.parse_args(argv)

    try:
        if args.template is not None:
            template = json.loads(args.template.read_text())
        else:
            with tempfile.TemporaryDirectory() as outdir:
                template = synthesize_reference_template(Path(outdir))
        diagram = build_diagram(template)
        check_node_count(diagram, args.max_nodes)
        flowchart = diagram.render()
        if args.check:
            stale = stale_files(flowchart, args.readme, args.output)
            for path in stale:
                print(f"{path} is stale: run {REGENERATE_COMMAND}", file=sys.stderr)
            return 1 if stale else 0
        write_files(flowchart, args.readme, args.output)
    except (OSError, ValueError) as error:
        # json.JSONDecodeError is a ValueError.
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
