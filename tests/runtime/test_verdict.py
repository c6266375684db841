"""Properties of the pure verdict function and of ignore rules."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drift_constructs.drift_runtime.ignore import (
    BUILT_IN_RULES,
    IgnoreRule,
    effective_rules,
)
from drift_constructs.drift_runtime.model import (
    DifferenceType,
    PropertyDifference,
    ResourceDrift,
    UncheckedResource,
    Verdict,
)
from drift_constructs.drift_runtime.verdict import (
    Findings,
    ResourceResult,
    StackResource,
    apply_ignore_rules,
    decide,
)

KNOWN = ["IN_SYNC", "MODIFIED", "DELETED", "NOT_CHECKED", "UNKNOWN", "UNSUPPORTED"]
statuses = st.one_of(
    st.sampled_from(KNOWN), st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1)
)
difference = PropertyDifference("/Prop", "a", "b", DifferenceType.NOT_EQUAL)


@st.composite
def findings(draw: st.DrawFn) -> Findings:
    ids = draw(st.lists(st.from_regex(r"[A-Z][a-z]{1,6}", fullmatch=True), unique=True))
    results: list[ResourceResult] = []
    for logical_id in ids:
        if draw(st.booleans()) or not results:
            status = draw(statuses)
            diffs = (difference,) if status == "MODIFIED" else ()
            results.append(ResourceResult(logical_id, "AWS::SNS::Topic", status, diffs))
    listed = [StackResource(i, "AWS::SNS::Topic") for i in ids if draw(st.booleans())]
    return Findings(
        stack_id="arn:aws:cloudformation:eu-west-1:111111111111:stack/app/uuid",
        stack_name="app",
        resources=tuple(listed),
        results=tuple(results),
        detection_status=draw(
            st.sampled_from(["DETECTION_COMPLETE", "DETECTION_FAILED"])
        ),
        stack_drift_status=draw(st.sampled_from(["IN_SYNC", "DRIFTED", "UNKNOWN"])),
    )


@given(findings())
def test_modified_or_deleted_means_drifted(found: Findings) -> None:
    result = decide(found)
    has_drift = any(item.status in ("MODIFIED", "DELETED") for item in found.results)
    assert (result.verdict is Verdict.DRIFTED) == has_drift


@given(findings())
def test_unknown_status_never_in_sync(found: Findings) -> None:
    result = decide(found)
    if any(
        item.status not in ("IN_SYNC", "MODIFIED", "DELETED") for item in found.results
    ):
        assert result.verdict is not Verdict.IN_SYNC


@given(findings(), st.randoms())
def test_order_does_not_matter(
    found: Findings, random: st.SearchStrategy[object]
) -> None:
    results = list(found.results)
    resources = list(found.resources)
    random.shuffle(results)  # type: ignore[attr-defined]
    random.shuffle(resources)  # type: ignore[attr-defined]
    shuffled = Findings(
        stack_id=found.stack_id,
        stack_name=found.stack_name,
        resources=tuple(resources),
        results=tuple(results),
        detection_status=found.detection_status,
        stack_drift_status=found.stack_drift_status,
    )
    first = decide(found)
    second = decide(shuffled)
    assert first.verdict is second.verdict
    assert first.fingerprint() == second.fingerprint()


def base_findings(**changes: object) -> Findings:
    values: dict[str, object] = {
        "stack_id": "arn:aws:cloudformation:eu-west-1:111111111111:stack/app/uuid",
        "stack_name": "app",
    }
    values.update(changes)
    return Findings(**values)  # type: ignore[arg-type]


def test_drifted_wins_over_unchecked() -> None:
    found = base_findings(
        resources=(StackResource("Gone", "AWS::SNS::Topic"),),
        results=(ResourceResult("Bucket", "AWS::S3::Bucket", "DELETED"),),
    )
    result = decide(found)
    assert result.verdict is Verdict.DRIFTED
    assert [item.logical_id for item in result.unchecked] == ["Gone"]


def test_stack_status_alone_never_decides() -> None:
    drifted_stack = base_findings(
        stack_drift_status="DRIFTED",
        results=(ResourceResult("Topic", "AWS::SNS::Topic", "IN_SYNC"),),
    )
    assert decide(drifted_stack).verdict is Verdict.INCOMPLETE
    in_sync_stack = base_findings(
        stack_drift_status="IN_SYNC",
        results=(
            ResourceResult("Topic", "AWS::SNS::Topic", "MODIFIED", (difference,)),
        ),
    )
    assert decide(in_sync_stack).verdict is Verdict.DRIFTED


def test_fully_ignored_resource_not_drifted() -> None:
    rule = IgnoreRule(reason="managed by the tagging service", property_path="/Tags")
    drift = ResourceDrift(
        "Topic",
        "AWS::SNS::Topic",
        "MODIFIED",
        (PropertyDifference("/Tags/0/Value", "a", "b", DifferenceType.NOT_EQUAL),),
    )
    kept, ignored = apply_ignore_rules("app", [drift], [rule])
    assert kept == []
    assert ignored[0].path == "/Tags/0/Value"
    assert ignored[0].reason == "managed by the tagging service"


def test_partly_ignored_resource_keeps_rest() -> None:
    rule = IgnoreRule(reason="tags drift", property_path="/Tags")
    drift = ResourceDrift(
        "Topic",
        "AWS::SNS::Topic",
        "MODIFIED",
        (
            PropertyDifference("/Tags/0/Value", "a", "b", DifferenceType.NOT_EQUAL),
            difference,
        ),
    )
    kept, ignored = apply_ignore_rules("app", [drift], [rule])
    assert kept[0].differences == (difference,)
    assert len(ignored) == 1


def test_ignore_applies_to_baseline_drift() -> None:
    baseline_drift = ResourceDrift(
        "Db",
        "AWS::RDS::DBInstance",
        "MODIFIED",
        (PropertyDifference("/OptionGroupName", "a", "b", DifferenceType.NOT_EQUAL),),
        source="baseline",
    )
    result = decide(base_findings(baseline_drifts=(baseline_drift,)), BUILT_IN_RULES)
    assert result.verdict is Verdict.IN_SYNC
    assert result.ignored[0].logical_id == "Db"


def test_whole_resource_rule_ignores_deleted() -> None:
    rule = IgnoreRule(reason="replaced by hand on purpose", logical_id="Topic")
    found = base_findings(
        results=(ResourceResult("Topic", "AWS::SNS::Topic", "DELETED"),)
    )
    result = decide(found, [rule])
    assert result.verdict is Verdict.IN_SYNC
    assert result.ignored[0].path is None


def test_baseline_unchecked_only_adds_gaps() -> None:
    found = base_findings(
        results=(ResourceResult("Topic", "AWS::SNS::Topic", "IN_SYNC"),),
        baseline_unchecked=(
            UncheckedResource("Topic", "no live reader", "AWS::SNS::Topic"),
            UncheckedResource("Queue", "no live reader", "AWS::SQS::Queue"),
        ),
    )
    result = decide(found)
    assert [item.logical_id for item in result.unchecked] == ["Queue"]


def test_effective_rules_include_built_ins() -> None:
    custom = '[{"reason": "tags", "property_path": "/Tags"}]'
    rules = effective_rules(custom)
    assert rules[0].property_path == "/Tags"
    assert rules[1:] == BUILT_IN_RULES
    assert all(rule.reason for rule in BUILT_IN_RULES)
