"""The zygote: the process that imports the warm modules once, then forks a kernel per request.

Started by :class:`helpers.kernels.forkserver.Zygote` as ``python [options] -m
helpers.kernels.zygote serve --socket PATH --parent PID --modules ...`` on the kernelspec's
interpreter with its options. It imports ipykernel's kernel machinery (:data:`KERNEL_MODULES`)
and the warm modules, refuses to start if a thread, a zmq context or an event loop exists
(:func:`_fork_hazards`), says ``{"ready": true, ...}`` on its stdout, then serves fork requests
on its Unix socket (:mod:`helpers.kernels.protocol`) until its parent goes or it is stopped.

A forked child becomes what ``python [options] -m ipykernel_launcher -f <file>`` would be: a
new session and process group, the requested working directory, environment and umask, the
client's stdout and stderr, a stdin at end of file, ``sys.argv``, ``sys.orig_argv`` and
``sys.path`` as the launcher leaves them, then ``IPKernelApp`` (:func:`_run_kernel`). What the
warm imports decided outside a kernel is redone (:func:`_redo_import_time_state`): numpy's
global random state is reseeded, environment variables the imports set are set again, the
inline backend is hooked into the new shell if a warm module imported it, and two pieces of
other libraries' private state are redone in one fenced function, :func:`redo_private_state`.

Nothing here imports jupyter_client's kernel manager, or :mod:`helpers.kernels.forkserver`:
the zygote stays as light as the warm modules make it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import importlib.util
import itertools
import json
import os
import pathlib
import re
import selectors
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

import psutil

from helpers.kernels.protocol import SOCKET_TIMEOUT, launch_prefix, recv, send
from helpers.signals import set_parent_death_signal

__all__ = [
    "DEFAULT_WARM_MODULES",
    "IMPORT_TIME_ENV",
    "KERNEL_MODULES",
    "LOG_NAME",
    "SHELL_HOOKED_PACKAGES",
    "redo_private_state",
]

#: Imported by the zygote before it forks: what a report notebook needs. The matplotlib_inline
#: backend's dependencies are here, the backend module itself is not (see
#: :data:`SHELL_HOOKED_PACKAGES`). An entry ``module:function`` imports the module, then calls
#: the function with no argument: work every kernel would otherwise repeat on its first brief,
#: which must leave nothing a kernel started from its kernelspec would not have (no thread, no
#: open file, no figure).
DEFAULT_WARM_MODULES: tuple[str, ...] = (
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_svg",  # the brief's figures are SVG
    "seaborn",
    "helpers.report.brief",
    "helpers.report.charts.maps",  # the locator map and its basemap
    "helpers.report.words:compile_templates",  # the narrative's templates, compiled
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

#: The zygote's log (its stderr), beside its socket.
LOG_NAME = "zygote.log"
#: The environment variable the kernel sets so that matplotlib starts on the inline backend.
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class _ZygoteServer:
    """The zygote's loop: accept fork requests, fork, reap and report children."""

    def __init__(self, socket_path: str, parent_pid: int, start_env: dict[str, str]) -> None:
        self.pid = os.getpid()
        self.parent_pid = parent_pid
        self.socket_path = socket_path
        self.start_env = start_env
        #: What the warm imports did to os.environ, to redo in the kernel's own environment.
        self.import_env: dict[str, str | None] = {}
        # Our own command is `python [options] -m helpers.kernels.zygote serve ...`.
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
        conn.settimeout(SOCKET_TIMEOUT)
        fds: list[int] = []
        try:
            request, fds = recv(conn, maxfds=3)
            op = request.get("op")
            if op == "ping":
                send(conn, {"pid": self.pid, "children": sorted(self.children)})
            elif op == "fork":
                return self._fork(conn, request, fds)
            else:
                send(conn, {"error": f"unknown request {op!r}"})
        except (OSError, ValueError) as exc:
            with contextlib.suppress(OSError):
                send(conn, {"error": f"bad request: {exc}"})
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
        if self.prefix is None or launch_prefix(argv) != self.prefix:
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
            send(conn, {"error": reason})
            return None
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        try:
            pid = os.fork()
        except OSError as exc:
            send(conn, {"error": f"fork failed: {exc}"})
            return None
        if pid == 0:
            try:
                self._become_child(conn, fds)
            except BaseException:
                os._exit(70)  # never let a half-made child run the zygote's code
            return {**request, "import_env": self.import_env}
        self.children[pid] = conn
        with contextlib.suppress(OSError):  # if the client gave up, the child is reaped later
            send(conn, {"pid": pid})
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
            send(conn, {"exit": code})
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
        for path in (self.socket_path, os.path.join(folder, LOG_NAME)):
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
    with contextlib.suppress(RuntimeError):  # none is running
        asyncio.get_running_loop()
        problems.append("an asyncio event loop is running")
    with contextlib.suppress(AttributeError):
        if asyncio.get_event_loop_policy()._local._loop is not None:  # type: ignore[attr-defined]
            problems.append("an asyncio event loop exists")
    tornado_ioloop = sys.modules.get("tornado.ioloop")
    if tornado_ioloop is not None and getattr(tornado_ioloop.IOLoop, "_ioloop_for_asyncio", {}):
        problems.append("a tornado IOLoop exists")
    return problems


def _warm(modules: Sequence[str]) -> None:
    """Import the kernel machinery and ``modules`` the way a kernel would find them, and call
    the ``module:function`` entries' functions."""
    # The kernel sets MPLBACKEND before any cell runs, and matplotlib reads it on import.
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = _INLINE_BACKEND
    for entry in (*KERNEL_MODULES, *modules):
        name, _, function = entry.partition(":")
        if name.partition(".")[0] in SHELL_HOOKED_PACKAGES:
            print(f"helpers.kernels.zygote: not pre-importing {name}", file=sys.stderr)
            continue
        module = importlib.import_module(name)
        if function:
            getattr(module, function)()


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
        traceback.print_exc()
        print(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return None
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
    from ipykernel.kernelapp import IPKernelApp  # noqa: PLC0415

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
    """Hook the inline backend into the new shell if a warm module imported it without one.

    What ``matplotlib_inline.backend_inline`` does on import inside a kernel, with the public
    functions it calls: IPython's ``activate_matplotlib`` and its own
    ``configure_inline_support``.
    """
    backend_inline = sys.modules.get("matplotlib_inline.backend_inline")
    if backend_inline is None:
        return
    import matplotlib  # noqa: PLC0415
    from IPython import get_ipython  # noqa: PLC0415
    from IPython.core.pylabtools import activate_matplotlib  # noqa: PLC0415

    shell = get_ipython()
    backend = matplotlib.get_backend(auto_select=False)
    if shell is not None and backend in ("inline", _INLINE_BACKEND):
        activate_matplotlib(backend)
        backend_inline.configure_inline_support(shell, backend)


def _redo_import_time_state() -> None:
    """Redo what the warm modules decided at import from a process that was not yet a kernel."""
    # numpy's legacy global RandomState was seeded once, in the zygote; random reseeds itself.
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:
        np_random.seed()
    redo_private_state()


def redo_private_state() -> None:
    """The zygote's only writes of other libraries' private state, redone in a forked kernel.

    Neither has a public way; ``tests/kernels/test_kernels.py``
    (``test_the_private_state_a_forked_kernel_redoes_is_still_there``) fails if a library
    changes under either, and each write is skipped, not failed, if its target is gone.

    * ``threading``: unnamed threads are called ``Thread-<n>`` from a per-process counter,
      ``threading._counter``, which the warm imports (pydevd's) advanced; it counts from 1
      again, as in a new process.
    * pandas: ``display.max_columns`` defaults to 0 (fit the terminal) when pandas is imported
      outside a Jupyter kernel, 20 inside one (``pandas.core.config_init.is_terminal``), and
      the zygote is not a kernel. The registered default becomes the kernel's 20
      (``pandas._config.config._registered_options``), then pandas' public
      ``reset_option`` applies it, so a notebook's own ``reset_option`` finds 20 too. Only
      if neither the default nor the value was changed from 0 (``PANDAS_*``, say).
    """
    if callable(getattr(threading, "_counter", None)):
        threading._counter = itertools.count(1).__next__  # type: ignore[attr-defined]
    if "pandas" not in sys.modules:
        return
    import pandas as pd  # noqa: PLC0415
    from pandas._config import config as cf  # noqa: PLC0415

    key = "display.max_columns"
    option = getattr(cf, "_registered_options", {}).get(key)
    if option is not None and option.defval == 0 and pd.get_option(key) == 0:
        cf._registered_options[key] = option._replace(defval=20)
        pd.reset_option(key)


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.kernels.zygote",
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


if __name__ == "__main__":
    sys.exit(_main())
