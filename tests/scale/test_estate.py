"""The estate benchmark: its simulated CloudFormation, and a small run of the handlers.

The benchmark lives in ``benchmarks/`` and is loaded from its file. The fake tests
run in milliseconds each. ``test_small_run_meets_targets`` runs both handlers against
60 stacks in three accounts, with throttling, dropped and duplicated drift status
events and stack updates during the sweep, in about 10 seconds.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: dataclasses and the driver's own import look it up by name.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fake = _load("estate_fake")
estate = _load("estate")

HUB = fake.HUB_ACCOUNT
MEMBER = fake.MEMBER_ACCOUNTS[0]
REGION = fake.REGION


def make_estate(
    stacks: int = 30,
    *,
    accounts: tuple[str, ...] = (HUB,),
    throttling: bool = False,
    burst: float = 20.0,
    refill: float = 4.0,
    validate: bool = True,
) -> Any:
    clock = fake.SimClock()
    built = fake.build_estate(stacks, 5, accounts=accounts)
    return fake.SimulatedEstate(
        built,
        clock,
        seed=5,
        throttling=throttling,
        burst=burst,
        refill_per_second=refill,
        failed_detection_rate=0.0,
        validate_responses=validate,
    )


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def largest_stack(simulated: Any) -> Any:
    return max(simulated.stacks, key=lambda stack: len(stack.resources))


# The simulated estate.


def test_estate_same_for_same_seed() -> None:
    first = [stack.arn for stack in fake.build_estate(40, 9)]
    again = [stack.arn for stack in fake.build_estate(40, 9)]
    other = [stack.arn for stack in fake.build_estate(40, 10)]
    assert first == again
    assert first != other


def test_estate_has_nested_stacks_listed_by_parent() -> None:
    stacks = fake.build_estate(200, 2)
    by_arn = {stack.arn: stack for stack in stacks}
    nested = [stack for stack in stacks if stack.is_nested]
    assert 20 <= len(nested) <= 30
    for child in nested:
        parent = by_arn[child.parent_arn]
        root = by_arn[child.root_arn]
        assert not root.is_nested
        assert child.name.startswith(f"{root.name}-")
        listed = [
            resource
            for resource in parent.resources
            if resource.resource_type == "AWS::CloudFormation::Stack"
            and resource.physical_id == child.arn
        ]
        assert len(listed) == 1


def test_estate_resource_counts_vary() -> None:
    counts = [len(stack.resources) for stack in fake.build_estate(300, 4)]
    assert min(counts) >= 3
    assert max(counts) > 100


# Pagination.


def test_describe_stacks_pages_of_100() -> None:
    simulated = make_estate(250)
    client = simulated.client(HUB, REGION)
    first = client.describe_stacks()
    second = client.describe_stacks(NextToken=first["NextToken"])
    third = client.describe_stacks(NextToken=second["NextToken"])
    assert [len(page["Stacks"]) for page in (first, second, third)] == [100, 100, 50]
    assert "NextToken" not in third
    listed = [
        item["StackId"] for page in (first, second, third) for item in page["Stacks"]
    ]
    assert listed == [stack.arn for stack in simulated.stacks]


def test_describe_stacks_paginator() -> None:
    simulated = make_estate(250)
    paginator = simulated.client(HUB, REGION).get_paginator("describe_stacks")
    result = paginator.paginate().build_full_result()
    assert len(result["Stacks"]) == 250


def test_describe_stacks_nested_fields() -> None:
    simulated = make_estate(60)
    child = next(stack for stack in simulated.stacks if stack.is_nested)
    described = simulated.client(HUB, REGION).describe_stacks(StackName=child.arn)
    stack = described["Stacks"][0]
    assert stack["ParentId"] == child.parent_arn
    assert stack["RootId"] == child.root_arn
    assert stack["DriftInformation"]["StackDriftStatus"] in (
        "NOT_CHECKED",
        "IN_SYNC",
        "DRIFTED",
    )


def test_resource_drifts_span_pages() -> None:
    simulated = make_estate(300)
    client = simulated.client(HUB, REGION)
    stack = largest_stack(simulated)
    client.detect_stack_drift(StackName=stack.arn)
    simulated.clock.advance(fake.DETECTION_MAX_SECONDS + 1)
    results = []
    params: dict[str, Any] = {"StackName": stack.arn, "MaxResults": 100}
    pages = 0
    while True:
        page = client.describe_stack_resource_drifts(**params)
        pages += 1
        assert len(page["StackResourceDrifts"]) <= 100
        results.extend(page["StackResourceDrifts"])
        if "NextToken" not in page:
            break
        params["NextToken"] = page["NextToken"]
    checked = [item for item in stack.resources if item.supports_drift]
    assert pages >= 2
    assert len(results) == len(checked)
    assert {item["LogicalResourceId"] for item in results} == {
        item.logical_id for item in checked
    }


def test_resource_drifts_max_results_limit() -> None:
    simulated = make_estate(20)
    stack = simulated.stacks[0]
    with pytest.raises(ClientError) as raised:
        simulated.client(HUB, REGION).describe_stack_resource_drifts(
            StackName=stack.arn, MaxResults=101
        )
    assert error_code(raised.value) == "ValidationError"


def test_list_stack_resources_pages() -> None:
    simulated = make_estate(300)
    client = simulated.client(HUB, REGION)
    stack = largest_stack(simulated)
    first = client.list_stack_resources(StackName=stack.arn)
    assert len(first["StackResourceSummaries"]) == 100
    rest = client.list_stack_resources(
        StackName=stack.arn, NextToken=first["NextToken"]
    )
    total = len(first["StackResourceSummaries"]) + len(rest["StackResourceSummaries"])
    if "NextToken" in rest:
        last = client.list_stack_resources(
            StackName=stack.arn, NextToken=rest["NextToken"]
        )
        total += len(last["StackResourceSummaries"])
    assert total == len(stack.resources)


def test_next_token_of_other_stack_rejected() -> None:
    simulated = make_estate(300)
    client = simulated.client(HUB, REGION)
    stack = largest_stack(simulated)
    other = next(item for item in simulated.stacks if item.arn != stack.arn)
    token = client.list_stack_resources(StackName=stack.arn)["NextToken"]
    with pytest.raises(ClientError) as raised:
        client.list_stack_resources(StackName=other.arn, NextToken=token)
    assert error_code(raised.value) == "ValidationError"


# Throttling.


def test_throttled_after_burst() -> None:
    simulated = make_estate(10, throttling=True, burst=5, refill=1.0)
    client = simulated.client(HUB, REGION)
    for _ in range(5):
        client.list_stacks()
    with pytest.raises(ClientError) as raised:
        client.list_stacks()
    assert error_code(raised.value) == "Throttling"
    assert raised.value.response["Error"]["Message"] == "Rate exceeded"
    assert raised.value.operation_name == "ListStacks"
    assert simulated.counts.throttled == 1
    assert simulated.counts.api_calls == 6


def test_throttle_bucket_refills() -> None:
    simulated = make_estate(10, throttling=True, burst=2, refill=1.0)
    client = simulated.client(HUB, REGION)
    client.list_stacks()
    client.list_stacks()
    simulated.clock.advance(1.0)
    client.list_stacks()
    assert simulated.counts.throttled == 0


def test_throttle_bucket_per_account() -> None:
    simulated = make_estate(
        30, accounts=(HUB, MEMBER), throttling=True, burst=2, refill=0.1
    )
    hub = simulated.client(HUB, REGION)
    member = simulated.client(MEMBER, REGION)
    hub.list_stacks()
    hub.list_stacks()
    member.list_stacks()
    with pytest.raises(ClientError):
        hub.list_stacks()
    assert simulated.counts.throttled == 1


# StackName and request validation.


def test_stack_name_must_be_arn() -> None:
    simulated = make_estate(60)
    client = simulated.client(HUB, REGION)
    child = next(stack for stack in simulated.stacks if stack.is_nested)
    parent = simulated.by_arn[child.parent_arn]
    for name in (child.name, f"{parent.name}/{child.name}"):
        with pytest.raises(ClientError) as raised:
            client.detect_stack_drift(StackName=name)
        assert error_code(raised.value) == "ValidationError"
    assert client.detect_stack_drift(StackName=child.arn)["StackDriftDetectionId"]
    assert simulated.counts.detections[child.arn] == 1


def test_stack_of_other_account_rejected() -> None:
    simulated = make_estate(30, accounts=(HUB, MEMBER))
    member_stack = next(stack for stack in simulated.stacks if stack.account == MEMBER)
    with pytest.raises(ClientError) as raised:
        simulated.client(HUB, REGION).describe_stacks(StackName=member_stack.arn)
    assert error_code(raised.value) == "ValidationError"


def test_unknown_parameter_fails_validation() -> None:
    simulated = make_estate(5)
    client = simulated.client(HUB, REGION)
    with pytest.raises(ParamValidationError):
        client.detect_stack_drift(StackName=simulated.stacks[0].arn, Force=True)
    with pytest.raises(ParamValidationError):
        client.describe_stack_resource_drifts(
            StackName=simulated.stacks[0].arn, MaxResults="100"
        )
    assert simulated.counts.api_calls == 0


def test_unimplemented_operation_fails() -> None:
    simulated = make_estate(5)
    with pytest.raises(NotImplementedError, match="DescribeStackEvents"):
        simulated.client(HUB, REGION).describe_stack_events(
            StackName=simulated.stacks[0].arn
        )
    assert simulated.counts.unsupported_calls == 1


# Detections.


def test_running_detection_rejects_another() -> None:
    simulated = make_estate(5)
    client = simulated.client(HUB, REGION)
    arn = simulated.stacks[0].arn
    client.detect_stack_drift(StackName=arn)
    with pytest.raises(ClientError) as raised:
        client.detect_stack_drift(StackName=arn)
    assert error_code(raised.value) == "ValidationError"
    assert simulated.counts.rejected_detections[arn] == 1
    simulated.clock.advance(fake.DETECTION_MAX_SECONDS + 1)
    client.detect_stack_drift(StackName=arn)
    assert simulated.counts.detections[arn] == 2


def test_detection_ends_after_delay() -> None:
    simulated = make_estate(5)
    client = simulated.client(HUB, REGION)
    stack = simulated.stacks[0]
    before = client.describe_stacks(StackName=stack.arn)["Stacks"][0]
    detection_id = client.detect_stack_drift(StackName=stack.arn)[
        "StackDriftDetectionId"
    ]
    started = simulated.detections[detection_id].started
    status = client.describe_stack_drift_detection_status(
        StackDriftDetectionId=detection_id
    )
    assert status["DetectionStatus"] == "DETECTION_IN_PROGRESS"
    during = client.describe_stacks(StackName=stack.arn)["Stacks"][0]
    assert during["DriftInformation"] == before["DriftInformation"]
    simulated.clock.advance(fake.DETECTION_MAX_SECONDS + 1)
    status = client.describe_stack_drift_detection_status(
        StackDriftDetectionId=detection_id
    )
    assert status["DetectionStatus"] == "DETECTION_COMPLETE"
    assert status["StackDriftStatus"] in ("IN_SYNC", "DRIFTED")
    after = client.describe_stacks(StackName=stack.arn)["Stacks"][0]["DriftInformation"]
    assert after["StackDriftStatus"] == status["StackDriftStatus"]
    assert after["LastCheckTimestamp"] == fake.EPOCH + timedelta(seconds=started)
    assert simulated.counts.status_polls == 2
    assert simulated.counts.polls_in_progress == 1


def test_drift_event_shape() -> None:
    simulated = make_estate(5)
    client = simulated.client(HUB, REGION)
    stack = simulated.stacks[0]
    detection_id = client.detect_stack_drift(StackName=stack.arn)[
        "StackDriftDetectionId"
    ]
    simulated.clock.advance(fake.DETECTION_MAX_SECONDS + 1)
    simulated.settle()
    event = simulated.drift_event(simulated.detections[detection_id], "event-1")
    detail = event["detail"]
    assert event["detail-type"] == "CloudFormation Drift Detection Status Change"
    assert detail["stack-id"] == stack.arn
    assert detail["stack-drift-detection-id"] == detection_id
    assert detail["status-details"]["detection-status"] == "DETECTION_COMPLETE"
    count = detail["drift-detection-details"]["drifted-stack-resource-count"]
    assert count == sum(
        1 for item in stack.resources if item.drift_status in ("MODIFIED", "DELETED")
    )


def test_responses_match_botocore_model() -> None:
    simulated = make_estate(300, validate=True)
    client = simulated.client(HUB, REGION)
    stack = largest_stack(simulated)
    client.describe_stacks()
    client.list_stacks(StackStatusFilter=["UPDATE_COMPLETE"])
    detection_id = client.detect_stack_drift(StackName=stack.arn)[
        "StackDriftDetectionId"
    ]
    client.describe_stack_drift_detection_status(StackDriftDetectionId=detection_id)
    simulated.clock.advance(fake.DETECTION_MAX_SECONDS + 1)
    client.describe_stack_drift_detection_status(StackDriftDetectionId=detection_id)
    drifts = client.describe_stack_resource_drifts(StackName=stack.arn, MaxResults=50)
    client.list_stack_resources(StackName=stack.arn)
    client.get_template(StackName=stack.arn)
    assert len(drifts["StackResourceDrifts"]) == 50
    assert simulated.counts.api_calls == 8


# Simulated time and the polling comparison.


def test_runtime_clock_patched_and_restored() -> None:
    from drift_constructs.drift_runtime import events, store

    clock = fake.SimClock()
    clock.advance(7200)
    with estate.patched_runtime(clock, {}):
        assert events.datetime.now(timezone.utc) == clock.now()
        assert isinstance(datetime.now(timezone.utc), events.datetime)
        assert store.time.time() == clock.epoch_seconds()
        time.sleep(30)
        assert clock.seconds == 7230
    assert events.datetime is datetime
    assert store.time is time


def test_polling_comparison_counts_polls() -> None:
    config = estate.BenchmarkConfig(stacks=40, seed=3, polling_sample=6)
    comparison = estate.run_polling_comparison(config)
    assert comparison.stacks == 6
    # Every detection takes 5 s or more, so the poll right after the start finds it
    # running and at least one more poll follows.
    assert comparison.status_polls >= 2 * comparison.stacks
    # Besides the polls: one start, one page of results and one of resources each.
    assert comparison.api_calls >= comparison.status_polls + 3 * comparison.stacks
    assert sum(comparison.verdicts.values()) == 6


# A small run of the handlers.


def test_small_run_meets_targets() -> None:
    # One test, so that pytest-xdist runs the handlers once. Every assertion prints
    # the report, whose timelines show the calls and events behind a miss.
    config = estate.BenchmarkConfig(
        stacks=60,
        seed=11,
        burst=5.0,
        refill_per_second=1.0,
        failed_detection_rate=0.0,
        drop_rate=0.1,
        duplicate_rate=0.1,
        update_event_fraction=0.1,
        polling_sample=0,
    )
    result = estate.EstateDriver(config).run()
    report = estate.format_report(result)
    deliveries = result.deliveries
    nested = [stack for stack in result.stacks if stack.is_nested]

    assert result.lost_stacks == [], report
    assert result.dead_letters == [], report
    assert result.lost == 0, report
    assert result.duplicate_checks == 0, report
    assert set(result.check_records.values()) == {1}, report
    assert result.counts.status_polls == 0, report
    assert result.counts.throttled > 0, report
    assert result.handler_errors == [], report
    assert result.stranded_messages == 0, report
    assert result.unsettled_phases == 0, report

    # The faults happened, and the second sweep finished every dropped event's check.
    dropped = deliveries["drift status events dropped"]
    assert dropped > 0, report
    assert deliveries["drift status events duplicated"] > 0, report
    assert deliveries["stack status change event deliveries"] > 0, report
    assert any(stack.receives_update_event for stack in nested), report
    assert result.sweeps[1]["response"]["queued_finishes"] == dropped, report

    assert len(nested) >= 5, report
    assert result.nested_not_checked_by_arn == [], report
    for stack in nested:
        assert result.counts.detections[stack.arn] == 1, report

    assert report.splitlines()[-1] == result.count_line()
    assert result.count_line().startswith("stacks=60 lost=0 duplicate_checks=0 ")
