"""Run a plan: each job rendered as ``brief render`` would, in parallel, skipping the unchanged.

:func:`run_plan` is what ``brief batch`` calls, with a :class:`BatchRequest`. In order:

1. :func:`prepare_batch` checks everything before any kernel starts: the plan
   (:mod:`helpers.batch.plan`), every job's parameters, every data folder the jobs use. It
   builds one :class:`~helpers.pipeline.render.Job` per job with
   :func:`helpers.pipeline.render.prepare` and a
   :class:`~helpers.pipeline.request.RenderRequest`, as ``brief render`` does, and makes sure
   no two jobs would write to the same run folder.
2. It makes the executor the jobs run on (:mod:`helpers.batch.executors`); with
   ``scheduler``, that connects to the Dask cluster (a bad address touches nothing).
3. It takes the output folder's lock once for the whole batch: a run that overlaps another
   ends at once with :class:`~helpers.errors.LockHeldError` (exit 75), before writing anything,
   not even its log.
4. For each job it decides whether to run or skip (:mod:`helpers.pipeline.uptodate`): a job
   whose notebook, parameters, data, package versions, package code and formats are those of
   its last successful run, and whose outputs are still as that run wrote them, is skipped.
5. The jobs to run go to the executor, each as :func:`helpers.pipeline.render.render_job`.
   Every job runs its own kernel, in its own empty working folder, so nothing one job sets or
   writes is seen by another. On the local process pool the kernels are forked from a warm
   zygote (:mod:`helpers.kernels`): a new process per job, with the heavy imports done and no
   other job's code ever run in it. A job whose kernel failed to start (two kernels picking
   the same port, say) is tried again, at most :data:`KERNEL_START_ATTEMPTS` times in all; a
   job is never tried again once a cell has run. A failing job does not stop the others.
6. ``index.html`` is rewritten after each job. The log (``<out>/_logs/batch-<stamp>.log``) is
   written as the batch goes, the per-job results (``batch-<stamp>.json``) at the end, and
   the summary is returned as :class:`BatchResult`.

:func:`plan_batch` is the dry run (``brief batch --dry-run``): steps 1 and 4 only, saying for
each job whether it would run or be skipped and why, and writing nothing.

Stopped by Ctrl-C or SIGTERM, the batch stops its running jobs (each kills its kernel and
removes its work folder), notes it in the log and releases the lock. Killed outright, its
worker processes are told by Linux (``PR_SET_PDEATHSIG``) and do the same, so no kernel or
worker outlives it; what they leave in ``.tmp/`` the next run removes.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from helpers import paths
from helpers.batch import executors
from helpers.batch.executors import JobExecutor, Running, WorkerDied
from helpers.batch.plan import Plan, PlanJob, check_parameters, expand, load_plan
from helpers.common import utc_compact, utc_now
from helpers.errors import (
    BriefError,
    ClusterError,
    ExecutionError,
    KernelStartError,
    UsageError,
)
from helpers.ledger import EditionSummary, counts_words
from helpers.paths import resolved
from helpers.pipeline import index as index_module
from helpers.pipeline import render as render_module
from helpers.pipeline.progress import PlainReporter, Reporter
from helpers.pipeline.render import Job, RunResult, warm_kernels_wanted
from helpers.pipeline.request import RenderRequest, Request
from helpers.pipeline.uptodate import Decision, decide_all
from helpers.signals import sigterm_interrupts

#: Attempts a job gets when its kernel fails to start; never more than one once a cell ran.
KERNEL_START_ATTEMPTS = 3
#: Runs a job may get when other workers dying take the pool down under it.
POOL_ATTEMPTS = 3
#: Attempts a job gets when workers refuse it before it starts (they cannot see ``--out``).
REFUSED_ATTEMPTS = 3
#: Seconds a retry waits, drawn from this range and multiplied by the retry's number, so that
#: kernels that clashed do not start in step again.
RETRY_DELAY = (0.5, 1.5)
#: The folder under the output folder that holds each batch's log and results (the index
#: reads the newest results to say whether the batch stopped).
LOGS_NAME = index_module.LOGS_NAME
#: Batch runs whose log and summary are kept in ``_logs/``, newest first.
LOGS_KEEP = 50

__all__ = [
    "KERNEL_START_ATTEMPTS",
    "LOGS_KEEP",
    "LOGS_NAME",
    "RETRY_DELAY",
    "BatchJob",
    "BatchRequest",
    "BatchResult",
    "DryRun",
    "Outcome",
    "Planned",
    "plan_batch",
    "prepare_batch",
    "run_plan",
]


@dataclass(frozen=True)
class BatchRequest(Request):
    """One ``brief batch``: which plan, where its jobs run and write, and whether to force them.

    Attributes
    ----------
    plan
        A plan file (YAML, see ``docs/plans.md``) or a :class:`~helpers.batch.plan.Plan`.
    workers
        Jobs run at once on this machine. Default:
        :func:`~helpers.batch.executors.default_workers`.
    out_dir
        The output folder. Default: ``reports/``. With ``scheduler``, every worker must see
        it, the notebooks and the data at the same paths.
    data_dir
        The data folder for every job. Default: the package's ``data/``.
    force
        Render every job, also those unchanged since their last successful run.
    scheduler
        Address of a Dask distributed scheduler (``tcp://host:8786``) to run the jobs on,
        instead of local processes.
    warm_kernels
        On the local process pool, fork each job's kernel from a warm zygote that the batch
        starts once, and only if a job is to run (:mod:`helpers.kernels`): every job still
        gets a new kernel process in which no other job's code has run. ``None``: yes, unless
        ``$BRIEF_WARM_KERNELS`` is ``0`` (:func:`~helpers.pipeline.render.warm_kernels_wanted`).
        Jobs on a Dask cluster or a given executor start their kernels normally.
    only_changed
        Publish an edition only if it differs from the previous edition of its series (a
        new, changed or withdrawn fact, or a new source); one that does not is reported as
        skipped (``--only-changed``).
    worker_retries
        How often a job whose worker process died (the OOM killer, a lost cluster worker)
        runs again on another worker. Default 0: its worker may have run cells with effects,
        so it fails, saying how its worker died (``--worker-retries``).
    connect_timeout
        With ``scheduler``: seconds to connect, to wait for a first worker, and to go on
        with no worker or no scheduler before the jobs not done fail (exit 69). Default:
        :data:`helpers.batch.cluster.CONNECT_TIMEOUT` (``--connect-timeout``).
    require_sources
        Refuse the batch, before anything runs, when a source text its data names cannot be
        found here (``--require-sources``, exit 3), instead of publishing briefs whose
        quotations were not checked.
    pdf_variant
        The PDFs' variant (``--pdf-variant``); ``None``: tagged PDF/UA-1.
    base_url
        Where the output folder is served: the feeds' links (``--base-url``).

    :func:`run_plan` refuses fewer than one worker, and workers with a scheduler, before
    anything else.
    """

    plan: Plan | Path
    workers: int | None = None
    out_dir: Path | None = None
    data_dir: Path | None = None
    force: bool = False
    scheduler: str | None = None
    warm_kernels: bool | None = None
    only_changed: bool = False
    worker_retries: int = 0
    connect_timeout: float | None = None
    require_sources: bool = False
    pdf_variant: str | None = None
    base_url: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.plan, str):
            object.__setattr__(self, "plan", Path(self.plan))
        for name in ("out_dir", "data_dir"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else Path(value))

    @property
    def source(self) -> str:
        """The plan, as messages name it."""
        return self.plan.source if isinstance(self.plan, Plan) else str(self.plan)


@dataclass(frozen=True)
class BatchJob:
    """One job of a batch: where it came from in the plan, and what to render."""

    source: PlanJob
    job: Job

    @property
    def label(self) -> str:
        """``notebook/run``: how progress lines and the summary name the job."""
        return self.job.label


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
            "edition": result.edition if result else None,
        }


def _ordinal(n: int) -> str:
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n if n < 20 else n % 10, 'th') }"


def edition_words(result: RunResult) -> str:
    """``; since 30 Sep 2023: 4 new, 1 changed``, ``; first edition``, or nothing."""
    summary = EditionSummary.from_json(result.edition)
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
        where = _where(self.workers, self.scheduler)
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


def _where(workers: int | None, scheduler: str | None) -> str:
    if scheduler:
        return f"on {scheduler}"
    return f"{workers} worker(s)" if workers else "on the given executor"


# -- before anything runs ----------------------------------------------------------------------


def prepare_batch(request: BatchRequest | Plan | Path | str, /, **fields: Any) -> list[BatchJob]:
    """Check a plan and everything its jobs need, and build the jobs; nothing is written.

    Parameters
    ----------
    request
        A :class:`BatchRequest`; or its plan (a file, or a :class:`~helpers.batch.plan.Plan`
        already read), with its other fields as keyword arguments (``out_dir``,
        ``data_dir``; the others do not matter here).

    Returns
    -------
    list of BatchJob
        In plan order. Each job is what ``brief render`` would run for the same notebook and
        parameters (its ``command`` says how), except that it runs in a private working folder.

    Raises
    ------
    UsageError
        The plan is malformed, names an unknown notebook, or two of its jobs would write to
        the same run folder; the message names the entries.
    ParameterError
        Parameters a notebook does not take; every problem is listed, naming its job.
    DataValidationError
        A data folder breaks the schema or the project's rules.
    """
    from helpers.data.validation import ensure_valid
    from helpers.pipeline import render

    request = BatchRequest.of(request, **fields)
    plan = request.plan if isinstance(request.plan, Plan) else load_plan(request.plan)
    sources = expand(plan)
    check_parameters(sources)

    jobs: list[BatchJob] = []
    problems: list[str] = []
    for source in sources:
        job_request = RenderRequest(
            notebooks=(source.notebook,),
            parameters=source.given,
            formats=plan.formats,
            data_dir=request.data_dir,
            out_dir=request.out_dir,
            timeout=plan.timeout,
            name=source.file_name,
            pdf_variant=request.pdf_variant,
        )
        try:
            [job] = render.prepare(job_request, check_data=False)
        except UsageError as exc:
            problems.append(f"{source.label}: {exc}")
            continue
        job = dataclasses.replace(job, private_cwd=True, only_changed=request.only_changed)
        jobs.append(BatchJob(source, job))
    problems += _clashes(jobs)
    if problems:
        raise UsageError(f"plan {plan.source}:\n  " + "\n  ".join(problems))

    for folder in dict.fromkeys(item.job.data_dir for item in jobs):
        ensure_valid(folder)
        if request.require_sources:
            render.require_sources(folder)
    return jobs


def _clashes(jobs: Sequence[BatchJob]) -> list[str]:
    """Jobs that would write where another does: the same run, or one notebook name twice."""
    from helpers.pipeline import publish

    problems: list[str] = []
    folders: dict[Path, BatchJob] = {}
    notebooks: dict[str, BatchJob] = {}
    for item in jobs:
        job = item.job
        first = notebooks.setdefault(job.name, item)
        if first.job.notebook != job.notebook:
            problems.append(
                f"{item.source.label} and {first.source.label}: {job.notebook} and "
                f"{first.job.notebook} would publish to the same folder {job.name}/; "
                "rename one of them"
            )
            continue
        where = publish.run_path(job.out_dir, job.name, job.run)
        if where in folders:
            problems.append(
                f"{item.source.label} is the same job as {folders[where].source.label}: "
                f"both would write {where}; remove one of them"
            )
            continue
        folders[where] = item
    return problems


# -- the batch ---------------------------------------------------------------------------------


def run_plan(
    request: BatchRequest | Plan | Path | str,
    /,
    *,
    reporter: Reporter | None = None,
    executor: Executor | JobExecutor | None = None,
    **fields: Any,
) -> BatchResult:
    """Render every job of a plan that is not up to date; see the module's description.

    Parameters
    ----------
    request
        A :class:`BatchRequest`; or its plan, with its other fields as keyword arguments:
        ``run_plan("plans/daily.yaml", workers=2, out_dir="/srv/briefs")``.
    reporter
        Receives progress; the log file receives it too. Default: none.
    executor
        Any :class:`concurrent.futures.Executor` to run the jobs on instead (it is not shut
        down); its workers must be able to import this package. A
        :class:`~helpers.batch.executors.JobExecutor` is used as it is.
    warm_kernels
        On the local process pool, fork each job's kernel from a warm zygote that the batch
        starts once, and only if a job is to run (:mod:`helpers.kernels`): every job still
        gets a new kernel process in which no other job's code has run. Default: yes, unless
        ``$BRIEF_WARM_KERNELS`` is ``0``
        (:func:`helpers.pipeline.render.warm_kernels_wanted`). Jobs on a Dask cluster or a
        given executor start their kernels normally.

    Returns
    -------
    BatchResult
        Also when jobs failed: see its ``exit_code`` and :meth:`~BatchResult.summary`.

    Raises
    ------
    UsageError, ParameterError, DataValidationError
        From :func:`prepare_batch`, or a scheduler that cannot be reached; nothing is written.
    LockHeldError
        Another run holds the output folder; nothing is written.
    """
    from helpers.pipeline import publish

    started = time.monotonic()
    request = BatchRequest.of(request, **fields)
    _check_request(request)
    reporter = reporter or Reporter()
    jobs = prepare_batch(request)
    out = _out_dir(request, jobs)
    place = executors.make_executor(
        request.workers, request.scheduler, executor, connect_timeout=request.connect_timeout
    )
    try:
        with publish.locked(out), sigterm_interrupts():
            log_path, json_path = _log_paths(out)
            with open(log_path, "a", encoding="utf-8") as log:
                publish.prune_stamped(log_path.parent, LOGS_KEEP, prefix="batch-")
                tee = _Tee(reporter, PlainReporter(log, log))
                batch = _Batch(jobs, out, place, tee, log, request.worker_retries)
                batch.json_path, batch.plan = json_path, request.source
                batch.base_url = request.base_url
                render_module._warn_unchecked([item.job for item in jobs], batch.tee)
                batch.decide(request.source, force=request.force)
                batch.run(warm=warm_kernels_wanted(request.warm_kernels))
                result = BatchResult(
                    plan=request.source,
                    out_dir=out,
                    outcomes=tuple(batch.outcomes[i] for i in range(len(jobs))),
                    seconds=time.monotonic() - started,
                    log_path=log_path,
                    json_path=json_path,
                    workers=place.workers,
                    scheduler=place.scheduler,
                )
                batch.record(result, json_path, force=request.force)
                _write_index(
                    out, tee, request.base_url
                )  # after the record: it says whether the batch stopped
            return result
    finally:
        place.close()


def _check_request(request: BatchRequest) -> None:
    """The usage errors of a request's own fields, before the plan is read."""
    if request.workers is not None and request.workers < 1:
        raise UsageError(f"workers must be at least 1, not {request.workers}")
    if request.workers is not None and request.scheduler is not None:
        raise UsageError("give workers (--workers) or a scheduler (--scheduler), not both")
    if request.worker_retries < 0:
        raise UsageError(f"worker retries must be 0 or more, not {request.worker_retries}")
    if request.connect_timeout is not None and (
        request.scheduler is None or not request.connect_timeout > 0
    ):
        raise UsageError(
            "a connect timeout (--connect-timeout) is a number of seconds above 0, "
            "for a Dask scheduler (--scheduler)"
        )


def _out_dir(request: BatchRequest, jobs: Sequence[BatchJob]) -> Path:
    """The batch's output folder, absolute: its jobs' (one for all), else the request's."""
    if jobs:
        return jobs[0].job.out_dir
    return resolved(request.out_dir or paths.REPORTS_DIR, what="output folder")


# -- the dry run -------------------------------------------------------------------------------


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


def plan_batch(
    request: BatchRequest | Plan | Path | str,
    /,
    *,
    reporter: Reporter | None = None,
    **fields: Any,
) -> DryRun:
    """What :func:`run_plan` would do, job by job, without doing any of it: a dry run.

    The plan, the parameters and the data are checked as :func:`run_plan` checks them, and
    each job is decided as it decides them (:func:`~helpers.pipeline.uptodate.decide_all`,
    against the runs in the output folder), but nothing is run and nothing is written under
    the output folder: no lock, no log, no index, no ``.tmp/``, and a missing output folder
    is not made. A Dask scheduler is not contacted. (Checking the data may record a valid
    data folder in the validation cache, :func:`helpers.paths.cache_dir`, as any render does.)

    Parameters
    ----------
    request
        A :class:`BatchRequest`, or its plan with its other fields as keyword arguments, as
        for :func:`run_plan`.
    reporter
        Receives the warnings the batch would give before its jobs (source texts not found).

    Returns
    -------
    DryRun
        Its :meth:`~DryRun.summary` is what ``brief batch --dry-run`` prints.

    Raises
    ------
    UsageError, ParameterError, DataValidationError
        As :func:`run_plan` raises them, before any job.
    """
    request = BatchRequest.of(request, **fields)
    _check_request(request)
    jobs = prepare_batch(request)
    out = _out_dir(request, jobs)
    render_module._warn_unchecked([item.job for item in jobs], reporter or Reporter())
    decisions = decide_all([item.job for item in jobs], out, force=request.force)
    return DryRun(
        plan=request.source,
        out_dir=out,
        jobs=tuple(
            Planned(item, d.run, d.reason, d.key) for item, d in zip(jobs, decisions, strict=True)
        ),
        only_changed=request.only_changed,
        scheduler=request.scheduler,
    )


@dataclass
class _Batch:
    """A batch while it holds the lock: its jobs, where they run, its log, what became of each."""

    jobs: Sequence[BatchJob]
    out: Path
    place: JobExecutor
    tee: _Tee
    log: IO[str]
    worker_retries: int = 0
    decisions: list[Decision] = field(default_factory=list)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    #: Jobs run again because another worker died and took the pool down with it.
    requeued: dict[int, int] = field(default_factory=dict)
    #: Per job, what ended each of its attempts before the last (see Outcome.retried).
    retried: dict[int, list[str]] = field(default_factory=dict)
    #: The attempts in flight: future -> (job index, attempt number, token, start time).
    pending: dict[Future, tuple[int, int, str, float]] = field(default_factory=dict)
    #: Where the batch's results go, and its plan, as the record names it.
    json_path: Path | None = None
    plan: str = ""
    #: Why the batch stopped before every job ran (the log's line), if it did.
    stopped: str | None = None
    #: Where the output folder is served: the feeds' links (``--base-url``).
    base_url: str | None = None

    def decide(self, source: str, *, force: bool) -> None:
        """Decide which jobs run (:func:`~helpers.pipeline.uptodate.decide`); say so."""
        self.decisions = decide_all([item.job for item in self.jobs], self.out, force=force)
        pairs = list(zip(self.jobs, self.decisions, strict=True))
        for i, (item, d) in enumerate(pairs):
            if not d.run:
                self.outcomes[i] = Outcome(item, "skipped", d.reason, d.key)
        running = sum(d.run for d in self.decisions)
        where = _where(self.place.workers, self.place.scheduler)
        self.tee.message(
            f"brief batch {source}: {len(self.jobs)} job(s), {running} to run, "
            f"{len(self.jobs) - running} unchanged; {where}; out {self.out}"
        )
        _log_lines(
            self.log,
            [
                f"{item.label}: {'run' if d.run else 'skip'} ({d.reason}) [{item.source.label}]"
                for item, d in pairs
            ],
        )

    def run(self, *, warm: bool) -> None:
        """Run the jobs that are not up to date; rewrite the index, also when interrupted."""
        to_run = [i for i, d in enumerate(self.decisions) if d.run]
        if to_run:
            jobs = [self.jobs[i].job for i in to_run]
            self.tee.start([(job.name, job.run, job.phases) for job in jobs])
            try:
                self.place.prepare(self.out, jobs, worker_retries=self.worker_retries)
                with self.place.running(len(to_run), self.tee.event, warm=warm) as running:
                    for i, outcome in self._results(running, to_run):
                        self.outcomes[i] = outcome
            except BaseException as exc:
                finished = sum(1 for i in to_run if i in self.outcomes)
                line = (
                    f"stopped after {finished} of {len(to_run)} job(s) to run: {exc}"
                    if isinstance(exc, BriefError)
                    else f"interrupted ({type(exc).__name__}) after {finished} of "
                    f"{len(to_run)} job(s) to run; the running jobs were stopped"
                )
                _log_lines(self.log, [line])
                self.stopped = line
                self._record_stop(exc)
                _write_index(self.out, self.tee, self.base_url)
                raise
        _write_index(self.out, self.tee, self.base_url)

    def _results(self, running: Running, to_run: Sequence[int]) -> Iterator[tuple[int, Outcome]]:
        """Submit the jobs, retry what may be retried, and yield each job's final outcome.

        While the jobs run, the place is asked every ``watch.interval`` seconds whether it
        can still run them (a cluster with no worker left); when it cannot, the jobs not
        done fail with its :class:`~helpers.errors.ClusterError`.
        """
        # The editions of one series run one after another, in date order, so that each is
        # compared with the one before it (helpers.pipeline.series); other jobs in parallel.
        following = _series_chains([(i, self.jobs[i].job) for i in to_run])
        for i in to_run:
            if i not in following.values():
                self._submit(running, i, 1)
        try:
            while self.pending:
                done, _ = wait(
                    list(self.pending),
                    timeout=running.watch.interval,
                    return_when=FIRST_COMPLETED,
                )
                if not done:
                    running.watch.check()
                for future in done:
                    i, attempt, token, clock = self.pending.pop(future)
                    self.tee.finish(token)
                    result = self._result(running, future, (i, attempt, token, clock))
                    if result is None:  # submitted again
                        continue
                    yield i, self._outcome(i, result)
                    if i in following:
                        self._submit(running, following[i], 1)
        except ClusterError as exc:
            for future in self.pending:
                future.cancel()
            self.tee.message(str(exc))
            done = sum(1 for i in to_run if i in self.outcomes)
            self.stopped = (
                f"stopped after {done} of {len(to_run)} job(s) to run: {exc}; "
                "the jobs not done are failed"
            )
            for i in to_run:
                if i not in self.outcomes:
                    yield i, self._outcome(i, self._crashed(self.jobs[i].job, exc, 0.0))
        except BaseException:
            for future in self.pending:
                future.cancel()
            raise

    def _submit(self, running: Running, i: int, attempt: int) -> None:
        token = f"{i}:{attempt}"
        clock = time.monotonic()
        job = self.jobs[i].job
        if running.zygote:
            job = dataclasses.replace(job, zygote=running.zygote)
        delay = random.uniform(*RETRY_DELAY) * (attempt - 1)
        args = (job, token, delay, *running.watch.work_args())
        try:
            future = running.executor.submit(executors.work, *args)
        except Exception as exc:  # a broken pool, a closed client
            future = Future()
            future.set_exception(exc)
        self.pending[future] = (i, attempt, token, clock)

    def _result(
        self, running: Running, future: Future, attempt_of: tuple[int, int, str, float]
    ) -> RunResult | None:
        """An attempt's result; None if the job was submitted again (a kernel that failed to
        start, a worker that died when the job may run again)."""
        i, attempt, token, clock = attempt_of
        job, watch = self.jobs[i].job, running.watch
        try:
            result = future.result()
        except Exception as exc:
            again = self._again_after_death(running, exc, attempt_of)
            if again is True:
                return None
            exc = watch.explain(token, again if isinstance(again, Exception) else exc)
            if isinstance(exc, ClusterError):
                raise exc from None
            result = self._crashed(job, exc, time.monotonic() - clock)
        else:
            refused_by = watch.refusal(result)
            if refused_by is not None and attempt < REFUSED_ATTEMPTS:
                self.tee.message(
                    f"{job.label}: worker {refused_by} cannot use the output folder, so it "
                    "gets no more jobs of this batch; running it again on another worker: "
                    f"{result.error}"
                )
                self.retried.setdefault(i, []).append(
                    f"worker {refused_by} cannot use the output folder"
                )
                self._submit(running, i, attempt + 1)
                return None
            problem = watch.verify(job, result)
            if problem is not None:
                result = self._crashed(job, problem, result.seconds)
            elif result.status == "failed" and result.failed_path is None:
                # Refused on its worker before it ran (a worker that died, one that cannot
                # write --out): kept here, so that the index shows every job tried.
                result = self._archived(job, result)
            if result.error_type != WorkerDied.__name__:
                self.retried.setdefault(i, []).extend(
                    f"worker {worker} died or left" for worker in watch.lost(token)
                )
        if result.error_type == KernelStartError.__name__ and attempt < KERNEL_START_ATTEMPTS:
            self.tee.message(
                f"{job.label}: the kernel failed to start (attempt {attempt} of "
                f"{KERNEL_START_ATTEMPTS}); trying again: {result.error}"
            )
            self.retried.setdefault(i, []).append("kernel failed to start")
            self._submit(running, i, attempt + 1)
            return None
        return result

    def _again_after_death(
        self, running: Running, exc: Exception, attempt_of: tuple[int, int, str, float]
    ) -> bool | WorkerDied | None:
        """For an attempt whose local worker pool broke: True if it was submitted again (its
        pool went down with another worker, or ``--worker-retries`` allows one more), else
        the error saying how its worker died; None if the pool did not break."""
        i, attempt, token, _ = attempt_of
        if not _pool_broke(exc):
            return None
        label = self.jobs[i].job.label
        death = running.watch.death(token)
        if death is None and attempt < POOL_ATTEMPTS:
            # Not this job's worker: another died and took the pool down.
            self.tee.message(
                f"{label}: stopped when another worker died; running it again on a new worker"
            )
            self.requeued[i] = self.requeued.get(i, 0) + 1
            self._submit(running, i, attempt + 1)
            return True
        if death is None:
            return None
        deaths = sum("worker died" in why for why in self.retried.get(i, []))
        if deaths < self.worker_retries:
            self.tee.message(
                f"{label}: its {death}; running it again on a new worker "
                f"({deaths + 1} of --worker-retries {self.worker_retries})"
            )
            self.retried.setdefault(i, []).append(death)
            self._submit(running, i, attempt + 1)
            return True
        return WorkerDied(f"{death} while running {label}")

    def _crashed(self, job: Job, exc: BaseException, seconds: float) -> RunResult:
        """The failure of a job whose worker failed outside it, archived under ``_failed/``
        like any failed job, so that the index shows it."""
        return self._archived(job, executors.crashed(job, exc, seconds))

    def _archived(self, job: Job, result: RunResult) -> RunResult:
        """A failed result, archived under ``_failed/`` by the batch (its worker did not)."""
        from helpers.pipeline import publish

        seconds = result.seconds
        record = {
            "status": "failed",
            "notebook": job.name,
            "run": job.run,
            "phase": result.phase,
            "error": result.error,
            "error_type": result.error_type,
            "exit_code": result.exit_code,
            "parameters": job.parameters,
            "overrides": job.overrides,
            "seconds": round(seconds, 3),
            "created_at": utc_now(),
            "command": job.command,
        }
        text = f"{job.label} failed: {result.error}\n\nreproduce: {job.command}"
        try:
            path = publish.archive_failure(
                self.out, job.name, job.run, executed=None, error_text=text, record=record
            )
        except (OSError, BriefError):
            return result
        return dataclasses.replace(result, failed_path=path)

    def _outcome(self, i: int, result: RunResult) -> Outcome:
        """Report a job's final result; its outcome."""
        job = self.jobs[i].job
        if result.error_type == WorkerDied.__name__ or any(
            "died" in why for why in self.retried.get(i, ())
        ):
            self._remove_dead_work(i)
        for warning in result.warnings:
            self.tee.message(warning)
        if result.status == "unchanged":
            self.tee.done(job.name, job.run, seconds=result.seconds)
        elif result.ok:
            self.tee.done(job.name, job.run, seconds=result.seconds, path=result.path)
        else:
            self.tee.failed(job.name, job.run, phase=result.phase or "?", error=result.error or "")
        _write_index(self.out, self.tee, self.base_url)
        decision = self.decisions[i]
        retried = tuple(self.retried.get(i, ()))
        # A job run again only because another worker took the pool down is not counted.
        attempts = 1 + len(retried)
        if result.status == "unchanged":
            since = ((result.edition or {}).get("since") or {}).get("date", "?")
            reason = f"nothing new since the edition of {since}; not published (--only-changed)"
            return Outcome(self.jobs[i], "skipped", reason, decision.key, attempts, result, retried)
        status = "ran" if result.ok else "failed"
        reason = decision.reason
        if self.requeued.get(i):
            reason += "; run again on a new worker after another worker died"
        return Outcome(self.jobs[i], status, reason, decision.key, attempts, result, retried)

    def _remove_dead_work(self, i: int) -> None:
        """Remove the work folders a dead worker left for job ``i`` (its executed notebook so
        far, its kernel's connection file with ports and HMAC key) now, not at the next run.
        Called with the job's final result, when no attempt of it runs any more; a folder
        whose name another job in flight could share is left to the next run."""
        from helpers.pipeline import publish

        def prefix(k: int) -> str:
            job = self.jobs[k].job
            return publish.staging_prefix(f"{job.name}-{job.run}")

        mine = prefix(i)
        if any(
            prefix(k).startswith(mine) or mine.startswith(prefix(k))
            for k, *_ in (self.pending.values())
            if k != i
        ):
            return
        tmp = self.out / publish.TMP_NAME
        try:
            leftovers = [p for p in tmp.iterdir() if p.name.startswith(mine)]
        except OSError:
            return
        for folder in leftovers:
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
                _log_lines(self.log, [f"removed {folder}, left by a worker that died"])

    def record(self, result: BatchResult, json_path: Path, *, force: bool) -> None:
        """The summary into the log, and each job's result into ``batch-<stamp>.json``."""
        from helpers.pipeline import publish

        _log_lines(self.log, ["summary:", *result.summary().splitlines()])
        record = {
            "plan": result.plan,
            "out_dir": str(self.out),
            "workers": result.workers,
            "scheduler": result.scheduler,
            "force": force,
            "seconds": round(result.seconds, 3),
            "exit_code": result.exit_code,
            "finished_at": utc_now(millis=False),
            "stopped": self.stopped,
            "jobs": [o.record() for o in result.outcomes],
        }
        publish.write_atomic(json_path, json.dumps(record, indent=2, default=str) + "\n")

    def _record_stop(self, exc: BaseException) -> None:
        """``batch-<stamp>.json`` for a batch that stopped before it could finish (the
        cluster refused it, Ctrl-C): each job's outcome so far, the others ``not run``; the
        index reads it to say at its top that the batch stopped."""
        from helpers.pipeline import publish

        if self.json_path is None:
            return
        jobs = []
        for i, item in enumerate(self.jobs):
            if i in self.outcomes:
                jobs.append(self.outcomes[i].record())
                continue
            decision = self.decisions[i] if i < len(self.decisions) else None
            jobs.append(
                {
                    "entry": item.source.label,
                    "notebook": item.job.name,
                    "run": item.job.run,
                    "status": "not run",
                    "reason": decision.reason if decision else "",
                    "parameters": item.job.parameters,
                    "command": item.job.command,
                }
            )
        record = {
            "plan": self.plan,
            "out_dir": str(self.out),
            "workers": self.place.workers,
            "scheduler": self.place.scheduler,
            "exit_code": exc.exit_code if isinstance(exc, BriefError) else 130,
            "finished_at": utc_now(millis=False),
            "stopped": self.stopped,
            "jobs": jobs,
        }
        try:
            publish.write_atomic(self.json_path, json.dumps(record, indent=2, default=str) + "\n")
        except OSError as error:  # the stop is what matters; it is in the log already
            _log_lines(self.log, [f"could not write {self.json_path}: {error}"])


def _pool_broke(exc: BaseException) -> bool:
    """True when a job failed because its worker pool broke (a worker process died)."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(exc, BrokenProcessPool)


def _series_chains(jobs: Sequence[tuple[int, Job]]) -> dict[int, int]:
    """For each job that is followed by a later edition of its series, that edition's index.

    Editions of a series are ordered by the day they end (``end``, else ``as_of``), then by
    plan order; a job with no edition after it is not a key.
    """
    from helpers.pipeline.series import edition_date, series_key

    chains: dict[str, list[tuple[str, int]]] = {}
    for i, job in jobs:
        key = series_key(job.name, job.parameters)
        chains.setdefault(key, []).append((edition_date(job.parameters), i))
    following: dict[int, int] = {}
    for chain in chains.values():
        ordered = [i for _, i in sorted(chain)]
        following.update(itertools.pairwise(ordered))
    return following


def _log_lines(log: IO[str], lines: Sequence[str]) -> None:
    stamp = utc_now(millis=False)
    for line in lines:
        log.write(f"{stamp} {line}\n")
    log.flush()


def _write_index(out: Path, tee: _Tee, base_url: str | None = None) -> None:
    from helpers.pipeline.feeds import update_feeds
    from helpers.pipeline.index import update_index

    # The feeds first: the index links to the folder's feed.
    error = update_feeds(out, base_url=base_url)
    if error is not None:
        tee.failed("feeds", "xml", phase="publish", error=str(error))
    error = update_index(out)
    if error is not None:  # the reports are published; a stale index is no reason to stop
        tee.failed("index", "html", phase="publish", error=str(error))


def _log_paths(out: Path) -> tuple[Path, Path]:
    from helpers.pipeline.publish import check_no_links

    folder = check_no_links(out, Path(out).resolve() / LOGS_NAME)
    folder.mkdir(exist_ok=True)
    stamp = utc_compact()
    name, number = f"batch-{stamp}", 1
    while (folder / f"{name}.log").exists() or (folder / f"{name}.json").exists():
        number += 1
        name = f"batch-{stamp}-{number}"
    return folder / f"{name}.log", folder / f"{name}.json"


class _Tee(Reporter):
    """Sends every event to each reporter, one event at a time; drops late phase events."""

    def __init__(self, *reporters: Reporter) -> None:
        self._reporters = reporters
        self._lock = threading.Lock()
        self._finished: set[str] = set()

    def finish(self, token: str) -> None:
        with self._lock:
            self._finished.add(token)

    def event(self, message: Mapping[str, Any]) -> None:
        """A phase change sent by a worker."""
        with self._lock:
            if message.get("token") in self._finished:
                return  # the result overtook it
            for reporter in self._reporters:
                reporter.phase(message["notebook"], message["run"], message["phase"])

    def start(self, jobs: Sequence[tuple[str, str, Sequence[str]]]) -> None:
        with self._lock:
            for reporter in self._reporters:
                reporter.start(jobs)

    def phase(self, notebook: str, run: str, phase: str) -> None:
        with self._lock:
            for reporter in self._reporters:
                reporter.phase(notebook, run, phase)

    def done(self, notebook: str, run: str, *, seconds: float, path: Path | None = None) -> None:
        with self._lock:
            for reporter in self._reporters:
                reporter.done(notebook, run, seconds=seconds, path=path)

    def failed(self, notebook: str, run: str, *, phase: str, error: str) -> None:
        with self._lock:
            for reporter in self._reporters:
                reporter.failed(notebook, run, phase=phase, error=error)

    def message(self, text: str) -> None:
        with self._lock:
            for reporter in self._reporters:
                reporter.message(text)
