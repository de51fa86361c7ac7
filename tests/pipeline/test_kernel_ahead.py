"""A kernel started ahead of its run (``brief serve``'s next kernel): the run on it is the run
on a new kernel, it has run nothing a notebook can see, and it never outlives its run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from test_execute import gone, write

from helpers import paths
from helpers.kernels.forkserver import DEFAULT_WARM_MODULES, Zygote
from helpers.kernels.provisioner import forking_config
from helpers.pipeline.execute import execute_notebook
from helpers.pipeline.kernel_ahead import StartedKernel, start_kernel_ahead
from helpers.serve.jobs import SERVER_WARM_ENTRIES

pytestmark = pytest.mark.kernels

#: What a notebook can see of the kernel it runs on, before its first cell did anything.
PROBE = r"""
import json, threading
import matplotlib
ip = get_ipython()
print(json.dumps({
    "execution_count": ip.execution_count,
    "inputs": len(ip.history_manager.input_hist_parsed),
    "history_file": str(ip.history_manager.hist_file),
    "user_ns": sorted(k for k in ip.user_ns if not k.startswith("_")),
    "outputs": sorted(ip.user_ns.get("Out", {})),
    "underscore": repr(ip.user_ns.get("_")),
    "threads": sorted(t.name for t in threading.enumerate()),
    "rc_changed": sorted(
        k for k, v in matplotlib.rcParams.items()
        if k != "backend" and matplotlib.rcParamsDefault.get(k) != v
    ),
    "cwd": __import__("os").getcwd(),
}))
"""


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def zygote():
    """A zygote as ``brief serve`` starts it: it makes one brief before it forks."""
    with Zygote.start((*DEFAULT_WARM_MODULES, *SERVER_WARM_ENTRIES)) as started:
        yield started


@pytest.fixture(scope="module")
def plain_zygote():
    """A zygote as ``brief render`` starts it."""
    with Zygote.start() as started:
        yield started


def ahead(tmp_path: Path, cwd: Path, zygote: Zygote, **options) -> StartedKernel:
    folder = tmp_path / f"ahead-{time.monotonic_ns()}"
    folder.mkdir()
    return start_kernel_ahead(folder, cwd, config=forking_config(zygote.address), **options)


def test_the_brief_on_brief_serves_kernels_is_the_brief_on_brief_renders(
    tmp_path, zygote, plain_zygote
):
    # brief serve's kernel: started ahead, from a zygote that made a brief first; brief
    # render's: a new fork of a zygote that only imported (itself checked against a kernel
    # started from the kernelspec in tests/kernels).
    source = paths.notebook_path("brief")
    kernel = ahead(tmp_path, source.parent, zygote)
    pid = kernel.manager.provisioner.pid

    on_ahead = execute_notebook(source, tmp_path / "ahead.ipynb", kernel=kernel.manager)
    fresh = execute_notebook(
        source, tmp_path / "fresh.ipynb", config=forking_config(plain_zygote.address)
    )

    def shown(nb):
        return [(c.get("execution_count"), c.get("outputs")) for c in nb.cells]

    assert any(outputs for _, outputs in shown(fresh))
    assert shown(on_ahead) == shown(fresh)
    assert gone(pid)  # the run ended the kernel it was given


def test_a_kernel_started_ahead_has_run_nothing_a_notebook_can_see(tmp_path, zygote):
    probe = write(tmp_path, PROBE)
    kernel = ahead(tmp_path, tmp_path, zygote)

    on_ahead = execute_notebook(probe, tmp_path / "ahead.ipynb", kernel=kernel.manager)
    fresh = execute_notebook(probe, tmp_path / "fresh.ipynb", config=forking_config(zygote.address))

    seen, expected = (json.loads(printed(nb.cells[-1])) for nb in (on_ahead, fresh))
    assert seen == expected
    # Both as nbclient means a Python kernel to run: IPython's history in memory, no thread
    # writing it to the user's ~/.ipython (every run's kernel did, named myanmar-brief).
    assert expected["history_file"] == ":memory:"
    assert "IPythonHistorySavingThread" not in expected["threads"]


def test_a_warm_up_that_fails_leaves_no_kernel_and_no_folder(tmp_path, zygote):
    folder = tmp_path / "ahead"
    folder.mkdir()
    before = {p.pid for p in psutil.Process(zygote.pid).children()}

    with pytest.raises(RuntimeError, match="warm-up failed: ZeroDivisionError"):
        start_kernel_ahead(folder, tmp_path, config=forking_config(zygote.address), warm_up="1 / 0")

    assert not folder.exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = {p.pid for p in psutil.Process(zygote.pid).children() if alive(p.pid)} - before
        if not left:
            break
        time.sleep(0.05)
    assert not left


def test_a_kernel_started_ahead_fits_only_its_folder_and_dies_with_discard(tmp_path, zygote):
    kernel = ahead(tmp_path, tmp_path, zygote)
    pid = kernel.manager.provisioner.pid

    assert kernel.fits(tmp_path, paths.KERNEL_NAME)
    assert not kernel.fits(tmp_path / "elsewhere", paths.KERNEL_NAME)
    assert not kernel.fits(tmp_path, "python3")
    assert kernel.kernel_log.is_file()  # its output has somewhere to go
    assert not list(kernel.folder.glob("*.connection.json"))  # the key went once it answered

    kernel.discard()

    assert gone(pid)
    assert not kernel.fits(tmp_path, paths.KERNEL_NAME)  # dead
    assert not kernel.folder.exists()


def test_the_runs_log_is_the_kernels_log_it_was_given(tmp_path, zygote):
    noisy = write(tmp_path, "import sys; print('to the log', file=sys.__stderr__)")
    kernel = ahead(tmp_path, tmp_path, zygote)
    log = tmp_path / "run.kernel.log"
    kernel.hand_log_to(log)

    execute_notebook(noisy, tmp_path / "noisy.out.ipynb", kernel=kernel.manager)

    assert "to the log" in log.read_text()
    assert not kernel.folder.exists()
