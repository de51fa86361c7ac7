"""Fresh Jupyter kernels in a fraction of the start-up time, forked from a warm "zygote".

Most of a brief's run time is start-up: a new kernel process, then pandas, seaborn, matplotlib
and :mod:`helpers.report` imported in it. This module starts, once per run, a *zygote*: a
Python process that imports ipykernel's kernel machinery and a list of warm modules, then waits
on a Unix socket. Each kernel is a ``fork()`` of it. The warm modules are imported already, but
no job's code has ever run in the zygote, so every job still gets a new process in which no
other job's code has run: isolation is not traded for speed.

This module is the zygote: its server, the protocol on its socket (both ends of it: the
request for a fork, and the ``Popen``-like handle on the forked kernel), and its lifecycle
(:class:`Zygote`, :func:`warm_kernels`, :func:`zygote_in_background`). The parent side in
jupyter_client's terms is :mod:`helpers.kernels.provisioner`: ``ForkingProvisioner``, a
``LocalProvisioner`` that asks the zygote to fork where ``LocalProvisioner`` would ``Popen``,
registered under the ``jupyter_client.kernel_provisioners`` entry point and named in the
kernelspec metadata that ``ForkingKernelManager`` hands to jupyter_client. papermill and
nbclient take the manager class unchanged::

    with warm_kernels() as manager_class:
        papermill.execute_notebook(src, dst, kernel_name="myanmar-brief",
                                   kernel_manager_class=manager_class)

What a forked kernel inherits, and what is redone after the fork
----------------------------------------------------------------
The zygote runs on the kernelspec's interpreter with its options (``python
-Xfrozen_modules=off``). The child becomes what ``python -Xfrozen_modules=off -m
ipykernel_launcher -f <file>`` would be: a new session and process group
(``start_new_session``), the requested working directory, environment and umask, the client's
stdout and stderr (passed over the socket), a stdin at end of file, ``sys.argv``,
``sys.orig_argv`` and ``sys.path`` as the launcher leaves them, then ``IPKernelApp``.

Some state was decided when the zygote imported modules outside a kernel, and is redone:
numpy's global random state is reseeded (``random`` reseeds itself); pandas' default
``display.max_columns`` is the kernel's 20, not the terminal's 0; ``IPKernelApp.parent_handle``
comes from this kernel's ``JPY_PARENT_PID``; environment variables that the imports set
(debugpy's ``PYDEVD_USE_FRAME_EVAL``) are set again; thread names count from 1.
``matplotlib_inline`` is never pre-imported: importing it hooks figures into the running
shell, so the kernel imports it when the first figure is drawn, as usual; its dependencies are
warm. ``tests/test_kernels.py`` compares a forked kernel's state with a normal one's.

Known, accepted differences: the warm modules are in ``sys.modules`` (and their import-time
warnings went to the zygote's log, not to the notebook); all forked kernels share the zygote's
``str`` hash seed; ``os.getppid()`` is the zygote. Environment variables read at import time
(``PYTHON*``, ``MPL*``, ``LC_*``, ``OMP_*`` and so on, see :data:`IMPORT_TIME_ENV`) cannot take
effect after the fork, so a kernel whose value for one of them differs from the zygote's is
started normally, with a warning. So is any kernel that cannot be forked: a run never fails
for want of a zygote.

Linux only
----------
Kernels are forked on Linux only (``sys.platform == "linux"``, :func:`fork_supported`): the
zygote relies on ``PR_SET_PDEATHSIG`` to die with its starter and on ``/proc``; on macOS a
``fork()`` without ``exec`` after system frameworks are loaded is unsafe (which is why
multiprocessing spawns there), and Windows has no ``fork()``. Elsewhere no zygote starts,
kernels start from their kernelspec, and the log says so once per process (at INFO level).

Worker processes
----------------
The class that :func:`warm_kernels` yields is made at run time and does not pickle. Start one
zygote in the parent process and pass its socket path, ``manager_class.zygote_address`` (a
``str``), to the workers; each calls
:func:`helpers.kernels.provisioner.forking_kernel_manager` on it to get its own class. The
zygote forks for any process of the same user on the same machine, one request at a time (a
fork takes milliseconds). A worker may instead open its own :func:`warm_kernels`, at the cost
of another zygote's start-up and memory. Kernels forked for a worker are the zygote's
children, so they live no longer than the ``warm_kernels`` block in the parent.

Versions
--------
The fork server leans on other packages' internals: ipykernel's start-up (``IPKernelApp``'s
traits read from the environment at import, ``ipykernel_launcher``'s command line, the
``matplotlib_inline`` hook), jupyter_client's ``LocalProvisioner`` (the attributes it keeps
on a launched process and the ``Popen`` interface it expects of it) and pyzmq's global
context. ``pyproject.toml`` therefore bounds ``jupyter_client``, ``ipykernel`` and ``pyzmq``
below their next major versions. ``make test-kernels-latest`` builds a throw-away virtualenv
(``.venv-latest``) with the newest releases of the three, the bounds ignored, and runs
``tests/test_kernels.py`` there: when it passes, a bound can move.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import importlib
import importlib.util
import itertools
import json
import logging
import os
import pathlib
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psutil

from helpers import paths
from helpers.errors import ExecutionError
from helpers.signals import set_parent_death_signal

__all__ = [
    "DEFAULT_WARM_MODULES",
    "IMPORT_TIME_ENV",
    "Zygote",
    "fork_supported",
    "warm_kernels",
    "zygote_in_background",
]

log = logging.getLogger(__name__)

#: Imported by the zygote before it forks: what a report notebook needs. The matplotlib_inline
#: backend's dependencies are here, the backend module itself is not (see the module docstring).
DEFAULT_WARM_MODULES: tuple[str, ...] = (
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_svg",  # the brief's figures are SVG
    "seaborn",
    "helpers.report.brief",
    "helpers.report.charts.maps",  # the locator map and its basemap
)

#: Imported by the zygote in any case: the kernel application and what it loads when it starts.
KERNEL_MODULES: tuple[str, ...] = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.completer",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.history",
    "IPython.core.oinspect",
    "IPython.core.pylabtools",
    "IPython.extensions.storemagic",
    "faulthandler",
    "pdb",
    "sqlite3",
    "tornado.platform.asyncio",
)

#: Packages whose import registers hooks on the running IPython shell, so they are imported in
#: the kernel, never in the zygote (``import matplotlib_inline`` loads its backend module).
SHELL_HOOKED_PACKAGES = frozenset({"matplotlib_inline"})

#: Environment variables (regular expressions) that modules read when they are imported. A
#: fork request whose value for one of them differs from the zygote's is started normally.
IMPORT_TIME_ENV: tuple[str, ...] = (
    r"PYTHON\w*",
    r"MPL\w*",
    r"LANG|LANGUAGE|LC_\w+",
    r"HOME|USER|LOGNAME|XDG_\w+|TMPDIR|TEMP|TMP|PROGRAMDATA",
    r"IPYTHON\w*|JUPYTER\w*|TRAITLETS\w*",
    r"LD_\w+",
    r"OPENBLAS_\w+|GOTO\w+|OMP_\w+|MKL_\w+|NUMEXPR_\w+|NPY_\w+|NUMPY_\w+",
    r"PANDAS_\w+",
    r"PYDEVD_\w+|DEBUGPY_\w+",
)
_IMPORT_TIME_ENV = re.compile("|".join(f"(?:{p})" for p in IMPORT_TIME_ENV))

#: The environment variable the kernel sets so that matplotlib starts on the inline backend.
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Launch options a fork can honour; any other Popen option means a normal launch.
_FORKABLE_OPTIONS = frozenset({"env", "cwd", "stdin", "stdout", "stderr", "independent"})
_HEADER = struct.Struct("!I")
_SOCKET_TIMEOUT = 30.0
_SOCKET_NAME = "zygote.sock"
_LOG_NAME = "zygote.log"


class _CannotFork(Exception):
    """This kernel cannot be forked from the zygote; start it normally."""


# --------------------------------------------------------------------------------------------
# Framing on the Unix socket: a 4-byte length, the file descriptors with it, then JSON.
# --------------------------------------------------------------------------------------------


def _send(sock: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode()
    header = _HEADER.pack(len(data))
    if fds:
        socket.send_fds(sock, [header], list(fds))
    else:
        sock.sendall(header)
    sock.sendall(data)


def _recv_exactly(sock: socket.socket, size: int, start: bytes = b"") -> bytes:
    data = bytearray(start)
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the other end closed the connection")
        data += chunk
    return bytes(data)


def _recv(sock: socket.socket, maxfds: int = 0) -> tuple[dict[str, Any], list[int]]:
    fds: list[int] = []
    if maxfds:
        head, fds, flags, _ = socket.recv_fds(sock, _HEADER.size, maxfds)
        if flags & socket.MSG_CTRUNC:
            for fd in fds:
                os.close(fd)
            raise ConnectionError("file descriptors were truncated in transit")
    else:
        head = sock.recv(_HEADER.size)
    if not head:
        raise ConnectionError("the other end closed the connection")
    try:
        (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size, head))
        return json.loads(_recv_exactly(sock, size)), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _umask() -> int | None:
    """This process's umask, read without changing it (Linux); ``None`` if unknown."""
    with contextlib.suppress(OSError, ValueError):
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return None


def _launch_prefix(argv: Sequence[str]) -> list[str] | None:
    """``[python, *options]`` of a ``python [options] -m ipykernel_launcher ...`` command."""
    for i in range(len(argv) - 1):
        if argv[i] == "-m":
            return list(argv[:i]) if argv[i + 1] == "ipykernel_launcher" else None
    return None


# --------------------------------------------------------------------------------------------
# The zygote process: ``python [options] -m helpers.kernels.forkserver serve ...``
# --------------------------------------------------------------------------------------------


class _ZygoteServer:
    """The zygote's loop: accept fork requests, fork, reap and report children."""

    def __init__(self, socket_path: str, parent_pid: int, start_env: dict[str, str]) -> None:
        self.pid = os.getpid()
        self.parent_pid = parent_pid
        self.socket_path = socket_path
        self.start_env = start_env
        #: What the warm imports did to os.environ, to redo in the kernel's own environment.
        self.import_env: dict[str, str | None] = {}
        # Our own command is `python [options] -m helpers.kernels.forkserver serve ...`.
        own = list(sys.orig_argv)
        self.prefix = own[: own.index("-m")] if "-m" in own else None
        self.children: dict[int, socket.socket] = {}
        self.stopping = False
        self.listener: socket.socket | None = None
        self.selector: selectors.BaseSelector | None = None
        self.wakeup: tuple[int, int] | None = None
        self.inherited: dict[int, Any] = {}  # signal dispositions as this process got them

    def listen(self) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.socket_path)
        os.chmod(self.socket_path, 0o600)
        self.listener.listen(64)

    def run(self) -> dict[str, Any] | None:
        """Serve until stopped. Returns ``None`` in the zygote, and the request in a child."""
        assert self.listener is not None
        self.wakeup = os.pipe()
        for fd in self.wakeup:
            os.set_blocking(fd, False)
        # What this process was given (SIGHUP ignored under nohup, say): each kernel gets it
        # back, as a kernel started from its kernelspec by the same parent would have it.
        self.inherited = {
            signum: signal.getsignal(signum)
            for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
        }
        signal.set_wakeup_fd(self.wakeup[1])
        signal.signal(signal.SIGCHLD, lambda *_: None)  # a Python handler, so the wakeup fd fires
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_stop)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wakeup[0], selectors.EVENT_READ, "signal")
        try:
            while not self.stopping:
                for key, _ in self.selector.select(timeout=1.0):
                    if key.data == "signal":
                        with contextlib.suppress(BlockingIOError):
                            os.read(self.wakeup[0], 4096)
                    elif key.data == "accept":
                        request = self._accept()
                        if request is not None:
                            return request  # we are a forked child now
                self._reap()
                if os.getppid() != self.parent_pid:
                    self.stopping = True  # the process that started us is gone
            return None
        finally:
            if os.getpid() == self.pid:
                self._shutdown()

    def _on_stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _accept(self) -> dict[str, Any] | None:
        assert self.listener is not None
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return None
        conn.settimeout(_SOCKET_TIMEOUT)
        fds: list[int] = []
        try:
            request, fds = _recv(conn, maxfds=3)
            op = request.get("op")
            if op == "ping":
                _send(conn, {"pid": self.pid, "children": sorted(self.children)})
            elif op == "fork":
                return self._fork(conn, request, fds)
            else:
                _send(conn, {"error": f"unknown request {op!r}"})
        except (OSError, ValueError) as exc:
            with contextlib.suppress(OSError):
                _send(conn, {"error": f"bad request: {exc}"})
        finally:
            if os.getpid() == self.pid:
                for fd in fds:
                    os.close(fd)
                if conn not in self.children.values():
                    conn.close()
        return None

    def _refuse(self, request: dict[str, Any], fds: list[int]) -> str | None:
        """Why this request cannot be forked faithfully, or ``None``."""
        argv = request.get("argv") or []
        if self.prefix is None or _launch_prefix(argv) != self.prefix:
            return f"the kernel command {argv[:4]} is not this zygote's {self.prefix}"
        env = request.get("env") or {}
        changed = sorted(
            key
            for key in set(env) | set(self.start_env)
            if _IMPORT_TIME_ENV.fullmatch(key) and env.get(key) != self.start_env.get(key)
        )
        if changed:
            return f"environment variables read at import time differ: {', '.join(changed)}"
        if not os.path.isdir(request.get("cwd") or ""):
            return f"the working directory {request.get('cwd')!r} does not exist"
        if len(fds) != 3:
            return "stdin, stdout and stderr were not all passed"
        return None

    def _fork(
        self, conn: socket.socket, request: dict[str, Any], fds: list[int]
    ) -> dict[str, Any] | None:
        reason = self._refuse(request, fds)
        if reason:
            _send(conn, {"error": reason})
            return None
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            _send(conn, {"error": f"fork failed: {exc}"})
            return None
        if pid == 0:
            try:
                self._become_child(conn, fds)
            except BaseException:
                os._exit(70)  # never let a half-made child run the zygote's code
            return {**request, "import_env": self.import_env}
        self.children[pid] = conn
        with contextlib.suppress(OSError):  # if the client gave up, the child is reaped later
            _send(conn, {"pid": pid})
        return None

    def _become_child(self, conn: socket.socket, fds: list[int]) -> None:
        """Right after fork: drop everything of the zygote's, take the client's streams."""
        os.setsid()  # what Popen(start_new_session=True) does: own session and process group
        set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != self.pid:
            os._exit(70)  # the zygote died before the line above
        signal.set_wakeup_fd(-1)
        for signum, handler in self.inherited.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        assert self.selector is not None and self.listener is not None and self.wakeup
        self.selector.close()
        self.listener.close()
        for other in self.children.values():
            other.close()
        self.children.clear()
        conn.close()
        for fd in self.wakeup:
            os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._report(pid, os.waitstatus_to_exitcode(status))

    def _report(self, pid: int, code: int) -> None:
        conn = self.children.pop(pid, None)
        if conn is None:
            return
        with contextlib.suppress(OSError):
            conn.settimeout(1.0)
            _send(conn, {"exit": code})
        conn.close()

    def _shutdown(self) -> None:
        """Kill every kernel still alive (with its process group), reap them, stop listening."""
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for pid in list(self.children):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.children and time.monotonic() < deadline:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.01)
                continue
            self._report(pid, os.waitstatus_to_exitcode(status))
        for conn in self.children.values():
            conn.close()
        if self.selector is not None:
            self.selector.close()
        if self.listener is not None:
            self.listener.close()
        # Leave nothing behind even if the process that made our folder died without cleaning:
        # the socket, the log and the folder, if that is all it holds.
        folder = os.path.dirname(self.socket_path)
        for path in (self.socket_path, os.path.join(folder, _LOG_NAME)):
            with contextlib.suppress(OSError):
                os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _fork_hazards() -> list[str]:
    """What in this process would make a fork unsafe: threads, zmq contexts, event loops."""
    problems = []
    if threading.active_count() > 1:
        names = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        problems.append(f"threads are running: {names}")
    zmq = sys.modules.get("zmq")
    if zmq is not None and getattr(zmq.Context, "_instance", None) is not None:
        problems.append("a zmq context exists")
    if asyncio.events._get_running_loop() is not None:
        problems.append("an asyncio event loop is running")
    with contextlib.suppress(AttributeError):
        if asyncio.get_event_loop_policy()._local._loop is not None:  # type: ignore[attr-defined]
            problems.append("an asyncio event loop exists")
    tornado_ioloop = sys.modules.get("tornado.ioloop")
    if tornado_ioloop is not None and getattr(tornado_ioloop.IOLoop, "_ioloop_for_asyncio", {}):
        problems.append("a tornado IOLoop exists")
    return problems


def _warm(modules: Sequence[str]) -> None:
    """Import the kernel machinery and ``modules`` the way a kernel would find them."""
    # The kernel sets MPLBACKEND before any cell runs, and matplotlib reads it on import.
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = _INLINE_BACKEND
    for name in (*KERNEL_MODULES, *modules):
        if name.partition(".")[0] in SHELL_HOOKED_PACKAGES:
            print(f"helpers.kernels.forkserver: not pre-importing {name}", file=sys.stderr)
            continue
        importlib.import_module(name)


def _serve_main(args: argparse.Namespace) -> dict[str, Any] | None:
    """The zygote's life; returns the fork request in a child, ``None`` when it stops."""
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != args.parent:
        return None
    start_env = dict(os.environ)
    started = time.perf_counter()
    server = _ZygoteServer(args.socket, args.parent, start_env)
    try:
        _warm([m for m in args.modules.split(",") if m])
        server.import_env = {
            key: os.environ.get(key)
            for key in set(os.environ) | set(start_env)
            if key != "MPLBACKEND" and os.environ.get(key) != start_env.get(key)
        }
        gc.collect()
        if args.freeze_gc:
            gc.freeze()
        problems = _fork_hazards()
        if problems:
            raise RuntimeError("; ".join(problems))
        server.listen()
    except BaseException as exc:
        import traceback

        traceback.print_exc()
        print(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return None
    import psutil

    ready = {
        "ready": True,
        "pid": os.getpid(),
        "seconds": round(time.perf_counter() - started, 3),
        "native_threads": psutil.Process().num_threads(),
    }
    print(json.dumps(ready), flush=True)
    # Nobody reads our stdout from here on; kernels get the client's streams.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return server.run()


def _run_kernel(request: dict[str, Any]) -> None:
    """In a forked child: become the kernel that the kernelspec's command would start."""
    argv: list[str] = request["argv"]
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # Redo what the warm imports did to the environment (debugpy sets PYDEVD_USE_FRAME_EVAL).
    for key, value in request.get("import_env", {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    time.tzset()
    if request.get("umask") is not None:
        os.umask(request["umask"])
    # Python made stdout line-buffered at start-up if it was a terminal: the zygote's was not.
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(line_buffering=os.isatty(1))  # type: ignore[union-attr]
    launcher = importlib.util.find_spec("ipykernel_launcher")
    rest = argv[argv.index("-m") + 2 :]
    sys.argv = [launcher.origin if launcher and launcher.origin else "ipykernel_launcher", *rest]
    sys.orig_argv = list(argv)
    _redo_import_time_state()
    from ipykernel.kernelapp import IPKernelApp

    # IPKernelApp.launch_instance(), with two trait defaults that ipykernel read from the
    # environment on import (in the zygote) passed as they are in this environment.
    app = IPKernelApp.instance(
        parent_handle=int(os.environ.get("JPY_PARENT_PID") or 0),
        interrupt=int(os.environ.get("JPY_INTERRUPT_EVENT") or 0),
    )
    app.initialize()
    _connect_inline_backend()
    app.start()


def _connect_inline_backend() -> None:
    """Hook the inline backend into the new shell if a warm module imported it without one."""
    backend_inline = sys.modules.get("matplotlib_inline.backend_inline")
    if backend_inline is not None:
        backend_inline._enable_matplotlib_integration()


def _redo_import_time_state() -> None:
    """Redo what the warm modules decided at import from a process that was not yet a kernel."""
    # Unnamed threads are called "Thread-<n>" from a per-process counter; pydevd's import used one.
    if hasattr(threading, "_counter"):
        threading._counter = itertools.count(1).__next__  # type: ignore[attr-defined]
    # numpy's legacy global RandomState was seeded once, in the zygote; random reseeds itself.
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:
        np_random.seed()
    # pandas sets display.max_columns' default on import: 0 (fit the terminal) outside a Jupyter
    # kernel, 20 inside one (pandas.core.config_init.is_terminal). We are about to be a kernel.
    if "pandas" in sys.modules:
        from pandas._config import config as cf

        key = "display.max_columns"
        option = cf._registered_options.get(key)
        if option is not None and option.defval == 0 and cf.get_option(key) == 0:
            cf._registered_options[key] = option._replace(defval=20)
            cf.set_option(key, 20)


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.kernels.forkserver",
        description="Serve forked Jupyter kernels from a warm process (started by warm_kernels).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="import the warm modules, then fork on request")
    serve.add_argument("--socket", required=True, help="Unix socket to listen on")
    serve.add_argument("--parent", type=int, required=True, help="pid to stop with")
    serve.add_argument("--modules", default=",".join(DEFAULT_WARM_MODULES))
    serve.add_argument("--freeze-gc", action="store_true", help="gc.freeze() before forking")
    args = parser.parse_args(argv)
    # As ipykernel_launcher does: the current directory is not on the path while loading.
    if sys.path and (sys.path[0] == "" or pathlib.Path(sys.path[0]) == pathlib.Path.cwd()):
        del sys.path[0]
    request = _serve_main(args)
    if request is None:
        return 0
    _run_kernel(request)  # runs until the kernel shuts down, then exits like the launcher
    return 0


# --------------------------------------------------------------------------------------------
# The client's end of the protocol: ask for a fork, keep a Popen-like handle on the kernel.
# --------------------------------------------------------------------------------------------


class _ForkedProcess:
    """The ``Popen`` interface ``LocalProvisioner`` uses, for a kernel forked by the zygote.

    The kernel is the zygote's child, not ours, so it cannot be ``waitpid``-ed here: its exit
    code comes from the zygote on the request's connection, and psutil covers a zygote that has
    gone away. Signals go to the pid, which the zygote keeps until it has reaped the process.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._conn: socket.socket | None = conn
        self._buffer = b""
        conn.setblocking(False)
        try:
            self._process: Any = psutil.Process(pid)
            self._process.create_time()
        except psutil.Error:
            self._process = None

    def _read_report(self) -> bool:
        """Take the zygote's exit report if it has come; ``False`` once the zygote is gone."""
        while self._conn is not None:
            try:
                chunk = self._conn.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                chunk = b""
            if not chunk:
                self._close()
                return False
            self._buffer += chunk
        if len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack(self._buffer[: _HEADER.size])
            if len(self._buffer) >= _HEADER.size + size:
                message = json.loads(self._buffer[_HEADER.size : _HEADER.size + size])
                if "exit" in message:
                    self.returncode = int(message["exit"])
                    self._close()
        return True

    def _gone(self) -> bool:
        """psutil's view: the process has exited (a zombie counts) or its pid was reused."""
        if self._process is None:
            return True
        try:
            return not self._process.is_running() or self._process.status() in (
                psutil.STATUS_ZOMBIE,
                psutil.STATUS_DEAD,
            )
        except psutil.Error:
            return True

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        zygote_alive = self._read_report()
        if self.returncode is None and self._gone():
            # Dead: the zygote's report of how is at most a moment behind.
            deadline = time.monotonic() + 1.0
            while zygote_alive and self.returncode is None and time.monotonic() < deadline:
                time.sleep(0.01)
                zygote_alive = self._read_report()
            if self.returncode is None:
                log.debug("kernel %d exited; its exit code is unknown", self.pid)
                self.returncode = 1
                self._close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _stream_fd(value: Any, default: int, stack: contextlib.ExitStack) -> int:
    """The file descriptor that ``Popen`` would give the kernel for ``stdout``/``stderr``."""
    if value is None:
        return default
    if value == subprocess.DEVNULL:
        fd = os.open(os.devnull, os.O_RDWR)
        stack.callback(os.close, fd)
        return fd
    if isinstance(value, int) and value >= 0:
        return value
    if hasattr(value, "fileno"):
        with contextlib.suppress(Exception):
            value.flush()
        return value.fileno()
    raise _CannotFork(f"the stream option {value!r} needs a normal launch")


def _request_fork(address: str, cmd: Sequence[str], options: dict[str, Any]) -> _ForkedProcess:
    """Ask the zygote at ``address`` for a kernel running ``cmd``, as ``launch_kernel`` would."""
    unknown = sorted(k for k, v in options.items() if k not in _FORKABLE_OPTIONS and v is not None)
    if unknown:
        raise _CannotFork(f"the launch options {unknown} need a normal launch")
    env = dict(options["env"]) if options.get("env") is not None else dict(os.environ)
    if not options.get("independent"):
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client.launcher does
    cwd = os.fspath(options.get("cwd") or os.getcwd())
    request = {
        "op": "fork",
        "argv": [os.path.expanduser(arg) for arg in cmd],
        "env": env,
        "cwd": os.path.abspath(cwd),
        "umask": _umask(),
    }
    with contextlib.ExitStack() as stack:
        if options.get("stdin") is None:
            # As the launcher does: a pipe whose writing end is closed, so the kernel reads EOF.
            read_end, write_end = os.pipe()
            os.close(write_end)
            stack.callback(os.close, read_end)
            stdin = read_end
        else:
            stdin = _stream_fd(options["stdin"], 0, stack)
        fds = [
            stdin,
            _stream_fd(options.get("stdout"), 1, stack),
            _stream_fd(options.get("stderr"), 2, stack),
        ]
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(_SOCKET_TIMEOUT)
            sock.connect(address)
            _send(sock, request, fds)
            reply, _ = _recv(sock)
        except OSError as exc:
            sock.close()
            raise _CannotFork(f"the zygote at {address} did not answer ({exc})") from exc
    if "pid" not in reply:
        sock.close()
        raise _CannotFork(reply.get("error", "the zygote refused"))
    return _ForkedProcess(int(reply["pid"]), sock)


# --------------------------------------------------------------------------------------------
# Where kernels are forked: Linux only
# --------------------------------------------------------------------------------------------


def fork_supported() -> bool:
    """Whether kernels are forked here: on Linux only (see the module docstring).

    Elsewhere kernels start from their kernelspec, and the first call in a process says so in
    the log (INFO), the later ones do not.
    """
    if sys.platform == "linux":
        return True
    _note_fork_unsupported()
    return False


@functools.cache
def _note_fork_unsupported() -> None:
    log.info(
        "Kernels are forked from a warm zygote on Linux only; on %s they start from their "
        "kernelspec.",
        sys.platform,
    )


# --------------------------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------------------------


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

    def wait(self) -> Zygote:
        """Wait until a zygote started with ``wait=False`` is ready to fork; return it.

        Raises
        ------
        ExecutionError
            As :meth:`start`: a warm import failed, or it was not ready within its timeout
            (counted from its start). The zygote is stopped then.
        """
        if self.ready:
            return self
        try:
            remaining = max(0.0, self._deadline - time.monotonic())
            ready = _read_ready(self.process, remaining, total=self._timeout)
        except BaseException as exc:
            _stop_process(self.process)
            tail = _tail(os.path.join(self.folder, _LOG_NAME))
            shutil.rmtree(self.folder, ignore_errors=True)
            if isinstance(exc, ExecutionError):
                raise ExecutionError(f"{exc}{tail}") from None
            raise
        self.seconds = float(ready.get("seconds", 0.0))
        self.native_threads = int(ready.get("native_threads", 1))
        self.ready = True
        return self

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
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(kernel_name)
        prefix = _launch_prefix(spec.argv)
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
        from string import Template

        env.update({k: Template(v).safe_substitute(env) for k, v in spec.env.items()})
        env.pop("PYTHONEXECUTABLE", None)

        folder = tempfile.mkdtemp(prefix="brief-zygote-")  # mode 0700
        address = os.path.join(folder, _SOCKET_NAME)
        if len(address.encode()) > 100:  # sun_path holds 108 bytes
            shutil.rmtree(folder, ignore_errors=True)
            folder = tempfile.mkdtemp(prefix="brief-zygote-", dir="/tmp")
            address = os.path.join(folder, _SOCKET_NAME)
        log_path = os.path.join(folder, _LOG_NAME)
        command = [
            *prefix,
            "-m",
            "helpers.kernels.forkserver",
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
) -> Iterator[type]:
    """Start a zygote for a run; yield the kernel-manager class that forks kernels from it.

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
    type
        A :class:`~helpers.kernels.provisioner.ForkingKernelManager` subclass for nbclient's
        or papermill's ``kernel_manager_class``. Its ``zygote_address`` (a ``str``) is what to
        pass to worker processes (see
        :func:`~helpers.kernels.provisioner.forking_kernel_manager`). If the zygote could not
        start, a warning is logged, ``zygote_address`` is ``None`` and kernels start normally;
        so they do off Linux (:func:`fork_supported`), with no zygote started.

    Notes
    -----
    On exit the zygote stops and every kernel forked from it that is still alive is killed,
    with its process group: no process outlives the block. A zygote whose starting process
    dies stops by itself, and its kernels with it (Linux).

    Examples
    --------
    >>> with warm_kernels() as manager_class:  # doctest: +SKIP
    ...     papermill.execute_notebook("in.ipynb", "out.ipynb", kernel_name="myanmar-brief",
    ...                                kernel_manager_class=manager_class)
    """
    from helpers.kernels.provisioner import forking_kernel_manager

    with zygote_in_background(
        modules, kernel_name=kernel_name, timeout=timeout, freeze_gc=freeze_gc
    ) as address:
        yield forking_kernel_manager(address())


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
    ``str`` for :func:`~helpers.kernels.provisioner.forking_kernel_manager` in this or any
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


if __name__ == "__main__":
    sys.exit(_main())
