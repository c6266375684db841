"""Verdict of a drift check, computed from collected findings without any AWS call.

Rules, in order:

1. Any resource that is ``MODIFIED`` or ``DELETED`` after ignore rules makes the check
   ``drifted``. Drift is the actionable finding, so it wins over missing coverage, and
   the unchecked resources are still reported next to it.
2. Otherwise any unchecked resource makes the check ``incomplete``. A resource is
   unchecked when its drift status is anything but ``IN_SYNC``, ``MODIFIED`` or
   ``DELETED`` (``NOT_CHECKED``, ``UNKNOWN``, ``UNSUPPORTED`` and statuses this code
   does not know), when detection reported a failure for it, or when the stack lists
   it but no drift result names it.
3. A stack-level detection status other than ``DETECTION_COMPLETE``, or a stack drift
   status other than ``IN_SYNC`` and ``DRIFTED``, never yields ``in_sync``: with no
   resource to blame, the stack itself is listed as unchecked.
4. Otherwise the check is ``in_sync``. The stack drift status alone never decides it.

A check that could not run at all is ``failed`` (see ``failed_result``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .ignore import IgnoreRule
from .model import (
    CheckResult,
    IgnoredDrift,
    PropertyDifference,
    ResourceDrift,
    UncheckedResource,
    Verdict,
)

DRIFTED_STATUSES = frozenset({"MODIFIED", "DELETED"})
IN_SYNC_STATUS = "IN_SYNC"
DETECTION_COMPLETE = "DETECTION_COMPLETE"
STACK_TYPE = "AWS::CloudFormation::Stack"

# Resource types with no live configuration to drift. CloudFormation returns no drift
# result for them, so counting them would make every CDK stack incomplete.
NO_LIVE_STATE_TYPES = frozenset({"AWS::CDK::Metadata"})

NO_RESULT_REASON = "no drift result returned"


@dataclass(frozen=True)
class StackResource:
    """One resource that ListStackResources returned."""

    logical_id: str
    resource_type: str
    physical_id: str | None = None


@dataclass(frozen=True)
class ResourceResult:
    """One resource drift result of DescribeStackResourceDrifts."""

    logical_id: str
    resource_type: str
    status: str
    differences: tuple[PropertyDifference, ...] = ()
    physical_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Findings:
    """Everything one check collected, before ignore rules and the verdict."""

    stack_id: str
    stack_name: str
    resources: tuple[StackResource, ...] = ()
    results: tuple[ResourceResult, ...] = ()
    detection_status: str = DETECTION_COMPLETE
    stack_drift_status: str = IN_SYNC_STATUS
    detection_reason: str | None = None
    # Logical id to failure reason, parsed from the detection status reason.
    detection_failures: Mapping[str, str] | None = None
    detection_id: str | None = None
    baseline_drifts: tuple[ResourceDrift, ...] = ()
    baseline_unchecked: tuple[UncheckedResource, ...] = ()


def apply_ignore_rules(
    stack_name: str, drifts: Iterable[ResourceDrift], rules: Sequence[IgnoreRule]
) -> tuple[list[ResourceDrift], list[IgnoredDrift]]:
    """Split drifts into those still reported and those ignore rules suppress.

    A rule without ``property_path`` suppresses the whole resource. Path rules remove
    single differences, and a resource whose every difference is removed is no longer
    drifted. A ``DELETED`` resource has no differences, so only a whole-resource rule
    suppresses it.
    """
    kept: list[ResourceDrift] = []
    ignored: list[IgnoredDrift] = []
    for drift in drifts:
        matching = [
            rule
            for rule in rules
            if rule.matches_resource(stack_name, drift.logical_id, drift.resource_type)
        ]
        whole = next((rule for rule in matching if rule.property_path is None), None)
        if whole is not None:
            ignored.append(IgnoredDrift(drift.logical_id, None, whole.reason))
            continue
        remaining: list[PropertyDifference] = []
        for difference in drift.differences:
            rule = next((r for r in matching if r.matches_path(difference.path)), None)
            if rule is None:
                remaining.append(difference)
            else:
                ignored.append(
                    IgnoredDrift(drift.logical_id, difference.path, rule.reason)
                )
        if drift.differences and not remaining:
            continue
        kept.append(replace(drift, differences=tuple(remaining)))
    return kept, ignored


def merge_drifts(
    primary: Sequence[ResourceDrift], secondary: Iterable[ResourceDrift]
) -> list[ResourceDrift]:
    """Merge two sources' drifts so each resource and property is reported once.

    A resource that both sources found drifted keeps the primary entry and gains the
    secondary's differences at paths the primary did not report. Its ``source`` then
    names both, joined with ``+``.
    """
    merged = {drift.logical_id: drift for drift in primary}
    order = [drift.logical_id for drift in primary]
    for drift in secondary:
        existing = merged.get(drift.logical_id)
        if existing is None:
            merged[drift.logical_id] = drift
            order.append(drift.logical_id)
            continue
        known_paths = {difference.path for difference in existing.differences}
        extra = tuple(
            difference
            for difference in drift.differences
            if difference.path not in known_paths
        )
        if extra:
            merged[drift.logical_id] = replace(
                existing,
                differences=existing.differences + extra,
                source=f"{existing.source}+{drift.source}",
            )
    return [merged[logical_id] for logical_id in order]


def _status_reason(result: ResourceResult) -> str:
    if result.reason:
        return f"drift status {result.status}: {result.reason}"
    return f"drift status {result.status}"


def _classify_cloudformation(
    findings: Findings,
) -> tuple[list[ResourceDrift], dict[str, UncheckedResource], set[str]]:
    """Sort CloudFormation's results into drifted, unchecked and checked resources."""
    failures = dict(findings.detection_failures or {})
    types = {
        resource.logical_id: resource.resource_type for resource in findings.resources
    }
    drifts: list[ResourceDrift] = []
    unchecked: dict[str, UncheckedResource] = {}
    checked: set[str] = set()

    for result in sorted(findings.results, key=lambda item: item.logical_id):
        types.setdefault(result.logical_id, result.resource_type)
        if result.status in DRIFTED_STATUSES:
            drifts.append(
                ResourceDrift(
                    logical_id=result.logical_id,
                    resource_type=result.resource_type,
                    status=result.status,
                    differences=result.differences,
                    physical_id=result.physical_id,
                )
            )
            checked.add(result.logical_id)
        elif result.status == IN_SYNC_STATUS and result.logical_id not in failures:
            checked.add(result.logical_id)
        elif result.logical_id not in failures:
            unchecked[result.logical_id] = UncheckedResource(
                result.logical_id, _status_reason(result), result.resource_type
            )

    # A failure reported by detection outweighs an IN_SYNC result for the same
    # resource, but not a drift that was found anyway.
    for logical_id, reason in failures.items():
        if logical_id not in checked:
            unchecked[logical_id] = UncheckedResource(
                logical_id, reason, types.get(logical_id)
            )

    for resource in findings.resources:
        if resource.resource_type in NO_LIVE_STATE_TYPES:
            continue
        if resource.logical_id not in checked and resource.logical_id not in unchecked:
            unchecked[resource.logical_id] = UncheckedResource(
                resource.logical_id, NO_RESULT_REASON, resource.resource_type
            )

    return drifts, unchecked, checked


def decide(findings: Findings, ignore_rules: Sequence[IgnoreRule] = ()) -> CheckResult:
    """Apply ignore rules to the findings and return the result with its verdict."""
    drifts, unchecked, checked = _classify_cloudformation(findings)

    # The baseline comparison adds coverage: a resource it could not compare is
    # unchecked only when CloudFormation did not check it either.
    for resource in findings.baseline_unchecked:
        if resource.logical_id not in checked and resource.logical_id not in unchecked:
            unchecked[resource.logical_id] = resource
    drifts = merge_drifts(drifts, findings.baseline_drifts)

    kept, ignored = apply_ignore_rules(findings.stack_name, drifts, ignore_rules)

    if not kept and not unchecked:
        problem = _stack_level_problem(findings, had_drift=bool(drifts))
        if problem is not None:
            unchecked[findings.stack_name] = UncheckedResource(
                findings.stack_name, problem, STACK_TYPE
            )

    # Stack-level entries are not resources, so they do not count towards coverage.
    total = len(checked) + sum(
        1
        for item in unchecked.values()
        if not (
            item.resource_type == STACK_TYPE and item.logical_id == findings.stack_name
        )
    )
    if kept:
        verdict = Verdict.DRIFTED
    elif unchecked:
        verdict = Verdict.INCOMPLETE
    else:
        verdict = Verdict.IN_SYNC
    return CheckResult(
        stack_id=findings.stack_id,
        stack_name=findings.stack_name,
        verdict=verdict,
        drifted=tuple(kept),
        unchecked=tuple(sorted(unchecked.values(), key=lambda item: item.logical_id)),
        checked_count=len(checked),
        ignored=tuple(ignored),
        detection_id=findings.detection_id,
        extra={"total_resources": total},
    )


def _stack_level_problem(findings: Findings, *, had_drift: bool) -> str | None:
    if findings.detection_status != DETECTION_COMPLETE:
        reason = findings.detection_reason or "no reason given"
        return f"drift detection status {findings.detection_status}: {reason}"
    if findings.stack_drift_status == "DRIFTED" and not had_drift:
        return "stack drift status is DRIFTED but no drifted resource was returned"
    if findings.stack_drift_status not in (IN_SYNC_STATUS, "DRIFTED"):
        return f"stack drift status {findings.stack_drift_status}"
    return None


def failed_result(
    stack_id: str, stack_name: str, reason: str, detection_id: str | None = None
) -> CheckResult:
    """Return the result of a check that could not run to the end."""
    return CheckResult(
        stack_id=stack_id,
        stack_name=stack_name,
        verdict=Verdict.FAILED,
        detection_id=detection_id,
        failure_reason=reason,
    )
