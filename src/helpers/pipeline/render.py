"""The render pipeline: validate everything, then execute, render and publish each notebook.

:func:`render` is what ``brief render`` calls. It is two steps that the batch runner reuses:

1. :func:`prepare` checks the whole request before any kernel starts: the formats, the
   notebook names, the parameters file, every notebook's parameters
   (:func:`~helpers.params.validate_parameters`) and the data
   (:func:`~helpers.validation.ensure_valid`). It returns one :class:`Job` per notebook.
2. :func:`render_job` runs one job: execute (:mod:`helpers.execute`), check, render HTML and
   PDF (:mod:`helpers.exporters`), and publish atomically (:mod:`helpers.publish`). A failure
   leaves the previous report as it was and archives the failed attempt under ``_failed/``.
   It takes and returns plain, picklable values, so it can run in another process.

:func:`render` takes the output folder's lock between the two, so nothing is touched when
another run holds it, and rewrites ``index.html`` after each job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.common import DEFAULT_TIMEOUT, FORMATS, parse_formats, utc_now
from helpers.errors import (
    BriefError,
    ExecutionError,
    ParameterError,
    RenderError,
    UsageError,
)
from helpers.pipeline.manifest import build_manifest, command_line
from helpers.pipeline.progress import Reporter

#: Seconds a single cell may run, unless ``--timeout`` says otherwise.
#: Lines of the kernel's own log kept in a failed run's ``error.txt``.
KERNEL_LOG_LINES = 40
#: Set to ``0`` to start every kernel from its kernelspec instead of forking warm ones.
WARM_KERNELS_ENV = "BRIEF_WARM_KERNELS"
#: Freeze the zygote's objects out of the kernels' garbage collections (``gc.freeze()``, see
#: :func:`helpers.kernels.warm_kernels`). Measured here (``benchmarks/kernels.py``, medians of
#: 5): a kernel shuts down in 0.2 s instead of 0.9 s, and the main brief runs in 2.9 s
#: instead of 3.5 s, because the collector no longer walks, and so copies, the zygote's heap
#: in every kernel. No job can see another through it; what a notebook can see is that
#: ``gc.get_freeze_count()`` is not 0 and that ``gc.get_objects()`` leaves out objects made
#: by the warm imports, which no report notebook looks at.
FREEZE_GC = True

__all__ = [
    "DEFAULT_TIMEOUT",
    "WARM_KERNELS_ENV",
    "Job",
    "RunResult",
    "prepare",
    "render",
    "render_job",
    "warm_kernels_wanted",
]


def warm_kernels_wanted(warm: bool | None = None) -> bool:
    """Whether to fork kernels from a warm zygote (:mod:`helpers.kernels`).

    ``warm`` when given (``--cold`` gives ``False``); otherwise yes, unless
    ``$BRIEF_WARM_KERNELS`` is ``0``, ``false``, ``no`` or ``off``.
    """
    if warm is not None:
        return warm
    value = os.environ.get(WARM_KERNELS_ENV, "").strip().lower()
    return value not in {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Job:
    """One notebook to render with one set of parameters: everything :func:`render_job` needs.

    Built by :func:`prepare`, already validated; plain values only, so it pickles.
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

    @property
    def phases(self) -> tuple[str, ...]:
        """The phases this job goes through (``html`` is needed for the PDF too)."""
        return ("execute", "html", *(("pdf",) if "pdf" in self.formats else ()), "publish")

    @property
    def label(self) -> str:
        """``notebook/run``, as progress lines show it."""
        return f"{self.name}/{self.run}"


@dataclass(frozen=True)
class RunResult:
    """What became of one :class:`Job`."""

    notebook: str
    run: str
    status: str  # "ok" or "failed"
    seconds: float
    path: Path | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    phase: str | None = None
    error: str | None = None
    error_type: str | None = None
    exit_code: int = 0
    failed_path: Path | None = None

    @property
    def ok(self) -> bool:
        """Whether the run was published."""
        return self.status == "ok"


# -- prepare -----------------------------------------------------------------------------------


def prepare(
    notebooks: Sequence[str | os.PathLike[str]] | None = None,
    *,
    parameters: Mapping[str, object] | None = None,
    params_file: Path | str | None = None,
    formats: Iterable[str] = FORMATS,
    data_dir: Path | str | None = None,
    out_dir: Path | str | None = None,
    timeout: int | None = DEFAULT_TIMEOUT,
    check_data: bool = True,
) -> list[Job]:
    """Check a render request and turn it into jobs, before any kernel starts.

    Parameters
    ----------
    notebooks
        Names from ``notebooks/`` (``brief``) or paths to ``.ipynb`` files. ``None`` or empty:
        every notebook in ``notebooks/``.
    parameters
        Values for every requested notebook: strings from ``-p``, typed values from Python.
        They override ``params_file``.
    params_file
        A YAML file holding one mapping of parameter names to values (``yaml.safe_load``).
    formats
        Any of ``"html"``, ``"pdf"``. The executed ``.ipynb`` is always kept.
    data_dir
        The data folder; passed to every notebook as its ``data_dir`` parameter.
    out_dir
        The output folder. Default: ``reports/``.
    timeout
        Seconds any one cell may run; ``None`` for no limit.
    check_data
        Validate the data folder (:func:`~helpers.validation.ensure_valid`). A caller that
        prepares many requests for one folder, like the batch runner, checks it once itself.

    Returns
    -------
    list of Job

    Raises
    ------
    UsageError
        Unknown format or notebook, unreadable parameters file, conflicting data folders.
    ParameterError
        A parameter that a requested notebook does not declare or does not accept; every
        notebook's problems are listed.
    DataValidationError
        The data folder breaks the schema or the project's rules.
    """
    from helpers.data.dataset import fingerprint
    from helpers.data.validation import ensure_valid
    from helpers.params import validate_parameters
    from helpers.pipeline.publish import check_notebook_name, run_name

    started = time.monotonic()
    formats = parse_formats(formats)
    if timeout is not None and timeout <= 0:
        raise UsageError(f"timeout must be a positive number of seconds, not {timeout}")
    notebook_paths = _resolve_notebooks(notebooks)
    for path in notebook_paths:
        check_notebook_name(path.stem)

    raw: dict[str, object] = {}
    if params_file is not None:
        raw.update(_load_params_file(Path(params_file)))
    raw.update(parameters or {})
    data_path = _data_dir(data_dir, raw)
    if data_path is not None:
        raw["data_dir"] = str(data_path)

    problems: list[str] = []
    checked: list[tuple[Path, dict[str, Any], dict[str, Any]]] = []
    for path in notebook_paths:
        try:
            values = validate_parameters(path, raw)
        except ParameterError as exc:
            problems.append(str(exc))
            continue
        try:
            defaults = validate_parameters(path, {})
        except ParameterError:
            defaults = {}
        checked.append((path, values, defaults))
    if problems:
        raise ParameterError("\n".join(problems))

    if check_data:
        ensure_valid(data_path)
    data_fingerprint = fingerprint(data_path)

    out = Path(out_dir).resolve() if out_dir is not None else paths.REPORTS_DIR
    elapsed = time.monotonic() - started
    jobs = []
    for path, values, defaults in checked:
        overrides = {k: v for k, v in values.items() if k not in defaults or defaults[k] != v}
        run = run_name(values, defaults)
        in_notebooks = path.parent.resolve() == paths.NOTEBOOKS_DIR.resolve()
        command = command_line(
            path.stem if in_notebooks else str(path),
            overrides,
            data_dir=data_path,
            out_dir=out,
            formats=formats,
            timeout=timeout if timeout != DEFAULT_TIMEOUT else None,
        )
        jobs.append(
            Job(
                notebook=path,
                name=path.stem,
                run=run,
                parameters=values,
                overrides=overrides,
                formats=formats,
                out_dir=out,
                data_dir=data_path,
                data_fingerprint=data_fingerprint,
                timeout=timeout,
                command=command,
                validate_seconds=elapsed,
            )
        )
    return jobs


def _resolve_notebooks(notebooks: Sequence[str | os.PathLike[str]] | None) -> list[Path]:
    known = paths.report_notebooks()
    if not notebooks:
        if not known:
            raise UsageError(f"no notebooks in {paths.NOTEBOOKS_DIR}")
        return [p.resolve() for p in known]
    resolved: list[Path] = []
    for name in notebooks:
        path = paths.notebook_path(name)
        if not path.is_file():
            names = ", ".join(p.stem for p in known) or "(none)"
            raise UsageError(f"unknown notebook {str(name)!r}; known notebooks: {names}")
        path = path.resolve()
        if path in resolved:
            continue
        clash = [p for p in resolved if p.stem == path.stem]
        if clash:
            raise UsageError(
                f"{clash[0]} and {path} would publish to the same folder {path.stem}/; "
                "render them separately with different --out folders"
            )
        resolved.append(path)
    return resolved


def _load_params_file(path: Path) -> dict[str, object]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read parameters file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"parameters file {path} is not UTF-8 text: {exc}") from None
    try:
        loaded = yaml.load(text, Loader=_plain_loader())
    except yaml.YAMLError as exc:
        raise UsageError(f"parameters file {path} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(
            f"parameters file {path} must hold a mapping of parameter names to values, "
            f"not a {type(loaded).__name__}"
        )
    return dict(loaded)


#: YAML tags a parameters file may use: plain values, lists and mappings (as a plan's).
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)


def _plain_loader() -> type:
    """``yaml.SafeLoader``, refusing tags other than plain values, and anchors and aliases.

    ``!!binary`` would hand bytes to the schema and ``!!set`` a set; an alias can make a few
    lines expand to billions of values ("billion laughs") and hang the run. A parameters file
    needs none of them.
    """
    import yaml

    class PlainLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "found an alias (*name); write the value out: a parameters file may not "
                    "use anchors and aliases",
                    self.peek_event().start_mark,
                )
            node = super().compose_node(parent, index)
            if node.tag not in _PLAIN_TAGS:
                tag = node.tag.replace("tag:yaml.org,2002:", "!!", 1)
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the tag {tag!r} is not allowed in a parameters file; use plain values "
                    "(text, numbers, true/false, null, dates, lists and mappings)",
                    node.start_mark,
                )
            return node

    return PlainLoader


def _data_dir(data_dir: Path | str | None, raw: Mapping[str, object]) -> Path | None:
    given = raw.get("data_dir")
    if given in (None, "", "None", "null"):
        given = None
    if (
        data_dir is not None
        and given is not None
        and Path(str(given)).resolve() != Path(data_dir).resolve()
    ):
        raise UsageError(
            f"--data {data_dir} and the parameter data_dir={given!r} disagree; give one"
        )
    chosen = data_dir if data_dir is not None else given
    if chosen is None:
        return None
    # Given as the parameter data_dir, a bad folder is a bad parameter (exit 4), as the
    # README promises for every parameter; given as --data, a usage error.
    error = UsageError if data_dir is not None else ParameterError
    text = str(chosen)
    if "\x00" in text:
        what = "data folder" if error is UsageError else "parameter 'data_dir' ="
        raise error(f"{what} {text[:100]!r}: a folder name cannot hold a NUL byte")
    path = Path(text).resolve()
    if not path.is_dir():
        if error is ParameterError:
            raise ParameterError(
                f"parameter 'data_dir' = {text[:100]!r}: no such folder ({path}); "
                "give a data folder, or None for the package's data/"
            )
        raise UsageError(f"data folder {path} does not exist")
    return path


# -- one job -----------------------------------------------------------------------------------


def render_job(
    job: Job, reporter: Reporter | None = None, *, kernel_manager_class: type | None = None
) -> RunResult:
    """Execute, render and publish one job; on failure keep the old report and archive.

    The caller must hold the output folder's lock (:func:`helpers.publish.locked`). Never
    raises for a failed notebook: the failure is returned, archived under
    ``<out>/_failed/<notebook>/<run>/`` and reported. Every temporary file is removed, also
    when the run fails; a process that is killed leaves its temporaries in ``<out>/.tmp/``
    for the next run to remove.

    Parameters
    ----------
    job
        From :func:`prepare`.
    reporter
        Receives phase, done and failed events; default: none.
    kernel_manager_class
        The ``AsyncKernelManager`` subclass that starts the kernel. Default: one forking it
        from the zygote at ``job.zygote`` if set, else ``AsyncKernelManager``.

    Returns
    -------
    RunResult
    """
    from helpers.pipeline import publish
    from helpers.pipeline.execute import execute_notebook

    reporter = reporter or Reporter()
    started = time.monotonic()
    timings: dict[str, float] = {"validate": job.validate_seconds}
    phase = "execute"
    job.out_dir.mkdir(parents=True, exist_ok=True)
    work = publish.staging_dir(job.out_dir, f"{job.name}-{job.run}")
    executed_path = work / f"{job.name}.ipynb"
    kernel_log = work / "kernel.log"
    cwd = work / "cwd" if job.private_cwd else job.notebook.parent
    try:
        reporter.phase(job.name, job.run, phase)
        clock = time.monotonic()
        cwd.mkdir(exist_ok=True)
        options: dict[str, Any] = {}
        if kernel_manager_class is not None:
            options["kernel_manager_class"] = kernel_manager_class
        elif job.zygote:
            from helpers.kernels.forkserver import forking_kernel_manager

            options["kernel_manager_class"] = forking_kernel_manager(job.zygote)
        nb = execute_notebook(
            job.notebook,
            executed_path,
            job.parameters,
            timeout=job.timeout,
            cwd=cwd,
            kernel_log=kernel_log,
            **options,
        )
        timings["execute"] = time.monotonic() - clock

        stage = work / "run"
        stage.mkdir()
        names = {fmt: f"{job.name}.{fmt}" for fmt in ("ipynb", *job.formats)}

        phase = "html"
        reporter.phase(job.name, job.run, phase)
        clock = time.monotonic()
        html = _render_html(nb, job)
        if "html" in job.formats:
            publish.write_atomic(stage / names["html"], html)
        timings["html"] = time.monotonic() - clock

        if "pdf" in job.formats:
            phase = "pdf"
            reporter.phase(job.name, job.run, phase)
            clock = time.monotonic()
            pdf = _render_pdf(html, job)
            publish.write_atomic(stage / names["pdf"], pdf)
            timings["pdf"] = time.monotonic() - clock

        phase = "publish"
        reporter.phase(job.name, job.run, phase)
        clock = time.monotonic()
        publish.write_atomic(stage / names["ipynb"], executed_path.read_bytes())
        outputs = {name: stage / name for name in names.values()}
        # Staging the outputs; the manifest cannot time its own writing or the switch after.
        timings["publish"] = time.monotonic() - clock
        manifest = build_manifest(
            notebook=job.name,
            notebook_path=job.notebook,
            run=job.run,
            parameters=job.parameters,
            overrides=job.overrides,
            data_dir=job.data_dir,
            data_fingerprint=job.data_fingerprint,
            formats=job.formats,
            timeout=job.timeout,
            timings=timings,
            outputs=outputs,
            command=job.command,
            citations=_citations(nb),
        )
        publish.write_atomic(stage / "manifest.json", _json(manifest))
        link = publish.publish_run(stage, job.out_dir, job.name, job.run)
    except Exception as exc:
        error = _as_brief_error(exc, phase, job)
        seconds = time.monotonic() - started
        failed_path = _archive(job, phase, error, exc, executed_path, kernel_log, seconds)
        reporter.failed(job.name, job.run, phase=phase, error=str(error))
        return RunResult(
            notebook=job.name,
            run=job.run,
            status="failed",
            seconds=seconds,
            phase=phase,
            error=str(error),
            error_type=type(error).__name__,
            exit_code=error.exit_code,
            failed_path=failed_path,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.monotonic() - started
    reporter.done(job.name, job.run, seconds=seconds, path=link)
    return RunResult(
        notebook=job.name,
        run=job.run,
        status="ok",
        seconds=seconds,
        path=link,
        outputs={name: link / name for name in (*names.values(), "manifest.json")},
    )


def _citations(nb: Any) -> list[dict[str, Any]]:
    """The data trail the brief's sources section left in its output's metadata."""
    from helpers.params import OUTPUT_METADATA_KEY

    trail: list[dict[str, Any]] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            carried = (output.get("metadata") or {}).get(OUTPUT_METADATA_KEY) or {}
            trail += carried.get("trail", [])
    return trail


def _render_html(nb: Any, job: Job) -> str:
    from helpers.params import check, schema_for
    from helpers.pipeline.export import render_html

    # The title block comes from the validated parameters (a None title names the partner).
    model = check(schema_for(job.notebook), job.parameters, where=job.name)
    nb.metadata.setdefault("brief", {}).update(model.masthead())
    resources = {"metadata": {"name": job.name, "path": str(job.notebook.parent)}}
    return render_html(nb, resources=resources)


def _render_pdf(html: str, job: Job) -> bytes:
    from helpers.pipeline.export import render_pdf

    paper = str(job.parameters.get("paper") or "A4")
    return render_pdf(html, paper=paper, base_url=str(job.notebook.parent))


def _json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, sort_keys=False) + "\n"


#: errnos that mean the output folder cannot be written: the disk, not the notebook.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _as_brief_error(exc: Exception, phase: str, job: Job) -> BriefError:
    # A full or read-only disk is a publishing failure (exit 6) in whichever phase it shows,
    # also when papermill hit it saving the notebook and the execute module wrapped it.
    disk = next(
        (e for e in (exc, exc.__cause__) if isinstance(e, OSError) and e.errno in _DISK_ERRNOS),
        None,
    )
    if disk is not None:
        return RenderError(
            f"{job.notebook.name}: cannot write to {job.out_dir} ({disk.strerror}"
            f"{f': {disk.filename}' if disk.filename else ''}); free some space or choose "
            "another --out. The previous report is untouched."
        )
    if isinstance(exc, BriefError):
        return exc
    if phase == "execute":
        return ExecutionError(f"{job.notebook.name}: {type(exc).__name__}: {exc}")
    return RenderError(f"{job.notebook.name}: {phase} failed: {type(exc).__name__}: {exc}")


def _archive(
    job: Job,
    phase: str,
    error: BriefError,
    exc: Exception,
    executed: Path,
    kernel_log: Path,
    seconds: float,
) -> Path | None:
    """Keep the failed attempt under ``_failed/``; never let archiving hide the real error."""
    from helpers.pipeline import publish

    lines = [
        f"{job.label} failed in {phase} ({type(error).__name__}, exit code {error.exit_code})",
        "",
        str(error),
        "",
        f"reproduce: {job.command}",
    ]
    if not isinstance(exc, BriefError):
        lines += ["", "".join(traceback.format_exception(exc)).rstrip()]
    if kernel_log.is_file():
        tail = kernel_log.read_text(encoding="utf-8", errors="replace").splitlines()
        if tail:
            lines += ["", f"kernel log (last {KERNEL_LOG_LINES} lines):"]
            lines += tail[-KERNEL_LOG_LINES:]
    record = {
        "status": "failed",
        "notebook": job.name,
        "run": job.run,
        "phase": phase,
        "error": str(error),
        "error_type": type(error).__name__,
        "exit_code": error.exit_code,
        "parameters": job.parameters,
        "overrides": job.overrides,
        "seconds": round(seconds, 3),
        "created_at": utc_now(),
        "command": job.command,
    }
    try:
        return publish.archive_failure(
            job.out_dir,
            job.name,
            job.run,
            executed=executed if executed.is_file() else None,
            error_text="\n".join(lines),
            record=record,
        )
    except (OSError, BriefError):
        return None


# -- the whole request -------------------------------------------------------------------------


def render(
    notebooks: Sequence[str | os.PathLike[str]] | None = None,
    *,
    parameters: Mapping[str, object] | None = None,
    params_file: Path | str | None = None,
    formats: Iterable[str] = FORMATS,
    data_dir: Path | str | None = None,
    out_dir: Path | str | None = None,
    timeout: int | None = DEFAULT_TIMEOUT,
    reporter: Reporter | None = None,
    warm_kernels: bool | None = None,
) -> list[RunResult]:
    """Render notebooks into ``<out>/<notebook>/<run>/`` and update ``<out>/index.html``.

    Validates the whole request first (:func:`prepare`; the arguments are the same), then
    takes ``<out>/.brief.lock`` and runs each job with :func:`render_job`, one after the other.
    A failing notebook does not stop the others.

    Unless ``warm_kernels`` is false (:func:`warm_kernels_wanted`), each kernel is forked
    from a warm zygote started once for the request (:mod:`helpers.kernels`): a new process,
    in which no other job's code has run, that has pandas, matplotlib, seaborn and the
    helpers imported already. The zygote's imports overlap this process's own preparation.

    Returns
    -------
    list of RunResult
        One per notebook, when all succeeded.

    Raises
    ------
    UsageError, ParameterError, DataValidationError
        From :func:`prepare`, before anything is written.
    LockHeldError
        Another run holds the lock; nothing was written.
    ExecutionError, RenderError
        After all jobs ran, if any failed: the class (and so the exit code) of the first
        failure, with every failure in the message. The results are in its ``results``
        attribute.
    """
    from helpers.data.validation import ensure_valid
    from helpers.pipeline import publish

    reporter = reporter or Reporter()
    results: list[RunResult] = []
    index_error: RenderError | None = None
    # The zygote imports while this process checks the request and the data and imports what
    # rendering needs. A request refused stops the zygote; no kernel has started by then.
    warm = warm_kernels_wanted(warm_kernels)
    with warm_zygote(warm) as zygote:
        jobs = prepare(
            notebooks,
            parameters=parameters,
            params_file=params_file,
            formats=formats,
            data_dir=data_dir,
            out_dir=out_dir,
            timeout=timeout,
            check_data=False,
        )
        out = jobs[0].out_dir if jobs else paths.REPORTS_DIR
        clock = time.monotonic()
        ensure_valid(jobs[0].data_dir if jobs else None)
        checked = time.monotonic() - clock
        jobs = [dataclasses.replace(j, validate_seconds=j.validate_seconds + checked) for j in jobs]
        preload()
        manager = _waiting_manager(zygote) if warm else None
        try:
            with publish.locked(out):
                reporter.start([(job.name, job.run, job.phases) for job in jobs])
                for job in jobs:
                    results.append(render_job(job, reporter, kernel_manager_class=manager))
                    try:
                        _write_index(out)
                    except RenderError as exc:
                        # The run itself is published or archived; a failed index must not
                        # hide how the jobs went, so it is reported with them below.
                        index_error = exc
                if index_error is None:
                    reporter.message(f"index: {out / publish.INDEX_NAME}")
        finally:
            if manager is not None:
                from helpers.pipeline.export import finish_warm_up

                finish_warm_up()  # no thread outlives the call
    failures = [r for r in results if not r.ok]
    if failures:
        first = failures[0]
        kinds = {cls.__name__: cls for cls in (ExecutionError, RenderError, ParameterError)}
        fallback = RenderError if first.exit_code == RenderError.exit_code else ExecutionError
        cls = kinds.get(first.error_type or "", fallback)
        lines = [f"{len(failures)} of {len(results)} notebook(s) failed:"]
        for r in failures:
            where = f" (kept in {r.failed_path.parent})" if r.failed_path else ""
            lines.append(f"  {r.notebook}/{r.run} in {r.phase}: {r.error}{where}")
        if index_error is not None:
            lines.append(f"  and {index_error}")
        error = cls("\n".join(lines))
        error.results = results  # type: ignore[attr-defined]
        raise error
    if index_error is not None:
        index_error.results = results  # type: ignore[attr-defined]
        raise index_error
    return results


@contextlib.contextmanager
def warm_zygote(wanted: bool) -> Iterator[Callable[[], str | None]]:
    """Start a zygote for warm kernels, if ``wanted``; yield ``address() -> str | None``.

    ``address()`` waits for the zygote and returns its address for :attr:`Job.zygote`, or
    ``None`` (not wanted, or it could not start: kernels then start normally). Until then the
    caller's own work runs beside the zygote's imports. The zygote and any kernel forked from
    it stop when the block ends.
    """
    if not wanted:
        yield lambda: None
        return
    from helpers.kernels.forkserver import zygote_in_background

    with zygote_in_background(freeze_gc=FREEZE_GC) as address:
        yield address


def _waiting_manager(address: Callable[[], str | None]) -> type:
    """A kernel manager forking from the zygote, that waits for it only when a kernel starts.

    The first HTML and PDF renders of a process cost about a second more than the next ones
    (:func:`helpers.exporters.warm_up`). That second is paid here, where it costs no time on
    a machine with a core to spare: the HTML template is compiled before waiting for the
    zygote's imports, and WeasyPrint is warmed in a thread while the kernel runs.
    """
    from helpers.kernels.forkserver import ForkingKernelManager
    from helpers.pipeline.export import warm_up, warm_up_pdf_in_background

    class WaitingForkingKernelManager(ForkingKernelManager):
        async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
            cls = type(self)
            if not getattr(cls, "_resolved", False):
                with contextlib.suppress(Exception):  # the real render reports any problem
                    warm_up()
                cls.zygote_address, cls._resolved = address(), True
                warm_up_pdf_in_background()
            return await super()._async_pre_start_kernel(**kw)

        pre_start_kernel = _async_pre_start_kernel  # type: ignore[assignment]

    return WaitingForkingKernelManager


def preload() -> None:
    """Import what :func:`render_job` needs (papermill, nbconvert, WeasyPrint), ahead of it.

    Costs nothing extra: the first job would import them. Done while a zygote imports, it
    overlaps that zygote's start-up instead of following it.
    """
    from helpers.pipeline import export as exporters  # noqa: F401


def _write_index(out: Path) -> None:
    from helpers.pipeline import publish

    try:
        publish.write_index(out)
    except OSError as exc:
        raise RenderError(f"could not write {out / publish.INDEX_NAME}: {exc}") from exc
