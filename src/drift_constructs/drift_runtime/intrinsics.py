"""Resolution of CloudFormation intrinsic functions against a deployed stack.

The baseline records declared resource properties with their intrinsic functions
replaced by the values the deployed stack gave them, so they can be compared with live
configuration. Resolution uses only what GetTemplate, DescribeStacks and
ListStackResources return: parameter values, pseudo parameters, physical ids, mappings
and conditions. Anything that needs another service (``Fn::GetAZs``,
``Fn::ImportValue``, most ``Fn::GetAtt`` attributes) becomes an ``Unresolved`` value
that carries the reason. The resolver never guesses, and it returns ``Unresolved``
for malformed input instead of raising (a Hypothesis test checks this).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = "AWS::NoValue"

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Unresolved:
    """A value the resolver could not compute, with the reason in plain words."""

    reason: str


class _Removed:
    """Marker of a value that ``Ref: AWS::NoValue`` removes from its parent."""


REMOVED = _Removed()


class _UnresolvedError(Exception):
    """Raised inside the resolver to abandon a value; becomes ``Unresolved``."""


@dataclass(frozen=True)
class StackResource:
    """Type and physical id of one deployed resource, as ListStackResources lists it."""

    resource_type: str
    physical_id: str


@dataclass
class StackContext:
    """Facts about a deployed stack that the resolver uses.

    ``parameters`` maps a parameter name to its resolved value: a string, or a list of
    strings for list-typed parameters, or ``Unresolved`` for ``NoEcho`` parameters.
    """

    stack_id: str
    stack_name: str
    account: str
    region: str
    partition: str
    parameters: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, StackResource] = field(default_factory=dict)
    resource_properties: dict[str, Any] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    notification_arns: list[str] = field(default_factory=list)

    @property
    def url_suffix(self) -> str:
        """Domain suffix of the partition's service endpoints."""
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"

    def pseudo_parameter(self, name: str) -> Any:
        """Return the value of a pseudo parameter such as ``AWS::Region``, or None."""
        values: dict[str, Any] = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NotificationARNs": list(self.notification_arns),
        }
        return values.get(name)


def _last_segment(value: str) -> str:
    return re.split(r"[/:]", value)[-1]


def _arn(context: StackContext, service: str, resource: str, regional: bool) -> str:
    region = context.region if regional else ""
    return f"arn:{context.partition}:{service}:{region}:{context.account}:{resource}"


def _role_arn(context: StackContext, logical_id: str, physical_id: str) -> str:
    properties = context.resource_properties.get(logical_id)
    path = properties.get("Path", "/") if isinstance(properties, dict) else "/"
    if not isinstance(path, str):
        raise _UnresolvedError(f"Path of IAM role {logical_id} is not a literal string")
    return _arn(context, "iam", f"role{path}{physical_id}", regional=False)


# Builders of Fn::GetAtt attributes that follow from the physical id alone, per type.
# Each builder takes the context, the logical id and the physical id.
_AttributeBuilder = Callable[[StackContext, str, str], str]
_ATTRIBUTE_BUILDERS: dict[str, dict[str, _AttributeBuilder]] = {
    "AWS::DynamoDB::Table": {
        "Arn": lambda c, _l, p: _arn(c, "dynamodb", f"table/{p}", regional=True),
    },
    "AWS::S3::Bucket": {
        "Arn": lambda c, _l, p: f"arn:{c.partition}:s3:::{p}",
        "DomainName": lambda c, _l, p: f"{p}.s3.{c.url_suffix}",
        "RegionalDomainName": lambda c, _l, p: f"{p}.s3.{c.region}.{c.url_suffix}",
    },
    "AWS::SNS::Topic": {
        "TopicArn": lambda _c, _l, p: p,
        "TopicName": lambda _c, _l, p: _last_segment(p),
    },
    "AWS::SQS::Queue": {
        "Arn": lambda c, _l, p: _arn(c, "sqs", _last_segment(p), regional=True),
        "QueueName": lambda _c, _l, p: _last_segment(p),
        "QueueUrl": lambda _c, _l, p: p,
    },
    "AWS::Lambda::Function": {
        "Arn": lambda c, _l, p: _arn(c, "lambda", f"function:{p}", regional=True),
    },
    "AWS::IAM::Role": {"Arn": _role_arn},
    "AWS::KMS::Key": {
        "Arn": lambda c, _l, p: _arn(c, "kms", f"key/{p}", regional=True),
        "KeyId": lambda _c, _l, p: p,
    },
    "AWS::Logs::LogGroup": {
        "Arn": lambda c, _l, p: _arn(c, "logs", f"log-group:{p}:*", regional=True),
    },
    "AWS::StepFunctions::StateMachine": {
        "Arn": lambda _c, _l, p: p,
        "Name": lambda _c, _l, p: _last_segment(p),
    },
}


class Resolver:
    """Resolver of intrinsic functions in the template of one deployed stack."""

    def __init__(self, context: StackContext) -> None:
        self.context = context
        self._condition_values: dict[str, bool] = {}
        self._conditions_in_progress: set[str] = set()

    def resolve(self, value: Any) -> Any:
        """Return ``value`` with every intrinsic function resolved.

        Returns:
            The resolved value. Parts that could not be resolved are ``Unresolved``
            instances in place, and a part removed by ``AWS::NoValue`` is the
            ``REMOVED`` marker when it is ``value`` itself.
        """
        try:
            return self._resolve(value)
        except _UnresolvedError as error:
            return Unresolved(str(error))
        except RecursionError:
            return Unresolved("value is nested too deeply to resolve")

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not REMOVED]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            name, argument = next(iter(value.items()))
            if name == "Ref":
                return self._ref(argument)
            if isinstance(name, str) and name.startswith("Fn::"):
                return self._function(name, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not REMOVED}

    def _strict(self, value: Any, what: str) -> Any:
        """Resolve ``value`` and raise when any part of it is unresolved."""
        resolved = self._resolve(value)
        unresolved = first_unresolved(resolved)
        if unresolved is not None:
            raise _UnresolvedError(f"{what}: {unresolved.reason}")
        return resolved

    def _strict_string(self, value: Any, what: str) -> str:
        resolved = self._strict(value, what)
        if isinstance(resolved, bool) or not isinstance(resolved, (str, int, float)):
            raise _UnresolvedError(f"{what} is not a string")
        return str(resolved)

    def _strict_list(self, value: Any, what: str) -> list[Any]:
        resolved = self._strict(value, what)
        if not isinstance(resolved, list):
            raise _UnresolvedError(f"{what} is not a list")
        return resolved

    def _ref(self, target: Any) -> Any:
        if not isinstance(target, str):
            raise _UnresolvedError("Ref target is not a string")
        if target == NO_VALUE:
            return REMOVED
        pseudo = self.context.pseudo_parameter(target)
        if pseudo is not None:
            return pseudo
        if target in self.context.parameters:
            return self.context.parameters[target]
        resource = self.context.resources.get(target)
        if resource is not None:
            return resource.physical_id
        raise _UnresolvedError(f"Ref {target} names no parameter or deployed resource")

    def _get_att(self, argument: Any) -> str:
        if isinstance(argument, str) and "." in argument:
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            raise _UnresolvedError("Fn::GetAtt needs [logical id, attribute]")
        logical_id = self._strict_string(argument[0], "Fn::GetAtt logical id")
        attribute = self._strict_string(argument[1], "Fn::GetAtt attribute")
        resource = self.context.resources.get(logical_id)
        if resource is None:
            raise _UnresolvedError(
                f"Fn::GetAtt {logical_id} names no deployed resource"
            )
        builder = _ATTRIBUTE_BUILDERS.get(resource.resource_type, {}).get(attribute)
        if builder is None:
            raise _UnresolvedError(
                f"Fn::GetAtt {logical_id}.{attribute} of {resource.resource_type} "
                "cannot be derived from the physical id"
            )
        return builder(self.context, logical_id, resource.physical_id)

    def _sub(self, argument: Any) -> str:
        variables: dict[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise _UnresolvedError("Fn::Sub needs a string or [string, variables]")
            argument, raw_variables = argument
            for name, raw in raw_variables.items():
                variables[str(name)] = self._strict_string(
                    raw, f"Fn::Sub variable {name}"
                )
        if not isinstance(argument, str):
            raise _UnresolvedError("Fn::Sub template is not a string")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self._get_att(name.split(".", 1))
            return self._strict_string({"Ref": name}, f"Fn::Sub variable {name}")

        return _SUB_VARIABLE.sub(substitute, argument)

    def _join(self, argument: Any) -> str:
        if not isinstance(argument, list) or len(argument) != 2:
            raise _UnresolvedError("Fn::Join needs [delimiter, list]")
        delimiter = self._strict_string(argument[0], "Fn::Join delimiter")
        parts = self._strict_list(argument[1], "Fn::Join list")
        if any(isinstance(part, (dict, list)) for part in parts):
            raise _UnresolvedError("Fn::Join list contains a non-string value")
        return delimiter.join(str(part) for part in parts)

    def _select(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            raise _UnresolvedError("Fn::Select needs [index, list]")
        index_text = self._strict_string(argument[0], "Fn::Select index")
        items = self._strict_list(argument[1], "Fn::Select list")
        if not index_text.isdigit() or int(index_text) >= len(items):
            raise _UnresolvedError(f"Fn::Select index {index_text} is out of range")
        return items[int(index_text)]

    def _split(self, argument: Any) -> list[str]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise _UnresolvedError("Fn::Split needs [delimiter, string]")
        delimiter = self._strict_string(argument[0], "Fn::Split delimiter")
        source = self._strict_string(argument[1], "Fn::Split string")
        if not delimiter:
            raise _UnresolvedError("Fn::Split delimiter is empty")
        return source.split(delimiter)

    def _find_in_map(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            raise _UnresolvedError("Fn::FindInMap needs [map, top key, second key]")
        keys = [self._strict_string(key, "Fn::FindInMap key") for key in argument[:3]]
        value: Any = self.context.mappings
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                # The fourth item is the DefaultValue of the LanguageExtensions form.
                if len(argument) == 4 and isinstance(argument[3], dict):
                    return self._resolve(argument[3].get("DefaultValue"))
                raise _UnresolvedError(f"Fn::FindInMap key {key} not found")
            value = value[key]
        return value

    def _if(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise _UnresolvedError("Fn::If needs [condition, value if true, if false]")
        if not isinstance(argument[0], str):
            raise _UnresolvedError("Fn::If condition name is not a string")
        chosen = argument[1] if self.condition(argument[0]) else argument[2]
        return self._resolve(chosen)

    def _function(self, name: str, argument: Any) -> Any:
        handlers: dict[str, Callable[[Any], Any]] = {
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::If": self._if,
            "Fn::Base64": lambda a: base64.b64encode(
                self._strict_string(a, "Fn::Base64 value").encode()
            ).decode(),
            "Fn::ToJsonString": lambda a: json.dumps(
                self._strict(a, "Fn::ToJsonString value"), separators=(",", ":")
            ),
            "Fn::Length": lambda a: len(self._strict_list(a, "Fn::Length list")),
        }
        handler = handlers.get(name)
        if handler is None:
            # Fn::GetAZs, Fn::ImportValue, Fn::Cidr and the like need other services.
            raise _UnresolvedError(f"{name} is not resolved from the stack alone")
        return handler(argument)

    def condition(self, name: str) -> bool:
        """Return the value of the template condition ``name``.

        Raises:
            _UnresolvedError: The condition is missing, circular or malformed.
        """
        cached = self._condition_values.get(name)
        if cached is not None:
            return cached
        definition = self.context.conditions.get(name)
        if definition is None:
            raise _UnresolvedError(f"condition {name} is not defined")
        if name in self._conditions_in_progress:
            raise _UnresolvedError(f"condition {name} refers to itself")
        self._conditions_in_progress.add(name)
        try:
            value = self._evaluate(definition)
        finally:
            self._conditions_in_progress.discard(name)
        self._condition_values[name] = value
        return value

    def _evaluate(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            name, argument = next(iter(expression.items()))
            if name == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if (
                name == "Fn::Equals"
                and isinstance(argument, list)
                and len(argument) == 2
            ):
                left = self._strict(argument[0], "Fn::Equals value")
                right = self._strict(argument[1], "Fn::Equals value")
                return bool(left == right or str(left) == str(right))
            if name == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
                return not self._evaluate(argument[0])
            if name == "Fn::And" and isinstance(argument, list) and argument:
                return all(self._evaluate(item) for item in argument)
            if name == "Fn::Or" and isinstance(argument, list) and argument:
                return any(self._evaluate(item) for item in argument)
        if isinstance(expression, bool):
            return expression
        raise _UnresolvedError("condition expression is malformed")


def first_unresolved(value: Any) -> Unresolved | None:
    """Return the first ``Unresolved`` inside ``value``, or None when there is none."""
    if isinstance(value, Unresolved):
        return value
    children: Any = ()
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children = value
    for child in children:
        found = first_unresolved(child)
        if found is not None:
            return found
    return None


def escape_pointer(segment: str) -> str:
    """Escape one JSON-pointer segment, so keys that contain ``/`` stay one segment."""
    return segment.replace("~", "~0").replace("/", "~1")


def split_unresolved(
    properties: Mapping[str, Any],
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Remove unresolved values from resolved properties and list where they were.

    An unresolved value inside an object removes only its own key. One inside a list
    removes the whole list, because list items are compared by position.

    Returns:
        The properties without unresolved parts, and one ``{"path", "reason"}`` entry
        per removed part, with a JSON-pointer path such as ``/Environment/Variables/X``.
    """
    unresolved: list[dict[str, str]] = []

    def prune(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return value
        kept: dict[str, Any] = {}
        for key, child in value.items():
            child_path = f"{path}/{escape_pointer(str(key))}"
            found = first_unresolved(child) if isinstance(child, list) else child
            if isinstance(found, Unresolved):
                unresolved.append({"path": child_path, "reason": found.reason})
            else:
                kept[str(key)] = prune(child, child_path)
        return kept

    cleaned = prune(dict(properties), "")
    return cleaned, unresolved
