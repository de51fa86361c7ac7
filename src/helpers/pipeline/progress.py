"""Progress reporting for ``brief render`` (and the batch runner): one interface, three voices.

:class:`Reporter` is the interface and also the silent default. :func:`make_reporter` picks:

* :class:`RichReporter` on a terminal: a live area with the overall count, the time elapsed
  and left, and every running job with its phase, above a line per finished job;
* :class:`PlainReporter` otherwise (cron, CI, a pipe): one timestamped line per event,
  ``2026-11-29T10:00:00Z brief/default execute``;
* :class:`QuietReporter` for ``--quiet``: failures only.

Failures always go to the error stream; everything else to the output stream.
"""

from __future__ import annotations

import heapq
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
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

    def staged(self, notebook: str, run: str, fmt: str, path: Path) -> None:
        """``notebook``'s ``run`` has its ``fmt`` output (``"html"``) written at ``path``, in
        its staging folder: not published yet, and removed when the run ends. What follows
        (the PDF, the publish) may still fail. ``brief serve`` shows the HTML from here while
        the PDF is made; the command line's reporters ignore it."""

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
    """A live display on a terminal: the whole run at a glance, the running jobs always in view.

    The live area (a :class:`rich.live.Live`) is never taller than the terminal
    (:attr:`rich.console.Console.size`, read at every refresh, so it follows a resized
    window). From the top:

    * the overall line: a bar, ``done``, ``failed`` and the number of jobs, the time since
      the first job was announced, and an estimate of the time left (``estimating...`` until
      a job has finished);
    * every running job, with its phase (``html 2/4``) and its time in that phase;
    * as many waiting jobs as fit, in the order they were announced, then finished ones, the
      latest first;
    * ``... and N more waiting`` when waiting jobs did not fit.

    Each job's end is also printed above the live area, once, with its path or error, so the
    scrollback keeps a line per job; messages too. When the reporter closes, the live area
    shrinks to its overall line.

    The estimate is the reporter's own, not rich's (rich's measures the speed of the last
    30 seconds, which jobs that finish in bursts make jump): each job is assumed to take the
    mean duration of the jobs finished so far (done or failed); the running jobs keep their
    worker for the rest of that mean, and the waiting jobs go, one by one, to the worker free
    first. The number of workers is the most jobs seen running at once (one for
    ``brief render``). The time left is when the last worker would be free.

    Parameters
    ----------
    console
        A :class:`rich.console.Console`; default: one on standard output.
    clock
        Seconds on a monotonic clock, for the elapsed times (for tests).
    refresh_per_second
        How often the live area is redrawn between events (for the times in it).
    """

    def __init__(
        self,
        console: Any = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_per_second: float = 2,
    ) -> None:
        from rich.console import Console  # noqa: PLC0415
        from rich.live import Live  # noqa: PLC0415

        self.console = console or Console()
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], _Job] = {}
        self._finished: list[tuple[str, str]] = []  # in the order they finished
        self._started_at: float | None = None
        self._most_running = 0
        self._closing = False
        self._live = Live(
            self,
            console=self.console,
            refresh_per_second=refresh_per_second,
            transient=False,
        )
        self._live_on = False

    # -- events ------------------------------------------------------------------------------

    def start(self, jobs: Sequence[tuple[str, str, Sequence[str]]]) -> None:
        with self._lock:
            for notebook, run, phases in jobs:
                self._job(notebook, run).phases = tuple(phases)
        self._show()

    def phase(self, notebook: str, run: str, phase: str) -> None:
        from rich.spinner import Spinner  # noqa: PLC0415

        now = self._clock()
        with self._lock:
            job = self._job(notebook, run)
            if job.state in ("done", "failed"):
                return  # a late event from a job already reported
            if job.state == "waiting":
                job.state, job.started_at, job.spinner = "running", now, Spinner("dots")
            job.phase, job.phase_at = phase, now
            running = sum(1 for each in self._jobs.values() if each.state == "running")
            self._most_running = max(self._most_running, running)
        self._show()

    def done(self, notebook: str, run: str, *, seconds: float, path: Path | None = None) -> None:
        from rich.text import Text  # noqa: PLC0415

        where = f" {path}" if path is not None else ""
        line = Text.assemble(("✓", "green"), f" {notebook}/{run} done {seconds:.1f}s{where}")
        self._finish(notebook, run, "done", seconds, line)

    def failed(self, notebook: str, run: str, *, phase: str, error: str) -> None:
        from rich.text import Text  # noqa: PLC0415

        line = Text.assemble((f"✗ {notebook}/{run} failed in {phase}:", "red"), f" {error}")
        self._finish(notebook, run, "failed", None, line, phase=phase)

    def message(self, text: str) -> None:
        from rich.text import Text  # noqa: PLC0415

        # Text, not markup=False: the live area is drawn again in this print, with its options.
        # soft_wrap: the terminal wraps a long line, so a path in it stays one string to copy.
        self.console.print(Text(text), soft_wrap=True)

    def close(self) -> None:
        if self._live_on:
            with self._lock:
                self._closing = True
            self._live.stop()  # draws the overall line one last time
            self._live_on = False

    # -- state -------------------------------------------------------------------------------

    def _job(self, notebook: str, run: str) -> _Job:
        """The job, added (waiting) if new; call with the lock held."""
        key = (notebook, run)
        if key not in self._jobs:
            self._jobs[key] = _Job(f"{notebook}/{run}")
            if self._started_at is None:
                self._started_at = self._clock()
        return self._jobs[key]

    def _finish(
        self,
        notebook: str,
        run: str,
        state: str,
        seconds: float | None,
        line: Any,
        *,
        phase: str | None = None,
    ) -> None:
        now = self._clock()
        with self._lock:
            # A failure of something that is no job (the index, say) is printed, not counted.
            job = self._jobs.get((notebook, run))
            if job is not None and job.state not in ("done", "failed"):
                if seconds is None and job.started_at is not None:
                    seconds = now - job.started_at
                job.state, job.seconds, job.phase = state, seconds, phase or job.phase
                self._finished.append((notebook, run))
        self.console.print(line, soft_wrap=True)
        self._show()

    def _show(self) -> None:
        if not self._live_on and self._jobs:
            self._live.start()
            self._live_on = True
        if self._live_on:
            self._live.refresh()

    # -- the live area -----------------------------------------------------------------------

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        now = self._clock()
        with self._lock:
            jobs = list(self._jobs.values())
            finished = [self._jobs[key] for key in reversed(self._finished)]
            closing = self._closing
            header = self._header(jobs, now)
        if closing:
            yield header
            return
        running = [job for job in jobs if job.state == "running"]
        waiting = [job for job in jobs if job.state == "waiting"]
        rows: list[tuple[Any, ...]] = []
        room = max(options.size.height - 1, 2)  # the overall line takes one
        if len(running) > room:  # more workers than lines: say how many do not fit
            shown, room = running[: room - 1], 0
            more = f"... and {len(running) - len(shown)} more running, {len(waiting)} waiting"
        else:
            shown, room, more = running, room - len(running), ""
        rows += [job.running_row(now) for job in shown]
        if len(waiting) > room > 0:
            rows += [job.row() for job in waiting[: room - 1]]
            more = f"... and {len(waiting) - (room - 1)} more waiting"
        elif room > 0:
            rows += [job.row() for job in (waiting + finished)[:room]]
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1, no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis")
        table.add_column(no_wrap=True, overflow="ellipsis")
        table.add_column(no_wrap=True, justify="right", min_width=7)
        for row in rows:
            table.add_row(*row)
        yield header
        if rows:
            yield table
        if more:
            yield Text(more, style="dim")

    def _header(self, jobs: Sequence[_Job], now: float) -> Any:
        """The overall line; call with the lock held."""
        from rich.progress_bar import ProgressBar  # noqa: PLC0415
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        done = sum(1 for job in jobs if job.state == "done")
        failed = sum(1 for job in jobs if job.state == "failed")
        elapsed = now - self._started_at if self._started_at is not None else 0.0
        text = Text.assemble(
            (f"{done} done", "bold"),
            " · ",
            (f"{failed} failed", "red" if failed else ""),
            f" · {len(jobs)} jobs · elapsed {_hms(elapsed)}",
        )
        if done + failed < len(jobs) and not self._closing:
            left = self._left(jobs, now)
            text.append(" · " + ("left estimating..." if left is None else f"left ~{_hms(left)}"))
        line = Table.grid(padding=(0, 1))
        line.add_column(width=10, no_wrap=True)
        line.add_column(no_wrap=True, overflow="ellipsis")
        line.add_row(ProgressBar(total=max(len(jobs), 1), completed=done + failed), text)
        return line

    def _left(self, jobs: Sequence[_Job], now: float) -> float | None:
        """Seconds until the last job ends, by the class's estimate; None before any ended."""
        took = [job.seconds for job in jobs if job.seconds is not None]
        if not took:
            return None
        mean = sum(took) / len(took)
        running = [job for job in jobs if job.state == "running"]
        workers = max(self._most_running, len(running), 1)
        free = [
            max(mean - (now - job.started_at), 0.0) for job in running if job.started_at is not None
        ]
        free += [0.0] * (workers - len(free))
        heapq.heapify(free)
        for _ in range(sum(1 for job in jobs if job.state == "waiting")):
            heapq.heappush(free, heapq.heappop(free) + mean)
        return max(free)


@dataclass
class _Job:
    """What the live area knows of one job."""

    label: str
    phases: tuple[str, ...] = PHASES
    state: str = "waiting"  # running, done, failed
    phase: str = ""
    started_at: float | None = None
    phase_at: float = 0.0
    seconds: float | None = None  # how long it took, once it ended
    spinner: Any = None

    def running_row(self, now: float) -> tuple[Any, ...]:
        from rich.text import Text  # noqa: PLC0415

        where = ""
        if self.phase in self.phases:
            where = f" {self.phases.index(self.phase) + 1}/{len(self.phases)}"
        return (
            self.spinner,
            Text(self.label),
            Text(f"{self.phase}{where}"),
            Text(_hms(now - self.phase_at)),
        )

    def row(self) -> tuple[Any, ...]:
        from rich.text import Text  # noqa: PLC0415

        if self.state == "done":
            took = f"{self.seconds:.1f}s" if self.seconds is not None else ""
            return (Text("✓", "green"), Text(self.label), Text("done", "green"), Text(took))
        if self.state == "failed":
            failed = Text(f"failed in {self.phase}", "red")
            return (Text("✗", "red"), Text(self.label), failed, Text(""))
        return (Text("·", "dim"), Text(self.label, "dim"), Text("waiting", "dim"), Text(""))


def _hms(seconds: float) -> str:
    """``0:01:23``, as rich's elapsed column writes it."""
    return str(timedelta(seconds=max(int(seconds), 0)))


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
        from rich.console import Console  # noqa: PLC0415

        return RichReporter(Console(file=stream))
    return PlainReporter(out, err)
