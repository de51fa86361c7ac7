"""Normal kernels against kernels forked from a warm zygote (:mod:`helpers.kernels`).

Run with the project's interpreter::

    .venv/bin/python benchmarks/kernels.py [--repeat 5] [--notebook notebooks/brief.ipynb]

It prints, for each way of starting kernels, the median and the range over ``--repeat`` runs of

* *ready + import*: from creating the kernel manager to the reply to ``import helpers.report``
  (start the kernel, wait until it answers ``kernel_info``, run the import);
* *shutdown*: a polite shutdown after that, as nbclient does at the end of a notebook;
* *notebook*: the whole notebook through ``papermill.execute_notebook`` with its default
  parameters, kernel start and shutdown included.

The zygote's own start-up, paid once per run, is printed too. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import papermill
from jupyter_client.manager import AsyncKernelManager

from helpers import paths
from helpers.kernels import Zygote, forking_kernel_manager


async def ready_and_import(manager_class: type) -> tuple[float, float]:
    """Seconds to a reply to ``import helpers.report`` on a new kernel, and to shut it down."""
    started = time.perf_counter()
    km = manager_class(kernel_name=paths.KERNEL_NAME)
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


def notebook(manager_class: type, path: Path, out_dir: Path) -> float:
    started = time.perf_counter()
    papermill.execute_notebook(
        str(path),
        str(out_dir / path.name),
        kernel_name=paths.KERNEL_NAME,
        language="python",
        cwd=str(path.parent),
        progress_bar=False,
        log_output=False,
        kernel_manager_class=manager_class,
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

    started = time.perf_counter()
    zygote = Zygote.start()
    print(
        f"zygote ready in {time.perf_counter() - started:.2f} s "
        f"(imports {zygote.seconds:.2f} s, {zygote.native_threads} native thread(s))"
    )
    ways = {"normal": AsyncKernelManager, "forked": forking_kernel_manager(zygote.address)}
    try:
        with tempfile.TemporaryDirectory() as out:
            # Warm this process's own imports (papermill, nbclient) before timing anything.
            notebook(ways["forked"], args.notebook, Path(out))
            for name, manager_class in ways.items():
                timings = [asyncio.run(ready_and_import(manager_class)) for _ in range(args.repeat)]
                runs = [
                    notebook(manager_class, args.notebook, Path(out)) for _ in range(args.repeat)
                ]
                print(f"-- {name}")
                print(summary("ready + import", [t[0] for t in timings]))
                print(summary("shutdown", [t[1] for t in timings]))
                print(summary(f"{args.notebook.name}", runs))
    finally:
        zygote.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
