"""Synth time of the reference stack relative to the plain aws-cdk-lib stack.

Each round synthesizes both stacks once, in a new process each and in alternating
order, and records two ratios reference / plain: of the wall time and of the CPU
time. The CPU time is the user plus system time of the synthesizing process and
its jsii Node.js processes, which the operating system adds to this process's
children once they exit. Pairing the runs inside a round keeps the ratios
meaningful on a busy machine, where absolute times drift between rounds. The CPU
ratio is the steadier of the two there, because time spent waiting for a core is
not CPU time.

Before the rounds, one unmeasured synthesis of each stack fills the file system
cache, and the script compares their templates: resource counts by type and
template sizes. A difference in resources makes the ratio compare different work,
so it is printed before the rounds. Usage: ``python benchmarks/synth_time.py
[--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SYNTH_SCRIPT = Path(__file__).resolve().parent / "synth_one.py"
TEMPLATE_NAME = "Reference.template.json"
TARGET_RATIO = 1.05
DEFAULT_ROUNDS = 9
KINDS = ("reference", "plain")


@dataclass(frozen=True)
class Measurement:
    """Wall and CPU seconds of one synthesis."""

    wall: float
    cpu: float


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def synthesize(kind: str, output: Path) -> Measurement:
    """Synthesize ``kind`` into ``output`` in a new process and time it."""
    cpu_before = _children_cpu_seconds()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(SYNTH_SCRIPT), kind, str(output)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    return Measurement(wall=wall, cpu=_children_cpu_seconds() - cpu_before)


def time_synth(kind: str) -> Measurement:
    """Return the times of one synthesis of ``kind`` into a temporary directory."""
    with tempfile.TemporaryDirectory() as output:
        return synthesize(kind, Path(output))


def describe_template(template_path: Path) -> tuple[Counter[str], int]:
    """Return the resource count by type and the size in bytes of a template file."""
    template = json.loads(template_path.read_text())
    types = Counter(
        str(resource_["Type"]) for resource_ in template["Resources"].values()
    )
    return types, template_path.stat().st_size


def compare_templates() -> bool:
    """Synthesize both stacks once, print their resources and return whether equal.

    This is also the unmeasured first synthesis of each that fills the caches.
    """
    described: dict[str, tuple[Counter[str], int]] = {}
    with tempfile.TemporaryDirectory() as output:
        for kind in KINDS:
            directory = Path(output) / kind
            synthesize(kind, directory)
            described[kind] = describe_template(directory / TEMPLATE_NAME)
    reference_types = described["reference"][0]
    plain_types = described["plain"][0]
    print("| template | resources | resource types | size (bytes) |")
    print("|---|---|---|---|")
    for kind, (types, size) in described.items():
        print(f"| {kind} | {sum(types.values())} | {len(types)} | {size} |")
    differing = sorted(
        name
        for name in reference_types.keys() | plain_types.keys()
        if reference_types[name] != plain_types[name]
    )
    if not differing:
        print("\nBoth templates have the same resource count of every type.\n")
        return True
    print("\nResource types whose counts differ (update plain_stack.py to match):\n")
    print("| type | reference | plain |")
    print("|---|---|---|")
    for name in differing:
        print(f"| {name} | {reference_types[name]} | {plain_types[name]} |")
    print()
    return False


def main() -> int:
    """Compare the templates, run the rounds and print the times and median ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"number of paired rounds (default {DEFAULT_ROUNDS})",
    )
    args = parser.parse_args()

    same_resources = compare_templates()

    wall_ratios = []
    cpu_ratios = []
    print(
        "| round | plain wall (s) | reference wall (s) | wall ratio "
        "| plain CPU (s) | reference CPU (s) | CPU ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for round_number in range(1, args.rounds + 1):
        order = ("plain", "reference") if round_number % 2 else ("reference", "plain")
        times = {kind: time_synth(kind) for kind in order}
        plain, reference = times["plain"], times["reference"]
        wall_ratios.append(reference.wall / plain.wall)
        cpu_ratios.append(reference.cpu / plain.cpu)
        print(
            f"| {round_number} | {plain.wall:.2f} | {reference.wall:.2f} | "
            f"{wall_ratios[-1]:.3f} | {plain.cpu:.2f} | {reference.cpu:.2f} | "
            f"{cpu_ratios[-1]:.3f} |"
        )
    print()
    for name, ratios in (("wall", wall_ratios), ("CPU", cpu_ratios)):
        median = statistics.median(ratios)
        verdict = "meets" if median <= TARGET_RATIO else "misses"
        print(
            f"median {name} ratio reference / plain: {median:.3f}, range "
            f"{min(ratios):.3f} to {max(ratios):.3f} ({verdict} the target of "
            f"{TARGET_RATIO})"
        )
    if not same_resources:
        print("NOTE: the two templates differ in resources, see the table above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
