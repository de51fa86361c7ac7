"""Fresh Jupyter kernels in a fraction of the start-up time, forked from a warm "zygote".

Most of a brief's run time is start-up: a new kernel process, then pandas, seaborn, matplotlib
and :mod:`helpers.report` imported in it. This module starts, once per run, a *zygote*
(:mod:`helpers.kernels.zygote`): a Python process that imports ipykernel's kernel machinery
and a list of warm modules, then waits on a Unix socket. Each kernel is a ``fork()`` of it.
The warm modules are imported already, but no job's code has ever run in the zygote, so every
job still gets a new process in which no other job's code has run: isolation is not traded for
speed.

This module is the zygote's lifecycle, seen from the process that starts it: :class:`Zygote`,
:func:`warm_kernels` and :func:`zygote_in_background`. They give the zygote's address, a
``str``; the kernel manager that forks from it is jupyter_client's side,
:mod:`helpers.kernels.provisioner`, configured with that address through traitlets
(:func:`~helpers.kernels.provisioner.forking_options`), so papermill and nbclient take it as
they are::

    with warm_kernels() as address:
        papermill.execute_notebook(src, dst, kernel_name="myanmar-brief",
                                   **forking_options(address))

What a forked kernel inherits, and what is redone after the fork
----------------------------------------------------------------
The zygote runs on the kernelspec's interpreter with its options (``python
-Xfrozen_modules=off``), and its child becomes what ``python -Xfrozen_modules=off -m
ipykernel_launcher -f <file>`` would be (:mod:`helpers.kernels.zygote` says how). Some state
was decided when the zygote imported modules outside a kernel, and is redone: numpy's global
random state is reseeded (``random`` reseeds itself); pandas' default ``display.max_columns``
is the kernel's 20, not the terminal's 0; ``IPKernelApp.parent_handle`` comes from this
kernel's ``JPY_PARENT_PID``; environment variables that the imports set (debugpy's
``PYDEVD_USE_FRAME_EVAL``) are set again; thread names count from 1. ``matplotlib_inline`` is
never pre-imported: importing it hooks figures into the running shell, so the kernel imports
it when the first figure is drawn, as usual; its dependencies are warm.
``tests/kernels/test_kernels.py`` compares a forked kernel's state with a normal one's.

Known, accepted differences: the warm modules are in ``sys.modules`` (and their import-time
warnings went to the zygote's log, not to the notebook); all forked kernels share the zygote's
``str`` hash seed; ``os.getppid()`` is the zygote. Environment variables read at import time
(``PYTHON*``, ``MPL*``, ``LC_*``, ``OMP_*`` and so on, see :data:`IMPORT_TIME_ENV`) cannot take
effect after the fork, so a kernel whose value for one of them differs from the zygote's is
started normally, with a warning. So is any kernel that cannot be forked: a run never fails
for want of a zygote.

Linux only
----------
Kernels are forked on Linux only (:func:`fork_supported`). Elsewhere no zygote starts,
kernels start from their kernelspec, and the log says so once per process (at INFO level).

Worker processes
----------------
The address is a ``str``: start one zygote in the parent process and pass its address to the
workers; each passes :func:`~helpers.kernels.provisioner.forking_options` of it to papermill.
The zygote forks for any process of the same user on the same machine, one request at a time
(a fork takes milliseconds). Kernels forked for a worker are the zygote's children, so they
live no longer than the ``warm_kernels`` block in the parent.

Versions
--------
The fork server leans on other packages' internals: ipykernel's start-up (``IPKernelApp``'s
traits read from the environment at import, ``ipykernel_launcher``'s command line, the
``matplotlib_inline`` hook), jupyter_client's ``LocalProvisioner`` (the attributes it keeps
on a launched process and the ``Popen`` interface it expects of it), pyzmq's global context,
and the private state :func:`helpers.kernels.zygote.redo_private_state` redoes.
``pyproject.toml`` therefore bounds ``jupyter_client``, ``ipykernel`` and ``pyzmq`` below
their next major versions. ``make test-kernels-latest`` builds a throw-away virtualenv
(``.venv-latest``) with the newest releases of the three, the bounds ignored, and runs
``tests/kernels/test_kernels.py`` there: when it passes, a bound can move.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pathlib
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from string import Template
from typing import Any

import psutil
from jupyter_client.kernelspec import KernelSpecManager

from helpers import paths
from helpers.errors import ExecutionError
from helpers.kernels.protocol import fork_supported, launch_prefix
from helpers.kernels.zygote import DEFAULT_WARM_MODULES, IMPORT_TIME_ENV, LOG_NAME

__all__ = [
    "DEFAULT_WARM_MODULES",
    "IMPORT_TIME_ENV",
    "Zygote",
    "fork_supported",
    "warm_kernels",
    "zygote_in_background",
]

log = logging.getLogger(__name__)

#: The zygote's socket, in a private folder.
_SOCKET_NAME = "zygote.sock"


class Zygote:
    """A running zygote process: its socket address, its pid, and how to stop it.

    Start one with :meth:`start`; :func:`warm_kernels` does, and stops it afterwards.

    Attributes
    ----------
    address : str
        The Unix socket it listens on, in a private folder (mode 0700).
    pid : int
        The zygote's process id.
    seconds : float
        How long its imports took.
    native_threads : int
        Threads in the zygote when it became ready: 1, or 2 with numpy's OpenBLAS pool, which
        OpenBLAS shuts down around a fork itself (``pthread_atfork``). No Python thread, zmq
        context or event loop may exist, or the zygote refuses to start.

    Notes
    -----
    On Linux the zygote stops when the *thread* that started it ends (``PR_SET_PDEATHSIG``),
    and its kernels die with it: start it from the thread that will stop it.
    """

    def __init__(
        self, process: subprocess.Popen, folder: str, address: str, *, timeout: float = 120.0
    ) -> None:
        self.process = process
        self.folder = folder
        self.address = address
        self.pid: int = process.pid
        self.seconds = 0.0
        self.native_threads = 1
        self.ready = False
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout
        self._waiting = threading.Lock()
        self._failed: BaseException | None = None

    def wait(self) -> Zygote:
        """Wait until a zygote started with ``wait=False`` is ready to fork; return it.

        Safe from several threads at once (``brief serve``'s renders and the thread that
        starts kernels ahead): one reads the zygote's answer, the others wait for it and get
        the same outcome.

        Raises
        ------
        ExecutionError
            As :meth:`start`: a warm import failed, or it was not ready within its timeout
            (counted from its start). The zygote is stopped then.
        """
        with self._waiting:
            if self._failed is not None:
                raise self._failed
            if not self.ready:
                try:
                    self._wait()
                except BaseException as exc:
                    self._failed = exc
                    raise
        return self

    def _wait(self) -> None:
        try:
            remaining = max(0.0, self._deadline - time.monotonic())
            ready = _read_ready(self.process, remaining, total=self._timeout)
        except BaseException as exc:
            _stop_process(self.process)
            tail = _tail(os.path.join(self.folder, LOG_NAME))
            shutil.rmtree(self.folder, ignore_errors=True)
            if isinstance(exc, ExecutionError):
                raise ExecutionError(f"{exc}{tail}") from None
            raise
        self.seconds = float(ready.get("seconds", 0.0))
        self.native_threads = int(ready.get("native_threads", 1))
        self.ready = True

    @classmethod
    def start(
        cls,
        modules: Sequence[str] = DEFAULT_WARM_MODULES,
        *,
        kernel_name: str = paths.KERNEL_NAME,
        timeout: float = 120.0,
        freeze_gc: bool = False,
        wait: bool = True,
    ) -> Zygote:
        """Start a zygote for ``kernel_name``'s interpreter and wait until it is ready.

        Parameters
        ----------
        modules
            Modules to import before forking, in order.
        kernel_name
            The kernelspec whose ``python [options] -m ipykernel_launcher`` command the forked
            kernels stand for; the zygote runs on that interpreter with those options.
        timeout
            Seconds to wait for the imports.
        freeze_gc
            Call :func:`gc.freeze` before forking (see :func:`warm_kernels`).
        wait
            Wait for its imports. With ``False`` it returns as soon as the process is started,
            so that the caller's own work overlaps the imports; call :meth:`wait` before
            handing out :attr:`address`.

        Returns
        -------
        Zygote

        Raises
        ------
        ExecutionError
            Not on Linux, the kernelspec is not a ``python -m ipykernel_launcher`` command, or
            the zygote did not become ready (a warm import failed, it timed out); the message
            says which.
        """
        if not fork_supported():
            raise ExecutionError(f"kernels are forked on Linux only, not on {sys.platform}")
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
        prefix = launch_prefix(spec.argv)
        if prefix is None or "{connection_file}" not in spec.argv:
            raise ExecutionError(
                f"kernel {kernel_name!r} is not started by `python -m ipykernel_launcher`, "
                f"so it cannot be forked: {spec.argv}"
            )
        if prefix[0] in {
            "python",
            f"python{sys.version_info[0]}",
            "python{}.{}".format(*sys.version_info[:2]),
        }:
            prefix[0] = sys.executable  # as KernelManager.format_kernel_cmd does
        prefix[0] = os.path.expanduser(prefix[0])
        env = dict(os.environ)
        env.update({k: Template(v).safe_substitute(env) for k, v in spec.env.items()})
        env.pop("PYTHONEXECUTABLE", None)

        folder = tempfile.mkdtemp(prefix="brief-zygote-")  # mode 0700
        address = os.path.join(folder, _SOCKET_NAME)
        if len(address.encode()) > 100:  # sun_path holds 108 bytes
            shutil.rmtree(folder, ignore_errors=True)
            folder = tempfile.mkdtemp(prefix="brief-zygote-", dir="/tmp")
            address = os.path.join(folder, _SOCKET_NAME)
        log_path = os.path.join(folder, LOG_NAME)
        command = [
            *prefix,
            "-m",
            "helpers.kernels.zygote",
            "serve",
            "--socket",
            address,
            "--parent",
            str(os.getpid()),
            "--modules",
            ",".join(modules),
            *(["--freeze-gc"] if freeze_gc else []),
        ]
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(
                command,
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
                start_new_session=True,  # a terminal's Ctrl-C is for us, not the zygote
            )
        zygote = cls(process, folder, address, timeout=timeout)
        return zygote.wait() if wait else zygote

    def stop(self) -> None:
        """Stop the zygote and kill every kernel forked from it, with their process groups."""
        descendants: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            descendants = psutil.Process(self.pid).children(recursive=True)
        _stop_process(self.process)
        # The zygote kills its kernels; anything that escaped their process groups, too.
        for proc in descendants:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(descendants, timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_ready(
    process: subprocess.Popen, timeout: float, *, total: float | None = None
) -> dict[str, Any]:
    assert process.stdout is not None
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while not line.endswith(b"\n"):
            # Look at least once, without waiting, if the time is up: a zygote that became
            # ready while its starter was busy elsewhere is not late.
            remaining = deadline - time.monotonic()
            if not selector.select(max(remaining, 0.0)):
                if remaining <= 0:
                    waited = timeout if total is None else total
                    raise ExecutionError(f"the zygote was not ready after {waited:g} s")
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    process.stdout.close()
    try:
        ready = json.loads(line)
    except ValueError:
        raise ExecutionError(
            f"the zygote exited before it was ready (code {process.poll()})"
        ) from None
    if not ready.get("ready"):
        raise ExecutionError(f"the zygote could not start: {ready.get('error')}")
    return ready


def _stop_process(process: subprocess.Popen) -> None:
    if process.stdout is not None and not process.stdout.closed:
        process.stdout.close()
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(path: str, lines: int = 8) -> str:
    with contextlib.suppress(OSError):
        text = pathlib.Path(path).read_text(errors="replace").strip().splitlines()
        if text:
            return "\n" + "\n".join(text[-lines:])
    return ""


@contextlib.contextmanager
def warm_kernels(
    modules: Sequence[str] = DEFAULT_WARM_MODULES,
    *,
    kernel_name: str = paths.KERNEL_NAME,
    timeout: float = 120.0,
    freeze_gc: bool = False,
) -> Iterator[str | None]:
    """Start a zygote for a run, wait until it is ready; yield its address.

    Parameters
    ----------
    modules
        Modules the zygote imports before forking (default :data:`DEFAULT_WARM_MODULES`).
    kernel_name
        The kernelspec the forked kernels stand for.
    timeout
        Seconds to wait for the zygote's imports.
    freeze_gc
        Move everything the warm imports made into the garbage collector's permanent
        generation (:func:`gc.freeze`) before forking. The kernels' collections then skip those
        objects instead of walking, and copying, the zygote's whole heap: a kernel exits about
        0.6 s sooner here. The price is a kernel that differs from a fresh one in what ``gc``
        shows: ``gc.get_freeze_count()`` is not 0, and ``gc.get_objects()`` and
        ``gc.get_referrers()`` leave those objects out. Off by default.

    Yields
    ------
    str or None
        The zygote's Unix socket path, for
        :func:`~helpers.kernels.provisioner.forking_options` in this or any worker process.
        ``None`` if the zygote could not start (after a warning) or off Linux
        (:func:`fork_supported`, no zygote started): kernels then start normally.

    Notes
    -----
    On exit the zygote stops and every kernel forked from it that is still alive is killed,
    with its process group: no process outlives the block. A zygote whose starting process
    dies stops by itself, and its kernels with it (Linux).

    Examples
    --------
    >>> with warm_kernels() as address:  # doctest: +SKIP
    ...     papermill.execute_notebook("in.ipynb", "out.ipynb", kernel_name="myanmar-brief",
    ...                                **forking_options(address))
    """
    with zygote_in_background(
        modules, kernel_name=kernel_name, timeout=timeout, freeze_gc=freeze_gc
    ) as address:
        yield address()


@contextlib.contextmanager
def zygote_in_background(
    modules: Sequence[str] = DEFAULT_WARM_MODULES,
    *,
    kernel_name: str = paths.KERNEL_NAME,
    timeout: float = 120.0,
    freeze_gc: bool = False,
) -> Iterator[Callable[[], str | None]]:
    """Start a zygote and carry on; yield a function that waits for it and gives its address.

    :func:`warm_kernels` without the wait: the zygote's imports run while the caller does
    its own work (checking the request, importing the exporters, starting worker processes).
    The yielded function waits for the zygote on its first call and returns its address, a
    ``str`` for :func:`~helpers.kernels.provisioner.forking_options` in this or any
    worker process, or ``None`` (after a warning) if it could not start; kernels then start
    normally. Off Linux no zygote starts and it returns ``None`` (:func:`fork_supported`).
    Start it from the thread that leaves the block (see :class:`Zygote`).

    Parameters
    ----------
    modules, kernel_name, timeout, freeze_gc
        As for :func:`warm_kernels`.

    Yields
    ------
    callable
        ``address() -> str | None``.

    Notes
    -----
    On exit the zygote stops, also while it is still importing, and every kernel forked from
    it that is still alive is killed, with its process group.
    """
    zygote: Zygote | None = None
    if not fork_supported():
        yield lambda: None
        return
    try:
        zygote = Zygote.start(
            modules, kernel_name=kernel_name, timeout=timeout, freeze_gc=freeze_gc, wait=False
        )
    except Exception as exc:
        log.warning("Warm kernels are unavailable, starting normal kernels: %s", exc)

    def address() -> str | None:
        nonlocal zygote
        if zygote is None:
            return None
        try:
            return zygote.wait().address
        except Exception as exc:  # wait() has stopped it
            zygote = None
            log.warning("Warm kernels are unavailable, starting normal kernels: %s", exc)
            return None

    try:
        yield address
    finally:
        if zygote is not None:
            zygote.stop()
