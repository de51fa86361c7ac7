"""Run a plan: each job rendered as ``brief render`` would, in parallel, skipping the unchanged.

:func:`run_plan` is what ``brief batch`` calls, with a :class:`BatchRequest`. In order:

1. :func:`~helpers.batch.prepare.prepare_batch` checks everything before any kernel starts
   (:mod:`helpers.batch.prepare`): the plan, every job's parameters, every data folder the
   jobs use, and builds one :class:`~helpers.pipeline.request.Job` per job.
2. It makes the executor the jobs run on (:func:`make_executor`: the local pool,
   :mod:`helpers.batch.local`, or a Dask cluster, :mod:`helpers.batch.cluster`, behind the
   interface of :mod:`helpers.batch.executors`); with ``scheduler``, that connects to the
   Dask cluster (a bad address touches nothing).
3. It takes the output folder's lock once for the whole batch: a run that overlaps another
   ends at once with :class:`~helpers.errors.LockHeldError` (exit 75), before writing anything,
   not even its log.
4. For each job it decides whether to run or skip (:mod:`helpers.pipeline.uptodate`): a job
   whose notebook, parameters, data, package versions, package code and formats are those of
   its last successful run, and whose outputs are still as that run wrote them, is skipped.
5. The jobs to run go to the executor, each as :func:`helpers.batch.worker.work` (which runs
   :func:`helpers.pipeline.render.render_job`).
   Every job runs its own kernel, in its own empty working folder, so nothing one job sets or
   writes is seen by another. On the local process pool the kernels are forked from a warm
   zygote (:mod:`helpers.kernels`): a new process per job, with the heavy imports done and no
   other job's code ever run in it. A job whose kernel failed to start (two kernels picking
   the same port, say) is tried again, at most
   :data:`~helpers.batch.retries.KERNEL_START_ATTEMPTS` times in all; a job is never tried
   again once a cell has run, unless its worker died and ``--worker-retries`` allows it (one
   :class:`~helpers.batch.retries.RetryPolicy` decides every retry, by the
   :class:`~helpers.pipeline.request.FailureKind` that ended the attempt). A failing job does
   not stop the others.
6. ``index.html`` is rewritten after each job. The log (``<out>/_logs/batch-<stamp>.log``) is
   written as the batch goes, the per-job results (``batch-<stamp>.json``) at the end, and
   the summary is returned as :class:`~helpers.batch.outcomes.BatchResult`.

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
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

from helpers.batch import worker
from helpers.batch.cluster import CONNECT_TIMEOUT, DaskCluster
from helpers.batch.executors import (
    GivenExecutor,
    JobExecutor,
    Running,
    WorkerDied,
    WorkerLost,
    crashed,
    default_workers,
)
from helpers.batch.local import ProcessPool
from helpers.batch.outcomes import BatchResult, DryRun, Outcome, Planned, place_words
from helpers.batch.plan import Plan
from helpers.batch.prepare import BatchJob, BatchRequest, check_request, out_dir, prepare_batch
from helpers.batch.retries import KERNEL_START_ATTEMPTS, RetryPolicy
from helpers.common import utc_compact, utc_now
from helpers.errors import BriefError, ClusterError
from helpers.pipeline import index as index_module
from helpers.pipeline import publish
from helpers.pipeline.feeds import update_feeds
from helpers.pipeline.prepare import warn_unchecked
from helpers.pipeline.progress import PlainReporter, Reporter
from helpers.pipeline.render import warm_kernels_wanted
from helpers.pipeline.request import FailureKind, Job, RunResult
from helpers.pipeline.series import edition_date, series_key
from helpers.pipeline.uptodate import Decision, decide_all
from helpers.signals import sigterm_interrupts

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
    "make_executor",
    "plan_batch",
    "prepare_batch",
    "run_plan",
]


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
    started = time.monotonic()
    request = BatchRequest.of(request, **fields)
    check_request(request)
    reporter = reporter or Reporter()
    jobs = prepare_batch(request)
    out = out_dir(request, jobs)
    place = make_executor(
        request.workers, request.scheduler, executor, connect_timeout=request.connect_timeout
    )
    try:
        with publish.locked(out), sigterm_interrupts():
            log_path, json_path = _log_paths(out)
            with open(log_path, "a", encoding="utf-8") as log:
                publish.prune_stamped(log_path.parent, LOGS_KEEP, prefix="batch-")
                tee = _Tee(reporter, PlainReporter(log, log))
                retries = RetryPolicy(worker_retries=request.worker_retries)
                batch = _Batch(jobs, out, place, tee, log, retries)
                batch.json_path, batch.plan = json_path, request.source
                batch.base_url = request.base_url
                warn_unchecked([item.job for item in jobs], batch.tee)
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


# -- the dry run -------------------------------------------------------------------------------


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
    check_request(request)
    jobs = prepare_batch(request)
    out = out_dir(request, jobs)
    warn_unchecked([item.job for item in jobs], reporter or Reporter())
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


def make_executor(
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | JobExecutor | None = None,
    *,
    connect_timeout: float | None = None,
) -> JobExecutor:
    """The executor a batch asked for: the given one (a :class:`JobExecutor` as it is),
    else a Dask cluster (``scheduler``, waiting up to ``connect_timeout`` seconds for it and
    its workers), else local processes (``workers``, default
    :func:`~helpers.batch.executors.default_workers`).

    Raises
    ------
    UsageError
        The Dask scheduler's address is malformed (one that cannot be reached fails the
        batch later, with :class:`~helpers.errors.ClusterError`, once its log is open).
    """
    if isinstance(executor, JobExecutor):
        return executor
    if executor is not None:
        return GivenExecutor(executor)
    if scheduler is not None:
        return DaskCluster(scheduler, connect_timeout or CONNECT_TIMEOUT)
    return ProcessPool(workers or default_workers())


class _Ending(NamedTuple):
    """How an attempt ended, when it failed: its kind, the error to report if it is not tried
    again, and what the summary says ended it (``worker died, signal 9 (SIGKILL)``)."""

    kind: FailureKind
    error: Exception | None
    why: str | None


@dataclass
class _Batch:
    """A batch while it holds the lock: its jobs, where they run, its log, what became of each."""

    jobs: Sequence[BatchJob]
    out: Path
    place: JobExecutor
    tee: _Tee
    log: IO[str]
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    decisions: list[Decision] = field(default_factory=list)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    #: Jobs run again because another worker died and took the pool down with it.
    requeued: dict[int, int] = field(default_factory=dict)
    #: Per job, what ended each of its attempts before the last, as the summary says it (see
    #: Outcome.retried), with the kind of each.
    retried: dict[int, list[tuple[FailureKind, str]]] = field(default_factory=dict)
    #: Per job, how each attempt the batch submitted again ended: what the retry policy counts.
    tries: dict[int, list[FailureKind]] = field(default_factory=dict)
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
        where = place_words(self.place.workers, self.place.scheduler)
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
                self.place.prepare(self.out, jobs, retries=self.retries)
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
        # The index and feeds are written once more by run_plan, after the batch's record.

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
            future = running.executor.submit(worker.work, *args)
        except Exception as exc:  # a broken pool, a closed client
            future = Future()
            future.set_exception(exc)
        self.pending[future] = (i, attempt, token, clock)

    def _result(
        self, running: Running, future: Future, attempt_of: tuple[int, int, str, float]
    ) -> RunResult | None:
        """An attempt's result; None if the job was submitted again (a kernel that failed to
        start, a worker that died when the job may run again: :class:`RetryPolicy`)."""
        i, attempt, token, clock = attempt_of
        job, watch = self.jobs[i].job, running.watch
        try:
            result = future.result()
        except Exception as exc:
            ending = self._ending(exc, job)
            if ending.kind is FailureKind.WORKER_DIED:
                deaths = sum(k is FailureKind.WORKER_DIED for k in self.tries.get(i, ()))
                told = (
                    f"{job.label}: its {ending.why}; running it again on a new worker "
                    f"({deaths + 1} of --worker-retries {self.retries.worker_retries})"
                )
            else:
                told = (
                    f"{job.label}: stopped when another worker died; running it again on a "
                    "new worker"
                )
            if ending.kind in (FailureKind.WORKER_DIED, FailureKind.WORKER_LOST) and self._again(
                running, attempt_of, ending, told
            ):
                return None
            error = watch.explain(token, ending.error)
            if isinstance(error, ClusterError):
                raise error from None
            result = self._crashed(job, error, time.monotonic() - clock, ending.kind)
        else:
            refused_by = watch.refusal(result)
            if refused_by is not None:
                why = f"worker {refused_by} cannot use the output folder"
                told = (
                    f"{job.label}: worker {refused_by} cannot use the output folder, so it "
                    "gets no more jobs of this batch; running it again on another worker: "
                    f"{result.error}"
                )
                ending = _Ending(FailureKind.REFUSED, None, why)
                if self._again(running, attempt_of, ending, told):
                    return None
            problem = watch.verify(job, result)
            if problem is not None:
                result = self._crashed(job, problem, result.seconds)
            elif result.status == "failed" and result.failed_path is None:
                # Refused on its worker before it ran (a worker that died, one that cannot
                # write --out): kept here, so that the index shows every job tried.
                result = self._archived(job, result)
            if result.kind is not FailureKind.WORKER_DIED:
                self.retried.setdefault(i, []).extend(
                    (FailureKind.WORKER_DIED, f"worker {worker} died or left")
                    for worker in watch.lost(token)
                )
        if result.kind is FailureKind.KERNEL_START:
            told = (
                f"{job.label}: the kernel failed to start (attempt {attempt} of "
                f"{self.retries.kernel_start}); trying again: {result.error}"
            )
            ending = _Ending(FailureKind.KERNEL_START, None, "kernel failed to start")
            if self._again(running, attempt_of, ending, told):
                return None
        return result

    @staticmethod
    def _ending(exc: Exception, job: Job) -> _Ending:
        """How an attempt whose future failed with ``exc`` ended: its worker died (and how),
        it went down with a pool another worker broke, or something else failed it."""
        if isinstance(exc, WorkerLost) and exc.death is not None:
            error = WorkerDied(f"{exc.death} while running {job.label}")
            return _Ending(FailureKind.WORKER_DIED, error, exc.death)
        if isinstance(exc, WorkerLost | BrokenProcessPool):
            return _Ending(FailureKind.WORKER_LOST, exc, None)
        return _Ending(FailureKind.of(exc), exc, None)

    def _again(
        self,
        running: Running,
        attempt_of: tuple[int, int, str, float],
        ending: _Ending,
        told: str,
    ) -> bool:
        """Submit job ``i`` again if the batch's :class:`RetryPolicy` allows one more attempt
        after ``ending``, saying so (``told``); whether it did."""
        i, attempt, _, _ = attempt_of
        ended = [*self.tries.get(i, ()), ending.kind]
        if not self.retries.again(ending.kind, ended):
            return False
        self.tries[i] = ended
        self.tee.message(told)
        if ending.kind is FailureKind.WORKER_LOST:
            # Not this job's worker: another died and took the pool down; not counted.
            self.requeued[i] = self.requeued.get(i, 0) + 1
        else:
            self.retried.setdefault(i, []).append((ending.kind, ending.why or ""))
        self._submit(running, i, attempt + 1)
        return True

    def _crashed(
        self, job: Job, exc: BaseException, seconds: float, kind: FailureKind | None = None
    ) -> RunResult:
        """The failure of a job whose worker failed outside it, archived under ``_failed/``
        like any failed job, so that the index shows it."""
        return self._archived(job, crashed(job, exc, seconds, kind))

    def _archived(self, job: Job, result: RunResult) -> RunResult:
        """A failed result, archived under ``_failed/`` by the batch (its worker did not)."""
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
        if result.kind is FailureKind.WORKER_DIED or any(
            kind is FailureKind.WORKER_DIED for kind, _ in self.retried.get(i, ())
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
        retried = tuple(why for _, why in self.retried.get(i, ()))
        # A job run again only because another worker took the pool down is not counted.
        attempts = 1 + len(retried)
        if result.status == "unchanged":
            since = ((result.edition and result.edition.previous) or {}).get("date", "?")
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


def _series_chains(jobs: Sequence[tuple[int, Job]]) -> dict[int, int]:
    """For each job that is followed by a later edition of its series, that edition's index.

    Editions of a series are ordered by the day they end (``end``, else ``as_of``), then by
    plan order; a job with no edition after it is not a key.
    """
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
    # The feeds first: the index links to the folder's feed.
    error = update_feeds(out, base_url=base_url)
    if error is not None:
        tee.failed("feeds", "xml", phase="publish", error=str(error))
    error = index_module.update_index(out)
    if error is not None:  # the reports are published; a stale index is no reason to stop
        tee.failed("index", "html", phase="publish", error=str(error))


def _log_paths(out: Path) -> tuple[Path, Path]:
    folder = publish.check_no_links(out, Path(out).resolve() / LOGS_NAME)
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
