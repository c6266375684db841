"""SNS alert messages: when to send one and what it says.

An alert goes out when a check's fingerprint (verdict and exact findings) differs from
the last alerted one, so a drift that persists across checks alerts once. A stack that
returns to ``in_sync`` after a non-``in_sync`` alert gets a recovery message, and an
``in_sync`` first check sends nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .model import CheckResult, Verdict

# SNS rejects subjects longer than 100 characters and messages over 256 KiB.
MAX_SUBJECT_LENGTH = 100
MAX_BODY_BYTES = 250_000
# Longer property values are shortened in the message; the stored report keeps them.
MAX_VALUE_LENGTH = 300
ALERT = "alert"
RECOVERY = "recovery"

_CONSOLE_DOMAINS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


@dataclass(frozen=True)
class Alert:
    """One SNS message with its subject and filterable message attributes."""

    kind: str
    subject: str
    body: str
    attributes: dict[str, str]

    def message_attributes(self) -> dict[str, dict[str, str]]:
        """Return the attributes as SNS ``Publish`` ``MessageAttributes``."""
        return {
            name: {"DataType": "String", "StringValue": value}
            for name, value in self.attributes.items()
        }


def alert_kind(
    result: CheckResult,
    last_alert_fingerprint: str | None,
    last_alert_verdict: str | None,
) -> str | None:
    """Return ``ALERT``, ``RECOVERY`` or ``None`` (send nothing) for a check result."""
    if result.verdict is Verdict.IN_SYNC:
        if (
            last_alert_verdict is not None
            and last_alert_verdict != Verdict.IN_SYNC.value
        ):
            return RECOVERY
        return None
    if result.fingerprint() != last_alert_fingerprint:
        return ALERT
    return None


def console_url(stack_arn: str, region: str, partition: str = "aws") -> str:
    """Return the CloudFormation console address of the stack's drift page."""
    domain = _CONSOLE_DOMAINS.get(partition, _CONSOLE_DOMAINS["aws"])
    return (
        f"https://{region}.{domain}/cloudformation/home?region={region}"
        f"#/stacks/drifts?stackId={quote(stack_arn, safe='')}"
    )


def account_of(stack_arn: str) -> str:
    """Return the account id inside a stack ARN, or "" when there is none."""
    parts = stack_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else ""


def _where(result: CheckResult, environment: str, region: str) -> str:
    # A hub receives the stacks of many accounts and regions; the subject names
    # them so that two stacks of one name stay apart.
    account = account_of(result.stack_id)
    return f"{environment}, {account} {region}" if account else environment


def _subject(result: CheckResult, environment: str, region: str, kind: str) -> str:
    where = _where(result, environment, region)
    if kind == RECOVERY:
        text = f"Back in sync: stack {result.stack_name} ({where})"
    else:
        counts = {
            Verdict.DRIFTED: f"{len(result.drifted)} drifted resource(s)",
            Verdict.INCOMPLETE: f"{len(result.unchecked)} unchecked resource(s)",
        }.get(result.verdict, "")
        headline = {
            Verdict.DRIFTED: "Drift detected",
            Verdict.INCOMPLETE: "Drift check incomplete",
            Verdict.FAILED: "Drift check failed",
        }.get(result.verdict, f"Drift check {result.verdict.value}")
        text = f"{headline}: stack {result.stack_name} ({where})"
        text = f"{text}, {counts}" if counts else text
    # SNS subjects must be printable ASCII on one line.
    printable = "".join(c if " " <= c <= "~" else "?" for c in text)
    if len(printable) > MAX_SUBJECT_LENGTH:
        printable = printable[: MAX_SUBJECT_LENGTH - 3] + "..."
    return printable


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    if len(text) > MAX_VALUE_LENGTH:
        return f"{text[:MAX_VALUE_LENGTH]}... ({len(text)} characters in all)"
    return text


def _fit_body(lines: list[str]) -> str:
    """Join the lines, dropping the last ones that would exceed SNS's size limit."""
    body = "\n".join(lines)
    if len(body.encode()) <= MAX_BODY_BYTES:
        return body
    kept: list[str] = []
    size = 0
    for line in lines:
        size += len(line.encode()) + 1
        if size > MAX_BODY_BYTES - 200:
            break
        kept.append(line)
    dropped = len(lines) - len(kept)
    kept.append(
        f"... {dropped} more line(s) left out to fit the SNS message size limit; "
        "the full report is stored in the config bucket."
    )
    return "\n".join(kept)


def coverage_line(result: CheckResult) -> str:
    """Return "checked N of M resources", the coverage of one check."""
    total = result.extra.get(
        "total_resources", result.checked_count + len(result.unchecked)
    )
    return f"Coverage: checked {result.checked_count} of {total} resources"


def _body(
    result: CheckResult, environment: str, region: str, partition: str, kind: str
) -> str:
    lines = [
        f"Stack: {result.stack_name}",
        f"Stack ARN: {result.stack_id}",
        f"Environment: {environment}",
        f"Account: {account_of(result.stack_id) or 'unknown'}, region: {region}",
        f"Verdict: {result.verdict.value}",
    ]
    if kind == RECOVERY:
        lines.append(
            "The stack matches its template again; the earlier alert is resolved."
        )
    if result.failure_reason:
        lines.append(f"Check failed: {result.failure_reason}")
    lines.append(coverage_line(result))

    if result.drifted:
        lines += ["", "Drifted resources:"]
        for drift in result.drifted:
            source = (
                "" if drift.source == "cloudformation" else f", found by {drift.source}"
            )
            lines.append(
                f"- {drift.logical_id} ({drift.resource_type}): {drift.status}{source}"
            )
            for difference in drift.differences:
                lines.append(
                    f"    {difference.path} [{difference.type.value}]: "
                    f"expected {_value(difference.expected)}, "
                    f"actual {_value(difference.actual)}"
                )
    if result.unchecked:
        lines += ["", "Unchecked resources:"]
        for resource in result.unchecked:
            kind_text = f" ({resource.resource_type})" if resource.resource_type else ""
            lines.append(f"- {resource.logical_id}{kind_text}: {resource.reason}")
    if result.ignored:
        lines += ["", "Ignored drift:"]
        for ignored in result.ignored:
            where = ignored.path or "whole resource"
            lines.append(f"- {ignored.logical_id} {where}: {ignored.reason}")

    # The console link goes first so it survives when the end of the body is cut.
    link = f"Drift details: {console_url(result.stack_id, region, partition)}"
    return _fit_body([*lines[:5], link, *lines[5:]])


def build_alert(
    result: CheckResult,
    *,
    environment: str,
    region: str,
    kind: str = ALERT,
    partition: str = "aws",
) -> Alert:
    """Build the SNS message for a check result."""
    return Alert(
        kind=kind,
        subject=_subject(result, environment, region, kind),
        body=_body(result, environment, region, partition, kind),
        attributes={
            "verdict": result.verdict.value,
            "environment": environment,
            "account": account_of(result.stack_id) or "unknown",
            "region": region,
        },
    )
