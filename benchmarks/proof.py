"""How long ``brief proof`` takes: the CI sample and the full (pruned) grid.

Run with the project's interpreter::

    .venv/bin/python benchmarks/proof.py [--only sample|grid] [--workers N]

Each run is ``brief proof`` as a subprocess, into a new, empty folder (so every brief is
rendered: nothing is up to date), with the machine's load average before and after. It
prints, for each, the wall time, the grid line and the summary line the command printed.
The target: the full grid in under 10 minutes on 2 cores. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run(label: str, args: list[str], workers: int | None) -> None:
    with tempfile.TemporaryDirectory(prefix="proof-bench-") as tmp:
        command = [str(BIN / "brief"), "proof", "-q", "--out", str(Path(tmp) / "proof"), *args]
        if workers:
            command += ["--workers", str(workers)]
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()[0]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    print(
        f"{label}: {seconds:.0f} s wall (exit {done.returncode}; load {load_before:.1f} -> "
        f"{load_after:.1f}; {os.cpu_count()} cores)"
    )
    for line in lines:
        print(f"  {line}")
    if done.returncode not in (0, 1):
        print(done.stderr[-2000:], file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sample", "grid"), default=None)
    parser.add_argument("--workers", type=int, default=None)
    options = parser.parse_args(argv)
    if options.only in (None, "sample"):
        run("sample", ["--sample"], options.workers)
    if options.only in (None, "grid"):
        run("grid", [], options.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
