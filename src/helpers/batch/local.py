"""The local process pool: ``brief batch --workers N`` on this machine.

:class:`ProcessPool` is the :class:`~helpers.batch.executors.JobExecutor` for this machine: it
checks that worker processes can start at all (:func:`check_workers_can_start`), starts the
warm zygote the kernels fork from (:func:`~helpers.pipeline.render.warm_zygote`) while its
workers start, and opens a :class:`LocalPool`.

:class:`LocalPool` owns its worker processes: it starts each one itself
(:func:`helpers.batch.worker.serve`, with ``spawn``), sends each job to one idle worker over
that worker's own pipe, and so knows at every moment which worker runs which job. A worker
that dies (the OOM killer) fails only its own job, with
:class:`~helpers.batch.executors.WorkerLost` saying how it died, and a new worker takes its
place; the other workers and their jobs go on. A worker that dies before it could take a job
means none can start: every job not started fails with
:class:`~helpers.batch.executors.WorkerStartError`. Interrupted, the pool stops its workers'
jobs (SIGTERM: each kills its kernel and removes its work folder) and kills those still there
after :data:`STOP_GRACE` seconds.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import pwd
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from multiprocessing import spawn
from multiprocessing.connection import wait as wait_for
from typing import Any

from helpers import paths
from helpers.batch import worker
from helpers.batch.executors import JobExecutor, OnEvent, Running, WorkerLost, WorkerStartError
from helpers.errors import ExecutionError
from helpers.pipeline.render import warm_zygote

#: Seconds an interrupted batch gives its workers to stop their jobs (kill the kernel, remove
#: the work folder) before it kills them.
STOP_GRACE = 30.0

__all__ = ["STOP_GRACE", "LocalPool", "ProcessPool", "check_workers_can_start"]


class ProcessPool(JobExecutor):
    """``workers`` local worker processes, kernels forked from a warm zygote if wanted."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    @contextlib.contextmanager
    def running(self, jobs: int, on_event: OnEvent, *, warm: bool) -> Iterator[Running]:
        size = min(self.workers or 1, jobs)
        # The zygote imports while the workers start and import; it outlives the pool.
        check_workers_can_start()
        with warm_zygote(warm) as zygote, _local_pool(size, on_event, preload=warm) as pool:
            address = zygote() if warm else None
            yield Running(pool, address)


@contextlib.contextmanager
def _local_pool(workers: int, on_event: OnEvent, *, preload: bool = False) -> Iterator[LocalPool]:
    """A :class:`LocalPool` for the block; interrupted, it stops its workers' jobs."""
    pool = LocalPool(workers, on_event, preload=preload)
    try:
        yield pool
    except BaseException:
        # Interrupted: jobs still queued are cancelled, running ones unwind and clean up.
        pool.stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass(eq=False)
class _Worker:
    """One worker process of a :class:`LocalPool`, as the pool knows it."""

    process: Any  # its multiprocessing Process
    conn: Any  # the pool's end of its pipe
    ready: bool = False
    #: The task it runs: its number and its future.
    task: tuple[int, Future[Any]] | None = None


class LocalPool(Executor):
    """``size`` worker processes this pool starts, knows and replaces (see the module).

    Not "fork": this process may have threads, and a forked copy of them can deadlock. Not
    "forkserver" either: its server keeps the environment it started with, so a worker would
    miss a variable (JUPYTER_PATH, say) set since. "spawn" costs ~1 s per worker.

    Parameters
    ----------
    size
        Worker processes, started at once.
    on_event
        Receives each phase change a worker's job reports.
    preload
        Have each worker import what a job needs before it says it is ready (while a warm
        zygote starts beside it).
    """

    def __init__(self, size: int, on_event: OnEvent, *, preload: bool = False) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._on_event = on_event
        # The workers log at the batch's level (brief batch -v): papermill's lines included.
        self._args = (logging.getLogger("helpers").level, preload)
        self._lock = threading.Lock()
        self._queue: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict]] = deque()
        self._workers: list[_Worker] = []
        self._numbers = itertools.count(1)
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._closing = False
        self._stopping = False
        self._cannot_start: str | None = None
        with self._lock:
            for _ in range(size):
                self._start_worker()
        self._thread = threading.Thread(target=self._manage, name="brief-batch-pool", daemon=True)
        self._thread.start()

    # -- the caller's side

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            if self._cannot_start is not None:
                raise WorkerStartError(self._cannot_start)
            if self._closing:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future: Future[Any] = Future()
            self._queue.append((future, fn, args, kwargs))
            self._wake()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closing = True
            if cancel_futures:
                self._cancel_queued()
            self._wake()
        if wait:
            self._thread.join()

    def stop(self) -> None:
        """Stop at once: cancel the jobs not started, SIGTERM every worker (its job unwinds
        and cleans up) and kill those still there after :data:`STOP_GRACE` seconds."""
        with self._lock:
            self._closing = self._stopping = True
            self._cancel_queued()
            processes = [w.process for w in self._workers]
            self._wake()
        _stop_all(processes)

    def _cancel_queued(self) -> None:
        while self._queue:
            self._queue.popleft()[0].cancel()

    def _wake(self) -> None:
        """Have the pool's thread look at the queue again (called with the lock held)."""
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"")

    # -- the pool's thread

    def _start_worker(self) -> None:
        """Start one worker process (called with the lock held)."""
        mine, theirs = self._context.Pipe()
        process = self._context.Process(
            target=worker.serve, args=(theirs, *self._args), name="brief-batch-worker"
        )
        try:
            process.start()
        except OSError as exc:
            raise WorkerStartError(f"the batch's worker processes cannot start: {exc}") from exc
        finally:
            theirs.close()
        self._workers.append(_Worker(process, mine))

    def _manage(self) -> None:
        """Send queued jobs to idle workers, receive what workers send, see workers end."""
        try:
            while True:
                with self._lock:
                    busy = any(w.task is not None for w in self._workers)
                    if self._closing and not busy and not self._queue:
                        break
                    workers = list(self._workers)
                conns = {w.conn: w for w in workers}
                sentinels = {w.process.sentinel: w for w in workers}
                ready = wait_for([self._wake_r, *conns, *sentinels])
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                for conn in (r for r in ready if r in conns):
                    self._receive(conns[conn])
                for sentinel in (r for r in ready if r in sentinels):
                    self._ended(sentinels[sentinel])
                self._dispatch()
        except BaseException as exc:  # never leave a future waiting for ever
            self._fail_all(exc)
            raise
        finally:
            self._close_workers()

    def _dispatch(self) -> None:
        with self._lock:
            while self._queue:
                idle = next((w for w in self._workers if w.ready and w.task is None), None)
                if idle is None:
                    return
                future, fn, args, kwargs = self._queue.popleft()
                if not future.set_running_or_notify_cancel():
                    continue
                number = next(self._numbers)
                idle.task = (number, future)
                try:
                    idle.conn.send((number, fn, args, kwargs))
                except OSError:
                    pass  # it died: its sentinel says how, and fails the job
                except Exception as exc:  # a job that does not pickle
                    idle.task = None
                    future.set_exception(exc)

    def _receive(self, w: _Worker) -> None:
        """Everything ``w`` has sent: readiness, phase changes, its job's result."""
        while True:
            try:
                if not w.conn.poll():
                    return
                data = w.conn.recv_bytes()
            except (EOFError, OSError):
                return  # it ended: its sentinel says how
            try:
                kind, number, value = pickle.loads(data)
            except Exception as exc:  # a result this process cannot read
                kind, number, value = (
                    "error",
                    None,
                    ExecutionError(
                        f"cannot read what worker process {w.process.pid} sent: "
                        f"{type(exc).__name__}: {exc}"
                    ),
                )
            if kind == "ready":
                with self._lock:
                    w.ready = True
            elif kind == "event":
                with contextlib.suppress(Exception):  # progress must never stop the pool
                    self._on_event(value)
            elif w.task is not None and number in (None, w.task[0]):
                with self._lock:
                    (_, future), w.task = w.task, None
                if kind == "result":
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _ended(self, w: _Worker) -> None:
        """``w`` ended: fail its job, saying how it died, and start a worker in its place."""
        self._receive(w)  # what it sent before it ended comes first
        w.process.join()
        with self._lock:
            if w in self._workers:
                self._workers.remove(w)
            task, w.task = w.task, None
        w.conn.close()
        code = w.process.exitcode
        death = _death(code)
        if task is not None:
            pid = w.process.pid
            task[1].set_exception(
                WorkerLost(f"worker process {pid} ended while running a job: {_how(code)}", death)
            )
        with self._lock:
            if not w.ready and not self._closing:
                self._cannot_start = (
                    f"the batch's worker processes cannot start: worker process "
                    f"{w.process.pid} ended before it could take a job ({_how(code)})"
                )
            elif (
                self._stopping
                or self._cannot_start is not None
                or not (self._queue or not self._closing)
            ):
                return
            else:
                try:
                    self._start_worker()
                    return
                except WorkerStartError as exc:
                    self._cannot_start = str(exc)
            failed = [item[0] for item in self._queue]
            self._queue.clear()
        for future in failed:
            if future.set_running_or_notify_cancel():
                future.set_exception(WorkerStartError(self._cannot_start))

    def _fail_all(self, exc: BaseException) -> None:
        with self._lock:
            futures = [item[0] for item in self._queue]
            futures += [w.task[1] for w in self._workers if w.task is not None]
            self._queue.clear()
        for future in futures:
            with contextlib.suppress(Exception):
                future.set_exception(ExecutionError(f"the local worker pool failed: {exc!r}"))

    def _close_workers(self) -> None:
        """Tell every worker to end, and wait for them (killing any still there after
        :data:`STOP_GRACE` seconds)."""
        with self._lock:
            workers, self._workers = self._workers, []
        for w in workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        for w in workers:
            w.process.join(timeout=STOP_GRACE)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
        self._wake_r.close()
        self._wake_w.close()

    def processes(self) -> list[Any]:
        """The worker processes running now."""
        with self._lock:
            return [w.process for w in self._workers]


def _death(code: int | None) -> str | None:
    """How a worker that ended with exit status ``code`` died: None if it was stopped
    (SIGTERM, the pool or the batch stopping) or ended normally."""
    if code is None or code == -signal.SIGTERM or code == 0:
        return None
    return f"worker died, {_how(code)}"


def _how(code: int | None) -> str:
    """``signal 9 (SIGKILL)`` or ``exit code 1``."""
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "?"
        return f"signal {-code} ({name})"
    return f"exit code {code}"


def _worker_executable() -> str:
    """The Python the local pool's worker processes are started with (``spawn``)."""
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
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _start_problem(executable: str) -> str | None:
    """Why ``executable`` cannot run a worker (its own last words when it imports the
    package, with its exit status), or None if it can."""
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
