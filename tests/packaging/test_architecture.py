"""The architecture diagram in README.md and docs/ matches the reference stack.

``docs/architecture.py`` derives the diagram from a synthesized template. These
tests synthesize the reference stack once for the module, as the script does, and
check that the committed diagram is current and that it shows real references.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPT = REPOSITORY / "docs" / "architecture.py"
README = REPOSITORY / "README.md"
MERMAID_FILE = REPOSITORY / "docs" / "architecture.mmd"
STALE_MESSAGE = "stale: run `python docs/architecture.py` and commit the result"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("architecture", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class is created.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


architecture = _load_script()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("cdk.out")
    synthesized: dict[str, Any] = architecture.synthesize_reference_template(output)
    return synthesized


@pytest.fixture(scope="module")
def diagram(template: dict[str, Any]) -> Any:
    return architecture.build_diagram(template)


def _node_named(diagram: Any, name: str) -> Any:
    found = [node for node in diagram.nodes if f"<br/>{name}" in node.label]
    assert len(found) == 1, f"expected one node named {name!r}, found {found}"
    return found[0]


def _labels(diagram: Any, source: Any, target: Any) -> tuple[str, ...]:
    for edge in diagram.edges:
        if edge.source == source.node_id and edge.target == target.node_id:
            labels: tuple[str, ...] = edge.labels
            return labels
    raise AssertionError(f"no arrow from {source.node_id} to {target.node_id}")


def test_readme_diagram_current(diagram: Any) -> None:
    readme = README.read_text()
    expected = architecture.replace_readme_block(readme, diagram.render())
    assert readme == expected, f"the diagram in README.md is {STALE_MESSAGE}"


def test_mermaid_file_current(diagram: Any) -> None:
    assert MERMAID_FILE.read_text() == diagram.render(), (
        f"docs/architecture.mmd is {STALE_MESSAGE}"
    )


def test_stack_update_rule_targets_handler(diagram: Any) -> None:
    rule = _node_named(diagram, "infrastructure-stack-updates-dev")
    handler = _node_named(diagram, "environment-update-handler-dev")
    labels = _labels(diagram, rule, handler)
    assert "target" in labels
    assert rule.resource_type == "AWS::Events::Rule"
    assert handler.resource_type == "AWS::Lambda::Function"


def test_validator_publishes_to_alert_topic(diagram: Any) -> None:
    validator = _node_named(diagram, "infrastructure-drift-validator-dev")
    topic = _node_named(diagram, "infrastructure-drift-alerts-dev")
    labels = _labels(diagram, validator, topic)
    assert "sns:Publish" in labels
    assert "ALERT_TOPIC_ARN" in labels


def test_handler_forwards_to_validator(diagram: Any) -> None:
    handler = _node_named(diagram, "environment-update-handler-dev")
    validator = _node_named(diagram, "infrastructure-drift-validator-dev")
    assert "lambda:InvokeFunction" in _labels(diagram, handler, validator)


def test_drift_alarm_notifies_alert_topic(diagram: Any) -> None:
    alarm = _node_named(diagram, "infrastructure-drift-detected-dev")
    topic = _node_named(diagram, "infrastructure-drift-alerts-dev")
    assert _labels(diagram, alarm, topic) == ("alarm action",)


def test_functions_send_failures_to_queue(diagram: Any) -> None:
    queue = _node_named(diagram, "infrastructure-drift-failures-dev")
    for name in (
        "environment-update-handler-dev",
        "infrastructure-drift-validator-dev",
    ):
        function = _node_named(diagram, name)
        assert "on failure" in _labels(diagram, function, queue), name


def test_roles_and_log_groups_not_nodes(diagram: Any) -> None:
    types = {node.resource_type for node in diagram.nodes}
    for omitted in (
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::Logs::LogGroup",
        "AWS::Lambda::Permission",
        "AWS::EC2::Subnet",
        "AWS::EC2::SecurityGroup",
    ):
        assert omitted not in types


def test_endpoints_share_one_node(diagram: Any) -> None:
    endpoints = [
        node for node in diagram.nodes if node.resource_type == "AWS::EC2::VPCEndpoint"
    ]
    assert len(endpoints) == 1
    for service in ("cloudformation", "dynamodb", "lambda", "s3", "sns", "sqs"):
        assert service in endpoints[0].label


def test_nodes_grouped_by_construct(diagram: Any) -> None:
    groups = {node.group for node in diagram.nodes}
    assert {"Network", "StateTracker", "DriftDetector", "Dashboard"} <= groups
    handler = _node_named(diagram, "environment-update-handler-dev")
    validator = _node_named(diagram, "infrastructure-drift-validator-dev")
    assert handler.group == "StateTracker"
    assert validator.group == "DriftDetector"


def test_node_count_within_limit(diagram: Any) -> None:
    assert len(diagram.nodes) <= architecture.MAX_NODES


def test_render_ignores_resource_order(template: dict[str, Any]) -> None:
    reordered = {
        **template,
        "Resources": dict(reversed(list(template["Resources"].items()))),
    }
    first = architecture.build_diagram(template).render()
    second = architecture.build_diagram(reordered).render()
    assert first == second


def test_unknown_type_gets_node() -> None:
    template = {
        "Resources": {
            "Widget": {
                "Type": "AWS::Example::Widget",
                "Properties": {"Feed": {"Fn::Sub": "arn:${Queue.Arn}:${AWS::Region}"}},
            },
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q-dev"}},
            "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        }
    }
    diagram = architecture.build_diagram(template)
    assert [node.node_id for node in diagram.nodes] == ["Queue", "Widget"]
    assert diagram.node("Widget").label == "Example Widget<br/>Widget"
    assert diagram.node("Queue").label == "SQS Queue<br/>q-dev"
    [edge] = diagram.edges
    assert (edge.source, edge.target, edge.labels) == ("Widget", "Queue", ("Feed",))


def test_policy_statement_becomes_arrow() -> None:
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}},
            },
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                                "Resource": {"Fn::GetAtt": ["Table", "Arn"]},
                            },
                            {
                                "Effect": "Deny",
                                "Action": "dynamodb:DeleteItem",
                                "Resource": {"Fn::GetAtt": ["Table", "Arn"]},
                            },
                        ]
                    },
                },
            },
        }
    }
    diagram = architecture.build_diagram(template)
    assert [node.node_id for node in diagram.nodes] == ["Function", "Table"]
    [edge] = diagram.edges
    assert (edge.source, edge.target) == ("Function", "Table")
    assert edge.labels == ("dynamodb (2 actions)",)


def _copy_inputs(tmp_path: Path, template: dict[str, Any]) -> list[str]:
    template_file = tmp_path / "template.json"
    template_file.write_text(json.dumps(template))
    shutil.copy(README, tmp_path / "README.md")
    return [
        "--template",
        str(template_file),
        "--readme",
        str(tmp_path / "README.md"),
        "--output",
        str(tmp_path / "architecture.mmd"),
    ]


def test_check_mode_exit_codes(tmp_path: Path, template: dict[str, Any]) -> None:
    arguments = _copy_inputs(tmp_path, template)
    assert architecture.main([*arguments, "--check"]) == 1, "no .mmd file yet"
    assert architecture.main(arguments) == 0
    assert architecture.main([*arguments, "--check"]) == 0

    mermaid_file = tmp_path / "architecture.mmd"
    mermaid_file.write_text(mermaid_file.read_text() + "  %% edited\n")
    assert architecture.main([*arguments, "--check"]) == 1
    assert architecture.main(arguments) == 0

    readme_file = tmp_path / "README.md"
    readme_file.write_text(readme_file.read_text().replace("flowchart LR", "graph TD"))
    assert architecture.main([*arguments, "--check"]) == 1


def test_write_keeps_rest_of_readme(tmp_path: Path, template: dict[str, Any]) -> None:
    arguments = _copy_inputs(tmp_path, template)
    readme_file = tmp_path / "README.md"
    start, end = architecture.START_MARKER, architecture.END_MARKER
    before = readme_file.read_text()
    emptied = before[: before.index(start)] + f"{start}\n{end}" + before.split(end)[1]
    readme_file.write_text(emptied)

    assert architecture.main(arguments) == 0
    written = readme_file.read_text()
    assert written.split(start)[0] == before.split(start)[0]
    assert written.split(end)[1] == before.split(end)[1]
    assert "```mermaid\nflowchart LR\n" in written


def test_readme_without_markers_rejected(
    tmp_path: Path, template: dict[str, Any]
) -> None:
    arguments = _copy_inputs(tmp_path, template)
    readme_file = tmp_path / "README.md"
    readme_file.write_text("# Title\n\nNo diagram here.\n")
    assert architecture.main(arguments) == 2
    assert readme_file.read_text() == "# Title\n\nNo diagram here.\n"
