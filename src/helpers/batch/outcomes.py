"""What became of a batch, job by job, and what a dry run says would become of it.

:class:`Outcome` is one job's end (ran, skipped or failed, why, in how many attempts),
:class:`BatchResult` the whole batch's, with the summary ``brief batch`` prints.
:class:`Planned` and :class:`DryRun` are the same for ``brief batch --dry-run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.batch.prepare import BatchJob
from helpers.errors import ClusterError, ExecutionError
from helpers.ledger import EditionSummary, counts_words
from helpers.pipeline.request import RunResult

__all__ = ["BatchResult", "DryRun", "Outcome", "Planned", "edition_words", "place_words"]


@dataclass(frozen=True)
class Outcome:
    """What became of one job of a batch."""

    job: BatchJob
    status: str  # "ran", "skipped" or "failed"
    reason: str
    key: str
    attempts: int = 0
    result: RunResult | None = None
    #: What ended each attempt before the last: ``("kernel failed to start",)``.
    retried: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """The job's exit code: 0 unless it failed."""
        return self.result.exit_code if self.status == "failed" and self.result else 0

    @property
    def text(self) -> str:
        """``ran (new) in 9.8 s``, ``skipped (unchanged since ...)``, ``FAILED (exit 5: ...)``."""
        if self.status == "skipped":
            return f"skipped ({self.reason})"
        result = self.result
        tail = ""
        if self.retried:
            ends = "; ".join(f"{_ordinal(n)}: {why}" for n, why in enumerate(self.retried, 1))
            tail = f", attempts: {self.attempts} ({ends})"
        if self.status == "ran" and result is not None:
            return f"ran ({self.reason}) in {result.seconds:.1f} s{tail}{edition_words(result)}"
        error = (result.error or "unknown error") if result else "unknown error"
        first = error.strip().splitlines()[0] if error.strip() else error
        code = result.exit_code if result else ExecutionError.exit_code
        where = f"; see {result.failed_path}" if result and result.failed_path else ""
        return f"FAILED (exit {code}: {first}){where} [ran: {self.reason}{tail}]"

    def record(self) -> dict[str, Any]:
        """The outcome as JSON-safe values, for ``batch-<stamp>.json``."""
        job, result = self.job.job, self.result
        return {
            "entry": self.job.source.label,
            "notebook": job.name,
            "run": job.run,
            "status": self.status,
            "reason": self.reason,
            "key": self.key,
            "attempts": self.attempts,
            "retried_because": list(self.retried),
            "seconds": round(result.seconds, 3) if result else None,
            "exit_code": self.exit_code,
            "error": result.error if result and not result.ok else None,
            "path": str(job.out_dir / job.name / job.run),
            "failed_path": str(result.failed_path) if result and result.failed_path else None,
            "parameters": job.parameters,
            "overrides": job.overrides,
            "command": job.command,
            "edition": result.edition.to_json() if result and result.edition else None,
        }


def _ordinal(n: int) -> str:
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n if n < 20 else n % 10, 'th') }"


def edition_words(result: RunResult) -> str:
    """``; since 30 Sep 2023: 4 new, 1 changed``, ``; first edition``, or nothing."""
    summary = result.edition or EditionSummary()
    since, changes = summary.previous, summary.changes
    if summary.first:
        return "; first edition"
    if since is None or not changes:
        return ""
    return f"; since {since.get('date', '?')}: {counts_words(changes, sources='never')}"


@dataclass(frozen=True)
class BatchResult:
    """A finished batch: an :class:`Outcome` per job, in plan order, and where it was logged."""

    plan: str
    out_dir: Path
    outcomes: tuple[Outcome, ...]
    seconds: float
    log_path: Path
    json_path: Path
    workers: int | None = None
    scheduler: str | None = None

    @property
    def failed(self) -> list[Outcome]:
        """The outcomes of jobs that failed."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        """Whether every job ran or was skipped."""
        return not self.failed

    @property
    def exit_code(self) -> int:
        """0; 69 when the Dask cluster failed jobs (:class:`~helpers.errors.ClusterError`);
        else the exit code of the first job that failed, in plan order (5 or 6)."""
        codes = [o.exit_code for o in self.failed]
        if ClusterError.exit_code in codes:
            return ClusterError.exit_code
        return codes[0] if codes else 0

    def summary(self) -> str:
        """One line per job saying why it ran or was skipped, then the totals and the log."""
        counts = {
            s: sum(o.status == s for o in self.outcomes) for s in ("ran", "skipped", "failed")
        }
        where = place_words(self.workers, self.scheduler)
        head = (
            f"{self.plan}: {len(self.outcomes)} job(s): {counts['ran']} ran, "
            f"{counts['skipped']} skipped, {counts['failed']} failed in {self.seconds:.1f} s "
            f"({where})"
        )
        width = max((len(o.job.label) for o in self.outcomes), default=0)
        lines = [head] + [f"  {o.job.label:<{width}}  {o.text}" for o in self.outcomes]
        lines.append(f"index: {self.out_dir / 'index.html'}")
        lines.append(f"log: {self.log_path}")
        return "\n".join(lines)


def place_words(workers: int | None, scheduler: str | None) -> str:
    if scheduler:
        return f"on {scheduler}"
    return f"{workers} worker(s)" if workers else "on the given executor"


@dataclass(frozen=True)
class Planned:
    """What a batch would do with one job: run it or skip it, and why (the words of
    :func:`~helpers.pipeline.uptodate.decide`, as the batch's summary gives them)."""

    job: BatchJob
    run: bool
    reason: str
    key: str

    @property
    def label(self) -> str:
        """``notebook/run``, as the batch names the job."""
        return self.job.label

    @property
    def text(self) -> str:
        """``would run (data changed)`` or ``would be skipped (unchanged since ...)``."""
        return f"would run ({self.reason})" if self.run else f"would be skipped ({self.reason})"


@dataclass(frozen=True)
class DryRun:
    """A batch not run: for each job, in plan order, whether it would run and why."""

    plan: str
    out_dir: Path
    jobs: tuple[Planned, ...]
    only_changed: bool = False
    scheduler: str | None = None

    @property
    def to_run(self) -> list[Planned]:
        """The jobs that would run."""
        return [p for p in self.jobs if p.run]

    @property
    def to_skip(self) -> list[Planned]:
        """The jobs that would be skipped."""
        return [p for p in self.jobs if not p.run]

    def summary(self) -> str:
        """The counts, then a line per job with what it would do and why, as
        :meth:`BatchResult.summary` lays them out."""
        head = (
            f"{self.plan}: {len(self.jobs)} job(s): {len(self.to_run)} would run, "
            f"{len(self.to_skip)} would be skipped (dry run: nothing was run or written)"
        )
        width = max((len(p.label) for p in self.jobs), default=0)
        lines = [head]
        for planned in self.jobs:
            tail = ""
            if planned.run and self.only_changed:
                tail = "; published only if it has something new (--only-changed)"
            lines.append(f"  {planned.label:<{width}}  {planned.text}{tail}")
        lines.append(f"out: {self.out_dir}")
        if self.scheduler:
            lines.append(f"the Dask scheduler at {self.scheduler} was not contacted")
        return "\n".join(lines)
