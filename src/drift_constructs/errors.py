"""The one exception class that drift-constructs raises for invalid construct input."""

from __future__ import annotations


class DriftConstructsError(ValueError):
    """Raised at synth time when a construct's props are invalid.

    The message names the prop, the rejected value, the rule it breaks and, for
    names, the AWS resource whose limit applies, so the caller can fix the input.
    """
