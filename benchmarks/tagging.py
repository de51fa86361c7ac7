"""What tagging (PDF/UA-1, the default) costs per brief, against an untagged PDF.

Two measurements, interleaved, medians of ``--repeat`` runs, each in wall-clock seconds and
in CPU seconds (this process's for the PDF step, the command's and its children's for a
whole brief): on a shared machine the CPU time is the steadier of the two.

1. the PDF step alone: :func:`helpers.pipeline.export.render_pdf` on each notebook's HTML,
   ``variant="none"`` against ``variant="pdf/ua-1"``, in this process;
2. a whole brief: ``brief render brief --out NEW`` against the same with
   ``--pdf-variant none``, each a new process into a new, empty folder.

    .venv/bin/python benchmarks/tagging.py            # about two minutes on 2 cores
    .venv/bin/python benchmarks/tagging.py --repeat 3

Prints a table and the ratios; writes ``benchmarks/results-tagging.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BRIEF = ROOT / ".venv" / "bin" / "brief"


def pdf_step(html_files: list[Path], repeat: int) -> dict[str, dict[str, float]]:
    """Per notebook, the median seconds of the PDF step, untagged and tagged."""
    from helpers.pipeline.export import render_pdf

    found: dict[str, dict[str, float]] = {}
    for html_file in html_files:
        html = html_file.read_text(encoding="utf-8")
        render_pdf(html, variant="none")  # fonts and stylesheets warm for both sides
        times: dict[str, list[float]] = {
            "none": [],
            "pdf/ua-1": [],
            "none cpu": [],
            "pdf/ua-1 cpu": [],
        }
        for i in range(repeat):
            for variant in ("none", "pdf/ua-1") if i % 2 == 0 else ("pdf/ua-1", "none"):
                started, cpu = time.perf_counter(), time.process_time()
                render_pdf(html, variant=variant)
                times[variant].append(time.perf_counter() - started)
                times[f"{variant} cpu"].append(time.process_time() - cpu)
        found[html_file.stem] = {k: statistics.median(v) for k, v in times.items()}
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole_brief(repeat: int, work: Path) -> dict[str, float]:
    """Median seconds of ``brief render brief`` untagged and tagged, new processes."""
    times: dict[str, list[float]] = {"none": [], "pdf/ua-1": [], "none cpu": [], "pdf/ua-1 cpu": []}
    for i in range(repeat):
        for variant in ("none", "pdf/ua-1") if i % 2 == 0 else ("pdf/ua-1", "none"):
            out = work / f"whole-{i}-{variant.replace('/', '-')}"
            argv = [str(BRIEF), "render", "brief", "-q", "--out", str(out)]
            started, cpu = time.perf_counter(), _children_cpu()
            subprocess.run([*argv, "--pdf-variant", variant], check=True, cwd=ROOT)
            times[variant].append(time.perf_counter() - started)
            times[f"{variant} cpu"].append(_children_cpu() - cpu)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side (default 5)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="brief-tagging-") as tmp:
        work = Path(tmp)
        subprocess.run(
            [str(BRIEF), "render", "--to", "html", "-q", "--out", str(work / "html")],
            check=True,
            cwd=ROOT,
        )
        html_files = sorted((work / "html").glob("*/default/*.html"))
        load = os.getloadavg()[0]
        step = pdf_step(html_files, args.repeat)
        whole = whole_brief(args.repeat, work)
    print(f"load average at the start: {load:.2f}")
    print("| what | untagged s | tagged s | ratio | untagged CPU s | tagged CPU s | CPU ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = [(f"{name} (PDF step)", t) for name, t in step.items()]
    for label, t in [*rows, ("brief (whole render)", whole)]:
        print(
            f"| {label} | {t['none']:.2f} | {t['pdf/ua-1']:.2f} | "
            f"{t['pdf/ua-1'] / t['none']:.2f} | {t['none cpu']:.2f} | {t['pdf/ua-1 cpu']:.2f} | "
            f"{t['pdf/ua-1 cpu'] / t['none cpu']:.2f} |"
        )
    results = {"load": load, "repeat": args.repeat, "pdf_step": step, "whole_brief": whole}
    (ROOT / "benchmarks" / "results-tagging.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
