"""Fixtures of the runtime tests: fake AWS credentials, no network, stubbed clients."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from drift_constructs.drift_runtime import clients

REGION = "eu-west-1"
# Kept here because some tests replace clients.client with a stub factory.
CACHED_CLIENT = clients.client


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point boto3 at fake credentials and clear the client cache around each test."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    # boto3's default session caches credentials; start each test from the environment.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    CACHED_CLIENT.cache_clear()
    clients._sessions.clear()
    clients.set_own_account(None)
    yield
    CACHED_CLIENT.cache_clear()
    clients._sessions.clear()
    clients.set_own_account(None)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail fast on any connection to a host other than the loopback address."""
    original = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        remote = host not in ("127.0.0.1", "::1", "localhost")
        if remote and self.family in (socket.AF_INET, socket.AF_INET6):
            raise ConnectionRefusedError(f"tests must not connect to {address!r}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


class FakeContext:
    """The parts of the Lambda context object the handlers and Powertools read."""

    def __init__(self, function_name: str = "validator", remaining_ms: int = 300_000):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:111111111111:function:{function_name}"
        )
        self.aws_request_id = "request-1"
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
