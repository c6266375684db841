"""Synth time of the reference stack relative to the plain aws-cdk-lib stack.

Each round synthesizes both stacks once, in a new process each and in alternating
order, and records the ratio reference / plain. Pairing the runs inside a round
keeps the ratio meaningful on a busy machine, where absolute times drift between
rounds. Usage: ``python benchmarks/synth_time.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYNTH_SCRIPT = Path(__file__).resolve().parent / "synth_one.py"
TARGET_RATIO = 1.05


def time_synth(kind: str) -> float:
    """Return the wall time in seconds of one synthesis of ``kind`` in a new process."""
    with tempfile.TemporaryDirectory() as output:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(SYNTH_SCRIPT), kind, output],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def main() -> int:
    """Run the rounds and print the per-round times and the median ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=7, help="number of paired rounds (default 7)"
    )
    args = parser.parse_args()

    # One unmeasured synthesis of each fills the file system cache.
    time_synth("plain")
    time_synth("reference")

    ratios = []
    print("| round | plain (s) | reference (s) | ratio |")
    print("|---|---|---|---|")
    for round_number in range(1, args.rounds + 1):
        order = ("plain", "reference") if round_number % 2 else ("reference", "plain")
        seconds = {kind: time_synth(kind) for kind in order}
        ratio = seconds["reference"] / seconds["plain"]
        ratios.append(ratio)
        print(
            f"| {round_number} | {seconds['plain']:.2f} | "
            f"{seconds['reference']:.2f} | {ratio:.3f} |"
        )
    median = statistics.median(ratios)
    verdict = "meets" if median <= TARGET_RATIO else "misses"
    print(
        f"\nmedian ratio reference / plain: {median:.3f} "
        f"({verdict} the target of {TARGET_RATIO})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
