"""Lambda handler of the scheduled sweep (being written)."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Select stacks and queue their checks."""
    raise NotImplementedError("the sweep handler is not written yet")
