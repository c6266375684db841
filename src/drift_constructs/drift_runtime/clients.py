"""boto3 clients with short connect timeouts and the standard retry mode.

``account_client`` returns a client for another account's stacks: in a hub, calls on a
member account's stacks and resources run with the member role that the account's
DriftMember construct created, assumed through STS.

A function in a private subnet without an endpoint for a service cannot connect at
all. A short connect timeout turns that into a quick, logged error instead of a hang
until the function's own timeout. ``AWS_ENDPOINT_URL`` (read by boto3 itself) points
every client at a local emulator in tests and the demo.
"""

from __future__ import annotations

import os
import threading
import time
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from . import settings

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
    service: str,
    region: str | None = None,
    endpoint_url: str | None = None,
    read_timeout: float | None = None,
) -> Any:
    """Return a cached boto3 client for ``service`` with the library's configuration.

    ``read_timeout`` shortens the wait for each response and allows one retry, for
    callers with a deadline shorter than the default timeouts.
    """
    config = CLIENT_CONFIG
    if read_timeout is not None:
        config = CLIENT_CONFIG.merge(
            Config(
                connect_timeout=min(CONNECT_TIMEOUT_SECONDS, read_timeout),
                read_timeout=read_timeout,
                retries={"mode": "standard", "total_max_attempts": 2},
            )
        )
    # boto3-stubs types client() per literal service name; callers pass any name.
    create: Any = boto3.client
    return create(service, region_name=region, endpoint_url=endpoint_url, config=config)


# Assumed-role sessions last an hour; a cached one is replaced 10 minutes early.
ROLE_SESSION_SECONDS = 3600
ROLE_REFRESH_MARGIN_SECONDS = 600
ROLE_SESSION_NAME = "drift-constructs"

_own_account: str | None = None
_sessions: dict[tuple[str, str], tuple[float, Any]] = {}
_sessions_lock = threading.Lock()


def set_own_account(account: str | None) -> None:
    """Record the function's own account, read from its ARN at each invocation."""
    global _own_account  # noqa: PLW0603 - one value per Lambda container
    _own_account = account


def own_account_from_context(context: Any) -> str | None:
    """Return the account id in the invoked function's ARN, if the context has one."""
    arn = getattr(context, "invoked_function_arn", None)
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def member_role_arn(account: str, partition: str = "aws") -> str | None:
    """Return the member role ARN to assume in ``account``, or None for no role.

    No role is assumed when no member role name is configured or when ``account``
    is the function's own account.
    """
    role_name = os.environ.get(settings.ENV_MEMBER_ROLE_NAME)
    if not role_name or account == _own_account:
        return None
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def account_client(
    service: str, account: str, region: str, partition: str = "aws"
) -> Any:
    """Return a client for ``service`` on the resources of ``account``.

    In the function's own account, or with no member role configured, this is
    ``client(service, region)``. Otherwise it is a client with the credentials of
    the member role in ``account``, cached until shortly before they expire.
    """
    role_arn = member_role_arn(account, partition)
    if role_arn is None:
        return client(service, region)
    key = (role_arn, region)
    with _sessions_lock:
        cached = _sessions.get(key)
        if cached is None or cached[0] <= time.time():
            credentials = client("sts", region).assume_role(
                RoleArn=role_arn,
                RoleSessionName=ROLE_SESSION_NAME,
                DurationSeconds=ROLE_SESSION_SECONDS,
            )["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
            expires = time.time() + ROLE_SESSION_SECONDS - ROLE_REFRESH_MARGIN_SECONDS
            cached = (expires, {"session": session, "clients": {}})
            _sessions[key] = cached
        entry: dict[str, Any] = cached[1]
        clients: dict[str, Any] = entry["clients"]
        if service not in clients:
            create: Any = entry["session"].client
            clients[service] = create(service, config=CLIENT_CONFIG)
        return clients[service]
