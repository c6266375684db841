"""Property comparison in CloudFormation's drift shape.

``diff_properties`` compares declared (expected) resource properties with live (actual)
ones the way CloudFormation's drift detection reports them: only properties the template
declares are compared at the top level, nested objects and lists are walked, and each
difference carries a path such as ``/VersioningConfiguration/Status``.
"""

from __future__ import annotations

from typing import Any

from .model import DifferenceType, PropertyDifference

_UNORDERED_KEYS = ("Key", "Name", "AttributeName")


def _escape(segment: str) -> str:
    # JSON-pointer escaping, so keys that contain "/" stay one path segment.
    return segment.replace("~", "~0").replace("/", "~1")


def _scalar_equal(expected: Any, actual: Any) -> bool:
    # Templates often carry numbers and booleans as strings ("5", "true"), while
    # describe calls return real JSON types, so compare the canonical text of both
    # sides. A null equals only null, not the text "None".
    if expected is None or actual is None:
        return expected is None and actual is None

    def canonical(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return (
            str(value).lower()
            if isinstance(value, str)
            and value.lower()
            in (
                "true",
                "false",
            )
            else str(value)
        )

    return canonical(expected) == canonical(actual)


def _sort_key_of(items: list[Any]) -> str | None:
    """Return the key that identifies the items of an unordered list, if any."""
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in _UNORDERED_KEYS:
        if all(key in item for item in items):
            return key
    return None


def _normalise_list(
    expected: list[Any], actual: list[Any]
) -> tuple[list[Any], list[Any]]:
    # Lists of keyed objects (tags, attribute definitions) are sets to AWS: order them
    # by their key on both sides so a reordering is not reported as drift.
    key = _sort_key_of(expected)
    if key is not None and _sort_key_of(actual) == key:
        return (
            sorted(expected, key=lambda item: str(item[key])),
            sorted(actual, key=lambda item: str(item[key])),
        )
    return expected, actual


def _walk_dict(
    expected: dict[Any, Any],
    actual: dict[Any, Any],
    path: str,
    out: list[PropertyDifference],
) -> None:
    for key, value in expected.items():
        child = f"{path}/{_escape(str(key))}"
        if key in actual:
            _walk(value, actual[key], child, out)
        else:
            out.append(PropertyDifference(child, value, None, DifferenceType.REMOVE))

    for key, value in actual.items():
        if key not in expected:
            child = f"{path}/{_escape(str(key))}"
            out.append(PropertyDifference(child, None, value, DifferenceType.ADD))


def _walk_list(
    expected: list[Any], actual: list[Any], path: str, out: list[PropertyDifference]
) -> None:
    ordered_expected, ordered_actual = _normalise_list(expected, actual)
    for index, value in enumerate(ordered_expected):
        child = f"{path}/{index}"
        if index < len(ordered_actual):
            _walk(value, ordered_actual[index], child, out)
        else:
            out.append(PropertyDifference(child, value, None, DifferenceType.REMOVE))

    for index in range(len(ordered_expected), len(ordered_actual)):
        child = f"{path}/{index}"
        extra = ordered_actual[index]
        out.append(PropertyDifference(child, None, extra, DifferenceType.ADD))


def _walk(expected: Any, actual: Any, path: str, out: list[PropertyDifference]) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        _walk_dict(expected, actual, path, out)
    elif isinstance(expected, list) and isinstance(actual, list):
        _walk_list(expected, actual, path, out)
    else:
        containers = (dict, list)
        mixed = isinstance(expected, containers) or isinstance(actual, containers)
        if mixed or not _scalar_equal(expected, actual):
            difference = DifferenceType.NOT_EQUAL
            out.append(PropertyDifference(path, expected, actual, difference))


def diff_properties(
    expected: dict[str, Any], actual: dict[str, Any]
) -> list[PropertyDifference]:
    """Compare declared resource properties with live ones.

    Top-level properties that ``expected`` does not declare are not compared, because a
    template leaves most properties at their service defaults. Below the top level,
    extra keys and list items in ``actual`` are reported as ``ADD`` and missing ones as
    ``REMOVE``; a declared top-level property absent from ``actual`` is ``REMOVE``.

    Returns:
        The differences in path order; empty when the declared properties match.
    """
    differences: list[PropertyDifference] = []
    for key, value in expected.items():
        path = f"/{_escape(str(key))}"
        if key not in actual:
            differences.append(
                PropertyDifference(path, value, None, DifferenceType.REMOVE)
            )
        else:
            _walk(value, actual[key], path, differences)
    return sorted(differences, key=lambda difference: difference.path)
