"""drift-constructs check and compare: exit codes, JSON shape and error lines."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from drift_constructs import cli
from drift_constructs.drift_runtime import baseline, clients
from drift_constructs.drift_runtime.model import (
    DifferenceType,
    PropertyDifference,
    ResourceDrift,
)

from . import cfn_stubs as cfn
from .cfn_stubs import STACK_ARN, WHEN


@pytest.fixture
def stubber(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client, stub = cfn.stubbed_cloudformation()
    monkeypatch.setattr(clients, "client", lambda service, *args: client)
    return stub


def describe_stack(stubber: Stubber, name: str = "app-dev") -> None:
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackId": STACK_ARN,
                    "StackName": name,
                    "CreationTime": WHEN,
                    "StackStatus": "UPDATE_COMPLETE",
                }
            ]
        },
        {"StackName": name},
    )


def stub_drifted(stubber: Stubber) -> None:
    cfn.detect(stubber)
    cfn.status(stubber, "DETECTION_COMPLETE", "DRIFTED")
    difference = {
        "PropertyPath": "/VersioningConfiguration/Status",
        "ExpectedValue": "Enabled",
        "ActualValue": "Suspended",
        "DifferenceType": "NOT_EQUAL",
    }
    cfn.drift_page(
        stubber,
        [cfn.drift_entry("ConfigBucket", "AWS::S3::Bucket", "MODIFIED", [difference])],
    )
    cfn.resources(
        stubber,
        [("ConfigBucket", "AWS::S3::Bucket"), ("S3Endpoint", "AWS::EC2::VPCEndpoint")],
    )


def test_check_json_drifted(
    stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    describe_stack(stubber)
    stub_drifted(stubber)

    code = cli.main(["check", "--stack", "app-dev", "--json"])

    assert code == 1
    document = json.loads(capsys.readouterr().out)
    assert document["stack"] == "app-dev"
    assert document["verdict"] == "drifted"
    drift = document["drifted"][0]
    assert drift["logical_id"] == "ConfigBucket"
    assert drift["resource_type"] == "AWS::S3::Bucket"
    assert drift["status"] == "MODIFIED"
    assert drift["differences"] == [
        {
            "path": "/VersioningConfiguration/Status",
            "expected": "Enabled",
            "actual": "Suspended",
            "type": "NOT_EQUAL",
        }
    ]
    assert document["unchecked"][0]["logical_id"] == "S3Endpoint"
    assert document["unchecked"][0]["reason"] == "no drift result returned"


def test_check_human_output(
    stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    stub_drifted(stubber)

    code = cli.main(["check", "--stack", STACK_ARN])

    assert code == 1
    output = capsys.readouterr().out
    assert "Verdict:  drifted" in output
    assert "Coverage: checked 1 of 2 resources" in output
    assert "/VersioningConfiguration/Status  Enabled   Suspended" in output
    assert "\033[" not in output


@pytest.mark.parametrize(
    ("drift_status", "expected_code"),
    [("IN_SYNC", 0), ("NOT_CHECKED", 2)],
)
def test_check_exit_codes(
    stubber: Stubber, drift_status: str, expected_code: int
) -> None:
    cfn.detect(stubber)
    cfn.status(stubber)
    cfn.drift_page(stubber, [cfn.drift_entry("Topic", "AWS::SNS::Topic", drift_status)])
    cfn.resources(stubber, [("Topic", "AWS::SNS::Topic")])

    assert cli.main(["check", "--stack", STACK_ARN]) == expected_code


def test_check_failed_exit_code(stubber: Stubber) -> None:
    stubber.add_client_error("detect_stack_drift", "AccessDenied", "not allowed")

    assert cli.main(["check", "--stack", STACK_ARN, "--json"]) == 3


def test_stack_not_found(stubber: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    stubber.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id missing does not exist"
    )

    code = cli.main(["check", "--stack", "missing"])

    assert code == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: stack 'missing' not found")


def test_no_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")

    code = cli.main(["check", "--stack", "app-dev", "--region", "eu-west-1"])

    assert code == 3
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials found")
    assert "Traceback" not in err


def test_compare_prints_differences(
    stubber: Stubber,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    describe_stack(stubber, "app-dev")
    describe_stack(stubber, "app-prod")
    monkeypatch.setattr(
        baseline,
        "capture_baseline",
        lambda client, stack_id, captured_at: {"stack_id": stack_id},
        raising=False,
    )
    drift = ResourceDrift(
        "Queue",
        "AWS::SQS::Queue",
        "MODIFIED",
        (PropertyDifference("/VisibilityTimeout", 30, 60, DifferenceType.NOT_EQUAL),),
        source="baseline",
    )

    def fake_compare(left: Any, right: Any, **environments: Any) -> list[ResourceDrift]:
        return [drift]

    monkeypatch.setattr(baseline, "compare_environments", fake_compare, raising=False)

    code = cli.main(["compare", "--left", "app-dev", "--right", "app-prod", "--json"])

    assert code == 1
    document = json.loads(capsys.readouterr().out)
    assert document["differences"][0]["differences"][0]["path"] == "/VisibilityTimeout"


@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["check", "--stack", "app-dev", "--bogus"],
        ["check", "--stack", "app-dev", "--timeout", "abc"],
        ["check", "--stack", "app-dev", "--timeout", "nan"],
        ["check", "--stack", "app-dev", "--timeout", "-5"],
        ["unknown-command"],
    ],
)
def test_usage_errors_exit_3(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(argv)

    assert raised.value.code == 3


def test_compare_without_environment_names_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_capture(cloudformation: Any, arn: str, now: Any) -> dict[str, Any]:
        return {"stack_name": arn.split("/")[1], "resources": {}}

    monkeypatch.setattr(baseline, "capture_baseline", fake_capture, raising=False)
    left = "arn:aws:cloudformation:us-east-1:111111111111:stack/app/u1"
    right = "arn:aws:cloudformation:us-east-1:111111111111:stack/app2/u2"

    code = cli.main(["compare", "--left", left, "--right", right])

    assert code == 3
    assert "error:" in capsys.readouterr().err


class _Server:
    """A server on 127.0.0.1 that returns garbage, or accepts and never responds."""

    def __init__(self, silent: bool) -> None:
        import socket
        import threading

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.silent = silent
        self.connections: list[Any] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)
            if not self.silent:
                connection.recv(65536)
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
                    b"Content-Length: 9\r\n\r\nnot a doc"
                )
                connection.close()

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.parametrize("silent", [False, True], ids=["garbage", "silent"])
def test_unusable_endpoint_exits_3_within_timeout(
    silent: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    clients.client.cache_clear()
    server = _Server(silent)
    started = time.monotonic()
    try:
        code = cli.main(
            [
                "check",
                "--stack",
                "app-dev",
                "--region",
                "eu-west-1",
                "--timeout",
                "2",
                "--endpoint-url",
                f"http://127.0.0.1:{server.port}",
            ]
        )
    finally:
        server.close()
        clients.client.cache_clear()

    # Exit code 1 would claim drift; a broken endpoint is an error.
    assert code == 3
    assert capsys.readouterr().err.startswith("error: ")
    # Two attempts of at most two seconds each, with a wide margin for a busy host.
    assert time.monotonic() - started < 30


def test_missing_region_names_the_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    clients.client.cache_clear()

    code = cli.main(["check", "--stack", "app-dev"])

    assert code == 3
    assert "pass --region or set AWS_REGION" in capsys.readouterr().err
