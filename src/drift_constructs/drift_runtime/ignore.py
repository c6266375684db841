"""Ignore rules: drift that a team accepts and wants no alert for.

A rule matches a drifted resource or one of its property differences when every field
it sets matches; fields left as ``None`` match anything. The constructs serialise the
rules into the validator's environment as JSON, and the validator parses them back with
``parse_rules``, so this module is the single definition of the format.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any

_FIELDS = ("stack_name_pattern", "logical_id", "resource_type", "property_path")


class IgnoreRuleError(ValueError):
    """Raised when an ignore rule is malformed."""


@dataclass(frozen=True)
class IgnoreRule:
    """One ignore rule. Set at least one matcher and always a reason.

    Attributes:
        reason: Why this drift is expected. Shown wherever the ignored drift is
            reported, so a reviewer can judge the rule.
        stack_name_pattern: Shell-style pattern (``fnmatch``, case-sensitive) for the
            stack name, for example ``"app-*"``. ``None`` matches every stack.
        logical_id: Shell-style pattern for the resource's logical id. ``None``
            matches every resource.
        resource_type: CloudFormation resource type, for example ``"AWS::SNS::Topic"``,
            or a pattern such as ``"AWS::IAM::*"``. ``None`` matches every type.
        property_path: Property path as CloudFormation reports it, for example
            ``"/Tags"``; it also matches every path below it (``"/Tags/0/Value"``).
            A pattern such as ``"/Tags/*"`` is allowed. ``None`` ignores the whole
            resource.
    """

    reason: str
    stack_name_pattern: str | None = None
    logical_id: str | None = None
    resource_type: str | None = None
    property_path: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise IgnoreRuleError(
                f"IgnoreRule reason must be a non-empty string, got {self.reason!r}"
            )
        values = [getattr(self, name) for name in _FIELDS]
        if all(value is None for value in values):
            raise IgnoreRuleError(
                "IgnoreRule needs at least one of stack_name_pattern, logical_id, "
                f"resource_type or property_path (rule with reason {self.reason!r} "
                "would ignore every drift)"
            )
        for name, value in zip(_FIELDS, values, strict=True):
            if value is not None and (not isinstance(value, str) or not value):
                raise IgnoreRuleError(
                    f"IgnoreRule {name} must be a non-empty string or None, "
                    f"got {value!r}"
                )
        if self.property_path is not None and not self.property_path.startswith("/"):
            raise IgnoreRuleError(
                "IgnoreRule property_path must start with '/', "
                f"got {self.property_path!r}"
            )

    def matches_resource(
        self, stack_name: str, logical_id: str, resource_type: str
    ) -> bool:
        """Return whether the stack, logical id and type matchers all match."""
        return (
            _matches(self.stack_name_pattern, stack_name)
            and _matches(self.logical_id, logical_id)
            and _matches(self.resource_type, resource_type)
        )

    def matches_path(self, path: str) -> bool:
        """Return whether ``path`` is the rule's property path or lies below it."""
        if self.property_path is None:
            return True
        if fnmatchcase(path, self.property_path):
            return True
        prefix = self.property_path.rstrip("/") + "/"
        return path == self.property_path or path.startswith(prefix)

    def to_dict(self) -> dict[str, str]:
        """Return the rule as a JSON object without its unset fields."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def _matches(pattern: str | None, value: str) -> bool:
    return pattern is None or fnmatchcase(value, pattern)


def dump_rules(rules: list[IgnoreRule] | tuple[IgnoreRule, ...]) -> str:
    """Serialise rules to the compact JSON the validator's environment carries."""
    return json.dumps([rule.to_dict() for rule in rules], separators=(",", ":"))


def parse_rules(text: str | None) -> tuple[IgnoreRule, ...]:
    """Parse rules written by ``dump_rules``; an empty or missing value means none.

    Raises:
        IgnoreRuleError: when the text is not a JSON list of valid rules.
    """
    if not text:
        return ()
    try:
        items: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise IgnoreRuleError(f"ignore rules are not valid JSON: {error}") from error
    if not isinstance(items, list):
        raise IgnoreRuleError(
            f"ignore rules must be a JSON list, got {type(items).__name__}"
        )
    rules = []
    for item in items:
        if not isinstance(item, dict) or set(item) - {"reason", *_FIELDS}:
            raise IgnoreRuleError(
                f"ignore rule has unknown or missing fields: {item!r}"
            )
        try:
            rules.append(IgnoreRule(**item))
        except TypeError as error:
            raise IgnoreRuleError(
                f"ignore rule {item!r} is invalid: {error}"
            ) from error
    return tuple(rules)


# Known false positives of CloudFormation drift detection, applied in addition to the
# rules a deployment configures. Each was reported publicly against CloudFormation's
# resource coverage tracker with a reproduction on a freshly created stack; a fix may
# have shipped since, and the rule then only hides a property that no longer drifts.
BUILT_IN_RULES: tuple[IgnoreRule, ...] = (
    IgnoreRule(
        reason=(
            "CloudFormation drift detection reports WaitForSuccessTimeoutSeconds as "
            "removed although the association keeps it (reported 2022)"
        ),
        resource_type="AWS::SSM::Association",
        property_path="/WaitForSuccessTimeoutSeconds",
    ),
    IgnoreRule(
        reason=(
            "CloudFormation drift detection reports the DomainName property of an API "
            "Gateway v2 domain name as removed right after creation (reported 2022)"
        ),
        resource_type="AWS::ApiGatewayV2::DomainName",
        property_path="/DomainName",
    ),
    IgnoreRule(
        reason=(
            "CloudFormation drift detection reports OptionGroupName of a DB instance "
            "as modified although the instance uses the declared group (reported 2023)"
        ),
        resource_type="AWS::RDS::DBInstance",
        property_path="/OptionGroupName",
    ),
    IgnoreRule(
        reason=(
            "CloudFormation drift detection reports InputParameters of a Config rule "
            "as modified right after creation, because the describe call does not "
            "return them as declared (reported 2023)"
        ),
        resource_type="AWS::Config::ConfigRule",
        property_path="/InputParameters",
    ),
)


def effective_rules(text: str | None) -> tuple[IgnoreRule, ...]:
    """Return the configured rules parsed from ``text`` followed by ``BUILT_IN_RULES``.

    Raises:
        IgnoreRuleError: when ``text`` is not a JSON list of valid rules.
    """
    return parse_rules(text) + BUILT_IN_RULES
