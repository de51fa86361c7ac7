"""Small things several sides of the package need, kept once: output formats and how to read
them, the default cell timeout, UTC timestamps, plain text for a value, and the Linux
parent-death signal. Nothing here imports pandas, matplotlib or any other module of the
package but :mod:`helpers.errors`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from helpers.errors import BriefError, UsageError

#: Output formats ``brief render --to`` and a plan's ``formats`` accept.
FORMATS: tuple[str, ...] = ("html", "pdf")
#: Seconds any one cell may run before the run is stopped as failed.
DEFAULT_TIMEOUT = 600
#: ``prctl`` option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"html,pdf"`` or ``["PDF"]`` as a tuple of known formats, in order, without repeats.

    Raises
    ------
    UsageError
        Naming the unknown formats and the known ones.
    """
    if isinstance(formats, str):
        formats = formats.split(",")
    chosen = tuple(dict.fromkeys(str(f).strip().lower() for f in formats if str(f).strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise UsageError(
            f"unknown output format(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from: {', '.join(FORMATS)}"
        )
    return chosen


def utc_now(*, millis: bool = True) -> str:
    """The current UTC time as ISO 8601 with a ``Z``: ``2026-12-01T14:27:19.042Z``, or to the
    second with ``millis=False``."""
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{now.microsecond // 1000:03d}Z" if millis else f"{stamp}Z"


def utc_compact() -> str:
    """The current UTC time for a file name: ``20261201T142719Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def cli_text(value: Any) -> str:
    """A JSON-safe value as ``-p NAME VALUE`` spells it, and as the parameter schemas read it
    back: ``true``/``false``, lists comma-separated, ``None`` as ``None``."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(cli_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def reader_text(value: Any, *, missing: str = "—") -> str:
    """A value as a reader sees it in a masthead or an index: ``yes``/``no``, lists with
    commas, mappings as ``key: value`` pairs, ``missing`` for nothing."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(reader_text(v, missing=missing) for v in value) or missing
    if isinstance(value, dict):
        pairs = (f"{k}: {reader_text(v, missing=missing)}" for k, v in value.items())
        return "; ".join(pairs) or missing
    return str(value)


def set_parent_death_signal(signum: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies. A no-op on other
    systems and where the call is not available; the caller checks whether the parent is
    gone already (``os.getppid()``)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):
        return


def resolved(path: str | Path, *, what: str, error: type[BriefError] = UsageError) -> Path:
    """``path`` made absolute with every link followed, or ``error`` saying why not.

    A symbolic link loop (``a -> b -> a``) makes :meth:`pathlib.Path.resolve` raise
    RuntimeError (Python 3.11, 3.12) or OSError; a user who named such a folder gets a
    message naming it instead of a traceback.
    """
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as exc:
        raise error(f"{what} {path}: cannot be followed: {exc}") from None


#: Characters no text of a brief may hold, in a parameter or in the data: C0 controls but tab,
#: newline and carriage return (NUL, ESC, the vertical tab word processors insert), DEL, the
#: C1 controls, the line and paragraph separators U+2028 and U+2029, and the bidirectional
#: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which make text print
#: other than it is stored. A title refuses tab and newline too (:mod:`helpers.params`).
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


_INTERRUPTS = 0
#: The runs this process published (``notebook/run``), so that a stop after one was
#: published is not reported as if nothing had been (:func:`note_published`).
_PUBLISHED: list[str] = []


def note_published(label: str) -> None:
    """Record that this process published the run ``label`` (``notebook/run``)."""
    _PUBLISHED.append(label)


def forget_published() -> None:
    """Start a new command's record of what it published (:func:`note_published`)."""
    _PUBLISHED.clear()


def published_so_far() -> tuple[str, ...]:
    """The runs this process published, in order (:func:`note_published`)."""
    return tuple(_PUBLISHED)


def stopped_message() -> str:
    """What a stopped command says: ``aborted``, or which runs it published before the stop
    (they are complete and in the index; a stop never takes a published run back)."""
    done = published_so_far()
    if not done:
        return "aborted"
    listed = ", ".join(done[:5]) + (f" and {len(done) - 5} more" if len(done) > 5 else "")
    return (
        f"stopped after publishing {listed}: complete and listed in the index; nothing "
        "after it was published"
    )


def interrupts() -> int:
    """How often this process was told to stop (Ctrl-C, SIGTERM) through brief's handlers.

    A library may swallow the ``KeyboardInterrupt`` a handler raises (WeasyPrint catches
    every exception while it draws an SVG image, and logs an error instead); comparing this
    count before and after a call tells an interruption from a failure.
    """
    return _INTERRUPTS


def interrupt(signum: int = signal.SIGINT, frame: Any = None) -> None:
    """A signal handler: count the interruption (:func:`interrupts`), raise
    ``KeyboardInterrupt``."""
    global _INTERRUPTS
    _INTERRUPTS += 1
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While a run holds its output folder, SIGTERM (``kill``, ``systemctl stop``) acts as
    Ctrl-C does: the run stops its jobs, so their kernels end, releases its lock and exits
    130, as the README says. Both are counted (:func:`interrupts`). A handler the program
    installed itself is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    defaults = {signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.default_int_handler}
    ours = [sig for sig, default in defaults.items() if signal.getsignal(sig) is default]
    for sig in ours:
        signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig in ours:
            signal.signal(sig, defaults[sig])


#: The variable IPython (and jupyter_client's kernel search) takes its folder from.
IPYTHONDIR_ENV = "IPYTHONDIR"


@contextlib.contextmanager
def ipython_dir_if_homeless() -> Iterator[str | None]:
    """For a user whose home cannot be written (a service user, systemd's ``ProtectHome``),
    point ``$IPYTHONDIR`` at a private temporary folder until the block ends, removed after.

    Without it, every process that looks for Jupyter kernels (``brief`` itself, the batch's
    workers) warns ``IPython parent '/home/x' is not a writable location, using a temp
    directory`` on standard error, through ``--quiet`` into every cron mail, and leaves that
    temporary folder behind. Workers, the zygote and kernels inherit the variable. Yields the
    folder, or None when ``$IPYTHONDIR`` is set or the home is writable (nothing changes).
    """
    import os
    import shutil
    import tempfile

    if os.environ.get(IPYTHONDIR_ENV) or _ipython_home_writable():
        yield None
        return
    folder = tempfile.mkdtemp(prefix="brief-ipython-")
    os.environ[IPYTHONDIR_ENV] = folder
    try:
        yield folder
    finally:
        if os.environ.get(IPYTHONDIR_ENV) == folder:
            del os.environ[IPYTHONDIR_ENV]
        shutil.rmtree(folder, ignore_errors=True)


def _ipython_home_writable() -> bool:
    """Whether IPython can use ``~/.ipython`` (as :func:`IPython.paths.get_ipython_dir`
    decides: the folder is writable, or it is missing and its parent is writable)."""
    import os

    folder = Path(os.path.expanduser("~")) / ".ipython"
    target = folder if folder.exists() else folder.parent
    return target.is_dir() and os.access(target, os.W_OK)
