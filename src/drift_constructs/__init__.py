"""AWS CDK v2 constructs that detect CloudFormation drift and track stack state.

Five constructs, each usable alone, each taking an ``environment_suffix`` that ends
every resource name so several environments share one account and region:

* ``PrivateEndpoints``: VPC endpoints for the services the drift functions call.
* ``StateTracker``: state table, config bucket and the stack update handler.
* ``DriftDetector``: event rules, check queue, drift validator, scheduled sweep and
  alert topic; with member accounts, also the hub event bus.
* ``DriftDashboard``: CloudWatch dashboard and drift alarm.
* ``DriftMember``: in a member account, forwards CloudFormation events to a hub
  ``DriftDetector`` and creates the role the hub assumes there.

Invalid props raise ``DriftConstructsError`` when the construct is created, and so
does a table, function, queue, alarm or export name that another stack of the same app
already uses in the same account and region (``add_exported_output`` adds outputs
with that check).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._registry import add_exported_output
    from .dashboard import DriftDashboard, DriftDashboardProps
    from .drift_detector import (
        STACK_SUCCESS_STATUSES,
        DriftDetector,
        DriftDetectorProps,
        drift_status_event_pattern,
        stack_update_event_pattern,
    )
    from .drift_member import DriftMember, DriftMemberProps
    from .drift_runtime.ignore import IgnoreRule
    from .errors import DriftConstructsError
    from .private_endpoints import PrivateEndpoints, PrivateEndpointsProps
    from .state_tracker import StateTracker, StateTrackerProps

# Public names and the modules that define them. They are imported on first access,
# so the command line and the Lambda code, which need no aws-cdk-lib, start without
# paying for its import (about a second).
_EXPORTS = {
    "STACK_SUCCESS_STATUSES": ".drift_detector",
    "DriftConstructsError": ".errors",
    "DriftDashboard": ".dashboard",
    "DriftDashboardProps": ".dashboard",
    "DriftDetector": ".drift_detector",
    "DriftDetectorProps": ".drift_detector",
    "DriftMember": ".drift_member",
    "DriftMemberProps": ".drift_member",
    "IgnoreRule": ".drift_runtime.ignore",
    "PrivateEndpoints": ".private_endpoints",
    "PrivateEndpointsProps": ".private_endpoints",
    "StateTracker": ".state_tracker",
    "StateTrackerProps": ".state_tracker",
    "add_exported_output": "._registry",
    "drift_status_event_pattern": ".drift_detector",
    "stack_update_event_pattern": ".drift_detector",
}


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name, __name__)
    except ImportError as error:
        # Without this, "from drift_constructs import X" hides the real cause, which
        # is usually an aws-cdk-lib older than the one in the package requirements.
        raise ImportError(
            f"drift_constructs.{name} could not be imported: {error}; check that "
            "aws-cdk-lib and constructs meet the versions this package requires"
        ) from error
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "STACK_SUCCESS_STATUSES",
    "DriftConstructsError",
    "DriftDashboard",
    "DriftDashboardProps",
    "DriftDetector",
    "DriftDetectorProps",
    "DriftMember",
    "DriftMemberProps",
    "IgnoreRule",
    "PrivateEndpoints",
    "PrivateEndpointsProps",
    "StateTracker",
    "StateTrackerProps",
    "add_exported_output",
    "drift_status_event_pattern",
    "stack_update_event_pattern",
]
