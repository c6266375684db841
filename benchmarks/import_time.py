"""Import time of the Lambda handlers compared with importing boto3 alone.

Lambda puts the function asset on ``sys.path``, so the handlers import the runtime
as the top-level package ``drift_runtime``. This script does the same with
``src/drift_constructs``. Every measurement is a new interpreter that times one
import statement with ``time.perf_counter``, so interpreter start-up is excluded.
Powertools for AWS Lambda comes from this virtual environment here, and from the
layer in Lambda. Usage: ``python benchmarks/import_time.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ASSET_ROOT = Path(__file__).resolve().parents[1] / "src" / "drift_constructs"
TARGET_EXTRA_MILLISECONDS = 50.0

STATEMENTS = {
    "boto3": "import boto3",
    "validator": "import drift_runtime.validator",
    "update_handler": "import drift_runtime.update_handler",
    "sweeper": "import drift_runtime.sweeper",
    "boto3 + validator": "import boto3, drift_runtime.validator",
    "boto3 + update_handler": "import boto3, drift_runtime.update_handler",
    "boto3 + sweeper": "import boto3, drift_runtime.sweeper",
}

TIMER = """
import sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
{statement}
print(time.perf_counter() - start)
"""


def time_import(statement: str) -> float:
    """Return the milliseconds ``statement`` takes in a new interpreter."""
    code = TIMER.format(root=str(ASSET_ROOT), statement=statement)
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return float(result.stdout.strip()) * 1000


def main() -> int:
    """Time each statement in interleaved rounds and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=15, help="measurements per statement (default 15)"
    )
    args = parser.parse_args()

    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(args.rounds):
        for name, statement in STATEMENTS.items():
            samples[name].append(time_import(statement))

    medians = {name: statistics.median(values) for name, values in samples.items()}
    print("| import | median (ms) | min (ms) |")
    print("|---|---|---|")
    for name, values in samples.items():
        print(f"| {name} | {medians[name]:.1f} | {min(values):.1f} |")
    for handler in ("validator", "update_handler", "sweeper"):
        extra = medians[f"boto3 + {handler}"] - medians["boto3"]
        verdict = "meets" if extra <= TARGET_EXTRA_MILLISECONDS else "misses"
        print(
            f"\n{handler} with boto3 minus boto3 alone: {extra:+.1f} ms "
            f"({verdict} the target of at most {TARGET_EXTRA_MILLISECONDS:g} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
