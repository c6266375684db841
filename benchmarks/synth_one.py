"""Synthesize one benchmark stack: ``python synth_one.py reference|plain OUTDIR``.

``synth_time.py`` runs this script in a new process per synthesis, so each figure
includes the Python and jsii start-up a ``cdk synth`` run pays. ``synth_profile.py``
imports ``import_stack_class`` and ``build_stack`` to build the same stacks in its
own process. Both stacks get the construct id ``Reference``, so the template is
``OUTDIR/Reference.template.json`` either way.
"""

# Each run imports only the stack it measures, after putting its folder on sys.path.
# ruff: noqa: PLC0415
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aws_cdk as cdk

REPOSITORY = Path(__file__).resolve().parents[1]
KINDS = ("reference", "plain")
STACK_ID = "Reference"


def import_stack_class(kind: str) -> Any:
    """Import and return the stack class of ``kind``, ``reference`` or ``plain``.

    Raises:
        ValueError: when ``kind`` is neither.
    """
    if kind == "reference":
        sys.path.insert(0, str(REPOSITORY / "examples"))
        from reference_stack import DriftReferenceStack

        return DriftReferenceStack
    if kind == "plain":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from plain_stack import PlainReferenceStack

        return PlainReferenceStack
    raise ValueError(f"unknown stack {kind!r}: use one of {', '.join(KINDS)}")


def build_stack(kind: str, stack_class: Any, app: cdk.App) -> cdk.Stack:
    """Add the benchmark stack of ``kind`` to ``app``, environment suffix ``dev``."""
    if kind == "reference":
        stack: cdk.Stack = stack_class(app, STACK_ID, environment_suffix="dev")
    else:
        stack = stack_class(app, STACK_ID, suffix="dev")
    return stack


def main() -> int:
    """Synthesize the stack named by the first argument into the second."""
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        print("usage: python synth_one.py reference|plain OUTDIR", file=sys.stderr)
        return 2
    kind, output = sys.argv[1], sys.argv[2]
    import aws_cdk as cdk

    stack_class = import_stack_class(kind)
    app = cdk.App(outdir=output)
    build_stack(kind, stack_class, app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
