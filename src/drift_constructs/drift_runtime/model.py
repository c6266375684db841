"""Data model of a drift check: differences, drifted and unchecked resources.

Everything here is plain data with no AWS calls, so the engine, the handlers, the CLI
and the tests share one shape. ``CheckResult.to_dict`` is the JSON document that the
CLI's ``--json`` option prints and the validator stores as the full report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    """Outcome of one drift check, ordered from best to worst by ``exit_code``."""

    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    INCOMPLETE = "incomplete"
    FAILED = "failed"

    @property
    def exit_code(self) -> int:
        """Exit code of the ``drift-constructs check`` command for this verdict."""
        return {"in_sync": 0, "drifted": 1, "incomplete": 2, "failed": 3}[self.value]


class DifferenceType(str, Enum):
    """Kind of a property difference, with CloudFormation's names."""

    ADD = "ADD"
    REMOVE = "REMOVE"
    NOT_EQUAL = "NOT_EQUAL"


@dataclass(frozen=True)
class PropertyDifference:
    """One property whose live value differs from the expected one.

    ``expected`` and ``actual`` are JSON values (``None`` when absent on that side);
    ``path`` is a JSON-pointer-like path such as ``/VersioningConfiguration/Status``.
    """

    path: str
    expected: Any
    actual: Any
    type: DifferenceType

    def to_dict(self) -> dict[str, Any]:
        """Return the difference as a JSON object."""
        return {
            "path": self.path,
            "expected": self.expected,
            "actual": self.actual,
            "type": self.type.value,
        }


@dataclass(frozen=True)
class ResourceDrift:
    """A resource whose live state differs from what its stack declares.

    ``status`` is ``MODIFIED`` or ``DELETED``, and ``ADDED`` too when environments are
    compared. ``source`` is ``cloudformation`` for CloudFormation's own drift detection,
    ``baseline`` for the baseline comparison and ``environment`` for the comparison of
    two environments. A resource that two sources found drifted is reported once, with
    both names joined by ``+`` (``cloudformation+baseline``).
    """

    logical_id: str
    resource_type: str
    status: str
    differences: tuple[PropertyDifference, ...] = ()
    physical_id: str | None = None
    source: str = "cloudformation"

    def to_dict(self) -> dict[str, Any]:
        """Return the drifted resource as a JSON object."""
        return {
            "logical_id": self.logical_id,
            "resource_type": self.resource_type,
            "status": self.status,
            "physical_id": self.physical_id,
            "source": self.source,
            "differences": [difference.to_dict() for difference in self.differences],
        }


@dataclass(frozen=True)
class UncheckedResource:
    """A resource the check could not verify, with the reason in plain words."""

    logical_id: str
    reason: str
    resource_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the unchecked resource as a JSON object."""
        return {
            "logical_id": self.logical_id,
            "resource_type": self.resource_type,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class IgnoredDrift:
    """Drift that an ignore rule suppressed, kept so reports can show it."""

    logical_id: str
    path: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Return the ignored drift as a JSON object."""
        return {"logical_id": self.logical_id, "path": self.path, "reason": self.reason}


@dataclass(frozen=True)
class CheckResult:
    """Full result of one drift check of one stack."""

    stack_id: str
    stack_name: str
    verdict: Verdict
    drifted: tuple[ResourceDrift, ...] = ()
    unchecked: tuple[UncheckedResource, ...] = ()
    checked_count: int = 0
    ignored: tuple[IgnoredDrift, ...] = ()
    detection_id: str | None = None
    failure_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Return a hash of the verdict and the exact set of findings.

        Two checks with the same fingerprint would send the same alert, so the
        validator alerts only when the fingerprint changes.
        """
        findings = {
            "verdict": self.verdict.value,
            "drifted": sorted(
                json.dumps(
                    [
                        drift.logical_id,
                        drift.status,
                        drift.source,
                        *sorted(
                            json.dumps(
                                difference.to_dict(), sort_keys=True, default=str
                            )
                            for difference in drift.differences
                        ),
                    ]
                )
                for drift in self.drifted
            ),
            "unchecked": sorted(resource.logical_id for resource in self.unchecked),
        }
        encoded = json.dumps(findings, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Return the result as the JSON object of the CLI output and stored reports."""
        return {
            "stack": self.stack_name,
            "stack_id": self.stack_id,
            "verdict": self.verdict.value,
            "drifted": [drift.to_dict() for drift in self.drifted],
            "unchecked": [resource.to_dict() for resource in self.unchecked],
            "checked_count": self.checked_count,
            "ignored": [ignored.to_dict() for ignored in self.ignored],
            "detection_id": self.detection_id,
            "failure_reason": self.failure_reason,
            **self.extra,
        }
