"""Where the time of one brief goes: cProfile of the kernel-side cells and of the PDF step.

Not a test. Runs in this process, with no kernel, what a warm kernel runs for the main brief
(`notebooks/brief.ipynb`: ``open_brief`` and each section cell, their output formatted as
IPython formats it), then WeasyPrint on a brief's HTML as ``brief render`` does, and prints
for each step its wall time and CPU time (process time: what load does not lengthen; medians
of ``--repeat`` runs, after one warm-up run), the load average, and the profile's top entries
by own time and by cumulative time.

    .venv/bin/python benchmarks/hotspots.py                 # the main brief, defaults
    .venv/bin/python benchmarks/hotspots.py --top 25 --html reports/brief/<run>/brief.html

The PDF step needs a rendered brief's HTML: ``--html`` names one; without it, the newest
``reports/brief/*/brief.html`` is used, and the step is skipped when there is none.
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "brief.ipynb"


def notebook_cells(path: Path) -> tuple[str, list[str]]:
    """The parameters cell's source and the code cells after it, as the notebook holds them."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    sources = ["".join(c["source"]) for c in cells]
    tags = [c["metadata"].get("tags", []) for c in cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    return "\n".join(sources[: at + 1]), sources[at + 1 :]


def run_cells(setup: str, cells: list[str]) -> None:
    """Run the notebook's cells as a kernel would, formatting each cell's value for display."""
    from IPython.core.formatters import DisplayFormatter

    formatter = DisplayFormatter()
    namespace: dict = {"__name__": "__main__"}
    exec(compile(setup, "<setup>", "exec"), namespace)
    for source in cells:
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
            if value is not None:
                formatter.format(value)


def pdf_step(html_path: Path) -> None:
    from helpers.pipeline.export import render_pdf

    render_pdf(html_path.read_text(encoding="utf-8"), base_url=str(html_path.parent))


def profiled(label: str, step, repeat: int, top: int) -> None:
    """Run ``step`` once to warm up, time it ``repeat`` times, profile one more run, print."""
    step()
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    profile = cProfile.Profile()
    profile.runcall(step)
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(
        f"\n## {label}: median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}, {repeat} runs{load}); "
        f"CPU median {statistics.median(cpu):.3f} s (min {min(cpu):.3f})\n"
    )
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(top)
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        print(f"top {top} by {order}:")
        print("\n".join(lines[start : start + top + 1]))
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--html", type=Path, help="a rendered brief.html for the PDF step")
    args = parser.parse_args(argv)

    setup, cells = notebook_cells(NOTEBOOK)
    profiled(
        "kernel-side cells of the main brief",
        lambda: run_cells(setup, cells),
        args.repeat,
        args.top,
    )

    html = args.html
    if html is None:
        found = sorted(
            (ROOT / "reports" / "brief").glob("*/brief.html"), key=lambda p: p.stat().st_mtime
        )
        html = found[-1] if found else None
    if html is None:
        print("\nno rendered brief.html (run `brief render` or pass --html): PDF step skipped")
    else:
        profiled(
            f"PDF of {html.relative_to(ROOT) if html.is_relative_to(ROOT) else html}",
            lambda: pdf_step(html),
            args.repeat,
            args.top,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
