"""How often a batch tries a job again, by what ended its last attempt.

:class:`RetryPolicy` is the one record of it: the runner (:mod:`helpers.batch.runner`) asks it
whether an attempt that ended with a :class:`~helpers.pipeline.request.FailureKind` runs
again, and a Dask cluster's workers ask it whether a job Dask sent again after its worker died
may run (:func:`helpers.batch.cluster.claim_attempt`). A job is never tried again once a cell
may have run, unless ``--worker-retries`` says so for a job whose worker died.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from helpers.pipeline.request import FailureKind

#: Attempts a job gets when its kernel fails to start; never more than one once a cell ran.
KERNEL_START_ATTEMPTS = 3
#: Runs a job may get when other workers dying take the pool down under it.
POOL_ATTEMPTS = 3
#: Attempts a job gets when workers refuse it before it starts (they cannot see ``--out``).
REFUSED_ATTEMPTS = 3

__all__ = ["KERNEL_START_ATTEMPTS", "POOL_ATTEMPTS", "REFUSED_ATTEMPTS", "RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a job gets, by the kind of failure that ended the one before.

    Which kinds are tried again, and where:

    ``KERNEL_START`` (any executor)
        Its kernel failed to start, so no cell ran: up to ``kernel_start`` attempts in all.
    ``WORKER_LOST`` (a process pool)
        It went down with a pool that another worker's death broke: up to ``worker_lost``
        attempts in all.
    ``REFUSED`` (a Dask cluster)
        A worker that cannot see ``--out`` refused it before it ran: up to ``refused``
        attempts in all.
    ``WORKER_DIED`` (the local pool: the runner submits it again; a Dask cluster: Dask sends
    it again and the worker asks this policy)
        Its worker process died: run again ``worker_retries`` times (``--worker-retries``,
        default 0: the dead worker may have run cells with effects).

    Any other kind ends the job.
    """

    kernel_start: int = KERNEL_START_ATTEMPTS
    worker_lost: int = POOL_ATTEMPTS
    refused: int = REFUSED_ATTEMPTS
    worker_retries: int = 0

    def again(self, kind: FailureKind, ended: Sequence[FailureKind]) -> bool:
        """Whether a job whose attempts so far ended as ``ended`` (in order, the last one
        included) runs again, now that the last ended with ``kind``."""
        if kind is FailureKind.WORKER_DIED:
            # Deaths before this one, against the deaths the user allows to be retried.
            return sum(k is FailureKind.WORKER_DIED for k in ended) - 1 < self.worker_retries
        limit = {
            FailureKind.KERNEL_START: self.kernel_start,
            FailureKind.WORKER_LOST: self.worker_lost,
            FailureKind.REFUSED: self.refused,
        }.get(kind)
        return limit is not None and len(ended) < limit
