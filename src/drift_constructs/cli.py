"""Command-line interface: ``drift-constructs check`` and ``drift-constructs compare``.

Both commands run with the caller's AWS credentials and the same engine as the
validator function. ``check`` exits with the verdict's code (0 in sync, 1 drifted,
2 incomplete, 3 failed); every error exits 3 with one line on stderr.
"""

# boto3 and Powertools are imported inside functions to keep start-up short.
# ruff: noqa: PLC0415
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, NoReturn, TextIO

from .drift_runtime.alerts import coverage_line
from .drift_runtime.model import CheckResult, Verdict

EXIT_ERROR = Verdict.FAILED.exit_code
DEFAULT_TIMEOUT_SECONDS = 600.0


class CommandError(Exception):
    """Raised for an error the CLI reports in one line and exit code 3."""


class _ArgumentParser(argparse.ArgumentParser):
    """Argument parser whose usage errors exit 3, apart from the verdict codes."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _timeout_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"invalid timeout {text!r}: expected a positive number of seconds"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="drift-constructs",
        description="Check CloudFormation stacks for drift with your AWS credentials.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def add_common(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--region", help="AWS region of the stacks (default: your profile's)"
        )
        command.add_argument(
            "--endpoint-url",
            help="CloudFormation endpoint URL, for example a local emulator",
        )
        command.add_argument(
            "--json", action="store_true", help="print one JSON object"
        )

    check = commands.add_parser("check", help="run drift detection on one stack")
    check.add_argument("--stack", required=True, help="stack name or stack ARN")
    check.add_argument(
        "--timeout",
        type=_timeout_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds to wait for detection (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    add_common(check)

    compare = commands.add_parser(
        "compare", help="compare the configuration of two stacks, such as dev and prod"
    )
    compare.add_argument("--left", required=True, help="first stack name or ARN")
    compare.add_argument("--right", required=True, help="second stack name or ARN")
    compare.add_argument(
        "--left-environment",
        help="environment name in the left stack's names (default: from stack names)",
    )
    compare.add_argument(
        "--right-environment",
        help="environment name in the right stack's names (default: from stack names)",
    )
    add_common(compare)
    return parser


def _client(
    service: str,
    region: str | None,
    endpoint_url: str | None,
    timeout: float | None = None,
) -> Any:
    from .drift_runtime import clients

    if timeout is None:
        return clients.client(service, region, endpoint_url)
    # No single request may wait longer than the command's whole timeout.
    read_timeout = max(1.0, min(float(clients.READ_TIMEOUT_SECONDS), timeout))
    return clients.client(service, region, endpoint_url, read_timeout)


def resolve_stack_arn(cloudformation: Any, stack: str) -> str:
    """Return the ARN of a stack given its name or ARN.

    Raises:
        CommandError: when the stack does not exist or cannot be described.
    """
    if stack.startswith("arn:"):
        return stack
    from botocore.exceptions import ClientError

    try:
        response = cloudformation.describe_stacks(StackName=stack)
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        raise CommandError(
            f"stack {stack!r} not found or not readable: {message}"
        ) from error
    stacks = response.get("Stacks", [])
    if not stacks:
        raise CommandError(f"stack {stack!r} not found")
    return str(stacks[0]["StackId"])


def _run_check(args: argparse.Namespace) -> CheckResult:
    from .drift_runtime.detection import run_check

    region = args.region
    if region is None and args.stack.startswith("arn:"):
        # A stack ARN names its region: arn:partition:cloudformation:region:...
        region = args.stack.split(":")[3] or None
    # The deadline starts before the first call, so --timeout bounds the command.
    deadline = time.monotonic() + args.timeout
    cloudformation = _client("cloudformation", region, args.endpoint_url, args.timeout)
    stack_arn = resolve_stack_arn(cloudformation, args.stack)
    return run_check(
        cloudformation, stack_arn, remaining_seconds=lambda: deadline - time.monotonic()
    )


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    return [
        indent
        + "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


def _text(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def format_result(result: CheckResult, color: bool = False) -> str:
    """Return the human-readable report of a check result."""
    verdict = result.verdict.value
    if color:
        code = {"in_sync": "32", "drifted": "31", "incomplete": "33", "failed": "31"}[
            verdict
        ]
        verdict = f"\033[{code}m{verdict}\033[0m"
    lines = [
        f"Stack:    {result.stack_name}",
        f"Verdict:  {verdict}",
        coverage_line(result),
    ]
    if result.failure_reason:
        lines.append(f"Failure:  {result.failure_reason}")
    if result.drifted:
        lines += ["", "Drifted resources:"]
        rows = [["LOGICAL ID", "TYPE", "STATUS", "PROPERTY", "EXPECTED", "ACTUAL"]]
        for drift in result.drifted:
            first = [drift.logical_id, drift.resource_type, drift.status]
            if not drift.differences:
                rows.append([*first, "-", "-", "-"])
            for index, difference in enumerate(drift.differences):
                prefix = first if index == 0 else ["", "", ""]
                rows.append(
                    [
                        *prefix,
                        difference.path,
                        _text(difference.expected),
                        _text(difference.actual),
                    ]
                )
        lines += _table(rows)
    if result.unchecked:
        lines += ["", "Unchecked resources:"]
        rows = [["LOGICAL ID", "TYPE", "REASON"]]
        rows += [
            [item.logical_id, item.resource_type or "-", item.reason]
            for item in result.unchecked
        ]
        lines += _table(rows)
    if result.ignored:
        lines += ["", "Ignored drift:"]
        rows = [["LOGICAL ID", "PROPERTY", "REASON"]]
        rows += [
            [item.logical_id, item.path or "(all)", item.reason]
            for item in result.ignored
        ]
        lines += _table(rows)
    return "\n".join(lines)


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    from .drift_runtime.baseline import capture_baseline, compare_environments

    cloudformation = _client("cloudformation", args.region, args.endpoint_url)
    now = datetime.now(timezone.utc)
    documents = []
    for stack in (args.left, args.right):
        stack_arn = resolve_stack_arn(cloudformation, stack)
        documents.append(capture_baseline(cloudformation, stack_arn, now))
    try:
        differences = compare_environments(
            documents[0],
            documents[1],
            left_environment=args.left_environment,
            right_environment=args.right_environment,
        )
    except ValueError as error:
        raise CommandError(str(error)) from error
    if args.json:
        document = {
            "left": args.left,
            "right": args.right,
            "differences": [drift.to_dict() for drift in differences],
        }
        print(json.dumps(document, indent=2, default=str), file=out)
    elif not differences:
        print(f"{args.left} and {args.right} have the same configuration.", file=out)
    else:
        print(
            f"Differences between {args.left} (expected) and {args.right} (actual):",
            file=out,
        )
        rows = [["LOGICAL ID", "TYPE", "STATUS", "PROPERTY", "LEFT", "RIGHT"]]
        for drift in differences:
            for difference in drift.differences or ():
                rows.append(
                    [
                        drift.logical_id,
                        drift.resource_type,
                        drift.status,
                        difference.path,
                        _text(difference.expected),
                        _text(difference.actual),
                    ]
                )
            if not drift.differences:
                rows.append(
                    [drift.logical_id, drift.resource_type, drift.status, "-", "-", "-"]
                )
        print("\n".join(_table(rows)), file=out)
    return 0 if not differences else 1


def _error_message(error: Exception) -> str:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found; configure a profile or set AWS_PROFILE"
    if isinstance(error, NoRegionError):
        return "no AWS region given; pass --region or set AWS_REGION"
    if isinstance(error, (CommandError, BotoCoreError, ClientError)):
        return str(error)
    # Any other failure, such as a response botocore cannot parse from an endpoint
    # that is not CloudFormation, still exits 3: exit code 1 would mean "drifted".
    return f"{type(error).__name__}: {error}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code."""
    args = _parser().parse_args(argv)
    out = sys.stdout
    try:
        if args.command == "compare":
            return _compare(args, out)
        result = _run_check(args)
    except Exception as error:
        print(f"error: {_error_message(error)}", file=sys.stderr)
        return EXIT_ERROR

    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str), file=out)
    else:
        print(format_result(result, color=out.isatty()), file=out)
    return result.verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
