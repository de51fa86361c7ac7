"""What both ends of the zygote's Unix socket share: framing, refusals, where forking works.

A message on the socket is a 4-byte big-endian length, then that many bytes of JSON; the
file descriptors of a fork request (the kernel's stdin, stdout and stderr) travel with the
length (``SCM_RIGHTS``). The parent's end is :mod:`helpers.kernels.client`, the zygote's
:mod:`helpers.kernels.zygote`.

Kernels are forked on Linux only (:func:`fork_supported`): the zygote relies on
``PR_SET_PDEATHSIG`` to die with its starter and on ``/proc``; on macOS a ``fork()`` without
``exec`` after system frameworks are loaded is unsafe (which is why multiprocessing spawns
there), and Windows has no ``fork()``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import struct
import sys
from collections.abc import Sequence
from typing import Any

__all__ = [
    "HEADER",
    "SOCKET_TIMEOUT",
    "CannotFork",
    "fork_supported",
    "launch_prefix",
    "recv",
    "send",
]

log = logging.getLogger(__name__)

#: The length before each message.
HEADER = struct.Struct("!I")
#: Seconds either end waits on the socket for a request or its answer.
SOCKET_TIMEOUT = 30.0


class CannotFork(Exception):
    """This kernel cannot be forked from the zygote; start it normally."""


def send(sock: socket.socket, message: dict[str, Any], fds: Sequence[int] = ()) -> None:
    """Send ``message`` as JSON after its length, and ``fds`` (``SCM_RIGHTS``) with the length."""
    data = json.dumps(message).encode()
    header = HEADER.pack(len(data))
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


def recv(sock: socket.socket, maxfds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """Receive one message and up to ``maxfds`` file descriptors sent with it (the caller
    closes them); ``ConnectionError`` if the other end closed or descriptors were cut."""
    fds: list[int] = []
    if maxfds:
        head, fds, flags, _ = socket.recv_fds(sock, HEADER.size, maxfds)
        if flags & socket.MSG_CTRUNC:
            for fd in fds:
                os.close(fd)
            raise ConnectionError("file descriptors were truncated in transit")
    else:
        head = sock.recv(HEADER.size)
    if not head:
        raise ConnectionError("the other end closed the connection")
    try:
        (size,) = HEADER.unpack(_recv_exactly(sock, HEADER.size, head))
        return json.loads(_recv_exactly(sock, size)), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def launch_prefix(argv: Sequence[str]) -> list[str] | None:
    """``[python, *options]`` of a ``python [options] -m ipykernel_launcher ...`` command."""
    for i in range(len(argv) - 1):
        if argv[i] == "-m":
            return list(argv[:i]) if argv[i + 1] == "ipykernel_launcher" else None
    return None


def fork_supported() -> bool:
    """Whether kernels are forked here: on Linux only (see the module docstring).

    Elsewhere kernels start from their kernelspec, and the first call in a process says so in
    the log (INFO), the later ones do not.
    """
    if sys.platform == "linux":
        return True
    note_fork_unsupported()
    return False


@functools.cache
def note_fork_unsupported() -> None:
    """Say once per process, in the log, that kernels are not forked on this system."""
    log.info(
        "Kernels are forked from a warm zygote on Linux only; on %s they start from their "
        "kernelspec.",
        sys.platform,
    )
