"""Progress reporting for ``brief render`` (and the batch runner): one interface, three voices.

:class:`Reporter` is the interface and also the silent default. :func:`make_reporter` picks:

* :class:`RichReporter` on a terminal: a live line per notebook showing its phase;
* :class:`PlainReporter` otherwise (cron, CI, a pipe): one timestamped line per event,
  ``2026-11-29T10:00:00Z brief/default execute``;
* :class:`QuietReporter` for ``--quiet``: failures only.

Failures always go to the error stream; everything else to the output stream.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from helpers.common import utc_now

#: The phases of one notebook's run, in order.
PHASES = ("execute", "html", "pdf", "publish")

__all__ = ["PHASES", "PlainReporter", "QuietReporter", "Reporter", "RichReporter", "make_reporter"]


class Reporter:
    """Receives the events of a run; this base class ignores them all.

    Use as a context manager, or call :meth:`close` at the end.
    """

    def start(self, jobs: Sequence[tuple[str, str, Sequence[str]]]) -> None:
        """The runs about to start: ``(notebook, run, phases)`` for each."""

    def phase(self, notebook: str, run: str, phase: str) -> None:
        """``notebook``'s ``run`` entered ``phase``."""

    def done(self, notebook: str, run: str, *, seconds: float, path: Path | None = None) -> None:
        """``notebook``'s ``run`` was published at ``path`` after ``seconds``."""

    def failed(self, notebook: str, run: str, *, phase: str, error: str) -> None:
        """``notebook``'s ``run`` failed in ``phase`` with the message ``error``."""

    def message(self, text: str) -> None:
        """A line about the whole run (the index was written, say)."""

    def close(self) -> None:
        """Stop any live display."""

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _utc_stamp() -> str:
    return utc_now(millis=False)


class PlainReporter(Reporter):
    """One timestamped line per event: for logs, cron mail and pipes.

    Parameters
    ----------
    out, err
        Streams for progress and for failures. Default: ``sys.stdout`` and ``sys.stderr``
        at the time of each write.
    clock
        Returns the timestamp that starts each line (for tests).
    """

    def __init__(
        self,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        *,
        clock: Callable[[], str] = _utc_stamp,
    ) -> None:
        self._out = out
        self._err = err
        self._clock = clock

    def _write(self, stream: IO[str] | None, fallback: str, text: str) -> None:
        target = stream if stream is not None else getattr(sys, fallback)
        target.write(f"{self._clock()} {text}\n")
        target.flush()

    def phase(self, notebook: str, run: str, phase: str) -> None:
        self._write(self._out, "stdout", f"{notebook}/{run} {phase}")

    def done(self, notebook: str, run: str, *, seconds: float, path: Path | None = None) -> None:
        where = f" {path}" if path is not None else ""
        self._write(self._out, "stdout", f"{notebook}/{run} done {seconds:.1f}s{where}")

    def failed(self, notebook: str, run: str, *, phase: str, error: str) -> None:
        self._write(self._err, "stderr", f"{notebook}/{run} FAILED in {phase}: {error}")

    def message(self, text: str) -> None:
        self._write(self._out, "stdout", text)


class QuietReporter(PlainReporter):
    """Only failures, as plain lines on the error stream."""

    def phase(self, notebook: str, run: str, phase: str) -> None:
        pass

    def done(self, notebook: str, run: str, *, seconds: float, path: Path | None = None) -> None:
        pass

    def message(self, text: str) -> None:
        pass


class RichReporter(Reporter):
    """A live display on a terminal: one line per notebook with its phase and elapsed time.

    Parameters
    ----------
    console
        A :class:`rich.console.Console`; default: one on standard output. Failures are
        printed above the live lines, so they stay on screen.
    """

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console or Console()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[phase]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._tasks: dict[tuple[str, str], Any] = {}
        self._phases: dict[tuple[str, str], list[str]] = {}
        self._started = False

    def _ensure_started(self) -> None:
        if not self._started:
            self._progress.start()
            self._started = True

    def _task(self, notebook: str, run: str) -> Any:
        key = (notebook, run)
        if key not in self._tasks:
            phases = self._phases.setdefault(key, list(PHASES))
            self._tasks[key] = self._progress.add_task(
                f"{notebook}/{run}", total=len(phases), phase="waiting", start=False
            )
        return self._tasks[key]

    def start(self, jobs: Sequence[tuple[str, str, Sequence[str]]]) -> None:
        self._ensure_started()
        for notebook, run, phases in jobs:
            self._phases[(notebook, run)] = list(phases)
            self._task(notebook, run)

    def phase(self, notebook: str, run: str, phase: str) -> None:
        self._ensure_started()
        task = self._task(notebook, run)
        self._progress.start_task(task)
        phases = self._phases[(notebook, run)]
        completed = phases.index(phase) if phase in phases else 0
        self._progress.update(task, completed=completed, phase=phase)

    def done(self, notebook: str, run: str, *, seconds: float, path: Path | None = None) -> None:
        self._ensure_started()
        task = self._task(notebook, run)
        total = len(self._phases[(notebook, run)])
        self._progress.update(task, completed=total, phase=f"[green]done[/] {seconds:.1f}s")
        self._progress.stop_task(task)

    def failed(self, notebook: str, run: str, *, phase: str, error: str) -> None:
        from rich.markup import escape

        self._ensure_started()
        task = self._task(notebook, run)
        self._progress.update(task, phase=f"[red]failed in {phase}[/]")
        self._progress.stop_task(task)
        self._progress.console.print(f"[red]{escape(f'{notebook}/{run}')}:[/] {escape(error)}")

    def message(self, text: str) -> None:
        self._ensure_started()
        self._progress.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False


def make_reporter(
    *, quiet: bool = False, out: IO[str] | None = None, err: IO[str] | None = None
) -> Reporter:
    """The reporter that suits the output stream: live on a terminal, plain lines otherwise.

    Parameters
    ----------
    quiet
        Report failures only.
    out, err
        Streams; default ``sys.stdout`` and ``sys.stderr``.
    """
    if quiet:
        return QuietReporter(out, err)
    stream = out if out is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        from rich.console import Console

        return RichReporter(Console(file=stream))
    return PlainReporter(out, err)
