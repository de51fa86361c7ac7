"""Warm kernels against cold ones: does the fork server pay for itself? Not part of the tests.

Run with the project's interpreter (``brief serve`` needs the [serve] extra)::

    .venv/bin/python benchmarks/warm.py                  # all three cases
    .venv/bin/python benchmarks/warm.py --cases brief,batch --repeat 3

Cases, each timed with kernels forked from the warm zygote (the default) and with ``--cold``
(every kernel started from its kernelspec), the two sides interleaved and their order
rotated, so that a change in the machine's load falls on both:

``brief``
    ``brief render brief`` (HTML and PDF) into a new, empty folder, as a new process.
``batch``
    ``brief batch plan-12.yaml --force`` (12 briefs, HTML and PDF, 2 workers) into a new,
    empty folder.
``serve``
    ``brief serve`` latency (``serve.py``'s client: post the form, wait for the brief's page):
    the first request after start-up, then one client at a time, then 4 at once.

Prints wall-clock medians, CPU seconds (user + system of the command and everything it
reaped) and the warm / cold ratios, with the load average before and after each case.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import serve as serve_bench  # benchmarks/serve.py, beside this file

HERE = Path(__file__).resolve().parent
#: serve.py's labels (its "warm" is the server after its first request), as printed here.
SERVE_LABELS = {
    "cold": "first request",
    "warm, 1 client": "1 client at a time",
    "warm, 4 clients": "4 clients at once",
}
BRIEF = Path(sys.executable).parent / "brief"


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``command`` and everything it reaped."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _interleaved(
    make: dict[str, object], repeat: int, tmp: Path
) -> dict[str, list[tuple[float, float]]]:
    """Run each side ``repeat`` times, alternating, the first side rotating each round."""
    sides = list(make)
    runs: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    for i in range(repeat):
        order = sides[i % len(sides) :] + sides[: i % len(sides)]
        for side in order:
            out = tmp / f"{side}-{i}"
            runs[side].append(_timed(make[side](out)))  # type: ignore[operator]
    return runs


def case_brief(repeat: int, tmp: Path) -> dict[str, list[tuple[float, float]]]:
    def command(cold: bool):
        return lambda out: [
            str(BRIEF), "render", "brief", "-q", "--out", str(out),
            *(["--cold"] if cold else []),
        ]  # fmt: skip

    return _interleaved({"warm": command(False), "cold": command(True)}, repeat, tmp)


def case_batch(repeat: int, tmp: Path) -> dict[str, list[tuple[float, float]]]:
    plan = str(HERE / "plan-12.yaml")

    def command(cold: bool):
        return lambda out: [
            str(BRIEF), "batch", plan, "--force", "-q", "--out", str(out),
            *(["--cold"] if cold else []),
        ]  # fmt: skip

    return _interleaved({"warm": command(False), "cold": command(True)}, repeat, tmp)


def case_serve(repeat: int, tmp: Path) -> dict[str, dict[str, list[float]]]:
    results = {}
    for i, cold in enumerate((False, True) if repeat % 2 else (True, False)):
        args = argparse.Namespace(to="html", workers=2, repeat=repeat, cold=cold)
        results["cold" if cold else "warm"] = serve_bench.serve_run(args, tmp / f"serve-{i}")
    return dict(sorted(results.items(), reverse=True))


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="brief,batch,serve", help="brief, batch, serve")
    parser.add_argument("--repeat", type=int, default=4, help="runs per side (brief)")
    parser.add_argument("--repeat-batch", type=int, default=2, help="runs per side (batch)")
    parser.add_argument("--repeat-serve", type=int, default=6, help="requests (serve)")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="warm-bench-") as name:
        tmp = Path(name)
        for case in cases:
            load = os.getloadavg()[0]
            if case == "serve":
                served = case_serve(args.repeat_serve, tmp)
                print(f"serve (load {load:.2f} -> {os.getloadavg()[0]:.2f})")
                for label, name in SERVE_LABELS.items():
                    w, c = _median(served["warm"][label]), _median(served["cold"][label])
                    print(
                        f"  {name:<20} warm {w:6.2f} s  cold {c:6.2f} s  warm/cold {w / c:.2f}"
                        f"  (n={len(served['warm'][label])})"
                    )
                continue
            repeat = args.repeat if case == "brief" else args.repeat_batch
            runs = (case_brief if case == "brief" else case_batch)(repeat, tmp / case)
            print(f"{case} (load {load:.2f} -> {os.getloadavg()[0]:.2f}, n={repeat} per side)")
            medians = {}
            for side, values in runs.items():
                walls = [w for w, _ in values]
                cpus = [c for _, c in values]
                medians[side] = (_median(walls), _median(cpus))
                runs_text = ", ".join(f"{w:.2f}" for w in walls)
                print(
                    f"  {side}: wall {medians[side][0]:6.2f} s  CPU {medians[side][1]:6.2f} s"
                    f"  (runs {runs_text})"
                )
            (ww, wc), (cw, cc) = medians["warm"], medians["cold"]
            print(f"  warm/cold: wall {ww / cw:.2f}, CPU {wc / cc:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
