"""Resolution of intrinsic functions against a known stack."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from drift_constructs.drift_runtime.intrinsics import (
    REMOVED,
    Resolver,
    StackContext,
    StackResource,
    Unresolved,
    first_unresolved,
    split_unresolved,
)

STACK_ID = "arn:aws:cloudformation:eu-west-1:111122223333:stack/app-dev/abc"


def make_resolver() -> Resolver:
    context = StackContext(
        stack_id=STACK_ID,
        stack_name="app-dev",
        account="111122223333",
        region="eu-west-1",
        partition="aws",
        parameters={
            "Stage": "dev",
            "Subnets": ["subnet-1", "subnet-2"],
            "Secret": Unresolved("parameter Secret is NoEcho"),
        },
        resources={
            "Table": StackResource("AWS::DynamoDB::Table", "app-dev-Table-X1"),
            "Queue": StackResource(
                "AWS::SQS::Queue",
                "https://sqs.eu-west-1.amazonaws.com/111122223333/app-dev-Queue-Q1",
            ),
            "Role": StackResource("AWS::IAM::Role", "app-dev-Role-R1"),
            "Cluster": StackResource("AWS::ECS::Cluster", "app-dev-Cluster-C1"),
        },
        resource_properties={"Role": {"Path": "/service/"}},
        mappings={"Sizes": {"dev": {"Memory": "256"}}},
        conditions={
            "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
            "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
            "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
        },
    )
    return Resolver(context)


def test_ref_to_parameter_and_resource() -> None:
    resolver = make_resolver()

    assert resolver.resolve({"Ref": "Stage"}) == "dev"
    assert resolver.resolve({"Ref": "Subnets"}) == ["subnet-1", "subnet-2"]
    assert resolver.resolve({"Ref": "Table"}) == "app-dev-Table-X1"


def test_ref_to_pseudo_parameters() -> None:
    resolver = make_resolver()

    assert resolver.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "111122223333"
    assert resolver.resolve({"Ref": "AWS::StackName"}) == "app-dev"
    assert resolver.resolve({"Ref": "AWS::StackId"}) == STACK_ID
    assert resolver.resolve({"Ref": "AWS::Partition"}) == "aws"
    assert resolver.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"


def test_ref_to_unknown_name_is_unresolved() -> None:
    result = make_resolver().resolve({"Ref": "Missing"})

    assert isinstance(result, Unresolved)
    assert "Missing" in result.reason


def test_no_echo_parameter_is_unresolved() -> None:
    result = make_resolver().resolve({"Fn::Sub": "x-${Secret}"})

    assert isinstance(result, Unresolved)
    assert "NoEcho" in result.reason


def test_sub_forms() -> None:
    resolver = make_resolver()

    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Stage}"}) == (
        "app-dev-dev"
    )
    assert resolver.resolve({"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Table"}}]}) == (
        "app-dev-Table-X1-x"
    )
    assert resolver.resolve({"Fn::Sub": "${!Literal}"}) == "${Literal}"
    assert resolver.resolve({"Fn::Sub": "${Table.Arn}"}) == (
        "arn:aws:dynamodb:eu-west-1:111122223333:table/app-dev-Table-X1"
    )


def test_join_select_split() -> None:
    resolver = make_resolver()
    joined = {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, {"Ref": "Stage"}]]}

    assert resolver.resolve(joined) == "arn:aws:dev"
    assert resolver.resolve({"Fn::Join": [",", {"Ref": "Subnets"}]}) == (
        "subnet-1,subnet-2"
    )
    assert resolver.resolve({"Fn::Select": ["1", {"Ref": "Subnets"}]}) == "subnet-2"
    assert resolver.resolve({"Fn::Split": ["-", "a-b"]}) == ["a", "b"]


def test_get_att_derived_from_physical_id() -> None:
    resolver = make_resolver()

    assert resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == (
        "arn:aws:sqs:eu-west-1:111122223333:app-dev-Queue-Q1"
    )
    assert resolver.resolve({"Fn::GetAtt": "Queue.QueueName"}) == "app-dev-Queue-Q1"
    assert resolver.resolve({"Fn::GetAtt": ["Role", "Arn"]}) == (
        "arn:aws:iam::111122223333:role/service/app-dev-Role-R1"
    )


def test_get_att_not_derivable_is_unresolved() -> None:
    resolver = make_resolver()

    stream = resolver.resolve({"Fn::GetAtt": ["Table", "StreamArn"]})
    cluster = resolver.resolve({"Fn::GetAtt": ["Cluster", "Arn"]})

    assert isinstance(stream, Unresolved)
    assert "Table.StreamArn" in stream.reason
    assert isinstance(cluster, Unresolved)


def test_functions_needing_other_services_are_unresolved() -> None:
    resolver = make_resolver()

    for value in (
        {"Fn::ImportValue": "shared-vpc"},
        {"Fn::GetAZs": ""},
        {"Fn::Cidr": ["10.0.0.0/16", 4, 8]},
    ):
        result = resolver.resolve(value)
        assert isinstance(result, Unresolved), value


def test_conditions_and_no_value() -> None:
    resolver = make_resolver()
    properties = {
        "Memory": {"Fn::If": ["IsDev", 256, 1024]},
        "Extra": {"Fn::If": ["IsProd", "yes", {"Ref": "AWS::NoValue"}]},
        "Items": ["a", {"Ref": "AWS::NoValue"}],
    }

    assert resolver.resolve(properties) == {"Memory": 256, "Items": ["a"]}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is REMOVED


def test_circular_condition_is_unresolved() -> None:
    result = make_resolver().resolve({"Fn::If": ["Loop", 1, 2]})

    assert isinstance(result, Unresolved)
    assert "Loop" in result.reason


def test_find_in_map() -> None:
    resolver = make_resolver()

    found = resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]})
    missing = resolver.resolve({"Fn::FindInMap": ["Sizes", "prod", "Memory"]})

    assert found == "256"
    assert isinstance(missing, Unresolved)


def test_split_unresolved_lists_paths() -> None:
    resolver = make_resolver()
    resolved = resolver.resolve(
        {
            "Name": {"Ref": "Table"},
            "Environment": {"Variables": {"A": "1", "B": {"Fn::ImportValue": "x"}}},
            "Streams": [{"Fn::GetAtt": ["Table", "StreamArn"]}],
            "Key/Name": {"Ref": "Missing"},
        }
    )

    properties, unresolved = split_unresolved(resolved)

    assert properties == {
        "Name": "app-dev-Table-X1",
        "Environment": {"Variables": {"A": "1"}},
    }
    assert [entry["path"] for entry in unresolved] == [
        "/Environment/Variables/B",
        "/Streams",
        "/Key~1Name",
    ]
    assert all(entry["reason"] for entry in unresolved)


INTRINSIC_NAMES = [
    "Ref",
    "Condition",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::FindInMap",
    "Fn::If",
    "Fn::Equals",
    "Fn::Base64",
    "Fn::ToJsonString",
    "Fn::Length",
    "Fn::ImportValue",
    "Fn::Unknown",
]
KEYS = st.one_of(st.sampled_from(INTRINSIC_NAMES), st.text(max_size=8))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.sampled_from(
        ["Stage", "Table", "Queue.Arn", "IsDev", "Loop", "${Stage}", "${}", ""]
    ),
    st.text(max_size=12),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(KEYS, children, max_size=3),
    ),
    max_leaves=25,
)


def _contains_removed(value: Any) -> bool:
    if value is REMOVED:
        return True
    if isinstance(value, dict):
        return any(_contains_removed(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_removed(item) for item in value)
    return False


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_resolve_never_raises(value: Any) -> None:
    resolved = make_resolver().resolve({"Property": value})

    assert isinstance(resolved, dict)
    assert not _contains_removed(resolved)
    properties, unresolved = split_unresolved(resolved)
    assert first_unresolved(properties) is None
    json.dumps(properties)
    for entry in unresolved:
        assert entry["path"].startswith("/Property")
        assert entry["reason"]


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=10), st.text(min_size=1, max_size=10))
def test_unknown_get_att_is_never_guessed(logical_id: str, attribute: str) -> None:
    resolver = make_resolver()
    known = resolver.context.resources.get(logical_id)
    result = resolver.resolve({"Fn::GetAtt": [logical_id, attribute]})

    if known is None:
        assert isinstance(result, Unresolved)
    else:
        assert isinstance(result, (str, Unresolved))
