"""In-process synthesis of CDK apps into a cloud assembly directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk

from .emulator import DEFAULT_ACCOUNT, DEFAULT_REGION


def emulator_environment(
    account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> cdk.Environment:
    """Return the CDK environment of the emulated account and region."""
    return cdk.Environment(account=account, region=region)


def lookup_context(
    account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> dict[str, object]:
    """Return cached context lookups for the emulated account and region.

    Without the CDK CLI, lookups such as ``Stack.availability_zones`` fall back to
    dummy values ("dummy1a") that moto rejects, so the synthesis gets moto's zones.
    """
    zones = [f"{region}{letter}" for letter in "abc"]
    return {f"availability-zones:account={account}:region={region}": zones}


def synthesize(build: Callable[[cdk.App], None], outdir: Path) -> Path:
    """Build an app with ``build`` and synthesize it into ``outdir``.

    Returns the cloud assembly directory, which ``deploy_stack`` reads.
    """
    app = cdk.App(outdir=str(outdir), context=lookup_context())
    build(app)
    assembly = app.synth()
    return Path(assembly.directory)
