"""Reading a JSON file that someone else may have put there: manifests, failure records and
ledgers in an output folder, and the files ``brief diff`` and ``--since`` name.

An output folder is written by brief, but anyone who can write to it can plant a file there:
a link to ``/dev/zero``, a FIFO (a read would wait for ever, with the lock held), a device, a
gigabyte of JSON, or ``[[[[...]]]]`` nested deeper than Python's recursion limit (a
``RecursionError`` in every command that lists the folder). :func:`read_json_file` reads
only a regular file, not through a link, of at most ``max_bytes``, whose values nest at most
``max_depth`` deep, and raises :class:`JSONFileError` saying which rule the file broke; the
callers turn that into a warning, or a usage error for a file named on the command line.

Plain standard library, so that both sides (the pipeline, and the kernel that reads the
previous edition) use it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

__all__ = ["MAX_BYTES", "MAX_DEPTH", "JSONFileError", "read_json_file"]

#: The most bytes a manifest or record may take. A manifest of the shipped briefs takes about
#: 100 KB; one of a brief on a thousand times the data keeps its facts' count, not each fact
#: (:data:`helpers.ledger.LEDGER_LIMIT`), and stays under a few MB.
MAX_BYTES = 32 * 1024 * 1024
#: The deepest a manifest's values nest (a manifest nests about six deep).
MAX_DEPTH = 32


class JSONFileError(ValueError):
    """A JSON file that is not read: not a regular file, too large, not JSON, or too deep."""


def read_json_file(
    path: Path | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> Any:
    """The JSON value in ``path``, read safely (see the module's docstring).

    Raises
    ------
    FileNotFoundError
        There is no such file (callers often treat that case apart).
    JSONFileError
        Saying what is wrong: a link, a folder, a FIFO or device, larger than ``max_bytes``,
        not UTF-8, not JSON, or nested deeper than ``max_depth``.
    """
    path = Path(path)
    data = _read_bytes(path, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JSONFileError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONFileError(f"{path} nests deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise JSONFileError(f"{path} is not valid JSON ({exc})") from None
    if _depth(value) > max_depth:
        raise JSONFileError(f"{path} nests deeper than {max_depth} levels")
    return value


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, opened without following a link and without blocking
    on a FIFO, read no further than ``max_bytes``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if path.is_symlink():
            raise JSONFileError(f"{path} is a symbolic link; brief reads no link here") from None
        raise JSONFileError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise JSONFileError(f"{path} is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise JSONFileError(
                f"{path} takes {info.st_size:,} bytes, more than the {max_bytes:,} it may"
            )
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew while it was read
                raise JSONFileError(f"{path} takes more than the {max_bytes:,} bytes it may")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
