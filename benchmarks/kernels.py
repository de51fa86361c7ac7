"""Normal kernels against kernels forked from a warm zygote (:mod:`helpers.kernels`).

Run with the project's interpreter::

    .venv/bin/python benchmarks/kernels.py [--repeat 5] [--notebook notebooks/brief.ipynb]

It prints, for each way of starting kernels, the median and the range over ``--repeat`` runs of

* *ready + import*: from creating the kernel manager to the reply to ``import helpers.report``
  (start the kernel, wait until it answers ``kernel_info``, run the import);
* *shutdown*: a polite shutdown after that, as nbclient does at the end of a notebook;
* *notebook*: the whole notebook through ``papermill.execute_notebook`` with its default
  parameters, kernel start and shutdown included.

The zygotes' own start-up, paid once per run, is printed too. ``forked+freeze_gc`` is a zygote
started with ``freeze_gc=True``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import papermill
from jupyter_client.manager import AsyncKernelManager

from helpers import paths
from helpers.kernels.forkserver import Zygote
from helpers.kernels.provisioner import forking_options


async def ready_and_import(options: dict[str, Any]) -> tuple[float, float]:
    """Seconds to a reply to ``import helpers.report`` on a new kernel, and to shut it down."""
    started = time.perf_counter()
    km = options["kernel_manager_class"](kernel_name=paths.KERNEL_NAME, **_config(options))
    await km.start_kernel(cwd=str(paths.NOTEBOOKS_DIR))
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
        reply = await client.execute_interactive("import helpers.report", timeout=120)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"import failed: {reply['content']}")
        ready = time.perf_counter() - started
    finally:
        client.stop_channels()
        stopping = time.perf_counter()
        await km.shutdown_kernel()
        await km.cleanup_resources()
    return ready, time.perf_counter() - stopping


def _config(options: dict[str, Any]) -> dict[str, Any]:
    return {"config": options["config"]} if "config" in options else {}


def notebook(options: dict[str, Any], path: Path, out_dir: Path) -> float:
    started = time.perf_counter()
    papermill.execute_notebook(
        str(path),
        str(out_dir / path.name),
        kernel_name=paths.KERNEL_NAME,
        language="python",
        cwd=str(path.parent),
        progress_bar=False,
        log_output=False,
        **options,
    )
    return time.perf_counter() - started


def summary(label: str, values: list[float]) -> str:
    return (
        f"{label:<16} median {statistics.median(values):6.2f} s  "
        f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--notebook", type=Path, default=paths.NOTEBOOKS_DIR / "brief.ipynb")
    args = parser.parse_args(argv)

    zygotes = []
    for freeze_gc in (False, True):
        started = time.perf_counter()
        zygotes.append(Zygote.start(freeze_gc=freeze_gc))
        print(
            f"zygote (freeze_gc={freeze_gc}) ready in {time.perf_counter() - started:.2f} s "
            f"(imports {zygotes[-1].seconds:.2f} s, {zygotes[-1].native_threads} native threads)"
        )
    ways = {
        "normal": {"kernel_manager_class": AsyncKernelManager},
        "forked": forking_options(zygotes[0].address),
        "forked+freeze_gc": forking_options(zygotes[1].address),
    }
    try:
        with tempfile.TemporaryDirectory() as out:
            # Warm this process's own imports (papermill, nbclient) before timing anything.
            notebook(ways["forked"], args.notebook, Path(out))
            ready: dict[str, list[float]] = {name: [] for name in ways}
            shutdown: dict[str, list[float]] = {name: [] for name in ways}
            runs: dict[str, list[float]] = {name: [] for name in ways}
            # Interleaved, the order rotating, so that a change in the machine's load
            # falls on both ways alike.
            for i in range(args.repeat):
                order = list(ways)[i % len(ways) :] + list(ways)[: i % len(ways)]
                for name in order:
                    up, down = asyncio.run(ready_and_import(ways[name]))
                    ready[name].append(up)
                    shutdown[name].append(down)
                for name in order:
                    runs[name].append(notebook(ways[name], args.notebook, Path(out)))
            for name in ways:
                print(f"-- {name}")
                print(summary("ready + import", ready[name]))
                print(summary("shutdown", shutdown[name]))
                print(summary(args.notebook.name, runs[name]))
    finally:
        for zygote in zygotes:
            zygote.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
