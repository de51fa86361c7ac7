"""What runs in a worker: one job of a batch, wherever it was sent.

:func:`work` runs one job (:func:`~helpers.pipeline.render.render_job`) in a worker: a
process of the local pool (:mod:`helpers.batch.local`), a Dask worker
(:mod:`helpers.batch.cluster`), or a thread of an executor the caller gave. :func:`serve` is
the whole life of a local pool's worker process: it takes one job at a time from the pool over
its own pipe, and sends back the job's phase changes and its result the same way.

A local worker lives as long as its batch and no longer: Ctrl-C reaches the batch process
alone, which stops its workers with SIGTERM (the running job unwinds: its kernel is killed and
its work folder removed); if the batch process is killed outright, Linux tells its workers
(``PR_SET_PDEATHSIG``) and a watchdog thread checks every second too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from helpers.batch import cluster
from helpers.batch.executors import DASK_TOPIC, crashed
from helpers.logs import logging_to_stderr
from helpers.pipeline import render
from helpers.pipeline.progress import Reporter
from helpers.pipeline.request import FailureKind, Job, RunResult
from helpers.signals import interrupt, set_parent_death_signal

__all__ = ["serve", "work"]

# In a local pool's worker process: how to send the pool a message, whether a job is running,
# whether the worker is stopping, and the batch process it belongs to.
_SEND: Callable[[tuple[str, int | None, Any]], None] | None = None
_RUNNING = False
_STOPPING = False
_PARENT = 0
_LOGGING: Any = None


def serve(conn: Any, level: int = logging.NOTSET, preload: bool = False) -> None:
    """The life of a local pool's worker process (the target it is started with).

    Says ``ready`` once it can take jobs (after importing what a job needs, with
    ``preload``), then runs each task the pool sends, ``(number, function, args, kwargs)``,
    and sends back ``("result", number, value)`` or ``("error", number, exception)``; the
    job's phase changes go as ``("event", None, message)``. Ends when the pool closes its
    end of the pipe or sends None.
    """
    lock = threading.Lock()

    def send(message: tuple[str, int | None, Any]) -> None:
        with lock:
            conn.send(message)

    _init_worker(send, level)
    if preload:
        _preload()
    send(("ready", None, os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        number, fn, args, kwargs = task
        try:
            reply: tuple[str, int | None, Any] = ("result", number, fn(*args, **kwargs))
        except BaseException as exc:  # the pool's caller gets it from the future
            reply = ("error", number, exc)
        try:
            send(reply)
        except Exception as exc:  # a value or an error that does not pickle
            send(("error", number, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _init_worker(send: Callable[[tuple[str, int | None, Any]], None], level: int) -> None:
    global _SEND, _PARENT
    _SEND, _PARENT = send, os.getppid()
    if level:  # the batch's --log-level / -v / -q, for the worker's whole life
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
    if _SEND is not None:
        send = _SEND
        return _Forward(lambda msg: send(("event", None, msg)), token)
    if "distributed" in sys.modules:
        from distributed import get_worker  # noqa: PLC0415

        try:
            worker = get_worker()
        except ValueError:
            return Reporter()
        return _Forward(lambda msg: worker.log_event(DASK_TOPIC, msg), token)
    return Reporter()


def _preload() -> None:
    """In a new worker, while the zygote starts: import what :func:`work` will need."""
    with contextlib.suppress(Exception):  # the job itself will report a failing import
        render.preload()


def work(job: Job, token: str, delay: float = 0.0, attempts: Any = None) -> RunResult:
    """Run one job in a worker, after ``delay`` seconds (a retry waits a little, so that kernels
    that clashed do not start in step again); ``token`` names the attempt in phase events.

    ``attempts``: on a Dask cluster, where the attempts of this batch's jobs are recorded
    (:class:`~helpers.batch.cluster.Attempts`): Dask runs the job of a worker that died again
    elsewhere, and this is how that is seen, and refused beyond ``--worker-retries``.
    """
    global _RUNNING
    if _STOPPING:  # sent before the worker was stopped
        interrupted = KeyboardInterrupt("the batch was interrupted")
        return crashed(job, interrupted, 0.0, FailureKind.INTERRUPTED)
    if attempts is not None:
        refused = cluster.claim_attempt(job, token, attempts)
        if refused is not None:
            return refused
        job = dataclasses.replace(job, publish_gate=attempts.folder)
    _RUNNING = True
    try:
        if delay > 0:
            time.sleep(delay)
        result = render.render_job(job, _worker_reporter(token))
        return result if attempts is None else cluster.reported(result)
    finally:
        _RUNNING = False
        if _STOPPING:
            # The job has cleaned up. A stopped worker takes no other job, and its result is
            # not wanted: the pool or the batch is stopping. It ends as stopped by SIGTERM,
            # which the pool tells from a death (an exit code would read as one).
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            os._exit(1)  # not reached
