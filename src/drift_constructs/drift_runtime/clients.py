"""boto3 clients with short connect timeouts and the standard retry mode.

A function in a private subnet without an endpoint for a service cannot connect at
all. A short connect timeout turns that into a quick, logged error instead of a hang
until the function's own timeout. ``AWS_ENDPOINT_URL`` (read by boto3 itself) points
every client at a local emulator in tests and the demo.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 20

# The engine retries throttled CloudFormation calls itself within the function's
# remaining time, so botocore's own retries stay few.
CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "max_attempts": 3},
)


@lru_cache(maxsize=64)
def client(
    service: str, region: str | None = None, endpoint_url: str | None = None
) -> Any:
    """Return a cached boto3 client for ``service`` with the library's configuration."""
    # boto3-stubs types client() per literal service name; callers pass any name.
    create: Any = boto3.client
    return create(
        service, region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG
    )
