"""The render pipeline: validate everything, then execute, render and publish each notebook.

:func:`render` is what ``brief render`` calls, with a
:class:`~helpers.pipeline.request.RenderRequest`. It is two steps that the batch runner
reuses:

1. :func:`~helpers.pipeline.prepare.prepare` checks the whole request before any kernel
   starts: the notebook names, the parameters file (:mod:`helpers.yamlfile`), every
   notebook's parameters (:func:`~helpers.params.validate_parameters`) and the data
   (:func:`~helpers.data.validation.ensure_valid`). It returns one
   :class:`~helpers.pipeline.request.Job` per notebook.
2. :func:`render_job` runs one job: execute (:mod:`~helpers.pipeline.execute`), check, render
   HTML and PDF (:mod:`~helpers.pipeline.export`), and publish atomically
   (:mod:`~helpers.pipeline.publish`). A failure leaves the previous report as it was and
   archives the failed attempt under ``_failed/``. It takes and returns plain, picklable
   values, so it can run in another process.

:func:`render` takes the output folder's lock between the two, so nothing is touched when
another run holds it, rewrites ``index.html`` after each job (:mod:`~helpers.pipeline.index`),
and raises :class:`~helpers.pipeline.request.RenderFailed` when some job failed. The warm
kernels both commands use start here too (:func:`warm_zygote`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers import paths
from helpers.common import utc_now
from helpers.errors import (
    BriefError,
    ClusterError,
    ExecutionError,
    RenderError,
)
from helpers.ledger import EditionSummary
from helpers.params import OUTPUT_METADATA_KEY, SINCE_FIELD, check, schema_for
from helpers.pipeline import publish
from helpers.pipeline.manifest import build_manifest
from helpers.pipeline.prepare import prepare, quotations, warn_unchecked
from helpers.pipeline.progress import Reporter
from helpers.pipeline.request import Job, RenderFailed, RenderingFailed, RenderRequest, RunResult
from helpers.pipeline.series import (
    Previous,
    made_from,
    previous_edition,
    series_key,
)
from helpers.signals import interrupts, note_published, published_so_far, sigterm_interrupts

if TYPE_CHECKING:
    from traitlets.config import Config

    from helpers.pipeline.kernel_ahead import StartedKernel

#: Lines of the kernel's own log kept in a failed run's ``error.txt``.
KERNEL_LOG_LINES = 40
#: Set to ``0`` to start every kernel from its kernelspec instead of forking warm ones.
WARM_KERNELS_ENV = "BRIEF_WARM_KERNELS"
#: Freeze the zygote's objects out of the kernels' garbage collections (``gc.freeze()``, see
#: :func:`helpers.kernels.forkserver.warm_kernels`). Measured here (``benchmarks/kernels.py``,
#: medians of 5): a kernel shuts down in 0.2 s instead of 0.9 s, and the main brief runs in 2.9 s
#: instead of 3.5 s, because the collector no longer walks, and so copies, the zygote's heap
#: in every kernel. No job can see another through it; what a notebook can see is that
#: ``gc.get_freeze_count()`` is not 0 and that ``gc.get_objects()`` leaves out objects made
#: by the warm imports, which no report notebook looks at.
FREEZE_GC = True

__all__ = [
    "WARM_KERNELS_ENV",
    "RenderFailed",
    "RenderRequest",
    "preload",
    "prepare",
    "render",
    "render_job",
    "warm_kernels_wanted",
    "warm_zygote",
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


# -- one job -----------------------------------------------------------------------------------


def render_job(
    job: Job,
    reporter: Reporter | None = None,
    *,
    config: Config | None = None,
    kernel: StartedKernel | None = None,
) -> RunResult:
    """Execute, render and publish one job; on failure keep the old report and archive.

    The caller must hold the output folder's lock (:func:`helpers.pipeline.publish.locked`).
    Never raises for a failed notebook: the failure is returned, archived under
    ``<out>/_failed/<notebook>/<run>/`` and reported. Every temporary file is removed, also
    when the run fails; a process that is killed leaves its temporaries in ``<out>/.tmp/``
    for the next run to remove.

    Parameters
    ----------
    job
        From :func:`prepare`.
    reporter
        Receives phase, staged (the HTML, before the PDF), done and failed events; default:
        none.
    config
        traitlets configuration for nbclient and the kernel manager
        (:class:`~helpers.pipeline.execute.RunKernelManager`): :func:`render` configures the
        zygote's address this way (:func:`helpers.kernels.provisioner.forking_config`).
        Default: the kernel forks from the zygote at ``job.zygote`` if set, else it starts
        from its kernelspec.
    kernel
        A kernel started ahead (:mod:`helpers.pipeline.kernel_ahead`; ``brief serve``'s),
        taken by this job: the cells run on it if it fits the job (its folder, its
        kernelspec) and is alive, instead of on a new kernel. In any case it is ended when
        the job ends.

    Returns
    -------
    RunResult
    """
    reporter = reporter or Reporter()
    started = time.monotonic()
    try:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        work = publish.staging_dir(job.out_dir, f"{job.name}-{job.run}")
    except BaseException:
        if kernel is not None:  # nothing will run on it
            kernel.discard()
        raise
    attempt = _Attempt(
        job, reporter, work, timings={"validate": job.validate_seconds}, kernel=kernel
    )
    stops = interrupts()
    try:
        # A link where the run will be published is refused before a kernel starts.
        attempt.phase = "publish"
        versions = job.out_dir / job.name / publish.VERSIONS_NAME / job.run
        publish.check_no_links(job.out_dir, versions)
        attempt.phase = "execute"
        attempt.previous = _previous(attempt)
        nb = _execute(attempt, config)
        edition = _edition(attempt, nb)
        if job.only_changed and _unchanged(attempt.previous, edition):
            seconds = time.monotonic() - started
            since = attempt.previous.edition.reference() if attempt.previous.edition else {}
            reporter.message(
                f"{job.label}: nothing new since the edition of {since.get('date', '?')}; "
                "not published (--only-changed)"
            )
            return RunResult(
                job.name,
                job.run,
                "unchanged",
                seconds,
                edition=_summary(edition),
                warnings=attempt.warnings,
            )
        stage, names = _render_outputs(attempt, nb)
        link = _publish(attempt, nb, stage, names, edition)
        note_published(job.label)
    except Exception as exc:
        if interrupts() != stops:  # stopped, and a library turned it into an error: say so
            raise KeyboardInterrupt(f"{job.label} was stopped") from exc
        return _failed(attempt, exc, time.monotonic() - started)
    finally:
        if attempt.kernel is not None:  # the job ended before its cells ran
            attempt.kernel.discard()
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
        edition=_summary(edition),
        warnings=attempt.warnings,
    )


def _previous(attempt: _Attempt) -> Previous:
    """The edition this job's brief follows (:mod:`helpers.pipeline.series`); a warning when
    the previous one cannot be read."""
    job = attempt.job
    return previous_edition(job.out_dir, job.name, job.run, job.parameters, since=job.since)


def _edition(attempt: _Attempt, nb: Any) -> dict[str, Any] | None:
    """The manifest's ``edition``: the ledger the brief left, its series and the comparison."""
    ledger = _carried(nb, "edition")
    if not ledger:
        return None
    job = attempt.job
    ledger = {**ledger[-1], "made_from": made_from(job.notebook, job.data_dir)}
    return {
        **ledger,
        "series": series_key(job.name, job.parameters),
        **attempt.previous.record(ledger),
    }


def _unchanged(previous: Previous, edition: dict[str, Any] | None) -> bool:
    """True when ``edition`` shows exactly what the previous edition did: the same facts,
    made from the same notebook, code, sources, actors and places (an actor renamed changes
    what the reader sees, though no fact's hash covers the name)."""
    changes = (edition or {}).get("changes")
    return (
        previous.edition is not None
        and changes is not None
        and not any(changes.values())
        and not (edition or {}).get("made_from_changed")
    )


def _summary(edition: dict[str, Any] | None) -> EditionSummary | None:
    """What a batch summary and the index say of an edition (its manifest's ``edition``):
    since when, and what changed; what it was made from only when that changed."""
    if edition is None:
        return None
    summary = EditionSummary.from_json(edition)
    if summary.made_from_changed:
        return summary
    return dataclasses.replace(summary, made_from_changed=None)


@dataclass
class _Attempt:
    """One job's run as it goes: the phase it is in, what each phase took, its work folder."""

    job: Job
    reporter: Reporter
    work: Path
    phase: str = "execute"
    timings: dict[str, float] = field(default_factory=dict)
    #: The edition the brief follows, found before it runs.
    previous: Previous = field(default_factory=lambda: Previous(None))
    #: What rendering found to warn of (figures without alternative text).
    notes: list[str] = field(default_factory=list)
    #: A kernel started ahead for this job, until its cells are sent to it.
    kernel: StartedKernel | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the log should say of this attempt besides its outcome."""
        warning = self.previous.warning
        found = (f"warning: {self.job.label}: {warning}",) if warning else ()
        return found + tuple(f"warning: {self.job.label}: {note}" for note in self.notes)

    @property
    def executed(self) -> Path:
        """Where papermill writes the executed notebook."""
        return self.work / f"{self.job.file_stem}.ipynb"

    @property
    def kernel_log(self) -> Path:
        """Where the kernel's own output goes (its tail is kept if the run fails)."""
        return self.work / "kernel.log"

    @contextlib.contextmanager
    def step(self, phase: str) -> Iterator[None]:
        """Enter ``phase`` (a failure from here on is that phase's) and time the block."""
        self.phase = phase
        self.reporter.phase(self.job.name, self.job.run, phase)
        clock = time.monotonic()
        yield
        self.timings[phase] = time.monotonic() - clock


def _execute(attempt: _Attempt, config: Config | None = None) -> Any:
    """Run the notebook in a kernel (:mod:`helpers.pipeline.execute`); the executed notebook."""
    # Imported when a kernel is about to start, not with this module: jupyter_client and
    # nbformat take a while to import, which render() spends beside the zygote's imports.
    from helpers.kernels.provisioner import forking_config  # noqa: PLC0415
    from helpers.pipeline.execute import execute_notebook  # noqa: PLC0415

    job = attempt.job
    cwd = attempt.work / "cwd" if job.private_cwd else job.notebook.parent
    with attempt.step("execute"):
        cwd.mkdir(exist_ok=True)
        if config is None and job.zygote:
            config = forking_config(job.zygote)
        kernel, attempt.kernel = attempt.kernel, None
        if kernel is not None and not kernel.fits(cwd, paths.KERNEL_NAME):
            kernel.discard()  # another folder, or it died waiting: a new kernel, as usual
            kernel = None
        if kernel is not None:
            kernel.hand_log_to(attempt.kernel_log)
        return execute_notebook(
            job.notebook,
            attempt.executed,
            {**job.parameters, SINCE_FIELD: attempt.previous.since},
            timeout=job.timeout,
            cwd=cwd,
            kernel_log=attempt.kernel_log,
            config=config,
            kernel=kernel.manager if kernel is not None else None,
        )


def _render_outputs(attempt: _Attempt, nb: Any) -> tuple[Path, dict[str, str]]:
    """Render the HTML (the PDF is made from it) and the PDF into a new staging folder.

    Returns the folder and the output file name of each format, ``ipynb`` included.
    """
    job = attempt.job
    stage = attempt.work / "run"
    stage.mkdir()
    names = {fmt: f"{job.file_stem}.{fmt}" for fmt in ("ipynb", *job.formats)}
    with attempt.step("html"):
        if _fill_title_block(nb, job):  # kept in the published notebook: it renders the same
            import nbformat  # noqa: PLC0415

            nbformat.write(nb, attempt.executed)
        html = _render_html(nb, job)
        attempt.notes += _accessibility_notes(html)
        if "html" in job.formats:
            publish.write_atomic(stage / names["html"], html)
    if "html" in job.formats:  # a preview for whoever waits (brief serve), before the PDF
        attempt.reporter.staged(job.name, job.run, "html", stage / names["html"])
    if "pdf" in job.formats:
        with attempt.step("pdf"):
            publish.write_atomic(stage / names["pdf"], _render_pdf(html, job, nb))
    return stage, names


def _accessibility_notes(html: str) -> list[str]:
    """A warning for figures nbconvert gave its placeholder alternative text: published, but
    a screen reader (and the tagged PDF) can only say that they are not described."""
    from helpers.pipeline.export import MISSING_ALT  # noqa: PLC0415

    missing = html.count(MISSING_ALT)
    if not missing:
        return []
    return [
        f"{missing} figure(s) without alternative text: a screen reader hears only "
        f"{MISSING_ALT!r}; give each an alt text (the helpers' charts carry one)"
    ]


def _publish(
    attempt: _Attempt,
    nb: Any,
    stage: Path,
    names: Mapping[str, str],
    edition: dict[str, Any] | None = None,
) -> Path:
    """Stage the executed notebook and the manifest beside the outputs; switch the run in."""
    job = attempt.job
    # Times the staging of the outputs: the manifest cannot time its own writing, nor the
    # switch after it.
    with attempt.step("publish"):
        publish.write_atomic(stage / names["ipynb"], attempt.executed.read_bytes())
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
        timings=attempt.timings,
        outputs={name: stage / name for name in names.values()},
        command=job.command,
        citations=_carried(nb, "trail", flatten=True),
        edition=edition,
    )
    manifest["quotations"] = quotations(job.data_dir)
    if "pdf" in job.formats:
        manifest["pdf_variant"] = job.pdf_variant
    publish.write_atomic(stage / "manifest.json", _json(manifest))
    _check_gate(job)
    return publish.publish_run(stage, job.out_dir, job.name, job.run)


def _check_gate(job: Job) -> None:
    """Refuse to publish once the batch that sent the job has ended (:attr:`Job.publish_gate`)."""
    if job.publish_gate is not None and not os.path.lexists(job.publish_gate):
        raise ClusterError(
            f"{job.label}: not published: the batch that sent it has ended (and released the "
            f"lock of {job.out_dir}) before it finished"
        )


def _failed(attempt: _Attempt, exc: Exception, seconds: float) -> RunResult:
    """Archive and report a failed attempt; its result."""
    job, phase = attempt.job, attempt.phase
    error = _as_brief_error(exc, phase, job)
    # Nothing is written under --out once the batch has ended, not even a failed attempt.
    gone = job.publish_gate is not None and not os.path.lexists(job.publish_gate)
    failed_path = None if gone else _archive(attempt, error, exc, seconds)
    attempt.reporter.failed(job.name, job.run, phase=phase, error=str(error))
    result = RunResult.failure(job, error, phase=phase, seconds=seconds, failed_path=failed_path)
    return dataclasses.replace(result, warnings=attempt.warnings)


def _carried(nb: Any, key: str, *, flatten: bool = False) -> list[Any]:
    """What the brief's cells left under ``key`` in their outputs' metadata, in cell order:
    the sources section's data trail (``trail``, lists joined with ``flatten``) and the
    edition's ledger (``edition``)."""
    found: list[Any] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            carried = (output.get("metadata") or {}).get(OUTPUT_METADATA_KEY) or {}
            if key in carried:
                found += carried[key] if flatten else [carried[key]]
    return found


def _fill_title_block(nb: Any, job: Job) -> bool:
    """For a notebook whose cells left no title block (one that does not open a brief with
    ``helpers.open_brief``), put the one its validated parameters give in its metadata,
    where the house exporters find it too. True if it did."""
    from helpers.pipeline.export import title_block  # noqa: PLC0415

    if title_block(nb):
        return False
    model = check(schema_for(job.notebook), job.parameters, where=job.name)
    nb.metadata.setdefault("brief", {}).update(model.masthead())
    return True


def _render_html(nb: Any, job: Job) -> str:
    from helpers.pipeline.export import render_html  # noqa: PLC0415

    resources = {"metadata": {"name": job.name, "path": str(job.notebook.parent)}}
    return render_html(nb, resources=resources)


def _render_pdf(html: str, job: Job, nb: Any = None) -> bytes:
    from helpers.pipeline.export import DEFAULT_PDF_VARIANT, render_pdf  # noqa: PLC0415

    paper = str(job.parameters.get("paper") or "A4")
    # The variant only when it is not the default: render_pdf's call stays what it was for
    # the default PDF (and for whatever stands in for it).
    options: dict[str, Any] = {}
    if job.pdf_variant != DEFAULT_PDF_VARIANT:
        options["variant"] = job.pdf_variant
        if nb is not None and job.pdf_variant.startswith("pdf/a-3"):
            options["attachments"] = _evidence(job, nb)
    return render_pdf(html, paper=paper, base_url=str(job.notebook.parent), **options)


def _evidence(job: Job, nb: Any) -> dict[str, bytes]:
    """What an archival PDF (``pdf/a-3u``) carries of its own evidence, as attached files:
    ``evidence.json``, what the manifest will say of the run's inputs (parameters, data
    fingerprint, the command that makes it again) and every citation with the data rows
    behind it. The manifest itself cannot be attached: it records the PDF's own sha256."""
    evidence = {
        "notebook": job.name,
        "run": job.run,
        "parameters": job.parameters,
        "data_fingerprint": job.data_fingerprint,
        "command": job.command,
        "citations": _carried(nb, "trail", flatten=True),
    }
    text = json.dumps(evidence, indent=2, default=str, ensure_ascii=False) + "\n"
    return {"evidence.json": text.encode()}


def _json(value: Any) -> str:
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


def _archive(attempt: _Attempt, error: BriefError, exc: Exception, seconds: float) -> Path | None:
    """Keep the failed attempt under ``_failed/``; never let archiving hide the real error."""
    job, phase, kernel_log = attempt.job, attempt.phase, attempt.kernel_log
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
            executed=attempt.executed if attempt.executed.is_file() else None,
            error_text="\n".join(lines),
            record=record,
        )
    except (OSError, BriefError):
        return None


# -- the whole request -------------------------------------------------------------------------


def render(
    request: RenderRequest | Sequence[str | os.PathLike[str]] | None = None,
    /,
    *,
    reporter: Reporter | None = None,
    **fields: Any,
) -> list[RunResult]:
    """Render notebooks into ``<out>/<notebook>/<run>/`` and update ``<out>/index.html``.

    Validates the whole request first (:func:`prepare`), then takes ``<out>/.brief.lock`` and
    runs each job with :func:`render_job`, one after the other. A failing notebook does not
    stop the others.

    Unless the request's ``warm_kernels`` is false (:func:`warm_kernels_wanted`), each kernel
    is forked from a warm zygote started once for the request (:mod:`helpers.kernels`): a new
    process, in which no other job's code has run, that has pandas, matplotlib, seaborn and
    the helpers imported already. The zygote's imports overlap this process's own
    preparation.

    Parameters
    ----------
    request
        A :class:`~helpers.pipeline.request.RenderRequest`; or its ``notebooks``, with its
        other fields as keyword arguments, as :func:`prepare` takes them:
        ``render(["brief"], parameters={"partner": "China"})``.
    reporter
        Receives the progress of every job; default: none.

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
    RenderFailed
        After all jobs ran, if any failed or the index could not be written: every result is
        in its ``results``. It is raised as the kind of the first failure
        (:class:`~helpers.pipeline.request.ExecutionFailed`, an ``ExecutionError``;
        :class:`~helpers.pipeline.request.RenderingFailed`, a ``RenderError``), with every
        failure in the message.
    """
    # Imported here, not at the top: jinja2, the index's templates and the data's checks would
    # delay the start of the zygote, which `brief render` starts before anything else.
    from helpers.data import validation  # noqa: PLC0415
    from helpers.pipeline import index  # noqa: PLC0415
    from helpers.pipeline.feeds import update_feeds  # noqa: PLC0415

    request = RenderRequest.of(request, **fields)
    reporter = reporter or Reporter()
    results: list[RunResult] = []
    index_error: RenderError | None = None
    # The zygote imports while this process checks the request and the data and imports what
    # rendering needs. A request refused stops the zygote; no kernel has started by then.
    warm = warm_kernels_wanted(request.warm_kernels)
    with warm_zygote(warm) as zygote:
        jobs = prepare(request, check_data=False)
        out = jobs[0].out_dir if jobs else paths.REPORTS_DIR
        clock = time.monotonic()
        validation.ensure_valid(jobs[0].data_dir if jobs else None)
        checked = time.monotonic() - clock
        jobs = [dataclasses.replace(j, validate_seconds=j.validate_seconds + checked) for j in jobs]
        preload()
        forking = _forking_when_needed(zygote) if warm else {}
        try:
            with publish.locked(out), sigterm_interrupts():
                warn_unchecked(jobs, reporter)
                reporter.start([(job.name, job.run, job.phases) for job in jobs])
                try:
                    for job in jobs:
                        results.append(render_job(job, reporter, **forking))
                        for warning in results[-1].warnings:
                            reporter.message(warning)
                        # The run itself is published or archived; a failed index must not
                        # hide how the jobs went, so it is reported with them below. The
                        # feeds first: the index links to the folder's feed.
                        index_error = update_feeds(out, base_url=request.base_url) or index_error
                        index_error = index.update_index(out) or index_error
                except KeyboardInterrupt:
                    # Stopped just after a run was published: the index lists it all the same.
                    if published_so_far():
                        update_feeds(out, base_url=request.base_url)
                        index.update_index(out)
                    raise
                if index_error is None:
                    reporter.message(f"index: {out / index.INDEX_NAME}")
        finally:
            if forking:
                from helpers.pipeline.export import finish_warm_up  # noqa: PLC0415

                finish_warm_up()  # no thread outlives the call
    _raise_failures(results, index_error)
    return results


def _raise_failures(results: Sequence[RunResult], index_error: RenderError | None) -> None:
    """Raise :class:`RenderFailed` if a job failed or the index was not written."""
    failures = [r for r in results if not r.ok]
    if failures:
        lines = [f"{len(failures)} of {len(results)} notebook(s) failed:"]
        for r in failures:
            where = f" (kept in {r.failed_path.parent})" if r.failed_path else ""
            lines.append(f"  {r.notebook}/{r.run} in {r.phase}: {r.error}{where}")
        if index_error is not None:
            lines.append(f"  and {index_error}")
        raise RenderFailed.of_kind(failures[0].exit_code, "\n".join(lines), results)
    if index_error is not None:
        raise RenderingFailed(str(index_error), results) from index_error.__cause__


@contextlib.contextmanager
def warm_zygote(wanted: bool, *, then: Sequence[str] = ()) -> Iterator[Callable[[], str | None]]:
    """Start a zygote for warm kernels, if ``wanted``; yield ``address() -> str | None``.

    ``address()`` waits for the zygote and returns its address for :attr:`Job.zygote`, or
    ``None`` (not wanted, or it could not start: kernels then start normally). Until then the
    caller's own work runs beside the zygote's imports. The zygote and any kernel forked from
    it stop when the block ends. ``then``: more warm entries (``module`` or
    ``module:function``) after :data:`~helpers.kernels.zygote.DEFAULT_WARM_MODULES`, for a
    zygote that lives long enough to repay them (``brief serve``'s
    :data:`~helpers.serve.jobs.SERVER_WARM_ENTRIES`).
    """
    if not wanted:
        yield lambda: None
        return
    from helpers.kernels.forkserver import (  # noqa: PLC0415
        DEFAULT_WARM_MODULES,
        zygote_in_background,
    )

    modules = (*DEFAULT_WARM_MODULES, *then)
    with zygote_in_background(modules, freeze_gc=FREEZE_GC) as address:
        yield address


def _forking_when_needed(address: Callable[[], str | None]) -> dict[str, Any]:
    """:func:`render_job`'s options for kernels forked from the zygote, waited for only when
    the first kernel starts: its ``config`` (:func:`helpers.kernels.provisioner.forking_config`).

    The first HTML and PDF renders of a process cost about a second more than the next ones
    (:func:`helpers.pipeline.export.warm_up`). That second is paid here, where it costs no time on
    a machine with a core to spare: the HTML template is compiled before waiting for the
    zygote's imports, and WeasyPrint is warmed in a thread while the first kernel runs.
    """
    from helpers.kernels.provisioner import forking_config  # noqa: PLC0415
    from helpers.pipeline.export import warm_up, warm_up_pdf_in_background  # noqa: PLC0415

    resolved: list[str | None] = []

    def when_needed() -> str | None:
        if not resolved:
            with contextlib.suppress(Exception):  # the real render reports any problem
                warm_up()
            resolved.append(address())
            warm_up_pdf_in_background()
        return resolved[0]

    return {"config": forking_config(when_needed)}


def preload() -> None:
    """Import what :func:`render_job` needs (papermill, nbconvert, WeasyPrint), ahead of it.

    Costs nothing extra: the first job would import them. Done while a zygote imports, it
    overlaps that zygote's start-up instead of following it.
    """
    from helpers.pipeline import export as exporters  # noqa: F401, PLC0415
