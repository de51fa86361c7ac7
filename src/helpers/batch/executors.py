"""Where a batch's jobs run: the interface the runner sees, and what every place shares.

The runner (:mod:`helpers.batch.runner`) sees only :class:`JobExecutor`: for one batch,
:meth:`~JobExecutor.running` opens a :class:`concurrent.futures.Executor` to submit
:func:`helpers.batch.worker.work` to, sends the phase changes workers report to a callback,
and says which warm zygote the kernels fork from, if any. The places that implement it:

* :class:`~helpers.batch.local.ProcessPool` (:mod:`helpers.batch.local`): ``workers``
  processes on this machine, in a pool that owns them.
* :class:`~helpers.batch.cluster.DaskCluster` (:mod:`helpers.batch.cluster`): a Dask
  distributed scheduler's workers.
* :class:`GivenExecutor`: any executor the caller owns (tests use a thread pool).

What runs in a worker is :mod:`helpers.batch.worker`. Here too: the errors a worker's death
or start is reported with (:class:`WorkerDied`, :class:`WorkerLost`,
:class:`WorkerStartError`), and :func:`crashed`, the result of a job whose worker failed
outside it.
"""

from __future__ import annotations

import abc
import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Executor
from pathlib import Path
from typing import Any, NamedTuple

from helpers.batch.retries import RetryPolicy
from helpers.errors import BriefError, ExecutionError
from helpers.pipeline.request import FailureKind, Job, RunResult

#: The Dask event topic workers send progress on.
DASK_TOPIC = "brief-batch-progress"

__all__ = [
    "DASK_TOPIC",
    "GivenExecutor",
    "JobExecutor",
    "OnEvent",
    "Running",
    "Watch",
    "WorkerDied",
    "WorkerLost",
    "WorkerStartError",
    "crashed",
    "default_workers",
]

#: Receives each phase change a worker reports: ``{"token", "notebook", "run", "phase"}``.
OnEvent = Callable[[Mapping[str, Any]], None]


# -- the interface -----------------------------------------------------------------------------


class Watch:
    """What the runner asks the place its jobs run about them while they run. By default,
    nothing is wrong: a cluster checks far more (:class:`~helpers.batch.cluster.ClusterWatch`)."""

    #: Seconds between calls to :meth:`check` while jobs run; None: never called.
    interval: float | None = None

    def work_args(self) -> tuple[Any, ...]:
        """Extra arguments :func:`helpers.batch.worker.work` gets on this place, after
        ``job, token, delay``."""
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
        died or left (a cluster runs a lost worker's job again; see
        :func:`helpers.batch.worker.work`)."""
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

    def prepare(self, out: Path, jobs: Sequence[Job], *, retries: RetryPolicy) -> None:  # noqa: B027
        """Before the first job is submitted: check that the jobs can run where they will,
        and that what they publish into ``out`` will be seen here. ``retries``: how often a
        job runs again, where the executor reruns jobs itself (a cluster whose worker died)."""

    @abc.abstractmethod
    def running(
        self, jobs: int, on_event: OnEvent, *, warm: bool
    ) -> contextlib.AbstractContextManager[Running]:
        """Open for ``jobs`` jobs until the block ends; an exception in the block (Ctrl-C)
        stops what can be stopped before it goes on. ``warm``: fork kernels from a warm
        zygote where this executor can."""

    def close(self) -> None:  # noqa: B027 (most executors hold nothing)
        """Let go of what was taken when this executor was made (a connection)."""


class GivenExecutor(JobExecutor):
    """An executor the caller owns: used as it is, and not shut down."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    @contextlib.contextmanager
    def running(self, jobs: int, on_event: OnEvent, *, warm: bool) -> Iterator[Running]:
        yield Running(self._executor)


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class WorkerDied(ExecutionError):
    """The worker process running a job died (killed by the OOM killer, say)."""


class WorkerStartError(ExecutionError):
    """The batch's worker processes cannot start (a Python this user may not run)."""


class WorkerLost(BrokenExecutor):
    """The worker process running an attempt ended before it returned a result.

    ``death`` says how it died (``"worker died, signal 9 (SIGKILL)"``); None when it was
    stopped (SIGTERM, the batch stopping), or for a pool that only went down with another
    worker.
    """

    def __init__(self, message: str, death: str | None = None) -> None:
        super().__init__(message)
        self.death = death


def crashed(
    job: Job, exc: BaseException, seconds: float, kind: FailureKind | None = None
) -> RunResult:
    """The result of a job whose worker failed outside
    :func:`~helpers.pipeline.render.render_job` (a killed process, a lost worker); ``kind``:
    what ended it (default: :class:`WorkerDied` is a death, else
    :meth:`~helpers.pipeline.request.FailureKind.of` the error)."""
    error = (
        exc
        if isinstance(exc, BriefError)
        else ExecutionError(f"the worker running {job.label} failed: {type(exc).__name__}: {exc}")
    )
    if kind is None:
        kind = FailureKind.WORKER_DIED if isinstance(exc, WorkerDied) else FailureKind.of(exc)
    return RunResult.failure(job, error, phase="execute", seconds=seconds, kind=kind)
