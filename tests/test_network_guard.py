"""The test suite's own network guard rejects anything outside loopback."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError


def test_guard_rejects_public_address() -> None:
    with (
        socket.socket() as sock,
        pytest.raises(OSError, match="only connect to loopback"),
    ):
        sock.connect(("192.0.2.1", 443))


def test_guard_allows_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as sock:
            sock.connect(server.getsockname())


def test_boto3_real_endpoint_fails_fast() -> None:
    client = boto3.client(
        "sts", region_name="us-east-1", endpoint_url="https://192.0.2.1"
    )
    with pytest.raises((OSError, EndpointConnectionError)):
        client.get_caller_identity()
