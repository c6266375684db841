"""Profile of one synthesis: time per phase, jsii calls and the code that makes them.

Builds the stack of ``synth_one.py`` (``reference`` or ``plain``) in this process.
The first run is split into three phases: importing aws_cdk and the stack module,
constructing the stack, and ``app.synth()``. For each phase the script prints the
wall time, the CPU time of this Python process and of its jsii Node.js processes,
and the jsii calls made. A jsii call is one request-response round trip between
Python and the Node.js kernel, counted by wrapping ``_NodeProcess.send`` of the
jsii runtime, through which every request and callback completion passes.

Then the stack is constructed and synthesized ``--repeat`` more times in new apps
of the same process. These runs pay no start-up, no import and none of the
one-time work of a first synthesis, so their medians show what each further stack
costs.

The jsii calls made while the stack is constructed are attributed three ways. The
first is the construct whose ``__init__`` is running, the innermost one defined in
this repository. The second is the innermost function of this repository on the
Python stack, and the third is the jsii API the call reaches, such as
``aws-cdk-lib.Token.isUnresolved``. The tables give the calls of one construction,
which are the same in every run, and the median over all runs of the wall time
those calls took.

Usage: ``python benchmarks/synth_profile.py reference|plain [--repeat N]
[--top N] [--cprofile FILE]``. ``--cprofile`` also writes a cProfile of the first
construct and synth phases, to read with ``python -m pstats FILE``. Set
``PYTHONPATH`` to a copy of ``src`` to profile changed constructs.
"""

# The stack module is imported inside the measured import phase.
# ruff: noqa: PLC0415
from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
sys.path.insert(0, str(BENCHMARKS))

from synth_one import KINDS, build_stack, import_stack_class  # noqa: E402


def _package_directory() -> str:
    # Where drift_constructs is imported from, found without importing it, so a
    # copy put first on PYTHONPATH is attributed as well.
    spec = importlib.util.find_spec("drift_constructs")
    if spec is None or spec.origin is None:
        return str(REPOSITORY / "src" / "drift_constructs")
    return str(Path(spec.origin).resolve().parent)


# Files whose frames count as this repository's code when attributing a call.
REPOSITORY_CODE = (
    _package_directory(),
    str(REPOSITORY / "examples"),
    str(BENCHMARKS / "plain_stack.py"),
)
PHASES = ("import", "construct", "synth")
ATTRIBUTIONS = ("construct", "function", "jsii API")
OUTSIDE_REPOSITORY = "(aws-cdk-lib or jsii, no repository frame)"
DEFAULT_REPEATS = 5


@dataclass
class Tally:
    """Number of jsii calls and their summed wall time, by key."""

    calls: Counter[str] = field(default_factory=Counter)
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, key: str, elapsed: float) -> None:
        """Count one call of ``elapsed`` seconds under ``key``."""
        self.calls[key] += 1
        self.seconds[key] += elapsed


@dataclass
class RunTallies:
    """Tallies of the jsii calls of one construction and synthesis."""

    by_phase: Tally = field(default_factory=Tally)
    by_request: Tally = field(default_factory=Tally)
    attributions: dict[str, Tally] = field(
        default_factory=lambda: {name: Tally() for name in ATTRIBUTIONS}
    )


@dataclass
class Recorder:
    """Tallies of every run; calls go to the last run and the current phase."""

    phase: str = "import"
    runs: list[RunTallies] = field(default_factory=lambda: [RunTallies()])

    def start_run(self) -> None:
        """Send the following calls to a new run's tallies."""
        self.runs.append(RunTallies())

    def record(self, request: Any, elapsed: float, frame: FrameType | None) -> None:
        """Attribute one round trip that carried ``request`` and took ``elapsed``."""
        run = self.runs[-1]
        run.by_phase.add(self.phase, elapsed)
        run.by_request.add(f"{self.phase} {type(request).__name__}", elapsed)
        if self.phase != "construct":
            return
        construct, function = _repository_callers(frame)
        run.attributions["construct"].add(construct, elapsed)
        run.attributions["function"].add(function, elapsed)
        run.attributions["jsii API"].add(_api_name(request), elapsed)


def _is_repository_code(filename: str) -> bool:
    return filename.startswith(REPOSITORY_CODE)


def _repository_callers(frame: FrameType | None) -> tuple[str, str]:
    # Returns the innermost repository construct being initialized and the
    # innermost repository function, walking outwards from the caller of send.
    construct = ""
    function = ""
    while frame is not None and not construct:
        code = frame.f_code
        if _is_repository_code(code.co_filename):
            if not function:
                # co_qualname, which names the class too, is new in Python 3.11.
                name = getattr(code, "co_qualname", code.co_name)
                function = f"{Path(code.co_filename).stem}.{name}"
            owner = frame.f_locals.get("self")
            if code.co_name == "__init__" and owner is not None:
                construct = type(owner).__name__
        frame = frame.f_back
    return construct or OUTSIDE_REPOSITORY, function or OUTSIDE_REPOSITORY


def _api_name(request: Any) -> str:
    # Object references are "<fqn>@<id>", so the fqn names the called object's class.
    fqn = getattr(request, "fqn", None)
    objref = getattr(request, "objref", None)
    if fqn is None and objref is not None:
        fqn = str(objref.ref).rsplit("@", 1)[0]
    member = getattr(request, "method", None) or getattr(request, "property", None)
    kind = type(request).__name__.removesuffix("Request")
    if member is None:
        return f"{kind} {fqn or ''}".rstrip()
    return f"{kind} {fqn}.{member}"


@contextmanager
def counting_jsii_calls(recorder: Recorder) -> Iterator[None]:
    """Wrap the jsii runtime's request sender so every round trip is recorded.

    NOTE: ``_NodeProcess.send`` is private to the jsii runtime (checked with jsii
    1.142); a later version may rename it, which makes this raise AttributeError.
    """
    from jsii._kernel.providers import process

    original: Callable[..., Any] = process._NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, request, response_type)
        finally:
            recorder.record(request, time.perf_counter() - start, sys._getframe(1))

    process._NodeProcess.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        process._NodeProcess.send = original  # type: ignore[method-assign]


def node_cpu_seconds() -> float | None:
    """Return the CPU seconds used so far by this process's descendants (Linux only).

    Reads ``/proc/<pid>/stat`` of every process, in clock ticks of usually 10 ms.
    Returns None where ``/proc`` is missing. Descendants that already exited are
    not included.
    """
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        fields = text[text.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])
    descendants = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in descendants and pid not in descendants:
                descendants.add(pid)
                changed = True
    descendants.discard(os.getpid())
    return sum(ticks[pid] for pid in descendants) / os.sysconf("SC_CLK_TCK")


@dataclass
class PhaseTimes:
    """Wall and CPU seconds of one phase."""

    wall: float
    python_cpu: float
    node_cpu: float | None


class PhaseClock:
    """Measures consecutive phases: wall time, Python CPU time and Node.js CPU time."""

    def __init__(self) -> None:
        self.times: dict[str, PhaseTimes] = {}
        self._mark = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float | None]:
        return time.perf_counter(), time.process_time(), node_cpu_seconds()

    def end_phase(self, name: str) -> None:
        """Record the time since the previous call as phase ``name``."""
        now = self._now()
        node_cpu = None
        if now[2] is not None and self._mark[2] is not None:
            node_cpu = now[2] - self._mark[2]
        self.times[name] = PhaseTimes(
            wall=now[0] - self._mark[0],
            python_cpu=now[1] - self._mark[1],
            node_cpu=node_cpu,
        )
        self._mark = now


def run(
    kind: str,
    outdir: Path,
    repeats: int,
    profiler: cProfile.Profile | None,
) -> tuple[Recorder, PhaseClock, list[PhaseClock], int]:
    """Import, construct and synthesize ``kind``, then construct and synthesize again.

    Returns the jsii call tallies, the phase times of the first run and of each
    repeated run, and the number of resources in the template.
    """
    recorder = Recorder()
    first = PhaseClock()
    repeated = []
    with counting_jsii_calls(recorder):
        import aws_cdk as cdk

        stack_class = import_stack_class(kind)
        first.end_phase("import")

        recorder.phase = "construct"
        if profiler is not None:
            profiler.enable()
        app = cdk.App(outdir=str(outdir / "first"))
        stack = build_stack(kind, stack_class, app)
        first.end_phase("construct")

        recorder.phase = "synth"
        assembly = app.synth()
        if profiler is not None:
            profiler.disable()
        first.end_phase("synth")

        for number in range(repeats):
            recorder.start_run()
            clock = PhaseClock()
            recorder.phase = "construct"
            app = cdk.App(outdir=str(outdir / f"repeat-{number}"))
            build_stack(kind, stack_class, app)
            clock.end_phase("construct")
            recorder.phase = "synth"
            app.synth()
            clock.end_phase("synth")
            repeated.append(clock)
    template = assembly.get_stack_by_name(stack.stack_name).template
    return recorder, first, repeated, len(template["Resources"])


def _milliseconds(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f}"


def _median(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def print_first_run(tallies: RunTallies, clock: PhaseClock) -> None:
    """Print one row per phase of the first run and a total row."""
    print("| phase | wall (ms) | Python CPU (ms) | Node.js CPU (ms) | jsii calls |")
    print("|---|---|---|---|---|")
    for name in PHASES:
        times = clock.times[name]
        print(
            f"| {name} | {_milliseconds(times.wall)} | "
            f"{_milliseconds(times.python_cpu)} | {_milliseconds(times.node_cpu)} | "
            f"{tallies.by_phase.calls[name]} |"
        )
    node_values = [clock.times[name].node_cpu for name in PHASES]
    node_total = None
    if all(value is not None for value in node_values):
        node_total = sum(value or 0.0 for value in node_values)
    print(
        f"| total | {_milliseconds(sum(t.wall for t in clock.times.values()))} | "
        f"{_milliseconds(sum(t.python_cpu for t in clock.times.values()))} | "
        f"{_milliseconds(node_total)} | {sum(tallies.by_phase.calls.values())} |"
    )


def print_repeats(clocks: list[PhaseClock]) -> None:
    """Print the median times of the repeated runs, per phase."""
    print(f"\nmedian of {len(clocks)} repeated runs in the same process:\n")
    print("| phase | wall (ms) | Python CPU (ms) | Node.js CPU (ms) |")
    print("|---|---|---|---|")
    for name in ("construct", "synth"):
        times = [clock.times[name] for clock in clocks]
        print(
            f"| {name} | {_milliseconds(_median([t.wall for t in times]))} | "
            f"{_milliseconds(_median([t.python_cpu for t in times]))} | "
            f"{_milliseconds(_median([t.node_cpu for t in times]))} |"
        )


def print_request_types(tallies: RunTallies) -> None:
    """Print the first run's jsii calls by phase and request type."""
    print("\n| first run: phase and request type | jsii calls | time (ms) |")
    print("|---|---|---|")
    ranked = sorted(tallies.by_request.calls.items(), key=lambda item: -item[1])
    for key, calls in ranked:
        print(f"| {key} | {calls} | {_milliseconds(tallies.by_request.seconds[key])} |")


def print_attribution(name: str, runs: list[RunTallies], top: int) -> None:
    """Print the ``top`` keys of one attribution by calls per construction."""
    calls = runs[0].attributions[name].calls
    print(
        f"\n| construct phase by {name} | jsii calls per construction "
        f"| median time in them per construction (ms) |"
    )
    print("|---|---|---|")
    ranked = sorted(calls.items(), key=lambda item: (-item[1], item[0]))
    for key, count in ranked[:top]:
        seconds = [run.attributions[name].seconds[key] for run in runs]
        median = statistics.median(seconds)
        print(f"| {key} | {count} | {_milliseconds(median)} |")
    if len(ranked) > top:
        rest = sum(count for _, count in ranked[top:])
        print(f"| ({len(ranked) - top} more) | {rest} | |")
    print(f"| total | {sum(calls.values())} | |")


def main() -> int:
    """Run the counted syntheses, then print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS, help="stack to synthesize")
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEATS,
        help=(
            "further constructions and syntheses in the same process, reported as "
            f"medians (default {DEFAULT_REPEATS})"
        ),
    )
    parser.add_argument(
        "--top", type=int, default=25, help="rows per attribution table (default 25)"
    )
    parser.add_argument(
        "--cprofile",
        type=Path,
        help="also write a cProfile of the first construct and synth phases here",
    )
    args = parser.parse_args()

    profiler = cProfile.Profile() if args.cprofile else None
    with tempfile.TemporaryDirectory() as outdir:
        recorder, first, repeated, resource_count = run(
            args.kind, Path(outdir), args.repeat, profiler
        )
    if profiler is not None:
        profiler.dump_stats(args.cprofile)

    print(f"stack: {args.kind}, {resource_count} resources\n")
    print_first_run(recorder.runs[0], first)
    if repeated:
        print_repeats(repeated)
    print_request_types(recorder.runs[0])
    for name in ATTRIBUTIONS:
        print_attribution(name, recorder.runs, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
