"""Forked kernels: as fresh and as isolated as kernels started from the kernelspec, and faster."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import psutil
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerFactory, LocalProvisioner
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_code_cell, new_notebook
from papermill.exceptions import PapermillExecutionError

from helpers import paths
from helpers.kernels import client as fork_client
from helpers.kernels import forkserver as kernels
from helpers.kernels import protocol, provisioner
from helpers.kernels import zygote as zygote_process
from helpers.kernels.forkserver import Zygote, warm_kernels, zygote_in_background
from helpers.kernels.provisioner import (
    ForkingKernelManager,
    ForkingProvisioner,
    forking_config,
    forking_options,
)

# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def write(path: Path, *sources: str) -> Path:
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {
        "name": paths.KERNEL_NAME,
        "language": "python",
        "display_name": "Python (myanmar-brief)",
    }
    nbformat.write(nb, path)
    return path


def run(path: Path, manager_class: type, **kwargs) -> nbformat.NotebookNode:
    kwargs.setdefault("cwd", str(path.parent))
    if getattr(manager_class, "run_config", None) is not None:
        kwargs.setdefault("config", manager_class.run_config)  # the zygote's address
    return papermill.execute_notebook(
        str(path),
        str(path.with_name(path.stem + ".out.ipynb")),
        kernel_name=paths.KERNEL_NAME,
        language="python",
        progress_bar=False,
        log_output=False,
        kernel_manager_class=manager_class,
        **kwargs,
    )


def text(cell: nbformat.NotebookNode) -> str:
    """Everything a cell printed or returned, as text."""
    parts = []
    for output in cell.outputs:
        parts.append("".join(output.get("text", "")))
        parts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)


def recording(base: type, address: str | None = None) -> type:
    """``base`` that records, per started kernel, its pid and whether it was forked; with
    ``address``, :func:`run` configures it to fork from that zygote (``run_config``)."""

    class Recording(base):
        started: list[tuple[int, bool]] = []  # noqa: RUF012  (one class per test)
        run_config = forking_config(address) if address else None

        async def start_kernel(self, **kw):
            await super().start_kernel(**kw)
            type(self).started.append(
                (self.provisioner.pid, bool(getattr(self.provisioner, "forked", False)))
            )

    Recording.started = []
    return Recording


def gone(pid: int, timeout: float = 10.0) -> bool:
    """The process has exited. A zombie counts: reaping is checked by :func:`no_zombies`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def descendants() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def no_zombies(pid: int) -> bool:
    """No child of ``pid`` is left unreaped, after a moment for the zygote to reap."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        statuses = []
        for child in psutil.Process(pid).children():
            try:
                statuses.append(child.status())
            except psutil.NoSuchProcess:
                continue
        if psutil.STATUS_ZOMBIE not in statuses:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def zygote():
    """One zygote for the tests that only need forked kernels, stopped after them."""
    with Zygote.start() as started:
        yield started


@pytest.fixture
def manager(zygote):
    """A kernel-manager class forking from the shared zygote, recording its kernels."""
    return recording(ForkingKernelManager, zygote.address)


# --------------------------------------------------------------------------------------------
# Unit tests: no kernel, no zygote
# --------------------------------------------------------------------------------------------


def test_only_python_dash_m_ipykernel_launcher_commands_have_a_launch_prefix():
    argv = ["/venv/bin/python", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "c"]
    assert protocol.launch_prefix(argv) == ["/venv/bin/python", "-Xfrozen_modules=off"]
    assert protocol.launch_prefix(["python", "-m", "other_kernel", "-f", "c"]) is None
    assert protocol.launch_prefix(["/usr/bin/ir", "--slave", "-f", "c"]) is None


def test_a_message_and_file_descriptors_cross_the_socket_together():
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    read_end, write_end = os.pipe()
    try:
        message = {"op": "fork", "env": {"K": "v" * 100_000}}
        protocol.send(left, message, [write_end])
        received, fds = protocol.recv(right, maxfds=3)
        assert received == message
        assert len(fds) == 1
        os.write(fds[0], b"through the passed descriptor")
        os.close(fds[0])
        assert os.read(read_end, 100) == b"through the passed descriptor"
    finally:
        left.close()
        right.close()
        os.close(read_end)
        os.close(write_end)


def test_zygote_refuses_a_request_it_could_not_fork_faithfully(tmp_path, monkeypatch):
    server = zygote_process._ZygoteServer(
        str(tmp_path / "s.sock"), os.getpid(), {"HOME": "/home/a"}
    )
    server.prefix = ["/venv/bin/python", "-Xfrozen_modules=off"]
    good = {
        "argv": [*server.prefix, "-m", "ipykernel_launcher", "-f", "c.json"],
        "env": {"HOME": "/home/a", "ANYTHING_ELSE": "x"},
        "cwd": str(tmp_path),
    }
    assert server._refuse(good, [0, 1, 2]) is None
    assert "MPLBACKEND" in server._refuse(
        {**good, "env": {**good["env"], "MPLBACKEND": "agg"}}, [0, 1, 2]
    )
    assert "HOME" in server._refuse({**good, "env": {}}, [0, 1, 2])
    other_python = {**good, "argv": ["/other/python", "-m", "ipykernel_launcher", "-f", "c"]}
    assert "not this zygote's" in server._refuse(other_python, [0, 1, 2])
    assert "does not exist" in server._refuse({**good, "cwd": str(tmp_path / "no")}, [0, 1, 2])


def test_launch_options_a_fork_cannot_honour_ask_for_a_normal_launch(tmp_path):
    cmd = ["python", "-m", "ipykernel_launcher", "-f", "c.json"]
    with pytest.raises(protocol.CannotFork, match="preexec_fn"):
        fork_client.request_fork(str(tmp_path / "s.sock"), cmd, {"preexec_fn": print})
    with pytest.raises(protocol.CannotFork, match="stream option"):
        fork_client.request_fork(str(tmp_path / "s.sock"), cmd, {"stdout": subprocess.PIPE})
    with pytest.raises(protocol.CannotFork, match="did not answer"):
        fork_client.request_fork(str(tmp_path / "s.sock"), cmd, {})


def test_jupyter_client_knows_the_fork_provisioner_by_its_entry_point_name():
    entries = KernelProvisionerFactory.instance().get_provisioner_entries()
    assert entries["brief-fork-provisioner"] == "helpers.kernels.provisioner:ForkingProvisioner"
    assert provisioner.PROVISIONER_NAME == "brief-fork-provisioner"


def test_kernel_manager_gets_the_fork_provisioner_from_its_kernelspec_metadata(tmp_path):
    address = str(tmp_path / "zygote.sock")
    km = ForkingKernelManager(kernel_name=paths.KERNEL_NAME, config=forking_config(address))
    assert km.kernel_spec.metadata["kernel_provisioner"] == {
        "provisioner_name": "brief-fork-provisioner",
        "config": {"zygote_address": address},
    }
    made = KernelProvisionerFactory.instance().create_provisioner_instance(
        "kernel-id", km.kernel_spec, parent=km
    )
    assert type(made) is ForkingProvisioner
    assert made.zygote_address == address
    # The kernelspec on disk names no provisioner (JupyterLab starts normal kernels), and a
    # manager without a zygote hands it out as it is.
    installed = KernelSpecManager().get_kernel_spec(paths.KERNEL_NAME)
    assert "kernel_provisioner" not in installed.metadata
    assert km.kernel_spec.argv == installed.argv
    assert km.kernel_spec.env == installed.env
    plain = ForkingKernelManager(kernel_name=paths.KERNEL_NAME)
    assert plain.kernel_spec.to_dict() == installed.to_dict()


def test_off_linux_no_zygote_starts_kernels_use_the_kernelspec_and_the_log_says_so_once(
    tmp_path, monkeypatch, caplog
):
    def no_zygote(*args, **kwargs):
        raise AssertionError("a zygote was started")

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(kernels.Zygote, "start", no_zygote)
    protocol.note_fork_unsupported.cache_clear()  # as in a new process
    config = forking_config(str(tmp_path / "zygote.sock"))
    with caplog.at_level(logging.INFO, logger="helpers.kernels"):
        with zygote_in_background() as address:
            assert address() is None
        with warm_kernels() as warm_address:
            assert warm_address is None
        managers = [
            ForkingKernelManager(kernel_name=paths.KERNEL_NAME, config=config) for _ in range(2)
        ]
        specs = [km.kernel_spec for km in managers]
        made = KernelProvisionerFactory.instance().create_provisioner_instance(
            "kernel-id", specs[0], parent=managers[0]
        )
    assert all("kernel_provisioner" not in spec.metadata for spec in specs)
    assert type(made) is LocalProvisioner
    notes = [r.getMessage() for r in caplog.records if "Linux only" in r.getMessage()]
    assert len(notes) == 1
    assert "darwin" in notes[0]


def test_off_linux_a_kernelspec_naming_the_fork_provisioner_still_starts_a_normal_kernel(
    tmp_path, monkeypatch
):
    launched = []

    async def popen_launch(self, cmd, **kwargs):
        launched.append(cmd)
        return {}

    def no_fork(*args, **kwargs):
        raise AssertionError("a fork was requested")

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(LocalProvisioner, "launch_kernel", popen_launch)
    monkeypatch.setattr(provisioner, "request_fork", no_fork)
    spec = KernelSpecManager().get_kernel_spec(paths.KERNEL_NAME)
    forking = ForkingProvisioner(
        zygote_address=str(tmp_path / "zygote.sock"), kernel_id="kernel-id", kernel_spec=spec
    )
    asyncio.run(forking.launch_kernel(["python", "-m", "ipykernel_launcher"], kernel_id="k"))
    assert launched == [["python", "-m", "ipykernel_launcher"]]
    assert forking.forked is False


# --------------------------------------------------------------------------------------------
# Forked kernels run notebooks
# --------------------------------------------------------------------------------------------


@pytest.mark.kernels
def test_notebook_runs_on_a_forked_kernel_with_correct_outputs(tmp_path, zygote, manager):
    path = write(
        tmp_path / "nb.ipynb",
        "x = 6 * 7\nx",
        "import os\nprint('parent', os.getppid())",
        "import seaborn as sns\nimport pandas as pd\n"
        "sns.barplot(pd.DataFrame({'k': ['a', 'b'], 'v': [1, 2]}), x='k', y='v');",
        "import helpers\nhelpers.open_brief.__module__",
    )
    out = run(path, manager)
    assert text(out.cells[0]) == "42"
    assert text(out.cells[1]).strip() == f"parent {zygote.pid}"
    assert any("image/png" in o.get("data", {}) for o in out.cells[2].outputs)
    assert text(out.cells[3]) == "'helpers.report.brief'"
    assert [forked for _, forked in manager.started] == [True]


@pytest.mark.kernels
def test_second_job_gets_a_new_process_that_sees_nothing_of_the_first(tmp_path, zygote, manager):
    first = write(
        tmp_path / "first.ipynb",
        "leftover = 'from the first job'",
        "import matplotlib\nmatplotlib.rcParams['lines.linewidth'] = 9",
        "import helpers.params\nhelpers.params.SOURCE_DATE = None",
        "import json\njson.brief_marker = True",
        "import os\nos.environ['BRIEF_LEAKED'] = '1'",
        "import pandas as pd\npd.set_option('display.max_rows', 3)",
    )
    second = write(
        tmp_path / "second.ipynb",
        "print('leftover' in globals())",
        "import matplotlib\nprint(matplotlib.rcParams['lines.linewidth'])",
        "import helpers.params\nprint(helpers.params.SOURCE_DATE)",
        "import json\nprint(hasattr(json, 'brief_marker'))",
        "import os\nprint(os.environ.get('BRIEF_LEAKED'))",
        "import pandas as pd\nprint(pd.get_option('display.max_rows'))",
    )
    run(first, manager)
    out = run(second, manager)
    assert [text(c).strip() for c in out.cells] == [
        "False",
        "1.5",
        "2024-03-02",
        "False",
        "None",
        "60",
    ]
    (first_pid, _), (second_pid, _) = manager.started
    assert first_pid != second_pid
    assert [forked for _, forked in manager.started] == [True, True]
    assert no_zombies(zygote.pid)


@pytest.mark.kernels
def test_forked_kernels_draw_different_random_numbers(tmp_path, manager):
    path = write(
        tmp_path / "nb.ipynb",
        "import random, numpy as np\nprint(random.random(), np.random.random())",
    )
    draws = [text(run(path, manager).cells[0]).split() for _ in range(2)]
    assert draws[0][0] != draws[1][0]  # random
    assert draws[0][1] != draws[1][1]  # numpy's global RandomState


@pytest.mark.kernels
def test_linear_algebra_works_after_the_fork(tmp_path, manager):
    # numpy's OpenBLAS had started its thread pool in the zygote; it must still work.
    path = write(
        tmp_path / "nb.ipynb",
        "import numpy as np\na = np.random.default_rng(1).random((400, 400)) + 400 * np.eye(400)\n"
        "print(np.allclose(a @ np.linalg.inv(a), np.eye(400)))",
    )
    assert text(run(path, manager).cells[0]).strip() == "True"


PROBE = r"""
import asyncio, collections, gc, json, os, signal, sys, threading, warnings
import matplotlib, pandas as pd, psutil
from ipykernel.kernelapp import IPKernelApp
ip = get_ipython()
def callbacks():
    return {n: sorted(getattr(f, "__qualname__", repr(f)) for f in fs)
            for n, fs in ip.events.callbacks.items()}
def fds():
    # Open descriptors by kind; IPython's history database opens and closes as it likes, and
    # SQLite opens the database's folder for a moment to sync it after a journal write (seen
    # in CI as a stray descriptor of the profile folder). Sockets are counted by what they
    # are: unix ones are listed below, and of the TCP ones only the listening ports, since
    # the client connects its channels when it likes.
    history_dir = os.path.dirname(str(ip.history_manager.hist_file))
    kinds = collections.Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target == history_dir:
            continue
        if "history.sqlite" not in target and not target.startswith("socket:"):
            kinds[target.split(":")[0]] += 1
    connections = psutil.Process().net_connections("inet")
    kinds["tcp listening"] = sum(c.status == "LISTEN" for c in connections)
    return kinds
def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
state = {
    "argv": sys.argv[:-1], "orig_argv": sys.orig_argv[:-1], "path": sys.path,
    "cwd": os.getcwd(), "executable": sys.executable, "flags": repr(sys.flags),
    "xoptions": sys._xoptions, "env": dict(os.environ),
    "session_leader": os.getsid(0) == os.getpid(), "group_leader": os.getpgid(0) == os.getpid(),
    "signals": {n: repr(signal.getsignal(getattr(signal, n)))
                for n in ("SIGINT", "SIGTERM", "SIGCHLD", "SIGPIPE", "SIGHUP", "SIGQUIT")},
    "fds": fds(), "unix_sockets": [c.laddr for c in psutil.Process().net_connections("unix")],
    "umask": umask(),
    "stdin_at_eof": os.read(0, 1) == b"",
    "threads": sorted(t.name for t in threading.enumerate()),
    "parent_handle": IPKernelApp.instance().parent_handle == int(os.environ["JPY_PARENT_PID"]),
    "main_is_user_module": sys.modules["__main__"] is ip.user_module,
    "user_ns": sorted(k for k in ip.user_ns if not k.startswith("_")),
    "hooks": [repr(sys.excepthook)[:40], type(sys.displayhook).__name__,
              getattr(sys.breakpointhook, "__qualname__", "")],
    "warning_filters": len(warnings.filters), "gc": [gc.get_threshold(), gc.get_freeze_count()],
    "trace": [repr(sys.gettrace()), repr(sys.getprofile())],
    "loop": type(asyncio.get_event_loop()).__name__,
    "formatters": sorted(ip.display_formatter.active_types),
    "mpl_backend": str(matplotlib.rcParams._get("backend")),
    "mpl_interactive": matplotlib.is_interactive(),
    "pandas_max_columns": pd.get_option("display.max_columns"),
    "callbacks": callbacks(),
}
print(json.dumps(state, default=str))
"""
PLOT = r"""
import matplotlib.pyplot as plt
plt.plot([1, 2])
print(json.dumps({"mpl_interactive": matplotlib.is_interactive(),
                  "mpl_backend": str(matplotlib.rcParams._get("backend")),
                  "callbacks": callbacks()}))
"""


@pytest.mark.kernels
def test_forked_kernel_is_in_the_state_of_one_started_from_the_kernelspec(tmp_path, zygote):
    path = write(tmp_path / "probe.ipynb", PROBE, PLOT)

    def observe(manager_class):
        out = run(path, manager_class)
        before = json.loads(text(out.cells[0]))
        after = json.loads(next(o.text for o in out.cells[1].outputs if o.output_type == "stream"))
        after["figure_shown"] = any("image/png" in o.get("data", {}) for o in out.cells[1].outputs)
        return before, after

    normal = observe(recording(AsyncKernelManager))
    forked_class = recording(ForkingKernelManager, zygote.address)
    forked = observe(forked_class)
    assert [f for _, f in forked_class.started] == [True]
    for key in sorted(set(forked[0]) | set(normal[0])):  # one key at a time: a readable diff
        assert (key, forked[0].get(key)) == (key, normal[0].get(key))
    assert forked[1] == normal[1]
    assert normal[1]["figure_shown"] and normal[0]["pandas_max_columns"] == 20


@pytest.mark.kernels
def test_frozen_zygote_objects_stay_out_of_the_kernels_collections(tmp_path):
    path = write(tmp_path / "nb.ipynb", "import gc\nprint(gc.get_freeze_count() > 100_000)")
    outputs = []
    for freeze_gc in (False, True):
        with warm_kernels(freeze_gc=freeze_gc) as address:
            outputs.append(
                text(run(path, recording(ForkingKernelManager, address)).cells[0]).strip()
            )
    assert outputs == ["False", "True"]


@pytest.mark.kernels
def test_brief_notebook_gives_the_same_outputs_on_a_forked_kernel(tmp_path, zygote):
    source = paths.notebook_path("brief")

    def outputs(manager_class, name, **options):
        nb = papermill.execute_notebook(
            str(source),
            str(tmp_path / name),
            kernel_name=paths.KERNEL_NAME,
            language="python",
            cwd=str(source.parent),
            progress_bar=False,
            kernel_manager_class=manager_class,
            **options,
        )
        return [cell.get("outputs") for cell in nb.cells]

    normal = outputs(AsyncKernelManager, "normal.ipynb")
    forked = outputs(ForkingKernelManager, "forked.ipynb", config=forking_config(zygote.address))
    assert any(normal)
    assert forked == normal


# --------------------------------------------------------------------------------------------
# Failures are seen as they are with normal kernels
# --------------------------------------------------------------------------------------------


@pytest.mark.kernels
@pytest.mark.parametrize("death", ["os._exit(1)", "os.kill(os.getpid(), 9)"])
def test_a_kernel_that_dies_in_a_cell_is_reported_dead(tmp_path, zygote, manager, death):
    path = write(tmp_path / "nb.ipynb", "import os", death, "print('never')")
    with pytest.raises(DeadKernelError):
        run(path, manager)
    [(pid, forked)] = manager.started
    assert forked
    assert gone(pid)
    assert no_zombies(zygote.pid)


@pytest.mark.kernels
def test_a_cell_timeout_stops_the_run_and_kills_the_kernel(tmp_path, manager):
    path = write(tmp_path / "nb.ipynb", "while True:\n    pass")
    started = time.monotonic()
    with pytest.raises(CellTimeoutError):
        run(path, manager, execution_timeout=2)
    assert time.monotonic() - started < 30
    [(pid, forked)] = manager.started
    assert forked
    assert gone(pid)


@pytest.mark.kernels
def test_an_interrupt_reaches_the_forked_kernel(tmp_path, manager):
    path = write(tmp_path / "nb.ipynb", "import time\ntime.sleep(120)")
    started = time.monotonic()
    with pytest.raises(PapermillExecutionError) as raised:
        run(path, manager, execution_timeout=2, interrupt_on_timeout=True)
    assert raised.value.ename == "KeyboardInterrupt"
    assert time.monotonic() - started < 30
    assert [forked for _, forked in manager.started] == [True]


# --------------------------------------------------------------------------------------------
# What the kernel is given: working directory, environment, streams
# --------------------------------------------------------------------------------------------


@pytest.mark.kernels
def test_working_directory_and_environment_are_the_ones_papermill_gives(
    tmp_path, manager, monkeypatch
):
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "here.txt").write_text("relative file found")
    monkeypatch.setenv("BRIEF_TEST_VALUE", "set after the zygote started")
    path = write(
        tmp_path / "nb.ipynb",
        "import os\nprint(os.getcwd())",
        "print(open('here.txt').read())",
        "print(os.environ['BRIEF_TEST_VALUE'])",
    )
    out = run(path, manager, cwd=str(workdir))
    assert [text(c).strip() for c in out.cells] == [
        str(workdir),
        "relative file found",
        "set after the zygote started",
    ]
    assert [forked for _, forked in manager.started] == [True]


@pytest.mark.kernels
def test_kernel_writes_to_the_streams_given_to_start_kernel(tmp_path, zygote):
    # As helpers.execute does: the kernel's own stdout and stderr go to a log file.
    log_path = tmp_path / "kernel.log"

    class Logging(ForkingKernelManager):
        async def start_kernel(self, **kw):
            with open(log_path, "ab") as log:
                await super().start_kernel(stdout=log, stderr=log, **kw)

    path = write(tmp_path / "nb.ipynb", "import sys\nprint('to the log', file=sys.__stderr__)")
    run(path, recording(Logging, zygote.address))
    assert "to the log" in log_path.read_text()


@pytest.mark.kernels
def test_a_kernel_whose_import_time_environment_differs_starts_normally(
    tmp_path, manager, monkeypatch, caplog
):
    monkeypatch.setenv("MPLBACKEND", "agg")
    path = write(tmp_path / "nb.ipynb", "import matplotlib\nprint(matplotlib.get_backend())")
    with caplog.at_level(logging.WARNING, logger="helpers.kernels"):
        out = run(path, manager)
    assert text(out.cells[0]).strip().lower() == "agg"
    assert [forked for _, forked in manager.started] == [False]
    assert "MPLBACKEND" in caplog.text


# --------------------------------------------------------------------------------------------
# Lifecycle: fall back, never outlive the run
# --------------------------------------------------------------------------------------------


@pytest.mark.kernels
def test_no_process_outlives_warm_kernels(tmp_path):
    before = descendants()
    with warm_kernels() as address:
        assert address
        km = ForkingKernelManager(kernel_name=paths.KERNEL_NAME, config=forking_config(address))

        async def leave_a_kernel_running():
            await km.start_kernel(cwd=str(tmp_path))
            client = km.client()
            client.start_channels()
            await client.wait_for_ready(timeout=60)
            # A grandchild in the kernel's process group, and one that left it.
            client.execute(
                "import subprocess\n"
                "subprocess.Popen(['sleep', '600'])\n"
                "subprocess.Popen(['sleep', '600'], start_new_session=True)"
            )
            await client.get_shell_msg(timeout=30)
            client.stop_channels()

        asyncio.run(leave_a_kernel_running())
        assert psutil.pid_exists(km.provisioner.pid)
        assert len(descendants() - before) >= 4  # zygote, kernel, two sleeps
    assert descendants() - before == set()
    assert asyncio.run(km.is_alive()) is False
    asyncio.run(km.cleanup_resources())


@pytest.mark.kernels
def test_failed_warm_import_falls_back_to_normal_kernels(tmp_path, caplog):
    before = descendants()
    path = write(tmp_path / "nb.ipynb", "print(6 * 7)")
    modules = ["pandas", "helpers.no_such_module"]
    with (
        caplog.at_level(logging.WARNING, logger="helpers.kernels"),
        warm_kernels(modules=modules) as address,
    ):
        assert address is None
        recorded = recording(ForkingKernelManager, address)
        out = run(path, recorded)
    assert text(out.cells[0]).strip() == "42"
    assert [forked for _, forked in recorded.started] == [False]
    assert "helpers.no_such_module" in caplog.text
    assert descendants() - before == set()


@pytest.mark.kernels
def test_kernels_die_with_their_zygote_and_later_kernels_start_normally(tmp_path, caplog):
    path = write(tmp_path / "nb.ipynb", "print(6 * 7)")
    with Zygote.start() as zygote:
        manager_class = recording(ForkingKernelManager, zygote.address)
        km = manager_class(kernel_name=paths.KERNEL_NAME, config=manager_class.run_config)
        asyncio.run(km.start_kernel(cwd=str(tmp_path)))
        kernel_pid = km.provisioner.pid
        os.kill(zygote.pid, signal.SIGKILL)
        assert gone(kernel_pid)
        assert asyncio.run(km.is_alive()) is False
        asyncio.run(km.cleanup_resources())
        with caplog.at_level(logging.WARNING, logger="helpers.kernels"):
            out = run(path, manager_class)
    assert text(out.cells[0]).strip() == "42"
    assert [forked for _, forked in manager_class.started] == [True, False]
    assert "did not answer" in caplog.text


ORPHAN_SCRIPT = """
import asyncio, os, sys, time
from helpers.kernels.forkserver import warm_kernels
from helpers.kernels.provisioner import ForkingKernelManager, forking_config
with warm_kernels() as address:
    km = ForkingKernelManager(kernel_name="myanmar-brief", config=forking_config(address))
    asyncio.run(km.start_kernel())
    print(address, km.provisioner.pid, flush=True)
    time.sleep(600)
"""


@pytest.mark.kernels
def test_zygote_and_its_kernels_stop_when_the_process_that_started_them_dies():
    runner = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        line = b""
        while not line.startswith(b"/"):  # the kernel shares this stdout
            line = runner.stdout.readline()
            assert line, "the runner exited early"
        address, kernel_pid = line.decode().split()
        kernel_pid = int(kernel_pid)
        zygote_pid = psutil.Process(kernel_pid).ppid()
        assert psutil.Process(zygote_pid).ppid() == runner.pid
        runner.kill()
        runner.wait()
        assert gone(zygote_pid)
        assert gone(kernel_pid)
        assert not Path(address).parent.exists()
    finally:
        runner.stdout.close()
        if runner.poll() is None:
            runner.kill()
            runner.wait()


def _run_in_worker(address: str, notebook: str) -> str:
    """In a worker process: run a notebook on a kernel forked from the parent's zygote."""
    out = papermill.execute_notebook(
        notebook,
        notebook.replace(".ipynb", ".out.ipynb"),
        kernel_name=paths.KERNEL_NAME,
        progress_bar=False,
        **forking_options(address),
    )
    return text(out.cells[0]).strip()


@pytest.mark.kernels
def test_a_worker_process_forks_kernels_from_the_zygote_address(tmp_path, zygote):
    path = write(tmp_path / "nb.ipynb", "import os\nprint(os.getppid())")
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        printed = pool.submit(_run_in_worker, zygote.address, str(path)).result(timeout=120)
    assert printed == str(zygote.pid)


@pytest.mark.kernels
def test_forked_kernels_keep_the_signal_dispositions_the_zygote_was_given(tmp_path):
    # Under nohup SIGHUP is ignored, and a kernel started from its kernelspec inherits that;
    # so must a forked one (the zygote handles SIGHUP itself while it serves).
    probe = write(
        tmp_path / "signals.ipynb",
        "import signal\nprint(signal.getsignal(signal.SIGHUP) is signal.SIG_IGN)",
    )
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with Zygote.start() as started:
            manager_class = recording(ForkingKernelManager, started.address)
            out = run(probe, manager_class)
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert [forked for _, forked in manager_class.started] == [True]  # not a normal start
    assert text(out.cells[0]).strip() == "True"


# --------------------------------------------------------------------------------------------
# The address through configuration; the private state redone after the fork
# --------------------------------------------------------------------------------------------


def test_the_zygote_address_reaches_nbclients_kernel_manager_as_configuration(tmp_path):
    address = str(tmp_path / "zygote.sock")
    options = forking_options(address)
    # One class for every zygote, none made at run time: the address is configuration.
    assert options["kernel_manager_class"] is ForkingKernelManager
    assert forking_options(None)["kernel_manager_class"] is ForkingKernelManager
    # nbclient makes its kernel manager with its own config, as papermill hands it over.
    km = NotebookClient(
        new_notebook(), kernel_name=paths.KERNEL_NAME, **options
    ).create_kernel_manager()
    assert type(km) is ForkingKernelManager
    assert km.zygote_address == address
    assert km.kernel_spec.metadata["kernel_provisioner"]["config"] == {"zygote_address": address}
    # A subclass (helpers.pipeline.execute logs through one) is configured the same way.
    sub = type("Sub", (ForkingKernelManager,), {})(config=options["config"])
    assert sub.zygote_address == address


def test_a_zygote_still_importing_is_configured_as_a_function_asked_when_a_kernel_starts(
    tmp_path,
):
    # brief render: its own work overlaps the zygote's imports until a kernel is needed.
    address = str(tmp_path / "zygote.sock")
    asked = []

    def when_needed():
        asked.append(address)
        return address

    km = ForkingKernelManager(kernel_name=paths.KERNEL_NAME, config=forking_config(when_needed))
    assert km.zygote_address_from is when_needed
    assert km.zygote_address is None
    assert "kernel_provisioner" not in km.kernel_spec.metadata
    assert asked == []  # nothing waits before a kernel starts


@pytest.mark.kernels
def test_a_zygote_still_importing_is_waited_for_by_two_threads_at_once():
    # brief serve: a render and the thread that starts the next kernel ahead both ask for the
    # address while the zygote imports. Both must get it: one thread reading the zygote's
    # answer while the other blocked on the same pipe until the timeout, which then stopped
    # the zygote, and every later kernel started cold.
    started = Zygote.start(timeout=60, wait=False)
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            waits = [pool.submit(started.wait) for _ in range(2)]
            done = [w.result(timeout=90) for w in waits]
        assert done == [started, started]
        assert started.ready and started.process.poll() is None
    finally:
        started.stop()


def test_a_kernel_killed_here_is_dead_by_sigkill_without_its_report_from_the_zygote():
    # A run's end kills its kernel's process group; the zygote reaps it and reports its exit
    # code a moment later. The run does not wait for that report: it knows how it ended.
    # (Without the report, a kernel gone on its own is waited for, then given code 1.)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    ours, zygotes_end = socket.socketpair()  # the zygote's end stays open and says nothing
    try:
        handle = fork_client.ForkedProcess(child.pid, ours)
        assert handle.poll() is None
        handle.kill()
        child.wait(10)  # reaped, as the zygote reaps its kernels
        assert handle.poll() == -signal.SIGKILL
    finally:
        child.kill()
        child.wait(10)
        ours.close()
        zygotes_end.close()


PRIVATE_STATE_PROBE = r"""
import json, threading
import pandas as pd
threading.Thread()  # the counter moves on, as pydevd's import in the zygote moves it
before = pd.get_option("display.max_columns")
from helpers.kernels.zygote import redo_private_state
redo_private_state()
pd.set_option("display.max_columns", 5)
pd.reset_option("display.max_columns")
print(json.dumps({"before": before, "after": pd.get_option("display.max_columns"),
                  "thread": threading.Thread().name}))
"""


def test_the_private_state_a_forked_kernel_redoes_is_still_there():
    # redo_private_state writes threading's and pandas' private state (neither has a public
    # way); if either library moves it, this fails, and the fence must be looked at again.
    done = subprocess.run(
        [sys.executable, "-c", PRIVATE_STATE_PROBE],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    state = json.loads(done.stdout)
    assert state["before"] == 0  # pandas imported outside a kernel: fit the terminal
    assert state["after"] == 20  # a kernel's default, kept by pandas' own reset_option
    assert state["thread"] == "Thread-1"
