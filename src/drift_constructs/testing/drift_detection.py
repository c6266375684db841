"""CloudFormation drift detection for moto, which does not implement it (moto 5.2).

``install_drift_detection`` adds DetectStackDrift, DescribeStackDriftDetectionStatus,
DescribeStackResourceDrifts and DetectStackResourceDrift to moto's
``CloudFormationResponse`` in this process. moto finds a response method by the
snake-case name of the action and serializes the returned ``ActionResult`` with
botocore's model of the operation, so the methods work both under ``mock_aws`` and in a
``ThreadedMotoServer`` started in the same process.

Detection is real: for each stack resource of a type in ``resource_state.READERS``, the
declared properties (with Ref, Fn::GetAtt, Fn::Sub and Fn::Join resolved by moto against
the stack) are compared with the live state in moto's backends by
``drift_runtime.diff.diff_properties``. Other resource types come back ``NOT_CHECKED``
with the reason in ``DriftStatusReason``, as real CloudFormation does for types that
drift detection does not support. Detection finishes within the DetectStackDrift call,
so the first DescribeStackDriftDetectionStatus returns ``DETECTION_COMPLETE``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.parsing import clean_json
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult

from drift_constructs.drift_runtime.diff import diff_properties
from drift_constructs.drift_runtime.model import PropertyDifference

from .resource_state import COMPARED_PROPERTIES, READERS, read_actual_properties

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 100
DRIFT_STATUSES = ("IN_SYNC", "MODIFIED", "DELETED", "NOT_CHECKED")

# Attribute that stores the extension's detections on each moto CloudFormation backend,
# so resetting moto (a new mock_aws context) also drops them.
_STORE_ATTRIBUTE = "drift_constructs_detections"


@dataclass
class _Detection:
    detection_id: str
    stack_id: str
    timestamp: datetime
    resource_drifts: list[dict[str, Any]]

    @property
    def drifted_count(self) -> int:
        return sum(
            1
            for drift in self.resource_drifts
            if drift["StackResourceDriftStatus"] in ("MODIFIED", "DELETED")
        )

    @property
    def stack_drift_status(self) -> str:
        return "DRIFTED" if self.drifted_count else "IN_SYNC"


@dataclass
class _DetectionStore:
    by_id: dict[str, _Detection] = field(default_factory=dict)
    latest_by_stack: dict[str, str] = field(default_factory=dict)


def _store(backend: Any) -> _DetectionStore:
    store = getattr(backend, _STORE_ATTRIBUTE, None)
    if store is None:
        store = _DetectionStore()
        setattr(backend, _STORE_ATTRIBUTE, store)
    return store


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _value_text(value: Any) -> str:
    """Format one value of a property difference as CloudFormation does: JSON text,
    except that strings appear without quotes."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _difference_shape(difference: PropertyDifference) -> dict[str, str]:
    return {
        "PropertyPath": difference.path,
        "ExpectedValue": _value_text(difference.expected),
        "ActualValue": _value_text(difference.actual),
        "DifferenceType": difference.type.value,
    }


def _checkable_stack(backend: Any, stack_name: str) -> Any:
    stack = backend.get_stack(stack_name)
    if stack.status == "DELETE_COMPLETE":
        raise ValidationError(stack_name)
    if stack.status.endswith("_IN_PROGRESS"):
        raise ValidationError(
            message=(
                f"Drift detection cannot run on stack {stack.name} while its status "
                f"is {stack.status}; retry when the stack operation has finished."
            )
        )
    return stack


def _created_resource(stack: Any, logical_id: str) -> Any:
    # NOTE: reads moto's private cache of created resources, because indexing the
    # resource map would try to create a resource that moto skipped.
    return stack.resource_map._parsed_resources.get(logical_id)


def _resource_drift(
    stack: Any, logical_id: str, declaration: dict[str, Any], timestamp: datetime
) -> dict[str, Any]:
    resource_type = declaration.get("Type", "")
    resource = _created_resource(stack, logical_id)
    physical_id = getattr(resource, "physical_resource_id", None)
    drift: dict[str, Any] = {
        "StackId": stack.stack_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Timestamp": timestamp,
    }
    if physical_id is not None:
        drift["PhysicalResourceId"] = physical_id

    if resource_type not in READERS:
        drift["StackResourceDriftStatus"] = "NOT_CHECKED"
        drift["DriftStatusReason"] = (
            f"The emulator does not model drift detection for {resource_type}."
        )
        return drift
    if physical_id is None:
        drift["StackResourceDriftStatus"] = "NOT_CHECKED"
        drift["DriftStatusReason"] = (
            f"moto did not create {logical_id}, so it has no physical resource."
        )
        return drift

    resolved = clean_json(
        copy.deepcopy(declaration.get("Properties", {})), stack.resource_map
    )
    compared = COMPARED_PROPERTIES[resource_type]
    expected = {key: value for key, value in resolved.items() if key in compared}
    skipped = sorted(key for key in resolved if key not in compared)
    drift["ExpectedProperties"] = json.dumps(expected, sort_keys=True, default=str)

    actual = read_actual_properties(
        resource_type, physical_id, stack.account_id, stack.region_name, resolved
    )
    if actual is None:
        drift["StackResourceDriftStatus"] = "DELETED"
        return drift

    differences = diff_properties(expected, actual)
    drift["ActualProperties"] = json.dumps(actual, sort_keys=True, default=str)
    drift["PropertyDifferences"] = [_difference_shape(d) for d in differences]
    drift["StackResourceDriftStatus"] = "MODIFIED" if differences else "IN_SYNC"
    if skipped:
        drift["DriftStatusReason"] = (
            "The emulator does not compare these declared properties: "
            + ", ".join(skipped)
        )
    return drift


def _declared_resources(stack: Any) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = stack.template_dict.get("Resources", {})
    conditions = stack.resource_map.lazy_condition_map
    return {
        logical_id: declaration
        for logical_id, declaration in resources.items()
        if "Condition" not in declaration or conditions[declaration["Condition"]]
    }


def detect_stack_drift(response: Any) -> ActionResult:
    """Run drift detection on a stack (name or ARN) and store the result."""
    backend = response.cloudformation_backend
    stack = _checkable_stack(backend, response._get_param("StackName"))
    declared = _declared_resources(stack)
    logical_ids = response._get_param("LogicalResourceIds") or list(declared)
    unknown = [logical_id for logical_id in logical_ids if logical_id not in declared]
    if unknown:
        raise ValidationError(
            message=f"Resources {unknown} do not exist in stack {stack.name}."
        )

    timestamp = _now()
    detection = _Detection(
        detection_id=str(uuid.uuid4()),
        stack_id=stack.stack_id,
        timestamp=timestamp,
        resource_drifts=[
            _resource_drift(stack, logical_id, declared[logical_id], timestamp)
            for logical_id in logical_ids
        ],
    )
    store = _store(backend)
    store.by_id[detection.detection_id] = detection
    store.latest_by_stack[stack.stack_id] = detection.detection_id
    return ActionResult({"StackDriftDetectionId": detection.detection_id})


def describe_stack_drift_detection_status(response: Any) -> ActionResult:
    """Return the status and outcome of one drift detection."""
    detection_id = response._get_param("StackDriftDetectionId")
    detection = _store(response.cloudformation_backend).by_id.get(detection_id)
    if detection is None:
        raise ValidationError(
            message=f"Drift detection with id {detection_id} does not exist."
        )
    return ActionResult(
        {
            "StackId": detection.stack_id,
            "StackDriftDetectionId": detection.detection_id,
            "StackDriftStatus": detection.stack_drift_status,
            "DetectionStatus": "DETECTION_COMPLETE",
            "DriftedStackResourceCount": detection.drifted_count,
            "Timestamp": detection.timestamp,
        }
    )


def _encode_token(detection_id: str, offset: int) -> str:
    payload = json.dumps({"detection": detection_id, "offset": offset})
    return base64.urlsafe_b64encode(payload.encode()).decode()


def _decode_token(token: str, detection_id: str) -> int:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(payload["offset"])
        token_detection = payload["detection"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise ValidationError(message=f"Invalid NextToken: {token}") from error
    if token_detection != detection_id or offset < 0:
        # A newer detection replaced the results this token pages through.
        raise ValidationError(message=f"Invalid NextToken: {token}")
    return offset


def describe_stack_resource_drifts(response: Any) -> ActionResult:
    """Return one page of the resource results of a stack's latest drift detection."""
    backend = response.cloudformation_backend
    stack = backend.get_stack(response._get_param("StackName"))
    max_results = response._get_param("MaxResults") or DEFAULT_MAX_RESULTS
    if not 1 <= int(max_results) <= MAX_RESULTS_LIMIT:
        raise ValidationError(
            message=f"MaxResults must be between 1 and {MAX_RESULTS_LIMIT}, "
            f"not {max_results}."
        )
    status_filters = response._get_param("StackResourceDriftStatusFilters") or list(
        DRIFT_STATUSES
    )

    store = _store(backend)
    detection_id = store.latest_by_stack.get(stack.stack_id)
    if detection_id is None:
        return ActionResult({"StackResourceDrifts": []})
    detection = store.by_id[detection_id]
    drifts = [
        drift
        for drift in detection.resource_drifts
        if drift["StackResourceDriftStatus"] in status_filters
    ]

    token = response._get_param("NextToken")
    start = _decode_token(token, detection_id) if token else 0
    end = start + int(max_results)
    result: dict[str, Any] = {"StackResourceDrifts": drifts[start:end]}
    if end < len(drifts):
        result["NextToken"] = _encode_token(detection_id, end)
    return ActionResult(result)


def detect_stack_resource_drift(response: Any) -> ActionResult:
    """Run drift detection on one resource and return its result without storing it."""
    stack = _checkable_stack(
        response.cloudformation_backend, response._get_param("StackName")
    )
    logical_id = response._get_param("LogicalResourceId")
    declared = _declared_resources(stack)
    if logical_id not in declared:
        raise ValidationError(
            message=f"Resource {logical_id} does not exist in stack {stack.name}."
        )
    drift = _resource_drift(stack, logical_id, declared[logical_id], _now())
    return ActionResult({"StackResourceDrift": drift})


_OPERATIONS = {
    "detect_stack_drift": detect_stack_drift,
    "describe_stack_drift_detection_status": describe_stack_drift_detection_status,
    "describe_stack_resource_drifts": describe_stack_resource_drifts,
    "detect_stack_resource_drift": detect_stack_resource_drift,
}


def install_drift_detection() -> None:
    """Add the drift detection operations to moto's CloudFormation in this process.

    Calling it again has no further effect. It changes moto's response class for the
    whole process, so every mock and in-process server started later has the operations.
    """
    for name, operation in _OPERATIONS.items():
        setattr(CloudFormationResponse, name, operation)
