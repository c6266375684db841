"""AWS CDK v2 constructs that detect CloudFormation drift and track stack state.

Four constructs, each usable alone, each taking an ``environment_suffix`` that ends
every resource name so several environments share one account and region:

* ``PrivateEndpoints``: VPC endpoints for the services the drift functions call.
* ``StateTracker``: state table, config bucket and the stack update handler.
* ``DriftDetector``: stack update rule, drift validator and alert topic.
* ``DriftDashboard``: CloudWatch dashboard and drift alarm.

Invalid props raise ``DriftConstructsError`` when the construct is created.
"""

from __future__ import annotations

from .dashboard import DriftDashboard, DriftDashboardProps
from .drift_detector import (
    STACK_SUCCESS_STATUSES,
    DriftDetector,
    DriftDetectorProps,
    stack_update_event_pattern,
)
from .drift_runtime.ignore import IgnoreRule
from .errors import DriftConstructsError
from .private_endpoints import PrivateEndpoints, PrivateEndpointsProps
from .state_tracker import StateTracker, StateTrackerProps

__all__ = [
    "STACK_SUCCESS_STATUSES",
    "DriftConstructsError",
    "DriftDashboard",
    "DriftDashboardProps",
    "DriftDetector",
    "DriftDetectorProps",
    "IgnoreRule",
    "PrivateEndpoints",
    "PrivateEndpointsProps",
    "StateTracker",
    "StateTrackerProps",
    "stack_update_event_pattern",
]
