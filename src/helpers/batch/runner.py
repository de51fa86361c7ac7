"""Run a plan: each job rendered as ``brief render`` would, in parallel, skipping the unchanged.

:func:`run_plan` is what ``brief batch`` calls. In order:

1. :func:`prepare_batch` checks everything before any kernel starts: the plan
   (:mod:`helpers.plan`), every job's parameters, every data folder the jobs use. It builds one
   :class:`~helpers.render.Job` per job with :func:`helpers.render.prepare`, the function
   ``brief render`` uses, and makes sure no two jobs would write to the same run folder.
2. With ``scheduler``, it connects to the Dask cluster (a bad address touches nothing).
3. It takes the output folder's lock once for the whole batch: a run that overlaps another
   ends at once with :class:`~helpers.errors.LockHeldError` (exit 75), before writing anything,
   not even its log.
4. For each job it decides whether to run or skip (:func:`decide`): a job whose notebook,
   parameters, data, package versions, package code and formats are those of its last
   successful run, and whose outputs are still as that run wrote them, is skipped.
5. The jobs to run go to a process pool (``workers`` processes, started with ``spawn``,
   never ``fork``) or to a Dask cluster, each as :func:`helpers.render.render_job`. Every job
   runs its own kernel, in its own empty working folder, so nothing one job sets or writes is
   seen by another. On the local pool the kernels are forked from a warm zygote
   (:mod:`helpers.kernels`) that the batch starts while its workers start: a new process per
   job, with the heavy imports done and no other job's code ever run in it. A job whose
   kernel failed to start (two kernels picking the same port, say) is tried again, at most
   :data:`KERNEL_START_ATTEMPTS` times in all; a job is never tried again once a cell has
   run. A failing job does not stop the others.
6. ``index.html`` is rewritten after each job. The log (``<out>/_logs/batch-<stamp>.log``) is
   written as the batch goes, the per-job results (``batch-<stamp>.json``) at the end, and
   the summary is returned as :class:`BatchResult`.

Stopped by Ctrl-C or SIGTERM, the batch stops its running jobs (each kills its kernel and
removes its work folder), notes it in the log and releases the lock. Killed outright, its
worker processes are told by Linux (``PR_SET_PDEATHSIG``) and do the same, so no kernel or
worker outlives it; what they leave in ``.tmp/`` the next run removes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from helpers import paths
from helpers.batch.plan import Plan, PlanJob, check_parameters, expand, load_plan
from helpers.common import set_parent_death_signal, utc_compact, utc_now
from helpers.errors import ExecutionError, KernelStartError, UsageError
from helpers.pipeline.progress import PlainReporter, Reporter
from helpers.pipeline.render import Job, RunResult, warm_kernels_wanted, warm_zygote

#: Attempts a job gets when its kernel fails to start; never more than one once a cell ran.
KERNEL_START_ATTEMPTS = 3
#: Seconds a retry waits, drawn from this range and multiplied by the retry's number, so that
#: kernels that clashed do not start in step again.
RETRY_DELAY = (0.5, 1.5)
#: The folder under the output folder that holds each batch's log and results.
LOGS_NAME = "_logs"
#: Batch runs whose log and summary are kept in ``_logs/``, newest first.
LOGS_KEEP = 50
#: The Dask event topic workers send progress on.
DASK_TOPIC = "brief-batch-progress"

__all__ = [
    "KERNEL_START_ATTEMPTS",
    "LOGS_NAME",
    "RETRY_DELAY",
    "BatchJob",
    "BatchResult",
    "Decision",
    "Outcome",
    "decide",
    "default_workers",
    "job_inputs",
    "prepare_batch",
    "run_plan",
]


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
class Decision:
    """Whether a job runs, and why (``new``, ``data changed``, ``unchanged since ...``)."""

    run: bool
    reason: str
    key: str = ""


@dataclass(frozen=True)
class Outcome:
    """What became of one job of a batch."""

    job: BatchJob
    status: str  # "ran", "skipped" or "failed"
    reason: str
    key: str
    attempts: int = 0
    result: RunResult | None = None

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
        retries = self.attempts - 1
        tail = f", kernel start retried {retries}x" if retries > 0 else ""
        if self.status == "ran" and result is not None:
            return f"ran ({self.reason}) in {result.seconds:.1f} s{tail}"
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
            "seconds": round(result.seconds, 3) if result else None,
            "exit_code": self.exit_code,
            "error": result.error if result and not result.ok else None,
            "path": str(job.out_dir / job.name / job.run),
            "failed_path": str(result.failed_path) if result and result.failed_path else None,
            "parameters": job.parameters,
            "overrides": job.overrides,
            "command": job.command,
        }


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
        """0, or the exit code of the first job that failed, in plan order (5 or 6)."""
        return self.failed[0].exit_code if self.failed else 0

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


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def prepare_batch(
    plan: Plan | Path | str,
    *,
    out_dir: Path | str | None = None,
    data_dir: Path | str | None = None,
) -> list[BatchJob]:
    """Check a plan and everything its jobs need, and build the jobs; nothing is written.

    Parameters
    ----------
    plan
        A plan file, or a :class:`~helpers.plan.Plan` already read.
    out_dir
        The output folder. Default: ``reports/``.
    data_dir
        The data folder for every job (``--data``). Default: the package's ``data/``.

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
    from helpers.pipeline import publish, render

    plan = plan if isinstance(plan, Plan) else load_plan(plan)
    sources = expand(plan)
    check_parameters(sources)

    jobs: list[BatchJob] = []
    problems: list[str] = []
    for source in sources:
        try:
            [job] = render.prepare(
                [source.notebook],
                parameters=source.given,
                formats=plan.formats,
                data_dir=data_dir,
                out_dir=out_dir,
                timeout=plan.timeout,
                check_data=False,
            )
        except UsageError as exc:
            problems.append(f"{source.label}: {exc}")
            continue
        jobs.append(BatchJob(source, dataclasses.replace(job, private_cwd=True)))
    if problems:
        raise UsageError(f"plan {plan.source}:\n  " + "\n  ".join(problems))

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
    if problems:
        raise UsageError(f"plan {plan.source}:\n  " + "\n  ".join(problems))

    for folder in dict.fromkeys(item.job.data_dir for item in jobs):
        ensure_valid(folder)
    return jobs


# -- skip or run -------------------------------------------------------------------------------


def job_inputs(
    job: Job,
    *,
    packages: Mapping[str, str | None] | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """Everything a job's outputs depend on, as its manifest records it.

    Parameters
    ----------
    job
        The job.
    packages, code
        :func:`~helpers.manifest.package_versions` and
        :func:`~helpers.manifest.code_fingerprint`, if already computed.

    Returns
    -------
    dict
        ``notebook_sha256``, ``parameters``, ``data_fingerprint``, ``packages``,
        ``code_sha256`` and ``formats``. The job's key is the sha256 of its canonical JSON.
    """
    from helpers.pipeline.manifest import (
        canonical_json,
        code_fingerprint,
        package_versions,
        sha256_file,
    )

    return {
        "notebook_sha256": sha256_file(job.notebook),
        "parameters": json.loads(canonical_json(job.parameters)),
        "data_fingerprint": job.data_fingerprint,
        "packages": dict(packages if packages is not None else package_versions()),
        "code_sha256": code if code is not None else code_fingerprint(),
        "formats": sorted(job.formats),
    }


def _manifest_inputs(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "notebook_sha256": manifest.get("notebook_sha256"),
        "parameters": manifest.get("parameters"),
        "data_fingerprint": (manifest.get("data") or {}).get("fingerprint"),
        "packages": manifest.get("packages"),
        "code_sha256": manifest.get("code_sha256"),
        "formats": sorted(manifest.get("formats") or []),
    }


def _key(inputs: Mapping[str, Any]) -> str:
    from helpers.pipeline.manifest import canonical_json

    return hashlib.sha256(canonical_json(dict(inputs)).encode()).hexdigest()


def _changes(now: Mapping[str, Any], then: Mapping[str, Any]) -> list[str]:
    reasons = []
    if now["notebook_sha256"] != then["notebook_sha256"]:
        reasons.append("notebook changed")
    if now["parameters"] != then["parameters"]:
        old = then["parameters"] if isinstance(then["parameters"], dict) else {}
        names = sorted(
            k for k in {*now["parameters"], *old} if now["parameters"].get(k) != old.get(k)
        )
        reasons.append(f"parameters changed: {', '.join(names)}")
    if now["data_fingerprint"] != then["data_fingerprint"]:
        reasons.append("data changed")
    if now["packages"] != then["packages"]:
        old = then["packages"] if isinstance(then["packages"], dict) else {}
        names = sorted(k for k in {*now["packages"], *old} if now["packages"].get(k) != old.get(k))
        reasons.append(f"package version changed: {', '.join(names)}")
    if now["code_sha256"] != then["code_sha256"]:
        reasons.append("package code changed")
    if now["formats"] != then["formats"]:
        reasons.append("formats changed")
    return reasons


def decide(
    job: Job,
    inputs: Mapping[str, Any],
    last: Mapping[str, Any] | None,
    *,
    force: bool = False,
) -> Decision:
    """Whether a job must run, comparing its inputs with its run folder's last attempt.

    Parameters
    ----------
    job
        The job.
    inputs
        From :func:`job_inputs`.
    last
        The run's row from :func:`helpers.publish.list_runs`, or ``None`` if it never ran.
    force
        Run whatever the record says.

    Returns
    -------
    Decision
        To run: ``--force``, ``new``, ``previous run failed``, what changed
        (``notebook changed``, ``parameters changed: as_of``, ``data changed``,
        ``package version changed: pandas``, ``package code changed``, ``formats changed``),
        or ``outputs missing or changed: brief.pdf``. To skip: ``unchanged since <time>``.
    """
    from helpers.pipeline.manifest import sha256_file
    from helpers.pipeline.publish import run_path

    key = _key(inputs)
    if force:
        return Decision(True, "--force", key)
    if last is None:
        return Decision(True, "new", key)
    if last.get("status") == "failed":
        return Decision(True, "previous run failed", key)
    manifest = last.get("manifest") or {}
    reasons = _changes(inputs, _manifest_inputs(manifest))
    if reasons:
        return Decision(True, ", ".join(reasons), key)
    folder = run_path(job.out_dir, job.name, job.run)
    for name, entry in (manifest.get("outputs") or {}).items():
        path = folder / name
        try:
            intact = path.is_file() and sha256_file(path) == entry.get("sha256")
        except OSError:
            intact = False
        if not intact:
            return Decision(True, f"outputs missing or changed: {name}", key)
    return Decision(False, f"unchanged since {manifest.get('created_at', '?')}", key)


# -- in the worker -----------------------------------------------------------------------------

# In the local pool's worker processes: the queue for phase changes, the event that says the
# batch is stopping, and whether a job is running.
_EVENTS: Any = None
_STOP: Any = None
_RUNNING = False
_STOPPING = False
_PARENT = 0


def _init_worker(events: Any, stop: Any) -> None:
    global _EVENTS, _STOP, _PARENT
    _EVENTS, _STOP, _PARENT = events, stop, os.getppid()
    # papermill logs kernel deaths and timeouts itself; the job's error says it better.
    logging.getLogger("papermill").addHandler(logging.NullHandler())
    # The batch process decides when to stop: Ctrl-C reaches it alone, and it sends SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_job)
    _die_with_parent()


def _stop_job(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: unwind the running job, so its kernel is killed and its folder
    removed (:func:`helpers.execute.execute_notebook` and :func:`render_job` clean up)."""
    global _STOPPING
    if _STOPPING:
        return  # already unwinding: let the job finish cleaning up
    _STOPPING = True  # and no job starts here any more, even if the batch process is gone
    if not _RUNNING:
        os._exit(0)
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """On Linux, have the kernel send this worker SIGTERM if the batch process dies."""
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() == 1:  # it died before the call
        os.kill(os.getpid(), signal.SIGTERM)


class _Forward(Reporter):
    """Sends a job's phase changes to the batch process; done and failed come with the result."""

    def __init__(self, send: Callable[[dict[str, Any]], None], token: str) -> None:
        self._send = send
        self._token = token

    def phase(self, notebook: str, run: str, phase: str) -> None:
        with contextlib.suppress(Exception):  # progress must never fail a job
            self._send({"token": self._token, "notebook": notebook, "run": run, "phase": phase})


def _worker_reporter(token: str) -> Reporter:
    if _EVENTS is not None:
        return _Forward(_EVENTS.put, token)
    if "distributed" in sys.modules:
        from distributed import get_worker

        try:
            worker = get_worker()
        except ValueError:
            return Reporter()
        return _Forward(lambda msg: worker.log_event(DASK_TOPIC, msg), token)
    return Reporter()


def _preload() -> None:
    """In a new worker, while the zygote starts: import what :func:`_work` will need."""
    from helpers.pipeline.render import preload

    with contextlib.suppress(Exception):  # the job itself will report a failing import
        preload()


def _work(job: Job, attempt: int, token: str) -> RunResult:
    """Run one job in a worker; a retry waits a little, so kernels do not start in step again."""
    global _RUNNING
    from helpers.pipeline import render

    if _STOPPING or (_STOP is not None and _STOP.is_set()):  # queued before an interrupt
        return _crashed(job, KeyboardInterrupt("the batch was interrupted"), 0.0)
    _RUNNING = True
    try:
        if attempt > 1:
            time.sleep(random.uniform(*RETRY_DELAY) * (attempt - 1))
        return render.render_job(job, _worker_reporter(token))
    finally:
        _RUNNING = False
        if _STOPPING and os.getppid() != _PARENT:
            os._exit(1)  # the job has cleaned up; with its batch gone, nothing else will come


# -- in the batch process ----------------------------------------------------------------------


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


def _stamp() -> str:
    return utc_compact()


def _log_paths(out: Path) -> tuple[Path, Path]:
    folder = out / LOGS_NAME
    folder.mkdir(exist_ok=True)
    stamp = _stamp()
    name, number = f"batch-{stamp}", 1
    while (folder / f"{name}.log").exists() or (folder / f"{name}.json").exists():
        number += 1
        name = f"batch-{stamp}-{number}"
    return folder / f"{name}.log", folder / f"{name}.json"


def _crashed(job: Job, exc: BaseException, seconds: float) -> RunResult:
    """A job whose worker failed outside :func:`render_job` (a killed process, a lost worker)."""
    return RunResult(
        notebook=job.name,
        run=job.run,
        status="failed",
        seconds=seconds,
        phase="execute",
        error=f"the worker running {job.label} failed: {type(exc).__name__}: {exc}",
        error_type=ExecutionError.__name__,
        exit_code=ExecutionError.exit_code,
    )


@contextlib.contextmanager
def _local_pool(workers: int, tee: _Tee) -> Iterator[Executor]:
    """A process pool whose workers send phase changes back through a queue."""
    from concurrent.futures import ProcessPoolExecutor

    # Not "fork": this process may have threads, and a forked copy of them can deadlock. Not
    # "forkserver" either: its server keeps the environment it started with, so a worker
    # would miss a variable (JUPYTER_PATH, say) set since. "spawn" costs ~1 s per worker.
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    stop = context.Event()

    def pump() -> None:
        while (message := events.get()) is not None:
            tee.event(message)

    reader = threading.Thread(target=pump, name="brief-batch-progress", daemon=True)
    reader.start()
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(events, stop)
    )
    try:
        yield pool
    except BaseException:
        # Interrupted: jobs still queued return at once, running ones unwind and clean up.
        # The pool has no public way to reach its processes before Python 3.14.
        stop.set()
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        events.put(None)
        reader.join(timeout=10)
        events.close()
        events.join_thread()


@contextlib.contextmanager
def _dask_pool(client: Any, tee: _Tee) -> Iterator[Executor]:
    """The Dask cluster as an executor; workers send phase changes as Dask events."""
    client.subscribe_topic(DASK_TOPIC, lambda event: tee.event(event[1]))
    executor = client.get_executor(pure=False)
    try:
        yield executor
    except BaseException:
        # Interrupted: Dask forgets the jobs not started; one a worker thread is running
        # cannot be stopped from here and finishes on its own.
        executor.shutdown(wait=False)
        raise
    finally:
        executor.shutdown(wait=True)  # returns at once after the above
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(DASK_TOPIC)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """While the batch runs, SIGTERM (``kill``, ``systemctl stop``) acts as Ctrl-C does.

    The batch then stops its running jobs, so their kernels end, and releases its lock,
    instead of leaving its workers to publish without it. A handler the program installed
    itself is left alone.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot use the Dask scheduler at {address!r}: {exc}") from None


def run_plan(
    plan: Plan | Path | str,
    *,
    workers: int | None = None,
    out_dir: Path | str | None = None,
    data_dir: Path | str | None = None,
    force: bool = False,
    scheduler: str | None = None,
    reporter: Reporter | None = None,
    executor: Executor | None = None,
    warm_kernels: bool | None = None,
) -> BatchResult:
    """Render every job of a plan that is not up to date; see the module's description.

    Parameters
    ----------
    plan
        A plan file (YAML, see ``docs/plans.md``) or a :class:`~helpers.plan.Plan`.
    workers
        Jobs run at once on this machine. Default: :func:`default_workers`.
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
    reporter
        Receives progress; the log file receives it too. Default: none.
    executor
        Any :class:`concurrent.futures.Executor` to run the jobs on instead (it is not shut
        down); its workers must be able to import this package.
    warm_kernels
        On the local process pool, fork each job's kernel from a warm zygote that the batch
        starts once, and only if a job is to run (:mod:`helpers.kernels`): every job still
        gets a new kernel process in which no other job's code has run. Default: yes, unless
        ``$BRIEF_WARM_KERNELS`` is ``0`` (:func:`helpers.render.warm_kernels_wanted`). Jobs on
        a Dask cluster or a given executor start their kernels normally.

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
    if workers is not None and workers < 1:
        raise UsageError(f"workers must be at least 1, not {workers}")
    if workers is not None and scheduler is not None:
        raise UsageError("give workers (--workers) or a scheduler (--scheduler), not both")
    reporter = reporter or Reporter()
    jobs = prepare_batch(plan, out_dir=out_dir, data_dir=data_dir)
    source = plan.source if isinstance(plan, Plan) else str(plan)
    out = jobs[0].job.out_dir if jobs else Path(out_dir or paths.REPORTS_DIR).resolve()
    client = _connect(scheduler) if scheduler is not None and executor is None else None
    try:
        with publish.locked(out), _sigterm_interrupts():
            return _run_locked(
                jobs,
                out=out,
                source=source,
                workers=None if scheduler or executor else (workers or default_workers()),
                scheduler=scheduler,
                force=force,
                reporter=reporter,
                executor=executor,
                client=client,
                started=started,
                warm=warm_kernels_wanted(warm_kernels),
            )
    finally:
        if client is not None:
            client.close()


def _run_locked(
    jobs: list[BatchJob],
    *,
    out: Path,
    source: str,
    workers: int | None,
    scheduler: str | None,
    force: bool,
    reporter: Reporter,
    executor: Executor | None,
    client: Any,
    started: float,
    warm: bool = False,
) -> BatchResult:
    from helpers.pipeline import publish
    from helpers.pipeline.manifest import code_fingerprint, package_versions

    log_path, json_path = _log_paths(out)
    with open(log_path, "a", encoding="utf-8") as log:
        publish.prune_stamped(log_path.parent, LOGS_KEEP, prefix="batch-")
        tee = _Tee(reporter, PlainReporter(log, log))
        packages, code = package_versions(), code_fingerprint()
        last = {(row["notebook"], row["run"]): row for row in publish.list_runs(out)}
        decisions = [
            decide(
                item.job,
                job_inputs(item.job, packages=packages, code=code),
                last.get((item.job.name, item.job.run)),
                force=force,
            )
            for item in jobs
        ]
        to_run = [i for i, d in enumerate(decisions) if d.run]
        where = _where(workers, scheduler)
        tee.message(
            f"brief batch {source}: {len(jobs)} job(s), {len(to_run)} to run, "
            f"{len(jobs) - len(to_run)} unchanged; {where}; out {out}"
        )
        _log_lines(
            log,
            [
                f"{item.label}: {'run' if d.run else 'skip'} ({d.reason}) [{item.source.label}]"
                for item, d in zip(jobs, decisions, strict=True)
            ],
        )

        outcomes: dict[int, Outcome] = {
            i: Outcome(item, "skipped", d.reason, d.key)
            for i, (item, d) in enumerate(zip(jobs, decisions, strict=True))
            if not d.run
        }
        if to_run:
            tee.start([(jobs[i].job.name, jobs[i].job.run, jobs[i].job.phases) for i in to_run])
            local = executor is None and client is None
            size = min(workers or 1, len(to_run))
            if executor is not None:
                pool: contextlib.AbstractContextManager[Executor] = contextlib.nullcontext(executor)
            elif client is not None:
                pool = _dask_pool(client, tee)
            else:
                pool = _local_pool(size, tee)
            try:
                # The zygote imports while the workers start and import; it outlives the pool.
                with warm_zygote(warm and local) as zygote, pool as running:
                    address = None
                    if warm and local:
                        for _ in range(size):
                            running.submit(_preload)
                        address = zygote()
                    for i, outcome in _run_jobs(
                        running, jobs, decisions, to_run, tee, out, zygote=address
                    ):
                        outcomes[i] = outcome
            except BaseException as exc:
                finished = sum(1 for i in to_run if i in outcomes)
                _log_lines(
                    log,
                    [
                        f"interrupted ({type(exc).__name__}) after {finished} of "
                        f"{len(to_run)} job(s) to run; the running jobs were stopped"
                    ],
                )
                _write_index(out, tee)
                raise
        _write_index(out, tee)

        result = BatchResult(
            plan=source,
            out_dir=out,
            outcomes=tuple(outcomes[i] for i in range(len(jobs))),
            seconds=time.monotonic() - started,
            log_path=log_path,
            json_path=json_path,
            workers=workers,
            scheduler=scheduler,
        )
        _log_lines(log, ["summary:", *result.summary().splitlines()])
        record = {
            "plan": source,
            "out_dir": str(out),
            "workers": workers,
            "scheduler": scheduler,
            "force": force,
            "seconds": round(result.seconds, 3),
            "exit_code": result.exit_code,
            "finished_at": utc_now(millis=False),
            "jobs": [o.record() for o in result.outcomes],
        }
        publish.write_atomic(json_path, json.dumps(record, indent=2, default=str) + "\n")
    return result


def _log_lines(log: IO[str], lines: Sequence[str]) -> None:
    stamp = utc_now(millis=False)
    for line in lines:
        log.write(f"{stamp} {line}\n")
    log.flush()


def _write_index(out: Path, tee: _Tee) -> None:
    from helpers.pipeline import publish

    try:
        publish.write_index(out)
    except OSError as exc:  # the reports are published; a stale index is no reason to stop
        tee.failed("index", "html", phase="publish", error=f"could not write the index: {exc}")


def _run_jobs(
    pool: Executor,
    jobs: Sequence[BatchJob],
    decisions: Sequence[Decision],
    to_run: Sequence[int],
    tee: _Tee,
    out: Path,
    *,
    zygote: str | None = None,
) -> Iterator[tuple[int, Outcome]]:
    """Submit the jobs, retry kernel-start failures, and yield each job's final outcome.

    ``zygote`` is the address of the warm zygote the jobs' kernels fork from, if any.
    """
    pending: dict[Future, tuple[int, int, str, float]] = {}

    def submit(i: int, attempt: int) -> None:
        token = f"{i}:{attempt}"
        clock = time.monotonic()
        job = dataclasses.replace(jobs[i].job, zygote=zygote) if zygote else jobs[i].job
        try:
            future = pool.submit(_work, job, attempt, token)
        except Exception as exc:  # a broken pool, a closed client
            future = Future()
            future.set_exception(exc)
        pending[future] = (i, attempt, token, clock)

    for i in to_run:
        submit(i, 1)
    try:
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                i, attempt, token, clock = pending.pop(future)
                tee.finish(token)
                job = jobs[i].job
                try:
                    result = future.result()
                except Exception as exc:
                    result = _crashed(job, exc, time.monotonic() - clock)
                if (
                    result.error_type == KernelStartError.__name__
                    and attempt < KERNEL_START_ATTEMPTS
                ):
                    tee.message(
                        f"{job.label}: the kernel failed to start (attempt {attempt} of "
                        f"{KERNEL_START_ATTEMPTS}); trying again: {result.error}"
                    )
                    submit(i, attempt + 1)
                    continue
                if result.ok:
                    tee.done(job.name, job.run, seconds=result.seconds, path=result.path)
                    status = "ran"
                else:
                    tee.failed(
                        job.name, job.run, phase=result.phase or "?", error=result.error or ""
                    )
                    status = "failed"
                _write_index(out, tee)
                decision = decisions[i]
                yield i, Outcome(jobs[i], status, decision.reason, decision.key, attempt, result)
    except BaseException:
        for future in pending:
            future.cancel()
        raise
