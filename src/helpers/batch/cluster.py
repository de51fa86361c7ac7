"""A Dask cluster as the place a batch's jobs run, trusted only as far as it is checked.

A Dask worker publishes its job's run folder itself, so a batch on a cluster counts on shared
storage it cannot see from here; and Dask hides what happens to workers. So
:class:`DaskCluster`:

* connects within ``connect_timeout`` seconds (``--connect-timeout``) once the batch holds the
  lock and writes its log, and waits as long for a first worker, or stops with
  :class:`~helpers.errors.ClusterError` (exit 69; a malformed address is a usage error, 2);
* before the first job, has every worker read a probe file the batch wrote under ``--out``,
  write beside it, and hash the notebooks and the data (:func:`probe`); a worker that sees
  less, or something else, stops the batch with a usage error (exit 2) naming the worker;
* counts a result only once the run folder the worker reported is here, with the sha256 the
  worker reported, and holds the files its manifest lists (:meth:`ClusterWatch.verify`);
* fails the jobs not yet done with :class:`~helpers.errors.ClusterError` when the cluster has
  had no worker for ``connect_timeout`` seconds, or the scheduler went away
  (:meth:`ClusterWatch.check`): a batch never hangs on a cluster;
* has no job publish once the batch has ended: each job's worker checks, just before it
  switches its run in, that the batch's shared folder in ``.tmp/`` is still there (the batch
  removes it before it releases the lock), so a job left running by a lost scheduler or an
  interrupted batch is not published outside the lock (:attr:`Job.publish_gate`);
* runs a job again on another worker when its worker refused it before it started, because
  it cannot write under ``--out`` (a worker that joined after the probe): that worker asks
  the scheduler to send it no more work, and no longer counts as a worker of the batch;
* sees a job run again because its worker died (Dask does that on its own): each attempt
  records itself in a shared folder before it starts (:func:`claim_attempt`), and one beyond
  ``--worker-retries`` (default 0: never, since the first worker may have run cells) fails
  at once with :class:`~helpers.batch.executors.WorkerDied`, naming the worker that died
  (:class:`~helpers.batch.retries.RetryPolicy`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError, Executor
from pathlib import Path
from typing import Any, NamedTuple

from helpers import paths
from helpers.batch.executors import (
    DASK_TOPIC,
    JobExecutor,
    OnEvent,
    Running,
    Watch,
    WorkerDied,
    crashed,
)
from helpers.batch.retries import RetryPolicy
from helpers.data.package import fingerprint as data_fingerprint
from helpers.errors import BriefError, ClusterError, UsageError
from helpers.pipeline import publish
from helpers.pipeline.manifest import files_match, sha256_file
from helpers.pipeline.request import FailureKind, Job, RunResult

#: Seconds to connect to the scheduler, to wait for a first worker, and to go on with no
#: worker (or no scheduler) before the batch gives up (``--connect-timeout``).
CONNECT_TIMEOUT = 90.0
#: Seconds between two looks at the cluster while jobs run.
CHECK_INTERVAL = 5.0
#: Seconds to wait before each new look at a run folder a worker published and this machine
#: does not see yet; after the last, the job fails.
VERIFY_PAUSES = (0.5, 1.0, 2.0, 0.0)
#: The probe file the batch writes and every worker must read, in the batch's shared folder.
PROBE_NAME = "probe"
#: What the docs say about where things must be; every message about a worker ends with it.
SHARED = (
    "--out, the notebooks and the data folder must be on storage shared by this machine and "
    f"every worker, mounted at the same paths ({paths.doc('plans.md', 'On a Dask cluster')})"
)

__all__ = [
    "CONNECT_TIMEOUT",
    "Attempts",
    "ClusterWatch",
    "DaskCluster",
    "claim_attempt",
    "probe",
    "reported",
]


class Attempts(NamedTuple):
    """Where the attempts of one batch's jobs are recorded (a folder under ``--out``'s
    ``.tmp/``, on the shared storage), and the batch's :class:`RetryPolicy`: how often a job
    whose worker died may run again."""

    folder: str
    retries: RetryPolicy


class DaskCluster(JobExecutor):
    """The workers of a Dask distributed scheduler. A malformed address is refused when made;
    the scheduler is reached in :meth:`prepare`, once the batch holds the lock and writes its
    log, so that an unreachable one is logged (and a batch with nothing to run needs none)."""

    def __init__(self, address: str, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.scheduler = address
        self.connect_timeout = connect_timeout
        _check_address(address)
        self._client: Any = None
        self._attempts: Attempts | None = None
        #: The scheduler went away while the batch ran.
        self.lost = False

    def prepare(self, out: Path, jobs: Sequence[Job], *, retries: RetryPolicy) -> None:
        """Connect, wait for a worker, then have every worker probe what the jobs need."""
        if self._client is None:
            self._client = _connect(self.scheduler, self.connect_timeout)
        try:
            self._client.wait_for_workers(1, timeout=self.connect_timeout)
        except (TimeoutError, OSError) as exc:
            raise ClusterError(
                f"no worker joined the Dask scheduler at {self.scheduler} within "
                f"{self.connect_timeout:g} s (--connect-timeout): start one with "
                f"`dask worker {self.scheduler} --nthreads 1`"
                + ("" if isinstance(exc, TimeoutError) else f" ({exc})")
            ) from None
        folder = publish.staging_dir(out, "cluster")
        token = secrets.token_hex(16)
        (folder / PROBE_NAME).write_text(token, encoding="utf-8")
        notebooks = {str(job.notebook): sha256_file(job.notebook) for job in jobs}
        data = {str(job.data_dir or ""): job.data_fingerprint for job in jobs}
        answers = self._client.run(probe, str(folder), token, notebooks, data, on_error="return")
        problems = [
            f"{worker}: {problem}"
            for worker, answer in sorted(answers.items())
            for problem in (
                [f"{type(answer).__name__}: {answer}"]
                if isinstance(answer, BaseException)
                else answer
            )
        ]
        if not answers:
            problems = ["every worker left before it could be asked"]
        if problems:
            shutil.rmtree(folder, ignore_errors=True)
            raise UsageError(
                "the Dask workers cannot run this batch:\n  "
                + "\n  ".join(problems)
                + f"\n{SHARED}."
            )
        self._attempts = Attempts(str(folder), retries)

    @contextlib.contextmanager
    def running(self, jobs: int, on_event: OnEvent, *, warm: bool) -> Iterator[Running]:
        attempts = self._attempts
        try:
            with _dask_pool(self._client, on_event) as pool:
                yield Running(pool, None, ClusterWatch(self, attempts))
        finally:
            if attempts is not None:
                shutil.rmtree(attempts.folder, ignore_errors=True)

    def close(self) -> None:
        if self._client is None:
            return
        if self.lost:
            # The batch has said it in one line; a client closed while it tries to reconnect
            # would log a traceback of its own.
            logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
        with contextlib.suppress(Exception):
            self._client.close()


class ClusterWatch(Watch):
    """What a batch on a cluster checks while its jobs run: see the module's description."""

    interval = CHECK_INTERVAL

    def __init__(self, cluster: DaskCluster, attempts: Attempts | None) -> None:
        self._cluster = cluster
        self._attempts = attempts
        self._alone_since: float | None = None
        #: Workers that refused a job because they cannot see the shared folders.
        self.refused: set[str] = set()

    def work_args(self) -> tuple[Any, ...]:
        return (self._attempts,)

    def explain(self, token: str, exc: Exception) -> Exception:
        from distributed import KilledWorker  # noqa: PLC0415

        client = self._cluster._client
        # The batch cancels no future whose result it reads: a cancelled job is the
        # scheduler's doing, which is what Dask does to every job when it is lost.
        if isinstance(exc, CancelledError) or client.status in ("connecting", "closing", "closed"):
            return self._gone()
        if isinstance(exc, KilledWorker):  # Dask gave up after workers died under it
            lost = ", ".join(self.lost(token)) or "?"
            return WorkerDied(f"the workers running it died, each in turn ({lost}): {exc}")
        return exc

    def refusal(self, result: RunResult) -> str | None:
        reported = result.reported or {}
        if result.status != "failed" or not reported.get("refused"):
            return None
        worker = str(reported.get("worker", "?"))
        self.refused.add(worker)
        return worker

    def lost(self, token: str) -> list[str]:
        if self._attempts is None:
            return []
        started = _started(Path(self._attempts.folder), token)
        return started[:-1]

    def verify(self, job: Job, result: RunResult) -> BriefError | None:
        if result.status != "ok" or result.path is None:
            return None
        reported = result.reported or {}
        folder = Path(result.path)
        # A network file system may show a new file a moment late (attribute caching).
        for pause in VERIFY_PAUSES:
            problem = _unseen(folder, reported.get("manifest_sha256"))
            if problem is None:
                return None
            time.sleep(pause)
        return ClusterError(
            f"{job.label}: worker {reported.get('worker', '?')} published it at {folder}, "
            f"which {problem}; {SHARED}"
        )

    def check(self) -> None:
        client = self._cluster._client
        if client.status in ("closing", "closed"):
            raise self._gone()
        try:
            identity = client.sync(client.scheduler.identity, callback_timeout=10)
            usable = set(identity.get("workers") or ()) - self.refused
            workers: int | None = len(usable)
        except Exception:  # reconnecting; the client closes itself after its timeout
            workers = None
        if workers:
            self._alone_since = None
            return
        now = time.monotonic()
        self._alone_since = self._alone_since or now
        waited = now - self._alone_since
        if waited >= self._cluster.connect_timeout:
            what = (
                "no answer from the scheduler"
                if workers is None
                else "no worker that can run its jobs"
                if self.refused
                else "no worker"
            )
            raise ClusterError(
                f"the Dask scheduler at {self._cluster.scheduler} has had {what} for "
                f"{waited:.0f} s (--connect-timeout {self._cluster.connect_timeout:g}); "
                "the jobs not done are failed"
            )

    def _gone(self) -> ClusterError:
        self._cluster.lost = True
        return ClusterError(
            f"lost the Dask scheduler at {self._cluster.scheduler} (it stopped, or cannot be "
            "reached from here); the jobs not done are failed, and a job still running on a "
            "worker will not publish"
        )


def _unseen(folder: Path, digest: str | None) -> str | None:
    """What is wrong, seen from here, with the run folder a worker published; None if
    nothing: its manifest has the sha256 the worker reported and its files match it."""
    manifest = folder / "manifest.json"
    try:
        seen = sha256_file(manifest)
        files_ok = files_match(folder, json.loads(manifest.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return "is not on this machine"
    if seen != digest:
        return "holds another run than the one the worker published"
    if not files_ok:
        return "does not hold the files its manifest lists"
    return None


def _check_address(address: str) -> None:
    """Refuse an address Dask cannot read (a usage error, exit 2) before anything is done;
    and a scheduler at all without Dask, which is the ``[dask]`` extra (a usage error too)."""
    try:
        from distributed.comm import parse_address  # noqa: PLC0415
        from distributed.comm.registry import get_backend  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(
            f"a batch on a Dask scheduler (--scheduler) needs the [dask] extra ({exc.name} is "
            "missing): pip install 'myanmar-brief[dask]'"
        ) from None

    try:
        get_backend(parse_address(address)[0])
    except (TypeError, ValueError) as exc:
        raise UsageError(f"cannot use the Dask scheduler at {address!r}: {exc}") from None


def _connect(address: str, timeout: float) -> Any:
    """A client of the scheduler at ``address``; one that cannot be reached within
    ``timeout`` seconds is a cluster failure (exit 69), as ``--connect-timeout`` promises."""
    from distributed import Client  # noqa: PLC0415

    try:
        return Client(address, timeout=timeout)
    except ValueError as exc:
        raise UsageError(f"cannot use the Dask scheduler at {address!r}: {exc}") from None
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
            f"(--connect-timeout): {exc}; start it with `dask scheduler`, or check the address"
        ) from None


@contextlib.contextmanager
def _dask_pool(client: Any, on_event: OnEvent) -> Iterator[Executor]:
    """The Dask cluster as an executor; workers send phase changes as Dask events."""
    client.subscribe_topic(DASK_TOPIC, lambda event: on_event(event[1]))
    executor = client.get_executor(pure=False)
    try:
        yield executor
    except BaseException:
        # Interrupted: Dask forgets the jobs not started; one a worker thread is running
        # cannot be stopped from here and finishes on its own.
        executor.shutdown(wait=False)
        raise
    finally:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=True)  # returns at once after the above
        with contextlib.suppress(Exception):
            client.unsubscribe_topic(DASK_TOPIC)


# -- on the workers ------------------------------------------------------------------------------


def probe(folder: str, token: str, notebooks: dict[str, str], data: dict[str, str]) -> list[str]:
    """On a worker (``Client.run``): what this worker does not see as the batch does.

    It must read the probe file the batch wrote in ``folder`` (under ``--out``) with
    ``token`` in it, create a file beside it, find each notebook with the sha256 the batch
    gave, and each data folder (``""``: the package's own) with the batch's fingerprint.
    """
    problems = []
    probe_file = Path(folder) / PROBE_NAME
    try:
        if probe_file.read_text(encoding="utf-8") != token:
            problems.append(f"sees another folder at {folder} than this machine does")
        else:
            fd, name = tempfile.mkstemp(prefix=".probe-", dir=folder)
            os.close(fd)
            os.unlink(name)
    except FileNotFoundError:
        problems.append(
            f"does not see the output folder as this machine does: {probe_file} is not there"
        )
    except OSError as exc:
        problems.append(f"cannot use the output folder: {exc.strerror or exc}: {exc.filename}")
    for path, digest in notebooks.items():
        try:
            if sha256_file(Path(path)) != digest:
                problems.append(f"sees another notebook at {path}")
        except OSError as exc:
            problems.append(f"cannot read the notebook {path}: {exc.strerror or exc}")
    for path, fingerprint in data.items():
        problems += _data_problem(path, fingerprint)
    return problems


def _data_problem(path: str, fingerprint: str) -> list[str]:
    where = path or "the package's data folder"
    try:
        if data_fingerprint(path or None) != fingerprint:
            return [f"does not see the same data in {where}"]
    except (OSError, ValueError, BriefError) as exc:
        return [f"cannot read the data in {where}: {exc}"]
    return []


def claim_attempt(job: Job, token: str, attempts: Attempts) -> RunResult | None:
    """On a worker, before a job starts: record this attempt, and refuse it (a failed result)
    if it is a rerun of one whose worker died beyond ``worker_retries``, or cannot be
    recorded (the worker does not see ``--out``)."""
    folder = Path(attempts.folder)
    me = _worker_address()
    number = 1
    while True:
        marker = folder / f"{_safe(token)}.{number}"
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            number += 1
            continue
        except OSError as exc:
            # Nothing ran here: the job can run on another worker, and this one, which does
            # not see the shared folders, steps aside so that it is sent no more jobs.
            _step_aside()
            refused = crashed(
                job,
                ClusterError(
                    f"worker {me} cannot write to the output folder {job.out_dir} "
                    f"({exc.strerror or exc}); {SHARED}"
                ),
                0.0,
                FailureKind.REFUSED,
            )
            return dataclasses.replace(refused, reported={"worker": me, "refused": "unshared"})
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(me)
        break
    retries = attempts.retries
    if number > 1 and not retries.again(
        FailureKind.WORKER_DIED, [FailureKind.WORKER_DIED] * (number - 1)
    ):
        before = ", ".join(_started(folder, token)[:-1])
        allowed = (
            "a job is not run again once a worker running it died (--worker-retries 0)"
            if retries.worker_retries == 0
            else f"it was run again {retries.worker_retries}x (--worker-retries)"
        )
        died = WorkerDied(f"the worker running it died or left the cluster ({before}); {allowed}")
        return crashed(job, died, 0.0)
    return None


def _step_aside() -> None:
    """On a worker that cannot run this batch's jobs: have the scheduler send it no more
    work (it retires the worker without closing it: the worker stays, idle, until an
    operator fixes its mounts and restarts it)."""
    try:
        from distributed import get_worker  # noqa: PLC0415
        from distributed.utils import sync  # noqa: PLC0415

        worker = get_worker()
        sync(
            worker.loop,
            worker.scheduler.retire_workers,
            workers=[worker.address],
            close_workers=False,
            remove=False,
        )
    except Exception:  # the batch avoids it all the same; this only spares it jobs
        pass


def reported(result: RunResult) -> RunResult:
    """On a worker, after a job: the result with the worker's address and the sha256 of the
    manifest it published, for the batch to check on its own machine."""
    digest = None
    if result.status == "ok" and result.path is not None:
        with contextlib.suppress(OSError):
            digest = sha256_file(Path(result.path) / "manifest.json")
    return dataclasses.replace(
        result, reported={"worker": _worker_address(), "manifest_sha256": digest or ""}
    )


def _worker_address() -> str:
    try:
        from distributed import get_worker  # noqa: PLC0415

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _started(folder: Path, token: str) -> list[str]:
    """The workers that started attempt ``token``, in order."""
    found = []
    number = 1
    while True:
        try:
            found.append((folder / f"{_safe(token)}.{number}").read_text(encoding="utf-8"))
        except OSError:
            return found
        number += 1


def _safe(token: str) -> str:
    return token.replace(":", "-")
