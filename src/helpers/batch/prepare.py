"""What ``brief batch`` is asked, and the jobs it makes of it before anything runs.

:class:`BatchRequest` holds a batch's options; :func:`prepare_batch` checks everything before
any kernel starts: the plan (:mod:`helpers.batch.plan`), every job's parameters, every data
folder the jobs use. It builds one :class:`~helpers.pipeline.request.Job` per job of the plan
with :func:`helpers.pipeline.prepare.prepare` and a
:class:`~helpers.pipeline.request.RenderRequest`, as ``brief render`` does, and makes sure no
two jobs would write to the same run folder. Nothing is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.batch.plan import Plan, PlanJob, check_parameters, expand, load_plan
from helpers.data import validation
from helpers.errors import UsageError
from helpers.paths import resolved
from helpers.pipeline import publish
from helpers.pipeline.prepare import prepare, require_sources
from helpers.pipeline.request import Job, RenderRequest, Request

__all__ = ["BatchJob", "BatchRequest", "check_request", "out_dir", "prepare_batch"]


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
            [job] = prepare(job_request, check_data=False)
        except UsageError as exc:
            problems.append(f"{source.label}: {exc}")
            continue
        job = dataclasses.replace(job, private_cwd=True, only_changed=request.only_changed)
        jobs.append(BatchJob(source, job))
    problems += _clashes(jobs)
    if problems:
        raise UsageError(f"plan {plan.source}:\n  " + "\n  ".join(problems))

    for folder in dict.fromkeys(item.job.data_dir for item in jobs):
        validation.ensure_valid(folder)
        if request.require_sources:
            require_sources(folder)
    return jobs


def _clashes(jobs: Sequence[BatchJob]) -> list[str]:
    """Jobs that would write where another does: the same run, or one notebook name twice."""
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


def check_request(request: BatchRequest) -> None:
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


def out_dir(request: BatchRequest, jobs: Sequence[BatchJob]) -> Path:
    """The batch's output folder, absolute: its jobs' (one for all), else the request's."""
    if jobs:
        return jobs[0].job.out_dir
    return resolved(request.out_dir or paths.REPORTS_DIR, what="output folder")
