"""What ``brief render`` is asked to do, and how a render that partly failed is reported.

:class:`RenderRequest` holds everything a render is asked: which notebooks, with which
parameters (given, and from a ``-f`` file), into which formats, data and output folders, with
which cell timeout and kernels. The CLI builds one from its options;
:func:`~helpers.pipeline.render.prepare` and :func:`~helpers.pipeline.render.render` take one,
or build it from the same keyword arguments (``render(["brief"], parameters={...})``); the
batch runner builds one per job of a plan. A request checks its own fields when it is made, so
a caller from Python meets the same usage errors as the command line.

:class:`RenderFailed` is the one error :func:`~helpers.pipeline.render.render` raises after
running every job when some failed (or the index could not be written): ``results`` holds
each notebook's :class:`RunResult`. Each one raised is also the
package error of the first failure's kind (:class:`ExecutionFailed` is an
:class:`~helpers.errors.ExecutionError`, :class:`RenderingFailed` a
:class:`~helpers.errors.RenderError`, :class:`ParametersFailed` a
:class:`~helpers.errors.ParameterError`), so ``brief render`` exits with that failure's code.

:class:`Job` is one notebook to render with one set of parameters, as
:func:`~helpers.pipeline.prepare.prepare` checked it, and :class:`RunResult` what became of it,
with its :class:`FailureKind`: the plain, picklable values that ``brief render``, the batch's
workers and ``brief serve`` pass between them. They live here, below the orchestrator, so that
what runs a job elsewhere need not import it.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from helpers.common import DEFAULT_TIMEOUT, FORMATS, check_pdf_variant, parse_formats
from helpers.errors import (
    BriefError,
    ClusterError,
    ExecutionError,
    KernelStartError,
    ParameterError,
    RenderError,
    UsageError,
)
from helpers.ledger import EditionSummary

__all__ = [
    "ExecutionFailed",
    "FailureKind",
    "Job",
    "ParametersFailed",
    "RenderFailed",
    "RenderRequest",
    "RenderingFailed",
    "Request",
    "RunResult",
]


class Request:
    """What the request classes share: building one from a first argument and keywords."""

    @classmethod
    def of(cls, given: Any = None, /, **fields: Any) -> Self:
        """``given`` if it is a request already (with ``fields`` replaced), or a new request
        whose first field is ``given`` (``None``: that field's default) and whose other fields
        are ``fields``.

        Lets a library function take a request or the same keyword arguments:
        ``render(["brief"], parameters={"partner": "China"})`` is
        ``render(RenderRequest(["brief"], parameters={"partner": "China"}))``.
        """
        if isinstance(given, cls):
            return dataclasses.replace(given, **fields) if fields else given
        if given is not None:
            first = dataclasses.fields(cls)[0].name  # type: ignore[arg-type]
            if first in fields:
                raise TypeError(f"{first} given twice")
            fields[first] = given
        return cls(**fields)


def _path(value: Path | str | None) -> Path | None:
    return None if value is None else Path(value)


@dataclass(frozen=True)
class RenderRequest(Request):
    """One ``brief render``: what to render, with what, into what.

    Attributes
    ----------
    notebooks
        Names from ``notebooks/`` (``brief``) or paths to ``.ipynb`` files; empty for every
        notebook in ``notebooks/``. A single name is one notebook.
    parameters
        Values for every requested notebook: strings from ``-p``, typed values from Python.
        They override ``params_file``.
    params_file
        A YAML file holding one mapping of parameter names to values, read by
        :mod:`helpers.yamlfile`.
    formats
        Any of ``"html"``, ``"pdf"`` (or ``"html,pdf"``). The executed ``.ipynb`` is always
        kept.
    data_dir
        The data folder; passed to every notebook as its ``data_dir`` parameter. Default:
        the package's ``data/``.
    out_dir
        The output folder. Default: ``reports/``.
    timeout
        Seconds any one cell may run; ``None`` for no limit.
    warm_kernels
        Fork each kernel from a warm zygote (:mod:`helpers.kernels`); ``None`` leaves it to
        ``$BRIEF_WARM_KERNELS`` (:func:`~helpers.pipeline.render.warm_kernels_wanted`),
        ``False`` is ``--cold``.
    since
        The edition each brief is compared with (``--since``): a run folder, its
        ``manifest.json``, or the date (YYYY-MM-DD) of an edition of the series in
        ``out_dir``. Default: the previous published edition of the series
        (:mod:`helpers.pipeline.series`).
    name
        The name of each run's output files, as a template of the run's values:
        ``"{notebook}-{partner}-{as_of}"`` gives ``brief-China-2024-03-02.pdf``
        (:func:`helpers.pipeline.publish.file_stem`). Default: the notebook's name.
    require_sources
        Refuse, before any kernel starts, when a source text the data names cannot be found
        here, instead of publishing briefs that say their quotations were not checked
        (``--require-sources``; :class:`~helpers.errors.DataValidationError`, exit 3).
    pdf_variant
        The PDF's variant (:data:`helpers.common.PDF_VARIANTS`); ``None`` for the
        default, tagged PDF/UA-1 (``--pdf-variant``).
    base_url
        Where the output folder is served (``--base-url``): the Atom feeds
        (:mod:`helpers.pipeline.feeds`) link there; ``None`` for relative links.

    Raises
    ------
    UsageError
        When made with an unknown format or PDF variant, or a timeout that is not positive.
    """

    notebooks: Sequence[str | os.PathLike[str]] = ()
    parameters: Mapping[str, object] = field(default_factory=dict)
    params_file: Path | None = None
    formats: Iterable[str] = FORMATS
    data_dir: Path | None = None
    out_dir: Path | None = None
    timeout: int | None = DEFAULT_TIMEOUT
    warm_kernels: bool | None = None
    since: str | None = None
    name: str | None = None
    require_sources: bool = False
    pdf_variant: str | None = None
    base_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pdf_variant", check_pdf_variant(self.pdf_variant))
        notebooks = self.notebooks
        if isinstance(notebooks, str | os.PathLike):
            notebooks = (notebooks,)
        if self.timeout is not None and self.timeout <= 0:
            raise UsageError(f"timeout must be a positive number of seconds, not {self.timeout}")
        normal = {
            "notebooks": tuple(notebooks or ()),
            "parameters": dict(self.parameters or {}),
            "params_file": _path(self.params_file),
            "formats": parse_formats(self.formats),
            "data_dir": _path(self.data_dir),
            "out_dir": _path(self.out_dir),
        }
        for name, value in normal.items():
            object.__setattr__(self, name, value)


class FailureKind(enum.Enum):
    """What ended a job's attempt: the batch runner retries by it (:mod:`helpers.batch.retries`)."""

    #: It did not fail.
    NONE = "none"
    #: The notebook, its parameters, its rendering or its publishing failed: it may have run
    #: cells with effects, so it is never tried again.
    NOTEBOOK = "notebook"
    #: Its kernel failed to start (:class:`~helpers.errors.KernelStartError`): no cell ran.
    KERNEL_START = "kernel start"
    #: The worker process running it died (:class:`~helpers.batch.executors.WorkerDied`).
    WORKER_DIED = "worker died"
    #: It went down with a pool that another worker's death broke (a given process pool).
    WORKER_LOST = "worker lost"
    #: A worker refused it before it ran, because it cannot see ``--out`` (a cluster).
    REFUSED = "refused"
    #: The Dask cluster failed it (:class:`~helpers.errors.ClusterError`).
    CLUSTER = "cluster"
    #: The batch was stopped before it ran.
    INTERRUPTED = "interrupted"

    @classmethod
    def of(cls, error: BaseException) -> FailureKind:
        """The kind of failure ``error`` is, as far as the pipeline knows it."""
        if isinstance(error, KeyboardInterrupt):
            return cls.INTERRUPTED
        if isinstance(error, KernelStartError):
            return cls.KERNEL_START
        if isinstance(error, ClusterError):
            return cls.CLUSTER
        return cls.NOTEBOOK


@dataclass(frozen=True)
class Job:
    """One notebook to render with one set of parameters: everything
    :func:`~helpers.pipeline.render.render_job` needs.

    Built by :func:`~helpers.pipeline.prepare.prepare`, already validated; plain values only,
    so it pickles.
    """

    notebook: Path
    name: str
    run: str
    parameters: dict[str, Any]
    overrides: dict[str, Any]
    formats: tuple[str, ...]
    out_dir: Path
    data_dir: Path | None
    data_fingerprint: str
    timeout: int | None
    command: str
    validate_seconds: float = 0.0
    #: Run the kernel in a new empty folder, removed after the run, instead of the notebook's
    #: folder: a file one job writes is then seen by no other job (``brief batch`` sets it).
    private_cwd: bool = False
    #: Unix socket of a warm zygote to fork the kernel from (:mod:`helpers.kernels`), set
    #: just before the job runs; ``None`` starts the kernel from its kernelspec. Not an input
    #: of the job's outputs: a forked kernel runs the notebook as a normal one does.
    zygote: str | None = None
    #: ``--since``: the edition to compare with (a run folder, a manifest, or an edition's
    #: date); None for the previous published edition of the series (:mod:`.editions`).
    since: str | None = None
    #: Publish only an edition that differs from the previous one (``--only-changed``).
    only_changed: bool = False
    #: The name of its output files, without suffix (``--name``); "": the notebook's name.
    stem: str = ""
    #: A path that must still exist when the run is switched in, else the run is not
    #: published: a batch on a Dask cluster removes it before it releases the lock, so that a
    #: job still running on a worker then (a lost scheduler) publishes nothing.
    publish_gate: str | None = None
    #: The PDF's variant (``--pdf-variant``; :data:`helpers.common.PDF_VARIANTS`).
    pdf_variant: str = "pdf/ua-1"

    @property
    def phases(self) -> tuple[str, ...]:
        """The phases this job goes through (``html`` is needed for the PDF too)."""
        return ("execute", "html", *(("pdf",) if "pdf" in self.formats else ()), "publish")

    @property
    def label(self) -> str:
        """``notebook/run``, as progress lines show it."""
        return f"{self.name}/{self.run}"

    @property
    def file_stem(self) -> str:
        """The name of the run's output files without their suffix: ``brief`` in
        ``brief.html``, unless ``--name`` chose another."""
        return self.stem or self.name


@dataclass(frozen=True)
class RunResult:
    """What became of one :class:`Job`."""

    notebook: str
    run: str
    status: str  # "ok", "failed", or "unchanged" (--only-changed: not published)
    seconds: float
    path: Path | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    phase: str | None = None
    error: str | None = None
    error_type: str | None = None
    exit_code: int = 0
    failed_path: Path | None = None
    #: The edition's comparison with the previous one, as its manifest records it (since
    #: when, what changed); None when the brief keeps no ledger.
    edition: EditionSummary | None = None
    #: Warnings for the log: a previous edition that could not be compared with.
    warnings: tuple[str, ...] = ()
    #: On a Dask cluster, what the worker reports of a published run, for the batch to check
    #: on its own machine: ``{"worker": address, "manifest_sha256": ...}``.
    reported: dict[str, str] | None = None
    #: What ended the run, when it failed: what the batch runner retries by.
    kind: FailureKind = FailureKind.NONE

    @property
    def ok(self) -> bool:
        """Whether the run succeeded: published, or (``--only-changed``) found unchanged."""
        return self.status in ("ok", "unchanged")

    @classmethod
    def failure(
        cls,
        job: Job,
        error: BriefError,
        *,
        phase: str,
        seconds: float,
        failed_path: Path | None = None,
        kind: FailureKind | None = None,
    ) -> RunResult:
        """The result of ``job`` failing in ``phase`` with ``error``; ``kind``: what ended it
        (default: :meth:`FailureKind.of` ``error``)."""
        return cls(
            notebook=job.name,
            run=job.run,
            status="failed",
            seconds=seconds,
            phase=phase,
            error=str(error),
            error_type=type(error).__name__,
            exit_code=error.exit_code,
            failed_path=failed_path,
            kind=FailureKind.of(error) if kind is None else kind,
        )


class RenderFailed(BriefError):
    """Some notebooks of a request failed; ``results`` holds every notebook's result.

    Raised as one of its kinds, :class:`ExecutionFailed`, :class:`RenderingFailed` or
    :class:`ParametersFailed`: the kind (and exit code) of the first failure.
    """

    def __init__(self, message: str, results: Iterable[RunResult] = ()) -> None:
        super().__init__(message)
        self.results: list[RunResult] = list(results)

    @staticmethod
    def of_kind(exit_code: int, message: str, results: Iterable[RunResult]) -> RenderFailed:
        """The failure whose kind has ``exit_code`` (a notebook's :attr:`RunResult.exit_code`);
        any code but those of parameters (4) and rendering (6) is an execution failure (5)."""
        kinds: dict[int, type[RenderFailed]] = {
            ParameterError.exit_code: ParametersFailed,
            RenderError.exit_code: RenderingFailed,
        }
        return kinds.get(exit_code, ExecutionFailed)(message, results)


class ExecutionFailed(RenderFailed, ExecutionError):
    """A notebook of the request failed while executing (exit 5)."""


class RenderingFailed(RenderFailed, RenderError):
    """A notebook could not be rendered or published, or the index not written (exit 6)."""


class ParametersFailed(RenderFailed, ParameterError):
    """A notebook's parameters were refused while it was rendered (exit 4)."""
