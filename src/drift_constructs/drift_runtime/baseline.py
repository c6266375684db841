"""Configuration baselines of deployed stacks, and comparisons between them.

``capture_baseline`` records, after a successful stack update, what the stack declares:
its parameters, outputs, tags and, per logical id, the resource type, physical id and
declared properties with intrinsic functions resolved. ``compare_with_baseline`` (from
``live``) later compares live configuration with it, and ``compare_environments``
compares the baselines of two stacks that should be replicas of each other.

Baseline document, schema version 1 (JSON)::

    {
      "schema_version": 1,
      "stack_id": "arn:aws:cloudformation:...", "stack_name": "app-dev",
      "account": "123456789012", "region": "eu-west-1", "partition": "aws",
      "captured_at": "2024-05-01T12:00:00+00:00",
      "template": {"format": "json", "stage": "Processed", "limitation": null},
      "parameters": {"Name": "value"}, "outputs": {"Key": "value"},
      "exports": {"Key": "export name"}, "tags": {"team": "data"},
      "resources": {
        "Table": {
          "type": "AWS::DynamoDB::Table", "physical_id": "app-dev-Table-1X2Y",
          "properties": {"BillingMode": "PAY_PER_REQUEST"},
          "unresolved": [{"path": "/StreamSpecification", "reason": "..."}]
        }
      }
    }

Templates are parsed as JSON only. A YAML template (GetTemplate returns YAML for
stacks created from YAML) cannot be parsed with the standard library, so its baseline
records every resource's type and physical id with empty ``properties``, and
``template.limitation`` states this. The comparison then detects deleted resources
only.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from .diff import diff_properties
from .intrinsics import (
    REMOVED,
    Resolver,
    StackContext,
    StackResource,
    Unresolved,
    escape_pointer,
    split_unresolved,
)
from .live import compare_with_baseline
from .model import DifferenceType, PropertyDifference, ResourceDrift

__all__ = [
    "SCHEMA_VERSION",
    "capture_baseline",
    "compare_environments",
    "compare_with_baseline",
    "derive_environments",
]

LOGGER = logging.getLogger(__name__)

SCHEMA_VERSION = 1

YAML_LIMITATION = (
    "template is not JSON: baseline limited to resource types and physical ids, "
    "so only deleted resources are detected"
)

# DescribeStacks shows the value of a NoEcho parameter as this mask.
_NO_ECHO_MASK = "****"

_STACK_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):cloudformation:(?P<region>[^:]+):(?P<account>\d+):"
)


def _load_template(cloudformation: Any, stack_id: str) -> tuple[Any, str]:
    """Return the template body and the stage it was read from.

    The processed stage has transforms (SAM, macros) expanded. GetTemplate rejects it
    with a ValidationError in some setups, so the original stage is the fallback.
    """
    try:
        response = cloudformation.get_template(
            StackName=stack_id, TemplateStage="Processed"
        )
        return response.get("TemplateBody"), "Processed"
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ValidationError":
            raise
        LOGGER.info("Processed template of %s not available: %s", stack_id, error)
    response = cloudformation.get_template(StackName=stack_id)
    return response.get("TemplateBody"), "Original"


def _parse_template(body: Any) -> dict[str, Any] | None:
    """Return the template as a dict, or None when it is not JSON.

    botocore already decodes JSON bodies into a dict, and returns YAML as a string.
    """
    if isinstance(body, dict):
        return body
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _parameter_values(
    stack: Mapping[str, Any], template: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Return the parameters as recorded and as Ref resolves them."""
    declared = template.get("Parameters")
    declared = declared if isinstance(declared, dict) else {}
    recorded: dict[str, str] = {}
    for_ref: dict[str, Any] = {}
    for parameter in stack.get("Parameters", []):
        name = parameter["ParameterKey"]
        value = parameter.get("ResolvedValue", parameter.get("ParameterValue", ""))
        definition = declared.get(name)
        definition = definition if isinstance(definition, dict) else {}
        recorded[name] = value
        no_echo = str(definition.get("NoEcho", "false")).lower() == "true"
        if no_echo or value == _NO_ECHO_MASK:
            for_ref[name] = Unresolved(f"parameter {name} is NoEcho")
            continue
        parameter_type = str(definition.get("Type", "String"))
        is_list = parameter_type == "CommaDelimitedList" or "List<" in parameter_type
        for_ref[name] = value.split(",") if is_list else value
    return recorded, for_ref


def _stack_context(
    cloudformation: Any, stack: Mapping[str, Any], template: Mapping[str, Any]
) -> StackContext:
    stack_id = stack["StackId"]
    match = _STACK_ARN.match(stack_id)
    if match is not None:
        partition, region, account = match.group("partition", "region", "account")
    else:
        partition, account = "aws", ""
        region = cloudformation.meta.region_name
        LOGGER.warning("Stack id %s is not an ARN: account unknown", stack_id)
    mappings = template.get("Mappings")
    conditions = template.get("Conditions")
    return StackContext(
        stack_id=stack_id,
        stack_name=stack["StackName"],
        account=account,
        region=region,
        partition=partition,
        mappings=mappings if isinstance(mappings, dict) else {},
        conditions=conditions if isinstance(conditions, dict) else {},
        notification_arns=list(stack.get("NotificationARNs", [])),
    )


def _list_resources(cloudformation: Any, stack_id: str) -> list[dict[str, Any]]:
    paginator = cloudformation.get_paginator("list_stack_resources")
    summaries: list[dict[str, Any]] = []
    for page in paginator.paginate(StackName=stack_id):
        summaries.extend(page.get("StackResourceSummaries", []))
    return [
        summary
        for summary in summaries
        if summary.get("ResourceStatus") != "DELETE_COMPLETE"
    ]


def _resource_entry(
    resolver: Resolver, declaration: Any, summary: Mapping[str, Any]
) -> dict[str, Any]:
    raw = declaration.get("Properties") if isinstance(declaration, dict) else None
    resolved = resolver.resolve(raw if raw is not None else {})
    unresolved: list[dict[str, str]] = []
    if isinstance(resolved, Unresolved):
        properties: dict[str, Any] = {}
        unresolved.append({"path": "", "reason": resolved.reason})
    elif isinstance(resolved, dict):
        properties, unresolved = split_unresolved(resolved)
    else:
        properties = {}
        if resolved is not REMOVED:
            unresolved.append({"path": "", "reason": "Properties is not an object"})
    return {
        "type": summary["ResourceType"],
        "physical_id": summary.get("PhysicalResourceId"),
        "properties": properties,
        "unresolved": unresolved,
    }


def capture_baseline(
    cloudformation: Any, stack_id: str, captured_at: datetime
) -> dict[str, Any]:
    """Record the configuration baseline of a deployed stack.

    Calls GetTemplate, DescribeStacks and ListStackResources with the given
    CloudFormation client. Intrinsic functions in declared properties are resolved
    from the stack itself. A property that cannot be resolved is left out of
    ``properties`` and listed in the resource's ``unresolved`` entries with the reason.
    The module docstring shows the document.

    Returns:
        The JSON-serialisable baseline document.
    """
    stack = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
    body, stage = _load_template(cloudformation, stack_id)
    template = _parse_template(body)
    limitation = None if template is not None else YAML_LIMITATION
    if template is None:
        LOGGER.warning("Template of %s is not JSON: baseline limited", stack_id)
        template = {}

    recorded_parameters, parameters_for_ref = _parameter_values(stack, template)
    context = _stack_context(cloudformation, stack, template)
    context.parameters = parameters_for_ref
    summaries = _list_resources(cloudformation, stack_id)
    declarations = template.get("Resources")
    declarations = declarations if isinstance(declarations, dict) else {}
    for summary in summaries:
        logical_id = summary["LogicalResourceId"]
        context.resources[logical_id] = StackResource(
            summary["ResourceType"], summary.get("PhysicalResourceId", "")
        )
        declaration = declarations.get(logical_id)
        if isinstance(declaration, dict):
            context.resource_properties[logical_id] = declaration.get("Properties")

    resolver = Resolver(context)
    resources = {
        summary["LogicalResourceId"]: _resource_entry(
            resolver, declarations.get(summary["LogicalResourceId"]), summary
        )
        for summary in summaries
    }
    outputs = stack.get("Outputs", [])
    return {
        "schema_version": SCHEMA_VERSION,
        "stack_id": context.stack_id,
        "stack_name": context.stack_name,
        "account": context.account,
        "region": context.region,
        "partition": context.partition,
        "captured_at": captured_at.astimezone(timezone.utc).isoformat(),
        "template": {
            "format": "json" if limitation is None else "not-json",
            "stage": stage,
            "limitation": limitation,
        },
        "parameters": recorded_parameters,
        "outputs": {
            output["OutputKey"]: output.get("OutputValue") for output in outputs
        },
        "exports": {
            output["OutputKey"]: output["ExportName"]
            for output in outputs
            if "ExportName" in output
        },
        "tags": {tag["Key"]: tag["Value"] for tag in stack.get("Tags", [])},
        "resources": dict(sorted(resources.items())),
    }


# ---------------------------------------------------------------------------
# Comparison of two environments


def _segments(name: str) -> list[str]:
    return re.split(r"([-_./])", name)


def derive_environments(left_name: str, right_name: str) -> tuple[str, str] | None:
    """Return the environment tokens that tell two replica stack names apart.

    ``app-dev`` and ``app-prod`` give ``("dev", "prod")``: with the names split at
    ``-``, ``_``, ``.`` and ``/``, the one differing segment is the token. Otherwise the
    text between the common prefix and suffix is. Equal names give None.

    Raises:
        ValueError: The names differ but no non-empty token separates them.
    """
    if left_name == right_name:
        return None
    left_segments = _segments(left_name)
    right_segments = _segments(right_name)
    if len(left_segments) == len(right_segments) > 1:
        differing = [
            index
            for index, (left, right) in enumerate(
                zip(left_segments, right_segments, strict=True)
            )
            if left != right
        ]
        if len(differing) == 1:
            index = differing[0]
            return left_segments[index], right_segments[index]
    prefix = 0
    limit = min(len(left_name), len(right_name))
    while prefix < limit and left_name[prefix] == right_name[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and left_name[-1 - suffix] == right_name[-1 - suffix]:
        suffix += 1
    left_token = left_name[prefix : len(left_name) - suffix]
    right_token = right_name[prefix : len(right_name) - suffix]
    if not left_token or not right_token:
        raise ValueError(
            f"cannot derive environment names from stacks {left_name!r} and "
            f"{right_name!r}: pass left_environment and right_environment"
        )
    return left_token, right_token


def _token_pattern(token: str) -> re.Pattern[str]:
    """Match ``token`` as a whole word in its lower, upper or capitalised form.

    The capitalised form also matches inside camel case (``AppDevTable``).
    """
    variants = [
        rf"(?<![A-Za-z0-9]){re.escape(token.lower())}(?![a-z0-9])",
        rf"(?<![A-Za-z0-9]){re.escape(token.upper())}(?![A-Z0-9])",
        rf"{re.escape(token[:1].upper() + token[1:].lower())}(?![a-z0-9])",
    ]
    if token not in (token.lower(), token.upper()):
        variants.insert(0, rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])")
    return re.compile("|".join(f"(?:{variant})" for variant in variants))


def _name_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])")


Replacements = list[tuple[re.Pattern[str], str]]


def _normalise(value: Any, replacements: Replacements) -> Any:
    if isinstance(value, str):
        for pattern, placeholder in replacements:
            value = pattern.sub(placeholder, value)
        return value
    if isinstance(value, dict):
        return {key: _normalise(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item, replacements) for item in value]
    return value


def _contains_string(value: Any, text: str) -> bool:
    if isinstance(value, str):
        return value == text
    if isinstance(value, dict):
        return any(_contains_string(item, text) for item in value.values())
    if isinstance(value, list):
        return any(_contains_string(item, text) for item in value)
    return False


def _physical_names(physical_id: str) -> list[str]:
    """Return the physical id and, for ARNs and URLs, the name at its end."""
    names = [physical_id]
    tail = re.split(r"[/:]", physical_id)[-1]
    if tail and tail != physical_id:
        names.append(tail)
    return names


def _environment_replacements(
    baseline: Mapping[str, Any], other: Mapping[str, Any], token: str | None
) -> Replacements:
    replacements: Replacements = []
    if baseline.get("account") and baseline.get("account") != other.get("account"):
        replacements.append(
            (_name_pattern(str(baseline["account"])), "${AWS::AccountId}")
        )
    if baseline.get("region") and baseline.get("region") != other.get("region"):
        replacements.append((_name_pattern(str(baseline["region"])), "${AWS::Region}"))
    if token:
        replacements.append((_token_pattern(token), "${Environment}"))
    return replacements


def _generated_name_replacements(
    left: Mapping[str, Any],
    right: Mapping[str, Any],
    left_base: Replacements,
    right_base: Replacements,
) -> tuple[Replacements, Replacements]:
    """Return replacements of generated physical ids by ``<physical id of X>``.

    CloudFormation appends a random suffix to the names it generates, so the same
    resource has different physical ids in two environments even after the environment
    token is normalised. A resource whose physical id is also one of its declared
    property values has a declared name and keeps it, so a wrong name is reported.
    """
    left_resources = left.get("resources") or {}
    right_resources = right.get("resources") or {}
    left_extra: Replacements = []
    right_extra: Replacements = []
    for logical_id in sorted(set(left_resources) & set(right_resources)):
        left_id = left_resources[logical_id].get("physical_id")
        right_id = right_resources[logical_id].get("physical_id")
        if not left_id or not right_id:
            continue
        if _normalise(left_id, left_base) == _normalise(right_id, right_base):
            continue
        declared = _contains_string(
            left_resources[logical_id].get("properties"), left_id
        ) or _contains_string(right_resources[logical_id].get("properties"), right_id)
        if declared:
            continue
        placeholder = f"<physical id of {logical_id}>"
        for name in _physical_names(str(left_id)):
            left_extra.append((_name_pattern(name), placeholder))
        for name in _physical_names(str(right_id)):
            right_extra.append((_name_pattern(name), placeholder))
    # Longer names first, so a name inside an ARN does not hide the whole ARN.
    left_extra.sort(key=lambda item: -len(item[0].pattern))
    right_extra.sort(key=lambda item: -len(item[0].pattern))
    return left_extra, right_extra


def _remove_path(properties: dict[str, Any], path: str) -> None:
    segments = [
        segment.replace("~1", "/").replace("~0", "~") for segment in path.split("/")[1:]
    ]
    if not segments:
        properties.clear()
        return
    parent: Any = properties
    for segment in segments[:-1]:
        if not isinstance(parent, dict) or segment not in parent:
            return
        parent = parent[segment]
    if isinstance(parent, dict):
        parent.pop(segments[-1], None)


def _compare_properties(
    left: dict[str, Any], right: dict[str, Any]
) -> list[PropertyDifference]:
    differences = diff_properties(left, right)
    for key, value in right.items():
        if key not in left:
            path = f"/{escape_pointer(str(key))}"
            differences.append(
                PropertyDifference(path, None, value, DifferenceType.ADD)
            )
    return sorted(differences, key=lambda difference: difference.path)


def compare_environments(
    left: dict[str, Any],
    right: dict[str, Any],
    *,
    left_environment: str | None = None,
    right_environment: str | None = None,
) -> list[ResourceDrift]:
    """Compare the baselines of two stacks that should be replicas of each other.

    Names that differ only by environment are normalised first: each side's
    environment token (derived from the stack names with ``derive_environments``
    unless given) becomes ``${Environment}``, the account and region become
    ``${AWS::AccountId}`` and ``${AWS::Region}`` when the two sides differ, and
    generated physical ids become ``<physical id of LogicalId>``. Properties that are
    unresolved on either side are not compared.

    Returns:
        One ``ResourceDrift`` per differing logical id, with ``expected`` from
        ``left``, ``actual`` from ``right`` and source ``environment``. Status is
        ``MODIFIED`` for differing properties (a differing resource type is one
        difference at path ``""``), ``DELETED`` for a resource only in ``left`` and
        ``ADDED`` for a resource only in ``right``.

    Raises:
        ValueError: The stack names differ, no token was given, and none can be
            derived.
    """
    if left_environment is None or right_environment is None:
        derived = derive_environments(
            str(left.get("stack_name", "")), str(right.get("stack_name", ""))
        )
        if derived is not None:
            left_environment = left_environment or derived[0]
            right_environment = right_environment or derived[1]
    left_base = _environment_replacements(left, right, left_environment)
    right_base = _environment_replacements(right, left, right_environment)
    left_names, right_names = _generated_name_replacements(
        left, right, left_base, right_base
    )
    left_replacements = left_names + left_base
    right_replacements = right_names + right_base

    left_resources = left.get("resources") or {}
    right_resources = right.get("resources") or {}
    drifts: list[ResourceDrift] = []
    for logical_id in sorted(set(left_resources) | set(right_resources)):
        if logical_id not in right_resources:
            only_left = left_resources[logical_id]
            drifts.append(_one_sided_drift(logical_id, only_left, "DELETED"))
        elif logical_id not in left_resources:
            only_right = right_resources[logical_id]
            drifts.append(_one_sided_drift(logical_id, only_right, "ADDED"))
        else:
            drift = _compare_pair(
                logical_id,
                left_resources[logical_id],
                right_resources[logical_id],
                left_replacements,
                right_replacements,
            )
            if drift is not None:
                drifts.append(drift)
    return drifts


def _one_sided_drift(
    logical_id: str, resource: Mapping[str, Any], status: str
) -> ResourceDrift:
    return ResourceDrift(
        logical_id,
        str(resource.get("type")),
        status,
        physical_id=resource.get("physical_id"),
        source="environment",
    )


def _compare_pair(
    logical_id: str,
    left_resource: Mapping[str, Any],
    right_resource: Mapping[str, Any],
    left_replacements: Replacements,
    right_replacements: Replacements,
) -> ResourceDrift | None:
    left_type = str(left_resource.get("type"))
    right_type = str(right_resource.get("type"))
    if left_type != right_type:
        differences = [
            PropertyDifference("", left_type, right_type, DifferenceType.NOT_EQUAL)
        ]
    else:
        left_properties = _normalise(
            left_resource.get("properties") or {}, left_replacements
        )
        right_properties = _normalise(
            right_resource.get("properties") or {}, right_replacements
        )
        skipped = {
            entry["path"]
            for entry in [
                *(left_resource.get("unresolved") or []),
                *(right_resource.get("unresolved") or []),
            ]
        }
        for path in sorted(skipped, key=len, reverse=True):
            _remove_path(left_properties, path)
            _remove_path(right_properties, path)
        differences = _compare_properties(left_properties, right_properties)
    if not differences:
        return None
    return ResourceDrift(
        logical_id,
        right_type,
        "MODIFIED",
        tuple(differences),
        physical_id=right_resource.get("physical_id"),
        source="environment",
    )
