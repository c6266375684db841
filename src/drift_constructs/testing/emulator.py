"""An in-process moto server on the loopback interface, with fake AWS credentials.

``moto_server`` starts moto's ``ThreadedMotoServer`` on 127.0.0.1 and a free port,
installs the drift detection extension, and points every boto3 client created in the
block at the server through ``AWS_ENDPOINT_URL``. The credentials are fake and the
shared AWS config files are hidden, so no client in the block can reach real AWS.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from drift_constructs.drift_runtime import clients

from .drift_detection import install_drift_detection

# moto's default account, which owns every resource created with any access key.
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
LOOPBACK = "127.0.0.1"

# Client settings for the emulator: a server on loopback either responds at once or is
# gone, so fail fast instead of retrying.
EMULATOR_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=30, retries={"mode": "standard", "max_attempts": 2}
)


def fake_aws_environment(endpoint_url: str, region: str) -> dict[str, str]:
    """Return the environment variables that point boto3 at the emulator only."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


# Variables that would send boto3 to a real profile or endpoint; unset in the block.
_UNSET_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CA_BUNDLE")


@dataclass(frozen=True)
class Emulator:
    """A running moto server and the account and region it emulates."""

    endpoint_url: str
    region: str
    account: str = DEFAULT_ACCOUNT

    def client(self, service: str) -> Any:
        """Return a boto3 client for ``service`` that talks to the emulator."""
        # cast: boto3-stubs types client() per literal service name only.
        return cast(Any, boto3.client)(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            config=EMULATOR_CLIENT_CONFIG,
        )


@contextmanager
def patched_environment(
    values: dict[str, str], unset: tuple[str, ...] = ()
) -> Iterator[None]:
    """Set and unset environment variables for the block, then restore them."""
    names = set(values) | set(unset)
    saved = {name: os.environ.get(name) for name in names}
    for name in unset:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def reset_emulator(emulator: Emulator) -> None:
    """Delete every emulated resource, through moto's reset endpoint.

    moto keeps its state in this process, so a new server would otherwise start with
    the resources of an earlier one, and ``mock_aws`` blocks share it too.
    """
    request = urllib.request.Request(
        f"{emulator.endpoint_url}/moto-api/reset", method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


@contextmanager
def moto_server(region: str = DEFAULT_REGION) -> Iterator[Emulator]:
    """Run a moto server on 127.0.0.1 for the block and stop it on exit.

    The server starts empty. Inside the block, boto3 clients created without an
    explicit endpoint go to the server. The library's cached clients are dropped on
    entry and exit, because they keep the endpoint they were created with.
    """
    install_drift_detection()
    # werkzeug logs every request at INFO level, which would bury the caller's output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        emulator = Emulator(endpoint_url=f"http://{host}:{port}", region=region)
        reset_emulator(emulator)
        environment = fake_aws_environment(emulator.endpoint_url, region)
        with patched_environment(environment, unset=_UNSET_VARIABLES):
            clients.client.cache_clear()
            try:
                yield emulator
            finally:
                clients.client.cache_clear()
    finally:
        server.stop()
