"""Fixtures for the construct tests: the reference stack and its template."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii reads these when its Node.js process starts, so they are set before aws_cdk is
# imported: deprecated CDK APIs fail instead of warning.
os.environ.setdefault("JSII_DEPRECATED", "fail")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

TESTS_DIRECTORY = Path(__file__).resolve().parent
EXAMPLES_DIRECTORY = TESTS_DIRECTORY.parents[1] / "examples"
# The tests run in importlib mode, which adds nothing to sys.path. The tests import
# construct_helpers from here, and reference_stack the way examples/app.py does.
for directory in (TESTS_DIRECTORY, EXAMPLES_DIRECTORY):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))

from construct_helpers import (  # noqa: E402
    ACCOUNT,
    REGION,
    build_hub_stack,
    build_member_stack,
)


@pytest.fixture(scope="session")
def reference_stack() -> cdk.Stack:
    """The reference stack with suffix ``qa``, built once per test session."""
    from reference_stack import DriftReferenceStack

    app = cdk.App()
    return DriftReferenceStack(
        app,
        "DriftConstructsReference-qa",
        environment_suffix="qa",
        env=cdk.Environment(account=ACCOUNT, region=REGION),
    )


@pytest.fixture(scope="session")
def reference_template(reference_stack: cdk.Stack) -> Template:
    """Synthesized template of the reference stack."""
    return Template.from_stack(reference_stack)


@pytest.fixture(scope="session")
def hub_and_member() -> tuple[cdk.Stack, cdk.Stack]:
    """A hub stack and the member stack of examples/ in one app, built once."""
    app = cdk.App()
    return build_hub_stack(app), build_member_stack(app)


@pytest.fixture(scope="session")
def hub_template(hub_and_member: tuple[cdk.Stack, cdk.Stack]) -> Template:
    """Synthesized template of the hub stack."""
    return Template.from_stack(hub_and_member[0])


@pytest.fixture(scope="session")
def member_template(hub_and_member: tuple[cdk.Stack, cdk.Stack]) -> Template:
    """Synthesized template of the member stack."""
    return Template.from_stack(hub_and_member[1])
