"""The parent's end of the zygote's socket: ask for a fork, keep a ``Popen``-like handle on it.

:func:`request_fork` sends the zygote (:mod:`helpers.kernels.zygote`) what ``Popen`` would
need to start the kernelspec's command (its argv, environment, working directory, umask, and
the stdin, stdout and stderr file descriptors); :class:`ForkedProcess` is the handle
jupyter_client's ``LocalProvisioner`` keeps on the forked kernel, as it would on a ``Popen``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pathlib
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from typing import Any

import psutil

from helpers.kernels.protocol import HEADER, SOCKET_TIMEOUT, CannotFork, recv, send

__all__ = ["ForkedProcess", "request_fork"]

log = logging.getLogger(__name__)

#: Launch options a fork can honour; any other Popen option means a normal launch.
_FORKABLE_OPTIONS = frozenset({"env", "cwd", "stdin", "stdout", "stderr", "independent"})


def _umask() -> int | None:
    """This process's umask, read without changing it (Linux); ``None`` if unknown."""
    with contextlib.suppress(OSError, ValueError):
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return None


class ForkedProcess:
    """The ``Popen`` interface ``LocalProvisioner`` uses, for a kernel forked by the zygote.

    The kernel is the zygote's child, not ours, so it cannot be ``waitpid``-ed here: its exit
    code comes from the zygote on the request's connection, and psutil covers a zygote that has
    gone away. Signals go to the pid, which the zygote keeps until it has reaped the process.
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._killed = False
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
                self.close()
                return False
            self._buffer += chunk
        if len(self._buffer) >= HEADER.size:
            (size,) = HEADER.unpack(self._buffer[: HEADER.size])
            if len(self._buffer) >= HEADER.size + size:
                message = json.loads(self._buffer[HEADER.size : HEADER.size + size])
                if "exit" in message:
                    self.returncode = int(message["exit"])
                    self.close()
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

    def close(self) -> None:
        """Close the connection to the zygote (its exit report is then not awaited)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        zygote_alive = self._read_report()
        if self.returncode is None and self._killed and self._gone():
            # Killed on purpose (a run's end): how it ended is known; no report is awaited.
            self.returncode = -signal.SIGKILL
            self.close()
        if self.returncode is None and self._gone():
            # Dead: the zygote's report of how is at most a moment behind.
            deadline = time.monotonic() + 1.0
            while zygote_alive and self.returncode is None and time.monotonic() < deadline:
                time.sleep(0.01)
                zygote_alive = self._read_report()
            if self.returncode is None:
                log.debug("kernel %d exited; its exit code is unknown", self.pid)
                self.returncode = 1
                self.close()
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
        self.killed()
        self.send_signal(signal.SIGKILL)

    def killed(self) -> None:
        """Note that SIGKILL was sent (also to its process group, as ``LocalProvisioner.kill``
        sends it): once it is gone, :meth:`poll` does not wait for the zygote's report, which
        otherwise kept every run's end about 0.03 s longer."""
        self._killed = True

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
    raise CannotFork(f"the stream option {value!r} needs a normal launch")


def request_fork(address: str, cmd: Sequence[str], options: dict[str, Any]) -> ForkedProcess:
    """Ask the zygote at ``address`` for a kernel running ``cmd``, as ``launch_kernel`` would."""
    unknown = sorted(k for k, v in options.items() if k not in _FORKABLE_OPTIONS and v is not None)
    if unknown:
        raise CannotFork(f"the launch options {unknown} need a normal launch")
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
            sock.settimeout(SOCKET_TIMEOUT)
            sock.connect(address)
            send(sock, request, fds)
            reply, _ = recv(sock)
        except OSError as exc:
            sock.close()
            raise CannotFork(f"the zygote at {address} did not answer ({exc})") from exc
    if "pid" not in reply:
        sock.close()
        raise CannotFork(reply.get("error", "the zygote refused"))
    return ForkedProcess(int(reply["pid"]), sock)
