"""Time ``brief`` against the shell loop a user would otherwise write; print the ratios.

Run with the project's interpreter (not part of the test suite)::

    .venv/bin/python benchmarks/run.py               # every case, about 10 minutes
    .venv/bin/python benchmarks/run.py --quick       # a smoke run: one repetition, small
    .venv/bin/python benchmarks/run.py --cases 1,3   # some cases only

The *shell loop* is what a user without this package writes: per parameter set, a ``bash -c``
running ``papermill NOTEBOOK OUT.ipynb -p ...``, ``jupyter nbconvert --to html OUT.ipynb``
and ``weasyprint OUT.html OUT.pdf``, one set after the other, with this virtualenv's own CLIs
(PATH starts with ``.venv/bin``), on the same notebooks and the same parameter sets as ours
(``benchmarks/plan-12.yaml``; the ``-p`` arguments are generated from it).

Cases:

1. one brief, HTML and PDF, in new processes into an empty folder: ``brief render brief``
   against one pass of the loop (``brief render --cold`` is timed too, for reference);
2. the 12 parameter sets, HTML and PDF: ``brief batch plan-12.yaml --force`` into an empty
   folder against the loop over the 12 sets (a loop run two at a time with ``xargs -P 2`` is
   timed too, for reference; the target is against the plain loop);
3. the same batch again with nothing changed (every job skipped);
4. the main brief on the data scaled 1x, 10x, 100x and 1000x (``benchmarks/synthetic.py``):
   *cold*, with an empty validation cache, as a user's first run on new data, and *warm*,
   with the folder already validated.

Times are wall-clock medians over ``--repeat`` runs; the two sides are interleaved so that a
change in the machine's load falls on both. Memory is sampled every 0.1 s (psutil): the peak
of the summed RSS of the process tree (pages a forked kernel shares with its zygote count
twice, which overstates ours), and the largest single process (``ru_maxrss`` from
``wait4``, which covers every descendant the command reaped).

Writes ``benchmarks/results.json``; ``benchmarks/README.md`` records a full run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = Path(sys.executable).parent
PLAN = HERE / "plan-12.yaml"
RESULTS = HERE / "results.json"
sys.path.insert(0, str(HERE))

from synthetic import scale_data  # noqa: E402

#: The ``--quick`` batch: 4 jobs.
QUICK_PLAN = """version: 1
formats: [html, pdf]
jobs:
  - notebook: brief
    grid: {partner: [Russia, China]}
  - notebook: defence
    grid: {partner: [Russia, China]}
"""

#: What each case must reach (see the project's issue 6).
TARGETS = {
    "1": "ours <= 0.5 x the loop",
    "2": "loop / ours >= 5",
    "3": "rerun <= 0.05 x the full batch",
    "4": "1000x <= 1.5 x the time and 2 x the memory of 1x",
}


# -- measuring one command ---------------------------------------------------------------------


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def measure(argv: list[str], *, env: dict[str, str], log: Path, cwd: Path = ROOT) -> dict:
    """Run ``argv``; its wall time, peak tree RSS, largest process RSS and exit code."""
    with open(log, "ab") as out:
        out.write(f"\n$ {shlex.join(argv)}\n".encode())
        out.flush()
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=out)
        root = psutil.Process(proc.pid)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.1):
                peak = max(peak, _tree_rss(root))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,  # the command and all it reaped
        "tree_rss_mb": peak / 2**20,
        "max_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "code": proc.returncode,
    }


def check(result: dict, what: str, log: Path) -> dict:
    if result["code"] != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{what} failed with exit code {result['code']}; see {log}\n{tail}")
    return result


def median(runs: list[dict], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def summary(runs: list[dict]) -> dict:
    return {
        "seconds": median(runs),
        "seconds_all": [round(r["seconds"], 2) for r in runs],
        "cpu_seconds": median(runs, "cpu_seconds"),
        "tree_rss_mb": median(runs, "tree_rss_mb"),
        "max_rss_mb": median(runs, "max_rss_mb"),
    }


# -- the shell loop ----------------------------------------------------------------------------


def plan_jobs(plan: Path = PLAN) -> list[tuple[Path, dict[str, Any]]]:
    """The notebook and parameters of each job of a plan, as ``brief batch`` reads them."""
    from helpers.batch.plan import expand, load_plan

    return [(job.notebook, job.given) for job in expand(load_plan(plan))]


def shell_step(notebook: Path, parameters: dict[str, Any], out: Path, stem: str) -> str:
    """One pass of the loop: papermill, nbconvert HTML, WeasyPrint PDF; bash text."""
    ipynb, html, pdf = (out / f"{stem}.{ext}" for ext in ("ipynb", "html", "pdf"))
    args = [a for name, value in parameters.items() for a in ("-p", name, str(value))]
    return " && ".join(
        [
            shlex.join(["papermill", str(notebook), str(ipynb), *args]),
            shlex.join(["jupyter", "nbconvert", "--to", "html", str(ipynb)]),
            shlex.join(["weasyprint", str(html), str(pdf)]),
        ]
    )


def shell_loop(jobs: list[tuple[Path, dict[str, Any]]], out: Path) -> list[str]:
    """``bash -c`` for the sequential loop over ``jobs``."""
    out.mkdir(parents=True, exist_ok=True)
    lines = ["set -e"]
    for number, (notebook, parameters) in enumerate(jobs):
        lines.append(shell_step(notebook, parameters, out, f"{number:02d}-{notebook.stem}"))
    return ["bash", "-c", "\n".join(lines)]


def shell_parallel(jobs: list[tuple[Path, dict[str, Any]]], out: Path, width: int) -> list[str]:
    """The same passes, ``width`` at a time (``xargs -P``), for reference."""
    out.mkdir(parents=True, exist_ok=True)
    script = out / "passes.txt"
    script.write_text(
        "\n".join(
            shell_step(notebook, parameters, out, f"{number:02d}-{notebook.stem}")
            for number, (notebook, parameters) in enumerate(jobs)
        )
        + "\n"
    )
    return [
        "bash",
        "-c",
        f"xargs -d '\\n' -P {width} -I{{}} bash -c {{}} < {shlex.quote(str(script))}",
    ]


# -- the machine -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("papermill", "nbconvert", "nbclient", "jupyter_client", "ipykernel", "weasyprint")
    return {name: version(name) for name in names}


# -- the cases ---------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="brief-bench-"))
        self.log = self.work / "commands.log"
        self.env = dict(os.environ)
        self.env["PATH"] = f"{VENV_BIN}{os.pathsep}{self.env.get('PATH', '')}"
        self.env.pop("BRIEF_WARM_KERNELS", None)
        # One validation cache for both sides, warmed for data/ below; case 4 uses its own.
        self.env["BRIEF_CACHE"] = str(self.work / "cache")
        self.results: dict[str, Any] = {}
        self.counter = 0

    def folder(self, name: str) -> Path:
        self.counter += 1
        return self.work / f"{self.counter:03d}-{name}"

    def run(self, argv: list[str], what: str, env: dict[str, str] | None = None) -> dict:
        result = check(measure(argv, env=env or self.env, log=self.log), what, self.log)
        print(f"  {what:<34} {result['seconds']:7.2f} s  {result['tree_rss_mb']:7.0f} MB tree")
        return result

    def brief(self, *words: str) -> list[str]:
        return [str(VENV_BIN / "brief"), *words]

    def prepare(self) -> None:
        print(f"work folder: {self.work}")
        self.run(self.brief("validate"), "brief validate (warm the cache)")

    # 1 ---------------------------------------------------------------------------------------
    def case1(self) -> None:
        print("case 1: one brief, cold, HTML and PDF")
        notebook = ROOT / "notebooks" / "brief.ipynb"
        runs: dict[str, list[dict]] = {"loop": [], "ours": [], "cold": []}

        def loop() -> dict:
            out = self.folder("loop1")
            out.mkdir()
            step = shell_step(notebook, {}, out, "brief")
            return self.run(["bash", "-c", step], "shell: papermill+nbconvert+weasyprint")

        def ours() -> dict:
            out = self.folder("render1")
            return self.run(self.brief("render", "brief", "--out", str(out), "-q"), "brief render")

        def cold() -> dict:
            out = self.folder("cold1")
            argv = self.brief("render", "brief", "--cold", "--out", str(out), "-q")
            return self.run(argv, "brief render --cold")

        ways = {"loop": loop, "ours": ours, "cold": cold}
        for number in range(self.args.repeat):
            # The order rotates, so that a change in the machine's load falls on each alike.
            order = list(ways)[number % 3 :] + list(ways)[: number % 3]
            for name in order:
                runs[name].append(ways[name]())
        loop, ours, cold = runs["loop"], runs["ours"], runs["cold"]
        self.results["1"] = {
            "shell": summary(loop),
            "ours": summary(ours),
            "ours_cold_kernels": summary(cold),
            "ratio": median(ours) / median(loop),
            "target": TARGETS["1"],
            "met": median(ours) / median(loop) <= 0.5,
        }

    # 2 and 3 ---------------------------------------------------------------------------------
    def case2(self, jobs: list[tuple[Path, dict[str, Any]]], plan: Path) -> None:
        print(f"case 2: a batch of {len(jobs)} parameter sets, HTML and PDF")
        loop, ours, parallel_runs = [], [], []
        self.batch_out = None
        for number in range(max(self.args.repeat_batch, self.args.repeat_loop)):
            # loop, batch, xargs, batch, ...: each side sees the machine's load in turn.
            if number < self.args.repeat_loop:
                argv = shell_loop(jobs, self.folder("loop2"))
                loop.append(self.run(argv, f"shell loop x{len(jobs)}"))
            if number < self.args.repeat_batch:
                out = self.folder("batch2")
                argv = self.brief("batch", str(plan), "--out", str(out), "--force", "-q")
                ours.append(self.run(argv, f"brief batch x{len(jobs)}"))
                self.batch_out = out
            if number == 0 and self.args.parallel_loop:
                argv = shell_parallel(jobs, self.folder("xargs2"), 2)
                parallel_runs.append(self.run(argv, "shell loop, xargs -P 2"))
        parallel = summary(parallel_runs) if parallel_runs else None
        self.results["2"] = {
            "jobs": len(jobs),
            "shell": summary(loop),
            "ours": summary(ours),
            "shell_xargs_p2": parallel,
            "speedup": median(loop) / median(ours),
            "target": TARGETS["2"],
            "met": median(loop) / median(ours) >= 5,
        }
        self.full_batch = median(ours)

    def case3(self, plan: Path) -> None:
        print("case 3: the same batch again, nothing changed")
        if getattr(self, "batch_out", None) is None:
            self.batch_out = self.folder("batch3")
            self.full_batch = self.run(
                self.brief("batch", str(plan), "--out", str(self.batch_out), "-q"),
                "brief batch (first)",
            )["seconds"]
        again = [
            self.run(
                self.brief("batch", str(plan), "--out", str(self.batch_out), "-q"),
                "brief batch, unchanged",
            )
            for _ in range(max(3, self.args.repeat))
        ]
        ratio = median(again) / self.full_batch
        self.results["3"] = {
            "full_batch_seconds": self.full_batch,
            "rerun": summary(again),
            "ratio": ratio,
            "target": TARGETS["3"],
            "met": ratio <= 0.05,
        }

    # 4 ---------------------------------------------------------------------------------------
    def case4(self) -> None:
        print("case 4: the main brief on scaled data")
        rows: dict[str, Any] = {}
        for scale in self.args.scales:
            data = self.work / f"data-{scale}x"
            counts = scale_data(scale, data)
            rows[str(scale)] = {"rows": sum(counts.values()), "cold": [], "warm": []}
        for _ in range(self.args.repeat):
            for scale in self.args.scales:
                data = self.work / f"data-{scale}x"
                env = dict(self.env)
                env["BRIEF_CACHE"] = str(self.folder(f"cache4-{scale}x"))  # empty: validates
                row = rows[str(scale)]
                out = self.folder(f"render4-{scale}x")
                row["cold"].append(
                    self.run(
                        self.brief("render", "brief", "--data", str(data), "--out", str(out), "-q"),
                        f"{scale}x cold (validates)",
                        env,
                    )
                )
                row["warm"].append(
                    self.run(
                        self.brief(
                            "render",
                            "brief",
                            "--data",
                            str(data),
                            "--out",
                            str(self.folder(f"warm4-{scale}x")),
                            "-q",
                        ),
                        f"{scale}x warm (validated)",
                        env,
                    )
                )
                row["notes"] = truncation_notes(out)
        table = {}
        for scale, row in rows.items():
            table[scale] = {"rows": row["rows"], "notes": row.get("notes", [])}
            for kind in ("cold", "warm"):
                table[scale][kind] = summary(row[kind])
        base = str(self.args.scales[0])
        top = str(self.args.scales[-1])
        ratios = {
            kind: {
                "time": table[top][kind]["seconds"] / table[base][kind]["seconds"],
                "tree_memory": table[top][kind]["tree_rss_mb"] / table[base][kind]["tree_rss_mb"],
                "max_process_memory": table[top][kind]["max_rss_mb"]
                / table[base][kind]["max_rss_mb"],
            }
            for kind in ("cold", "warm")
        }
        cold = ratios["cold"]
        self.results["4"] = {
            "scales": table,
            "ratios": ratios,
            "target": TARGETS["4"],
            "met": cold["time"] <= 1.5
            and cold["tree_memory"] <= 2
            and cold["max_process_memory"] <= 2,
        }


def truncation_notes(out: Path) -> list[str]:
    """What the rendered brief says it left out or grouped ("Showing 15 of ...", "N more ...")."""
    found: list[str] = []
    for html in out.glob("brief/*/brief.html"):
        page = html.read_text(encoding="utf-8")
        # The charts' own notes are drawn in the images; their alt text repeats them.
        alts = " ".join(re.findall(r'alt="([^"]*)"', page))
        text = re.sub(r"<[^>]+>", " ", page) + " " + alts
        text = re.sub(r"\s+", " ", text)
        for pattern in (
            r"Showing [^.]{0,120}",
            r"Aggregated by [^.]{0,80}",
            r"\d[\d,]* more [a-z ]{0,40}",
        ):
            found += [m.strip() for m in re.findall(pattern, text)]
    return sorted(set(found))[:20]


# -- report ------------------------------------------------------------------------------------


def _row(label: str, m: dict) -> str:
    return (
        f"  {label:<32} {m['seconds']:8.2f} {m['cpu_seconds']:8.1f} {m['tree_rss_mb']:8.0f}"
        f" {m['max_rss_mb']:8.0f}"
    )


def _verdict(case: dict) -> str:
    return f"target {case['target']}: {'met' if case['met'] else 'NOT met'}"


def report(results: dict[str, Any]) -> str:
    """The results as a plain-text table: seconds, peak tree RSS, largest process RSS."""
    head = f"{'':<34} {'seconds':>8} {'CPU s':>8} {'tree MB':>8} {'proc MB':>8}"
    lines = []
    r = results.get("cases", {})
    if "1" in r:
        c = r["1"]
        lines += ["case 1: one brief, HTML + PDF", head]
        lines.append(_row("shell loop, one pass", c["shell"]))
        lines.append(_row("brief render", c["ours"]))
        lines.append(_row("brief render --cold (reference)", c["ours_cold_kernels"]))
        lines.append(f"  ours / loop = {c['ratio']:.2f}; {_verdict(c)}")
    if "2" in r:
        c = r["2"]
        lines += [f"case 2: a batch of {c['jobs']}, HTML + PDF", head]
        lines.append(_row("shell loop", c["shell"]))
        if c.get("shell_xargs_p2"):
            lines.append(_row("shell loop, xargs -P 2 (ref.)", c["shell_xargs_p2"]))
        lines.append(_row("brief batch --force", c["ours"]))
        lines.append(f"  loop / ours = {c['speedup']:.1f}x; {_verdict(c)}")
    if "3" in r:
        c = r["3"]
        lines += ["case 3: the batch again, nothing changed", head]
        lines.append(_row("brief batch (every job skipped)", c["rerun"]))
        full = c["full_batch_seconds"]
        lines.append(f"  rerun / full batch ({full:.1f} s) = {c['ratio']:.3f}; {_verdict(c)}")
    if "4" in r:
        c = r["4"]
        lines += ["case 4: the main brief on scaled data", head]
        for scale, row in c["scales"].items():
            lines.append(_row(f"{scale}x ({row['rows']} rows), cold", row["cold"]))
            lines.append(_row(f"{scale}x ({row['rows']} rows), warm", row["warm"]))
        for kind, ratio in c["ratios"].items():
            lines.append(
                f"  {kind}: time x{ratio['time']:.2f}, tree memory x{ratio['tree_memory']:.2f}, "
                f"largest process x{ratio['max_process_memory']:.2f}"
            )
        lines.append(f"  {_verdict(c)} (cold: what a user sees on new data)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 repetition, 4 jobs, scales 1 and 10"
    )
    parser.add_argument("--cases", default="1,2,3,4", help="comma-separated: 1,2,3,4")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement (cases 1, 3, 4)"
    )
    parser.add_argument("--repeat-batch", type=int, default=2, help="runs of the batch (case 2)")
    parser.add_argument(
        "--repeat-loop", type=int, default=1, help="runs of the 12-brief shell loop (case 2)"
    )

    parser.add_argument(
        "--no-parallel-loop",
        dest="parallel_loop",
        action="store_false",
        help="skip the xargs -P 2 reference loop",
    )
    parser.add_argument("--scales", default="1,10,100,1000", help="case 4 data scales")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="results JSON (default benchmarks/results.json; with --quick, results-quick.json)",
    )
    args = parser.parse_args(argv)
    args.scales = [int(s) for s in args.scales.split(",")]
    cases = {c.strip() for c in args.cases.split(",") if c.strip()}
    if args.output is None:
        args.output = RESULTS.with_name("results-quick.json") if args.quick else RESULTS
    if args.quick:
        args.repeat, args.repeat_batch, args.repeat_loop, args.parallel_loop = 1, 1, 1, False
        args.scales = [1, 10]

    bench = Bench(args)
    info = {"machine": machine(), "versions": versions(), "quick": args.quick, "argv": sys.argv[1:]}
    print(json.dumps(info["machine"]))
    started = time.perf_counter()
    try:
        bench.prepare()
        jobs = plan_jobs()
        plan = PLAN
        if args.quick:
            plan = bench.work / "plan-quick.yaml"
            plan.write_text(QUICK_PLAN)
            jobs = plan_jobs(plan)
        if "1" in cases:
            bench.case1()
        if "2" in cases:
            bench.case2(jobs, plan)
        if "3" in cases:
            bench.case3(plan)
        if "4" in cases:
            bench.case4()
    finally:
        info["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        info["seconds"] = round(time.perf_counter() - started, 1)
        info["cases"] = bench.results
        warnings = (
            re.findall(
                r"Starting a normal kernel instead[^\n]*|Warm kernels are unavailable[^\n]*",
                bench.log.read_text(errors="replace"),
            )
            if bench.log.exists()
            else []
        )
        info["fallback_warnings"] = sorted(set(warnings))
        args.output.write_text(json.dumps(info, indent=2, default=float) + "\n")
        if not args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    print()
    print(report(info))
    if info["fallback_warnings"]:
        print("warning: some kernels were not forked:", *info["fallback_warnings"], sep="\n  ")
    print(f"\n{info['seconds']:.0f} s in all; results in {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
