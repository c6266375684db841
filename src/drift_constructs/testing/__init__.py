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

from .deploy import Adjustment, DeployedStack, deploy_stack, deploy_template
from .drift_detection import install_drift_detection
from .emulator import Emulator, moto_server, reset_emulator
from .state_table import create_state_table
from .synth import emulator_environment, synthesize

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
