"""brief's logs: the levels ``--log-level`` accepts, and the plain timestamped lines on
standard error that a level sets up for the length of a command (:func:`logging_to_stderr`).

:mod:`helpers.config` owns where the level comes from (option, environment, project file);
this module only what it does. Nothing here imports another module of the package but
:mod:`helpers.errors`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from typing import IO

from helpers.errors import UsageError

__all__ = [
    "DEFAULT_LEVEL",
    "LEVELS",
    "THIRD_PARTY",
    "level_number",
    "logging_to_stderr",
]

#: Log levels ``--log-level`` accepts, most verbose first.
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: The level when nothing sets one: warnings and errors.
DEFAULT_LEVEL = "WARNING"
#: Loggers the level applies to besides the package's own: papermill's, and nbconvert's and
#: nbclient's (both log to ``traitlets`` when no Jupyter application runs).
THIRD_PARTY = ("papermill", "traitlets")


def level_number(level: str | int) -> int:
    """``"INFO"`` (any case) or ``logging.INFO`` as ``logging.INFO``.

    Raises
    ------
    UsageError
        For a level not in :data:`LEVELS`.
    """
    if isinstance(level, int):
        return level
    if str(level).upper() not in LEVELS:
        raise UsageError(f"unknown log level {level!r}; choose from: {', '.join(LEVELS)}")
    return int(getattr(logging, str(level).upper()))


class _PlainHandler(logging.Handler):
    """One line per record, ``2026-11-29T10:00:00Z WARNING helpers.kernels: ...``, on the
    error stream of the moment (so a live display or a test's capture sees it)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
            stream = self._stream if self._stream is not None else sys.stderr
            stream.write(f"{stamp} {record.levelname} {record.name}: {record.getMessage()}\n")
            if record.exc_info:
                stream.write(logging.Formatter().formatException(record.exc_info) + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


@contextlib.contextmanager
def logging_to_stderr(level: str | int, *, stream: IO[str] | None = None) -> Iterator[None]:
    """While it lasts, log at ``level`` to standard error, as plain timestamped lines.

    The ``helpers`` loggers log at ``level``. papermill's and nbconvert's loggers
    (:data:`THIRD_PARTY`) log too at ``INFO`` and ``DEBUG``; at ``WARNING`` and above they are
    silent, as before there was a level: what they would warn of (a dead kernel, a timeout)
    brief's own error says better. Every logger is restored afterwards.
    """
    number = level_number(level)
    handler = _PlainHandler(stream)
    names = ("helpers", *THIRD_PARTY)
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg, lg.level, lg.propagate, list(lg.handlers)) for lg in loggers]
    try:
        for lg in loggers:
            lg.propagate = False
            if lg.name == "helpers" or number <= logging.INFO:
                lg.setLevel(number)
                lg.addHandler(handler)
            else:
                lg.setLevel(logging.CRITICAL + 1)
        yield
    finally:
        for lg, old_level, propagate, handlers in saved:
            lg.setLevel(old_level)
            lg.propagate = propagate
            lg.handlers[:] = handlers
