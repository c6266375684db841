"""The demo's full path, with the reference stack of examples/reference_stack.py."""

from __future__ import annotations

import io

import pytest

from .conftest import EXAMPLES_DIR


@pytest.mark.slow
def test_demo_runs_every_step() -> None:
    import demo

    assert demo.EXAMPLES_DIR == EXAMPLES_DIR
    output = io.StringIO()

    status = demo.run_demo(output)

    text = output.getvalue()
    assert status == 0, text
    assert "verdict: drifted" in text
    assert '/BillingMode: expected "PAY_PER_REQUEST", actual "PROVISIONED"' in text
    assert "/VersioningConfiguration/Status" in text
    assert "/DisplayName" in text
    assert "verdict: in_sync" in text
    assert "InvocationType=Event" in text
    assert "DriftedStacks = 1" in text
    assert "DriftedStacks = 0" in text
    where = "(demo, 123456789012 us-east-1)"
    assert f"subject: Drift detected: stack DemoAppStack {where}" in text
    assert f"subject: Back in sync: stack DemoAppStack {where}" in text
    # The check starts on one event and finishes on the detection's status event.
    assert "the validator started drift detection and returned without waiting" in text
    assert "delivering its drift detection status event" in text
    # The sweep skips the app stack, checked moments ago, and queues the others.
    assert "Run the scheduled sweep" in text
    assert '"skipped_recent": 1' in text
    assert "check request(s) on the check queue" in text
    assert "$ drift-constructs check --stack DemoAppStack" in text
    assert "exit code 1" in text
    assert "Stop the AWS emulator" in text
