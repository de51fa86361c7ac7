"""Executing a notebook, and telling a failed run from a good one without trusting metadata."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import child_processes
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import paths
from helpers.errors import ExecutionError
from helpers.kernels.provisioner import forking_config
from helpers.pipeline.execute import (
    SENTINEL_TAG,
    RunKernelClient,
    RunKernelManager,
    execute_notebook,
    find_failure,
    run_kernel_options,
)


def build(*sources: str) -> nbformat.NotebookNode:
    """A notebook whose first code cell is tagged ``parameters``."""
    cells = [new_markdown_cell("# A test brief")]
    params = new_code_cell("partner = 'Russia'")
    params.metadata["tags"] = ["parameters"]
    cells.append(params)
    cells += [new_code_cell(source) for source in sources]
    return new_notebook(cells=cells)


def write(tmp_path: Path, *sources: str) -> Path:
    path = tmp_path / "test.ipynb"
    nbformat.write(build(*sources), path)
    return path


def ran(cell: nbformat.NotebookNode, count: int, *outputs) -> nbformat.NotebookNode:
    cell.execution_count = count
    cell.outputs = list(outputs)
    return cell


def sentinel(token: str | None) -> nbformat.NotebookNode:
    cell = new_code_cell(repr("brief-run-complete-x"))
    cell.metadata["tags"] = [SENTINEL_TAG]
    if token is not None:
        ran(
            cell,
            9,
            new_output("execute_result", data={"text/plain": repr(token)}, execution_count=9),
        )
    return cell


def no_kernels_left() -> bool:
    """No child process of the test process outlives the run (a moment to be reaped)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not child_processes():
            return True
        time.sleep(0.1)
    return False


# -- checking an executed notebook (no kernel) -----------------------------------------------


def test_complete_run_passes_the_check():
    nb = build("x = 1", "")  # an empty cell never runs, and need not
    for count, cell in enumerate(nb.cells[1:3], start=1):
        ran(cell, count)
    nb.cells.append(sentinel("tok"))
    assert find_failure(nb, "tok") is None


def test_error_output_fails_the_check_even_for_system_exit_zero():
    nb = build("import sys; sys.exit(0)")
    ran(nb.cells[1], 1)
    ran(nb.cells[2], 2, new_output("error", ename="SystemExit", evalue="0", traceback=[]))
    assert find_failure(nb) == 'cell 3 ("import sys; sys.exit(0)") raised SystemExit: 0'


def test_cell_that_never_ran_fails_the_check_whatever_the_metadata_says():
    nb = build("x = 1", "y = 2")
    ran(nb.cells[1], 1)
    ran(nb.cells[2], 2)
    for cell in nb.cells:  # what papermill writes after the kernel died
        cell.metadata["papermill"] = {"status": "completed", "exception": False}
    assert find_failure(nb) == 'cell 4 ("y = 2") never ran: the run stopped before it'


def test_missing_sentinel_token_fails_the_check():
    nb = build("x = 1")
    ran(nb.cells[1], 1)
    ran(nb.cells[2], 2)
    nb.cells.append(sentinel("brief-run-complete-from-another-run"))
    assert "did not reach its end" in find_failure(nb, "brief-run-complete-this-run")


def test_cells_tagged_skip_execution_are_expected_not_to_run():
    nb = build("x = 1")
    ran(nb.cells[1], 1)
    nb.cells[2].metadata["tags"] = ["skip-execution"]
    assert find_failure(nb) is None


# -- running notebooks (these start kernels) ------------------------------------------------


@pytest.mark.kernels
def test_good_notebook_runs_with_parameters_injected_and_without_the_sentinel(tmp_path):
    notebook = write(tmp_path, "print(partner.upper())")
    source = notebook.read_bytes()
    out = tmp_path / "out.ipynb"

    nb = execute_notebook(notebook, out, {"partner": "China"}, timeout=60)

    assert notebook.read_bytes() == source  # the input is not modified
    assert nbformat.read(out, as_version=4) == nb
    assert nb.cells[-1].outputs[0]["text"] == "CHINA\n"
    assert not [c for c in nb.cells if SENTINEL_TAG in c.metadata.get("tags", [])]
    assert nb.metadata.papermill.input_path == str(notebook)
    assert no_kernels_left()


@pytest.mark.kernels
@pytest.mark.parametrize("shutdown", [None, "graceful"])
def test_the_kernel_is_stopped_once_the_last_cell_answered_not_shut_down(
    tmp_path, monkeypatch, shutdown
):
    """A run does not wait for the kernel's exit (its handlers, IPython's history, the
    interpreter's teardown): every output is in when the last cell answers. The graceful
    case shows the probe can tell the two apart."""
    from helpers.pipeline import execute

    marker = tmp_path / "exit-handlers-ran"
    notebook = write(
        tmp_path,
        f"import atexit, pathlib; atexit.register(pathlib.Path({str(marker)!r}).touch)",
        "print('last cell')",
    )
    if shutdown is not None:  # None: the default, what every run does
        monkeypatch.setattr(execute, "KERNEL_SHUTDOWN", shutdown)
    nb = execute_notebook(notebook, tmp_path / "out.ipynb", timeout=60)

    assert nb.cells[-1].outputs[0]["text"] == "last cell\n"
    assert no_kernels_left()
    assert marker.exists() is (shutdown == "graceful")


@pytest.mark.kernels
def test_the_executed_notebook_is_written_at_the_runs_ends_not_after_every_cell(tmp_path):
    """papermill writes the whole notebook when each cell starts and ends (34 writes for the
    main brief); a run writes it when it starts and when it ends. A cell reads the file as it
    stands: with papermill's own engine it would hold the first cell's output already."""
    out = tmp_path / "out.ipynb"
    notebook = write(
        tmp_path,
        "print('first ' + 'output')",
        f"print(('first' + ' output') in open({str(out)!r}).read())",
    )
    nb = execute_notebook(notebook, out, timeout=60)

    assert nb.cells[-2].outputs[0]["text"] == "first output\n"
    assert nb.cells[-1].outputs[0]["text"] == "False\n"
    assert "first output" in out.read_text()  # written when the run ended


CHATTY_STARTUP = """
import sys, threading, time

def _chatter():
    while True:
        print("chatter", flush=True)
        time.sleep(0.02)

threading.Thread(target=_chatter, daemon=True).start()
"""


@pytest.mark.kernels
def test_a_kernel_whose_iopub_never_falls_silent_is_ready_all_the_same(tmp_path):
    """jupyter_client's client, once the kernel answers, reads IOPub until 0.2 s pass without
    a message (every run waited that long); ours drops what is there and goes on. A kernel
    that prints without pause (a thread in its start-up file) would hold jupyter_client's
    wait for ever; the guard below turns that into a failure instead of a hang."""
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-chatter.py").write_text(CHATTY_STARTUP)
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")}
    options = run_kernel_options(tmp_path / "kernel.log", "chatty")
    manager = RunKernelManager(kernel_name=paths.KERNEL_NAME, config=options["config"])

    async def ready_and_answers() -> dict:
        await manager.start_kernel(env=env, cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        try:
            await asyncio.wait_for(client.wait_for_ready(timeout=60), 30)
            return await client.execute_interactive("6 * 7", timeout=30)
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    reply = asyncio.run(ready_and_answers())
    assert reply["content"]["status"] == "ok"
    assert isinstance(manager.client(), RunKernelClient)


@pytest.mark.kernels
def test_kernel_output_goes_to_the_kernel_log_not_the_terminal(tmp_path, capfd):
    notebook = write(tmp_path, "import sys; print('to the kernel stderr', file=sys.__stderr__)")
    log = tmp_path / "kernel.log"
    execute_notebook(notebook, tmp_path / "out.ipynb", timeout=60, kernel_log=log)
    captured = capfd.readouterr()
    assert "to the kernel stderr" not in captured.err
    assert "to the kernel stderr" in log.read_text()


def test_one_kernel_manager_class_is_configured_per_run_as_nbclient_makes_it(tmp_path):
    # No class is made per run: the log's path and the run id reach the one class as
    # traitlets configuration, beside the caller's (here the zygote's address).
    address = str(tmp_path / "zygote.sock")
    caller = forking_config(address)
    options = run_kernel_options(tmp_path / "kernel.log", "run-1", caller)
    assert options["kernel_manager_class"] is RunKernelManager
    assert run_kernel_options(None, "run-2")["kernel_manager_class"] is RunKernelManager
    # nbclient makes its kernel manager with its own config, as papermill hands it over.
    client = NotebookClient(new_notebook(), kernel_name=paths.KERNEL_NAME, **options)
    km = client.create_kernel_manager()
    assert type(km) is RunKernelManager
    assert (km.kernel_log, km.run_id) == (str(tmp_path / "kernel.log"), "run-1")
    assert km.zygote_address == address
    assert list(caller) == ["ForkingKernelManager"]  # the caller's config is left as it was
    # Its clients remove the connection file once the kernel answers (a public hook, the
    # manager's client class, not a method replaced on an instance).
    assert km.client_factory is RunKernelClient
    assert type(km.client()) is RunKernelClient
    km.context.destroy()


@pytest.mark.slow
def test_concurrent_runs_kill_only_their_own_kernels(tmp_path):
    # brief serve renders in threads of one process: a run that ends kills what is left of
    # its own kernels, never those of a run still going.
    started, release = tmp_path / "started", tmp_path / "release"
    slow_dir, quick_dir = tmp_path / "slow", tmp_path / "quick"
    slow_dir.mkdir()
    quick_dir.mkdir()
    slow = write(
        slow_dir,
        f"import pathlib, time\npathlib.Path({str(started)!r}).touch()",
        f"while not pathlib.Path({str(release)!r}).exists():\n    time.sleep(0.05)",
        "print('still alive')",
    )
    quick = write(quick_dir, "print('quick')")
    outcome: dict[str, object] = {}

    def run_slow() -> None:
        try:
            outcome["nb"] = execute_notebook(slow, slow_dir / "out.ipynb", timeout=120)
        except Exception as exc:
            outcome["error"] = exc
        finally:  # papermill ran the run on an event loop it made for this thread
            asyncio.get_event_loop().close()

    thread = threading.Thread(target=run_slow)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), outcome
        execute_notebook(quick, quick_dir / "out.ipynb", timeout=60)
    finally:
        release.touch()
        thread.join(timeout=120)
    assert "error" not in outcome, outcome["error"]
    assert outcome["nb"].cells[-1].outputs[0]["text"] == "still alive\n"
    assert no_kernels_left()


FAILURES = {
    "raise": (
        "raise ValueError('boom')",
        r"cell 3 \(\"raise ValueError.*\"\) raised ValueError: boom",
    ),
    "sys.exit(0)": ("import sys; sys.exit(0)", r"cell 3 .* raised SystemExit: 0"),
    "os._exit(1)": ("import os; os._exit(1)", r"kernel died while running cell 3"),
    "os._exit(0)": ("import os; os._exit(0)", r"kernel died while running cell 3"),
    "kill -9": ("import os, signal; os.kill(os.getpid(), 9)", r"kernel died while running cell 3"),
    "infinite loop": ("while True:\n    pass", r'cell 3 \("while True:"\) timed out after 3 s'),
}


@pytest.mark.kernels
@pytest.mark.parametrize("kind", list(FAILURES))
def test_failed_run_raises_names_the_cell_keeps_the_notebook_and_leaves_no_kernel(tmp_path, kind):
    source, message = FAILURES[kind]
    notebook = write(tmp_path, source, "print('never')")
    out = tmp_path / "out.ipynb"

    with pytest.raises(ExecutionError, match=message) as caught:
        execute_notebook(notebook, out, timeout=3)

    assert str(caught.value).startswith("test.ipynb: ")
    executed = nbformat.read(out, as_version=4)
    last = [c for c in executed.cells if c.cell_type == "code"][-1]
    assert last.source == "print('never')"
    assert last.execution_count is None
    assert no_kernels_left()


@pytest.mark.kernels
def test_missing_kernel_is_an_execution_error_that_says_how_to_install_it(tmp_path):
    notebook = write(tmp_path, "x = 1")
    with pytest.raises(ExecutionError, match="ipykernel install --sys-prefix --name no-such"):
        execute_notebook(notebook, tmp_path / "out.ipynb", kernel_name="no-such-kernel-xyz")
    assert no_kernels_left()


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.kernels
@pytest.mark.parametrize("then", ["print('done')", "import os; os._exit(1)"])
def test_processes_the_notebook_started_do_not_outlive_the_run(tmp_path, then):
    notebook = write(
        tmp_path, "import subprocess\nchild = subprocess.Popen(['sleep', '300'])\nchild.pid", then
    )
    out = tmp_path / "out.ipynb"
    try:
        execute_notebook(notebook, out, timeout=30)
    except ExecutionError:
        assert then.startswith("import os")
    executed = nbformat.read(out, as_version=4)
    pid = int(executed.cells[2].outputs[0]["data"]["text/plain"])
    assert gone(pid)
    assert no_kernels_left()


def test_a_cell_that_prints_too_much_is_cut_and_the_brief_says_so():
    from helpers.pipeline import execute as execute_module
    from helpers.pipeline.export import render_html

    loud = new_code_cell("print('x' * 50_000)")
    loud.outputs = [new_output("stream", name="stdout", text="x" * 50_000)]
    shown = new_code_cell("show()")
    shown.outputs = [
        new_output("display_data", data={"text/html": "<p>small</p>"}),
        new_output("display_data", data={"text/html": "<p>" + "y" * 30_000 + "</p>"}),
    ]
    quiet = new_code_cell("print('ok')")
    quiet.outputs = [new_output("stream", name="stdout", text="ok\n")]
    nb = new_notebook(cells=[loud, shown, quiet])

    cut = execute_module.cap_outputs(nb, limit=20_000)

    assert cut == [
        {"cell": 1, "bytes": 50_000, "kept": 20_000},
        {"cell": 2, "bytes": 30_019, "kept": 12},
    ]
    assert nb.cells[0].outputs[0].text.startswith("x" * 20_000 + "\n[... cut: this cell's")
    assert [o.data["text/html"] for o in nb.cells[1].outputs] == ["<p>small</p>"]
    assert nb.cells[2].outputs[0].text == "ok\n"  # under the limit: untouched
    assert nb.metadata["brief"][execute_module.CUT_KEY] == cut
    html = render_html(nb)
    assert "Output cut, so that the brief stays a brief: cell 1 produced 0.1 MB" in html
    assert "cell 2 produced 0.0 MB of output; the notebook keeps the first 0.0 MB" in html


@pytest.mark.kernels
def test_the_executed_notebook_keeps_at_most_the_cap_per_cell(tmp_path, monkeypatch):
    from helpers.pipeline import execute as execute_module

    monkeypatch.setattr(execute_module, "MAX_CELL_OUTPUT", 1_000)
    notebook = write(tmp_path, "print('z' * 5_000)", "print('fine')")
    out = tmp_path / "out.ipynb"

    execute_notebook(notebook, out)

    executed = nbformat.read(out, as_version=4)
    loud, fine = [c for c in executed.cells if c.cell_type == "code"][-2:]
    assert loud.outputs[0].text.startswith("z" * 1_000 + "\n[... cut: this cell's output came to")
    assert len(loud.outputs[0].text) < 1_200
    assert fine.outputs[0].text == "fine\n"
    [cut] = executed.metadata["brief"][execute_module.CUT_KEY]
    assert cut["bytes"] == 5_001 and cut["kept"] == 1_000
