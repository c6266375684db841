"""Properties of diff_properties on generated declared values."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from drift_constructs.drift_runtime.diff import diff_properties
from drift_constructs.drift_runtime.model import DifferenceType

NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabc/~", min_size=1, max_size=6)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-1000, max_value=1000),
    st.text(max_size=10),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.dictionaries(NAMES, children, min_size=1, max_size=3),
    ),
    max_leaves=15,
)
PROPERTIES = st.dictionaries(NAMES, VALUES, min_size=1, max_size=4)


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _scalar_paths(value: Any, path: str) -> list[tuple[str, list[Any]]]:
    """Return (pointer, key path) of every scalar inside ``value``."""
    if isinstance(value, dict):
        found = []
        for key, child in value.items():
            for pointer, keys in _scalar_paths(child, f"{path}/{_escape(key)}"):
                found.append((pointer, [key, *keys]))
        return found
    if isinstance(value, list):
        found = []
        for index, child in enumerate(value):
            for pointer, keys in _scalar_paths(child, f"{path}/{index}"):
                found.append((pointer, [index, *keys]))
        return found
    return [(path, [])]


def _changed(value: Any) -> Any:
    # A value of another kind never compares equal, even as canonical text.
    if isinstance(value, str):
        return ["changed", value]
    return f"changed-{value!r}"


@settings(max_examples=300, deadline=None)
@given(PROPERTIES)
def test_identical_properties_have_no_difference(properties: dict[str, Any]) -> None:
    assert diff_properties(properties, copy.deepcopy(properties)) == []


@settings(max_examples=300, deadline=None)
@given(PROPERTIES, st.data())
def test_one_changed_scalar_is_one_difference(
    properties: dict[str, Any], data: st.DataObject
) -> None:
    scalars = _scalar_paths(properties, "")
    pointer, keys = data.draw(st.sampled_from(scalars))
    actual = copy.deepcopy(properties)
    parent: Any = actual
    for key in keys[:-1]:
        parent = parent[key]
    original = parent[keys[-1]]
    parent[keys[-1]] = _changed(original)

    differences = diff_properties(properties, actual)

    assert len(differences) == 1, differences
    assert differences[0].path == pointer
    assert differences[0].type is DifferenceType.NOT_EQUAL
    assert differences[0].expected == original


def test_undeclared_top_level_property_is_ignored() -> None:
    assert diff_properties({"A": 1}, {"A": 1, "B": 2}) == []


def test_string_numbers_and_booleans_match() -> None:
    assert diff_properties({"A": "5", "B": "true"}, {"A": 5, "B": True}) == []


def test_none_differs_from_text_none() -> None:
    differences = diff_properties({"A": None}, {"A": "None"})

    assert len(differences) == 1
    assert differences[0].type is DifferenceType.NOT_EQUAL
