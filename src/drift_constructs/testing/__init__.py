"""Test support for drift-constructs: a local AWS emulator with drift detection.

Everything here runs against moto in this process and needs the ``test`` extra
(``moto[server]``). The same pieces run ``make demo`` and the project's own tests.

* ``moto_server``: a moto server on 127.0.0.1 with fake credentials, for a block.
* ``install_drift_detection``: CloudFormation drift detection for moto.
* ``synthesize`` and ``deploy_stack``: synthesize a CDK app and deploy one of its
  stacks into the emulator after a fake CDK bootstrap.
* ``create_state_table``: a table with the state table's keys, for handler tests.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public names and their modules, imported on first access: a handler test or a
# simulation that needs only create_state_table does not load aws-cdk-lib and Node.js.
_EXPORTS = {
    "Adjustment": ".deploy",
    "DeployedStack": ".deploy",
    "Emulator": ".emulator",
    "create_state_table": ".state_table",
    "deploy_stack": ".deploy",
    "deploy_template": ".deploy",
    "emulator_environment": ".synth",
    "install_drift_detection": ".drift_detection",
    "moto_server": ".emulator",
    "reset_emulator": ".emulator",
    "synthesize": ".synth",
}


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "Adjustment",
    "DeployedStack",
    "Emulator",
    "create_state_table",
    "deploy_stack",
    "deploy_template",
    "emulator_environment",
    "install_drift_detection",
    "moto_server",
    "reset_emulator",
    "synthesize",
]
