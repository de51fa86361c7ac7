"""Where a batch's jobs run: one small interface, and the places that implement it.

The runner (:mod:`helpers.batch.runner`) sees only :class:`JobExecutor`: for one batch,
:meth:`~JobExecutor.running` opens a :class:`concurrent.futures.Executor` to submit
:func:`work` to, sends the phase changes workers report to a callback, and says which warm
zygote the kernels fork from, if any. :func:`make_executor` picks the place:

* :class:`ProcessPool`: ``workers`` processes on this machine, started with ``spawn``, never
  ``fork``. Phase changes come back through a queue. Kernels are forked from a warm zygote
  (:func:`~helpers.pipeline.render.warm_zygote`) that starts while the workers start.
  Interrupted, it stops its workers' jobs; killed outright, its workers are told by Linux
  (``PR_SET_PDEATHSIG``) and stop too.
* :class:`~helpers.batch.cluster.DaskCluster` (:mod:`helpers.batch.cluster`): a Dask
  distributed scheduler's workers; it checks before the first job that they see what the
  batch sees, and every result after.
* :class:`GivenExecutor`: any executor the caller owns (tests use a thread pool).

The worker side is here too: :func:`work` runs one job where it was sent, and :func:`crashed`
is the result of a job whose worker failed outside it.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, NamedTuple

from helpers import paths
from helpers.errors import BriefError, ExecutionError
from helpers.pipeline.progress import Reporter
from helpers.pipeline.render import Job, RunResult, warm_zygote
from helpers.signals import interrupt, set_parent_death_signal

#: The Dask event topic workers send progress on.
DASK_TOPIC = "brief-batch-progress"
#: The message a local worker sends when an attempt begins on it, with its pid.
STARTED = "started"
#: Seconds an interrupted batch gives its workers to stop their jobs (kill the kernel, remove
#: the work folder) before it kills them.
STOP_GRACE = 30.0

__all__ = [
    "DASK_TOPIC",
    "GivenExecutor",
    "JobExecutor",
    "ProcessPool",
    "Running",
    "Watch",
    "WorkerDied",
    "WorkerStartError",
    "check_workers_can_start",
    "crashed",
    "default_workers",
    "make_executor",
    "work",
]

#: Receives each phase change a worker reports: ``{"token", "notebook", "run", "phase"}``.
OnEvent = Callable[[Mapping[str, Any]], None]


# -- the interface -----------------------------------------------------------------------------


class Watch:
    """What the runner asks the place its jobs run about them while they run. By default,
    nothing is wrong: a local pool says how its workers died, a cluster checks far more
    (:class:`~helpers.batch.cluster.ClusterWatch`)."""

    #: Seconds between calls to :meth:`check` while jobs run; None: never called.
    interval: float | None = None

    def death(self, token: str) -> str | None:
        """For an attempt whose future failed because its worker process was lost, how that
        worker died (``"worker died, signal 9 (SIGKILL)"``) if it was the one running the
        attempt; None if the attempt only went down with a pool another worker broke (it can
        run again: the executor starts new workers on the next submit)."""
        return None

    def work_args(self) -> tuple[Any, ...]:
        """Extra arguments :func:`work` gets on this place, after ``job, token, delay``."""
        return ()

    def explain(self, token: str, exc: Exception) -> Exception:
        """The error to report for an attempt whose future failed with ``exc``."""
        return exc

    def refusal(self, result: RunResult) -> str | None:
        """The worker that refused ``result``'s job before any of it ran, because it cannot
        run the batch's jobs (a cluster worker that does not see ``--out``), so that the job
        runs again elsewhere; None for any other result."""
        return None

    def lost(self, token: str) -> list[str]:
        """The workers that started attempt ``token`` before the one that finished it, and
        died or left (a cluster runs a lost worker's job again; see :func:`work`)."""
        return []

    def verify(self, job: Job, result: RunResult) -> BriefError | None:
        """Why a result cannot be counted (the run it reports is not here), or None."""
        return None

    def check(self) -> None:
        """Raise :class:`~helpers.errors.ClusterError` when no job can run any more."""


class Running(NamedTuple):
    """An executor open for one batch, the zygote address its jobs' kernels fork from, and
    the :class:`Watch` the runner asks about what happens to the jobs."""

    executor: Executor
    zygote: str | None = None
    watch: Watch = Watch()


class JobExecutor(abc.ABC):
    """Where a batch's jobs run.

    ``workers`` (local processes) and ``scheduler`` (a Dask address) say where, for the
    summary; both are ``None`` for an executor the caller gave.
    """

    workers: int | None = None
    scheduler: str | None = None

    def prepare(self, out: Path, jobs: Sequence[Job], *, worker_retries: int) -> None:  # noqa: B027
        """Before the first job is submitted: check that the jobs can run where they will,
        and that what they publish into ``out`` will be seen here. ``worker_retries``: how
        often a job whose worker died runs again where the executor reruns jobs itself."""

    @abc.abstractmethod
    def running(
        self, jobs: int, on_event: OnEvent, *, warm: bool
    ) -> contextlib.AbstractContextManager[Running]:
        """Open for ``jobs`` jobs until the block ends; an exception in the block (Ctrl-C)
        stops what can be stopped before it goes on. ``warm``: fork kernels from a warm
        zygote where this executor can."""

    def close(self) -> None:  # noqa: B027 (most executors hold nothing)
        """Let go of what was taken when this executor was made (a connection)."""


class ProcessPool(JobExecutor):
    """``workers`` local worker processes, kernels forked from a warm zygote if wanted."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    @contextlib.contextmanager
    def running(self, jobs: int, on_event: OnEvent, *, warm: bool) -> Iterator[Running]:
        size = min(self.workers or 1, jobs)
        # The zygote imports while the workers start and import; it outlives the pool.
        check_workers_can_start()
        with warm_zygote(warm) as zygote, _local_pool(size, on_event) as pool:
            address = None
            if warm:
                for _ in range(size):
                    pool.submit(_preload)
                address = zygote()
            yield Running(pool, address, _LocalWatch(pool))


class GivenExecutor(JobExecutor):
    """An executor the caller owns: used as it is, and not shut down."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    @contextlib.contextmanager
    def running(self, jobs: int, on_event: OnEvent, *, warm: bool) -> Iterator[Running]:
        yield Running(self._executor)


def make_executor(
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | JobExecutor | None = None,
    *,
    connect_timeout: float | None = None,
) -> JobExecutor:
    """The executor a batch asked for: the given one (a :class:`JobExecutor` as it is),
    else a Dask cluster (``scheduler``, waiting up to ``connect_timeout`` seconds for it and
    its workers), else local processes (``workers``, default :func:`default_workers`).

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
        from helpers.batch.cluster import CONNECT_TIMEOUT, DaskCluster

        return DaskCluster(scheduler, connect_timeout or CONNECT_TIMEOUT)
    return ProcessPool(workers or default_workers())


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# -- the places ------------------------------------------------------------------------------


class _HealingPool(Executor):
    """A process pool that starts new workers when one of its workers dies.

    When a worker process dies (killed by the OOM killer, say), :mod:`concurrent.futures`
    breaks the whole pool: every unfinished job fails with ``BrokenProcessPool``, also those
    queued and those running on healthy workers (which it stops). This pool remembers which
    worker process each attempt started on (a ``started`` message with its pid) and those
    processes, so that :meth:`death` can tell the job whose worker died from the ones that
    only went down with the pool; the next :meth:`submit` after a break starts a new pool.
    """

    def __init__(self, workers: int, context: Any, events: Any, stop: Any) -> None:
        self._args = (workers, context, events, stop)
        self._lock = threading.Lock()
        self._pool = self._new()
        self._pids: dict[str, int] = {}  # attempt token -> worker pid
        self._processes: dict[int, Any] = {}  # worker pid -> its multiprocessing Process

    def _new(self) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        workers, context, events, stop = self._args
        # The workers log at the batch's level (brief batch -v): papermill's lines included.
        level = logging.getLogger("helpers").level
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(events, stop, level),
        )

    def started(self, token: str, pid: int) -> None:
        """An attempt began on worker ``pid`` (from the worker's ``started`` message)."""
        with self._lock:
            self._pids[token] = pid
            # The pool has no public way to reach its processes before Python 3.14.
            for process in list(getattr(self._pool, "_processes", {}).values()):
                if process.pid is not None:
                    self._processes.setdefault(process.pid, process)

    def death(self, token: str) -> str | None:
        """How the worker running ``token`` died, if it died of something other than the
        pool stopping it (SIGTERM); None otherwise."""
        with self._lock:
            process = self._processes.get(self._pids.get(token, -1))
        if process is None:
            return None
        # The pool's own thread reaps its dead workers too; when it does first, this thread's
        # wait finds no child and reads no exit code, until that thread has stored it.
        deadline = time.monotonic() + 5
        process.join(timeout=5)
        while (code := process.exitcode) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if code is None or code == -signal.SIGTERM or code == 0:
            return None
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else "?"
            return f"worker died, signal {-code} ({name})"
        return f"worker died, exit code {code}"

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if getattr(self._pool, "_broken", False):
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new()
            pool = self._pool
        return pool.submit(fn, *args, **kwargs)

    def processes(self) -> list[Any]:
        return list(getattr(self._pool, "_processes", {}).values())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class _LocalWatch(Watch):
    """A local pool's watch: which job's worker died, and how."""

    def __init__(self, pool: _HealingPool) -> None:
        self._pool = pool

    def death(self, token: str) -> str | None:
        return self._pool.death(token)


def _worker_executable() -> str:
    """The Python the local pool's worker processes are started with (``spawn``)."""
    from multiprocessing import spawn

    executable = spawn.get_executable()
    return os.fsdecode(executable)


def check_workers_can_start() -> None:
    """Refuse, before any worker starts, a Python the worker processes could not be started
    with: a service user who may not run the virtualenv's Python (one under a root-only
    home), say, which ``brief batch`` would otherwise find out job by job.

    Raises
    ------
    WorkerStartError
        Naming the program, the user and what to do (exit 5).
    """
    executable = _worker_executable()
    if os.path.isfile(executable) and os.access(executable, os.X_OK):
        problem = _start_problem(executable)  # ~0.1 s: a Python that starts and finds us
        if problem is not None:
            raise WorkerStartError(f"the batch's worker processes cannot start: {problem}")
        return
    real = os.path.realpath(executable)
    where = f" (that is {real})" if real != executable else ""
    raise WorkerStartError(
        f"the batch's worker processes cannot start: {executable}{where} "
        f"{'cannot be run' if os.path.exists(real) else 'is not there, or cannot be reached'} "
        f"by this user ({_user()}). {_START_ADVICE}"
    )


_START_ADVICE = (
    "Run brief as a user who may run the virtualenv's Python, or build the virtualenv as this "
    f"user ({paths.doc('README.md', 'Opening the notebooks in JupyterLab')}: not as root)"
)


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _start_problem(executable: str) -> str | None:
    """Why ``executable`` cannot run a worker (its own last words when it imports the
    package, with its exit status), or None if it can."""
    import subprocess

    try:
        done = subprocess.run(
            [executable, "-c", "import helpers.errors"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{executable} cannot be started by this user ({_user()}): {exc}. {_START_ADVICE}"
    said = [line for line in done.stderr.splitlines() if line.strip()]
    last = f": {said[-1].strip()}" if said else ""
    status = (
        f"exit code {done.returncode}" if done.returncode >= 0 else f"signal {-done.returncode}"
    )
    if done.returncode == 0:
        return None
    return f"{executable} -c 'import helpers' ends with {status}{last}. {_START_ADVICE}"


def _stop_all(processes: list[Any]) -> None:
    """SIGTERM each worker; kill those still there after :data:`STOP_GRACE` seconds, so that
    an interrupted batch always ends, whatever a worker got stuck on."""
    from multiprocessing.connection import wait as wait_for

    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    left = {process.sentinel: process for process in processes}
    deadline = time.monotonic() + STOP_GRACE
    while left and (seconds := deadline - time.monotonic()) > 0:
        for sentinel in wait_for(list(left), timeout=seconds):
            left.pop(sentinel)
    for process in left.values():
        with contextlib.suppress(Exception):
            process.kill()


@contextlib.contextmanager
def _local_pool(workers: int, on_event: OnEvent) -> Iterator[_HealingPool]:
    """A process pool whose workers send phase changes back through a queue, and that starts
    new workers when one dies (:class:`_HealingPool`)."""
    # Not "fork": this process may have threads, and a forked copy of them can deadlock. Not
    # "forkserver" either: its server keeps the environment it started with, so a worker
    # would miss a variable (JUPYTER_PATH, say) set since. "spawn" costs ~1 s per worker.
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    stop = context.Event()
    pool = _HealingPool(workers, context, events, stop)

    def pump() -> None:
        while (message := events.get()) is not None:
            if message.get("phase") == STARTED:
                pool.started(message["token"], message["pid"])
            else:
                on_event(message)

    reader = threading.Thread(target=pump, name="brief-batch-progress", daemon=True)
    reader.start()
    try:
        yield pool
    except BaseException:
        # Interrupted: jobs still queued return at once, running ones unwind and clean up.
        stop.set()
        _stop_all(pool.processes())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        events.put(None)
        reader.join(timeout=10)
        events.close()
        events.join_thread()


# -- in the worker -----------------------------------------------------------------------------

# In the local pool's worker processes: the queue for phase changes, the event that says the
# batch is stopping, and whether a job is running.
_EVENTS: Any = None
_STOP: Any = None
_RUNNING = False
_STOPPING = False
_PARENT = 0
_LOGGING: Any = None


def _init_worker(events: Any, stop: Any, level: int = logging.NOTSET) -> None:
    global _EVENTS, _STOP, _PARENT
    _EVENTS, _STOP, _PARENT = events, stop, os.getppid()
    if level:  # the batch's --log-level / -v / -q, for the worker's whole life
        from helpers.logs import logging_to_stderr

        global _LOGGING
        _LOGGING = logging_to_stderr(level)  # kept: a collected one would undo itself
        _LOGGING.__enter__()
    else:
        # papermill logs kernel deaths and timeouts itself; the job's error says it better.
        logging.getLogger("papermill").addHandler(logging.NullHandler())
    # The batch process decides when to stop: Ctrl-C reaches it alone, and it sends SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_job)
    _die_with_parent()
    threading.Thread(target=_watch_parent, name="brief-worker-watchdog", daemon=True).start()


def _watch_parent() -> None:
    """Stop this worker when its batch process is gone, whatever the death signal did.

    Seen here: after SIGKILL of a batch during the PDF phase, a worker sometimes outlived it,
    idle in the pool's queue, with the death signal spent on a job that had already ended.
    Every second the watchdog looks at the parent; once it changed, an idle worker exits and
    a running job is stopped as by SIGTERM (it unwinds, then the worker exits).
    """
    while True:
        time.sleep(1.0)
        if os.getppid() != _PARENT:
            if not _RUNNING:
                os._exit(1)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the job unwinds; work() exits the process after it
            os._exit(1)


def _stop_job(signum: int, frame: Any) -> None:
    """SIGTERM in a worker: unwind the running job, so its kernel is killed and its folder
    removed (:func:`~helpers.pipeline.execute.execute_notebook` and
    :func:`~helpers.pipeline.render.render_job` clean up)."""
    global _STOPPING
    if not _RUNNING:
        os._exit(0)  # idle (or done unwinding): nothing to clean up
    if _STOPPING:
        return  # already unwinding: let the job finish cleaning up
    _STOPPING = True  # and no job starts here any more, even if the batch process is gone
    interrupt(signum, frame)  # counted, for a library that swallows the KeyboardInterrupt


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
    """In a new worker, while the zygote starts: import what :func:`work` will need."""
    from helpers.pipeline.render import preload

    with contextlib.suppress(Exception):  # the job itself will report a failing import
        preload()


def work(job: Job, token: str, delay: float = 0.0, attempts: Any = None) -> RunResult:
    """Run one job in a worker, after ``delay`` seconds (a retry waits a little, so that kernels
    that clashed do not start in step again); ``token`` names the attempt in phase events.

    ``attempts``: on a Dask cluster, where the attempts of this batch's jobs are recorded
    (:class:`~helpers.batch.cluster.Attempts`): Dask runs the job of a worker that died again
    elsewhere, and this is how that is seen, and refused beyond ``--worker-retries``.
    """
    global _RUNNING
    from helpers.pipeline import render

    if _STOPPING or (_STOP is not None and _STOP.is_set()):  # queued before an interrupt
        return crashed(job, KeyboardInterrupt("the batch was interrupted"), 0.0)
    if attempts is not None:
        from helpers.batch import cluster

        refused = cluster.claim_attempt(job, token, attempts)
        if refused is not None:
            return refused
        job = dataclasses.replace(job, publish_gate=attempts.folder)
    _RUNNING = True
    if _EVENTS is not None:  # the local pool: say which worker runs this attempt
        with contextlib.suppress(Exception):
            _EVENTS.put({"token": token, "phase": STARTED, "pid": os.getpid()})
    try:
        if delay > 0:
            time.sleep(delay)
        result = render.render_job(job, _worker_reporter(token))
        return result if attempts is None else cluster.reported(result)
    finally:
        _RUNNING = False
        if _STOPPING:
            # The job has cleaned up. A stopped worker takes no other job: it would wait on
            # the pool's queue, whose lock an idle worker may have held when it was stopped,
            # for ever (and the batch with it). Its result is not wanted: the pool or the
            # batch is stopping. It ends as stopped by SIGTERM, which _HealingPool.death
            # tells from a death (an exit code would read as one).
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            os._exit(1)  # not reached


class WorkerDied(ExecutionError):
    """The worker process running a job died (killed by the OOM killer, say)."""


class WorkerStartError(ExecutionError):
    """The batch's worker processes cannot start (a Python this user may not run)."""


def crashed(job: Job, exc: BaseException, seconds: float) -> RunResult:
    """The result of a job whose worker failed outside
    :func:`~helpers.pipeline.render.render_job` (a killed process, a lost worker)."""
    error = (
        exc
        if isinstance(exc, BriefError)
        else ExecutionError(f"the worker running {job.label} failed: {type(exc).__name__}: {exc}")
    )
    return RunResult.failure(job, error, phase="execute", seconds=seconds)
