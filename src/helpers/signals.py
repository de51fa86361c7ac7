"""Being told to stop: brief's signal handlers (Ctrl-C, and SIGTERM while a run holds its
output folder, :func:`sigterm_interrupts`), the count of interruptions they keep
(:func:`interrupts`), the record of what this process published before a stop
(:func:`note_published`, :func:`stopped_message`), and the Linux parent-death signal a worker
asks for (:func:`set_parent_death_signal`). Nothing here imports another module of the
package.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = [
    "forget_published",
    "interrupt",
    "interrupts",
    "note_published",
    "published_so_far",
    "set_parent_death_signal",
    "sigterm_interrupts",
    "stopped_message",
]

#: ``prctl`` option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1
#: How often brief's handlers were told to stop (:func:`interrupts`).
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


def set_parent_death_signal(signum: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``signum`` to this process when its parent dies. A no-op on other
    systems and where the call is not available; the caller checks whether the parent is
    gone already (``os.getppid()``)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):
        return
