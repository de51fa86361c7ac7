"""How low one brief and a batch can go on this machine: the floor, measured, beside the shell.

Not a test. In one run, on the main brief at its defaults:

* **the shell pipeline** a user would write (papermill, then nbconvert, then WeasyPrint; as
  ``run.py``'s loop), and **``brief render brief``** in a new process, interleaved;
* **the work itself**, each step on its own in this process, after a warm-up: the imports a
  kernel needs before its first cell (the zygote's modules, in a new interpreter), the
  kernel-side cells (as ``hotspots.py`` runs them), the HTML export, the PDF (WeasyPrint).

One cold brief cannot take less than those four steps one after the other (the cells need
the imports, the HTML the cells, the PDF the HTML): their sum is its floor. A batch of twelve
cannot take less than the imports once and twelve times the rest shared by two cores. Each
floor is printed beside the shell's time, as the best ratio this work allows, and beside the
issue's targets (a quarter of the shell for one brief, twelve times faster for a batch)::

    .venv/bin/python benchmarks/floor.py [--repeat 3]

The batch's floor takes the main brief as every job of the plan (it is the heaviest of the
three notebooks), so it overstates the batch's floor and understates the best ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hotspots import NOTEBOOK, notebook_cells, run_cells  # noqa: E402
from run import ROOT, VENV_BIN, measure, shell_step  # noqa: E402

#: Targets of the speed issue.
ONE_BRIEF_TARGET = 0.25
BATCH_TARGET = 12.0


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _cpu_time(step, repeat: int) -> float:
    """Median CPU seconds of ``step`` in this process, after one warm-up run."""
    step()
    times = []
    for _ in range(repeat):
        started = time.process_time()
        step()
        times.append(time.process_time() - started)
    return statistics.median(times)


def import_seconds(repeat: int) -> float:
    """Median wall seconds of a new interpreter (with the kernel's options) importing what the
    zygote imports."""
    from helpers.kernels.zygote import DEFAULT_WARM_MODULES, KERNEL_MODULES

    modules = [m.partition(":")[0] for m in (*KERNEL_MODULES, *DEFAULT_WARM_MODULES)]
    code = f"import importlib\nfor m in {modules!r}: importlib.import_module(m)"
    env = {**_env(), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-Xfrozen_modules=off", "-c", code], check=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def work_floor(repeat: int, out: Path) -> dict[str, float]:
    """Median seconds of each step of one brief, on its own."""
    from helpers.pipeline.export import render_html, render_pdf
    from helpers.pipeline.render import render

    [result] = render(["brief"], out_dir=out / "reference")
    import nbformat

    nb = nbformat.read(result.path / "brief.ipynb", as_version=4)
    html = (result.path / "brief.html").read_text(encoding="utf-8")
    base = str(NOTEBOOK.parent)
    setup, cells = notebook_cells(NOTEBOOK)
    here = Path.cwd()
    os.chdir(NOTEBOOK.parent)  # the notebook's cells run in its folder, as in a kernel
    try:
        cells_seconds = _cpu_time(lambda: run_cells(setup, cells), repeat)
    finally:
        os.chdir(here)
    return {
        "imports": import_seconds(repeat),
        "cells": cells_seconds,
        "html": _cpu_time(lambda: render_html(nb), repeat),
        "pdf": _cpu_time(lambda: render_pdf(html, base_url=base), repeat),
    }


def one_brief(repeat: int, out: Path) -> dict[str, list[float]]:
    """The shell pipeline and ``brief render brief``, interleaved, each in new processes."""
    env, log = _env(), out / "commands.log"
    times: dict[str, list[float]] = {"shell": [], "brief render": []}
    for number in range(repeat):
        folder = out / f"run-{number}"
        folder.mkdir()
        step = shell_step(NOTEBOOK, {}, folder, "brief")
        shell = measure(["bash", "-c", step], env=env, log=log)
        ours = measure(
            [str(VENV_BIN / "brief"), "render", "brief", "-q", "--out", str(folder / "ours")],
            env=env,
            log=log,
        )
        if shell["code"] or ours["code"]:
            raise SystemExit(f"a command failed; see {log}")
        times["shell"].append(shell["seconds"])
        times["brief render"].append(ours["seconds"])
    return times


def report(steps: dict[str, float], runs: dict[str, list[float]]) -> str:
    shell = statistics.median(runs["shell"])
    ours = statistics.median(runs["brief render"])
    per_brief = steps["cells"] + steps["html"] + steps["pdf"]
    one_floor = steps["imports"] + per_brief
    batch_floor = steps["imports"] + 12 * per_brief / 2
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"main brief, defaults; medians; load average {load:.2f}; {os.cpu_count()} CPUs",
        "",
        "the work itself, each step on its own:",
        f"  imports a kernel needs   {steps['imports']:6.2f} s  (new interpreter, wall)",
        f"  kernel-side cells        {steps['cells']:6.2f} s  (CPU)",
        f"  HTML export              {steps['html']:6.2f} s  (CPU)",
        f"  PDF (WeasyPrint)         {steps['pdf']:6.2f} s  (CPU)",
        "",
        "one brief, new processes:",
        f"  shell pipeline           {shell:6.2f} s  {runs['shell']}",
        f"  brief render brief       {ours:6.2f} s  = {ours / shell:.2f} of the shell",
        f"  floor (the four steps)   {one_floor:6.2f} s  = {one_floor / shell:.2f} of the shell"
        f"  (target {ONE_BRIEF_TARGET})",
        f"  brief render above floor {ours - one_floor:6.2f} s",
        "",
        "a batch of twelve main briefs on two cores:",
        f"  shell loop (12 x one)    {12 * shell:6.2f} s",
        f"  floor                    {batch_floor:6.2f} s  = {12 * shell / batch_floor:.1f} x"
        f" faster than the loop at best (target {BATCH_TARGET:.0f} x)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="brief-floor-") as tmp:
        out = Path(tmp)
        runs = one_brief(args.repeat, out)
        steps = work_floor(args.repeat, out)
    print(report(steps, runs))
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
