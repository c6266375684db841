"""Synthesize one benchmark stack: ``python synth_one.py reference|plain OUTDIR``.

``synth_time.py`` runs this script in a new process per synthesis, so each figure
includes the Python and jsii start-up a ``cdk synth`` run pays.
"""

# Each run imports only the stack it measures, after putting its folder on sys.path.
# ruff: noqa: PLC0415
from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def main() -> int:
    """Synthesize the stack named by the first argument into the second."""
    kind, output = sys.argv[1], sys.argv[2]
    import aws_cdk as cdk

    app = cdk.App(outdir=output)
    if kind == "reference":
        sys.path.insert(0, str(REPOSITORY / "examples"))
        from reference_stack import DriftReferenceStack

        DriftReferenceStack(app, "Reference", environment_suffix="dev")
    elif kind == "plain":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from plain_stack import PlainReferenceStack

        PlainReferenceStack(app, "Reference")
    else:
        print(f"unknown stack {kind!r}: use reference or plain", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
