"""Check a render request before any kernel starts, and turn it into jobs.

:func:`prepare` is the first step of ``brief render`` (:func:`helpers.pipeline.render.render`)
and of every job of ``brief batch``: it checks the notebook names, the parameters file
(:mod:`helpers.yamlfile`), every notebook's parameters
(:func:`~helpers.params.validate_parameters`) and the data
(:func:`~helpers.data.validation.ensure_valid`), and returns one
:class:`~helpers.pipeline.request.Job` per notebook. Nothing is written.

The source texts the brief's quotations are checked against are looked for here too:
:func:`require_sources` (``--require-sources``), :func:`warn_unchecked` (the warning before
rendering) and :func:`quotations` (what a manifest records of the check).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.common import DEFAULT_TIMEOUT
from helpers.data import package as data_package
from helpers.errors import DataValidationError, ParameterError, UsageError
from helpers.params import SINCE_FIELD, notebook_metadata, validate_parameters
from helpers.paths import resolved
from helpers.pipeline import publish
from helpers.pipeline.manifest import command_line
from helpers.pipeline.progress import Reporter
from helpers.pipeline.request import Job, RenderRequest
from helpers.pipeline.series import check_since, is_edition_date, manifest_path

__all__ = ["prepare", "quotations", "require_sources", "warn_unchecked"]


def prepare(
    request: RenderRequest | Sequence[str | os.PathLike[str]] | None = None,
    /,
    *,
    check_data: bool = True,
    **fields: Any,
) -> list[Job]:
    """Check a render request and turn it into jobs, before any kernel starts.

    Parameters
    ----------
    request
        A :class:`~helpers.pipeline.request.RenderRequest`; or its ``notebooks``, with its
        other fields as keyword arguments: ``prepare(["brief"], parameters={"partner":
        "China"})``. ``None`` or empty: every notebook in ``notebooks/``.
    check_data
        Validate the data folder (:func:`~helpers.data.validation.ensure_valid`). A caller
        that prepares many requests for one folder, like the batch runner, checks it once
        itself.
    **fields
        Fields of :class:`~helpers.pipeline.request.RenderRequest`: ``parameters``,
        ``params_file``, ``formats``, ``data_dir``, ``out_dir``, ``timeout``,
        ``warm_kernels``.

    Returns
    -------
    list of Job

    Raises
    ------
    UsageError
        Unknown format or notebook, unreadable or malformed parameters file, conflicting
        data folders.
    ParameterError
        A parameter that a requested notebook does not declare or does not accept; every
        notebook's problems are listed.
    DataValidationError
        The data folder breaks the schema or the project's rules.
    """
    from helpers.data import validation  # noqa: PLC0415 - ~0.2 s that would delay brief render's zygote

    started = time.monotonic()
    request = RenderRequest.of(request, **fields)
    notebook_paths = _resolve_notebooks(request.notebooks)
    raw, data_path = _given_parameters(request)
    if SINCE_FIELD in raw:
        raise ParameterError(
            f"parameter {SINCE_FIELD!r}: set by brief render itself (the previous edition of "
            "the series); to choose the edition to compare with, use --since RUN|DATE"
        )
    if request.since is not None and not is_edition_date(request.since):
        manifest_path(request.since)  # a usage error now, before any kernel, if it is not there
    checked = _check_parameters(notebook_paths, raw)
    if check_data:
        validation.ensure_valid(data_path)
    if request.require_sources:
        require_sources(data_path)
    data_fingerprint = data_package.fingerprint(data_path)

    out = (
        resolved(request.out_dir, what="output folder")
        if request.out_dir is not None
        else paths.REPORTS_DIR
    )
    elapsed = time.monotonic() - started
    jobs = []
    for path, values, defaults in checked:
        if request.since is not None and not is_edition_date(request.since):
            check_since(request.since, path.stem, values)
        overrides = {k: v for k, v in values.items() if k not in defaults or defaults[k] != v}
        in_notebooks = path.parent.resolve() == paths.NOTEBOOKS_DIR.resolve()
        command = command_line(
            path.stem if in_notebooks else str(path),
            overrides,
            data_dir=data_path,
            out_dir=out,
            formats=request.formats,
            timeout=request.timeout if request.timeout != DEFAULT_TIMEOUT else None,
            name=request.name,
            pdf_variant=request.pdf_variant if "pdf" in request.formats else None,
        )
        run = publish.run_name(values, defaults)
        stem = (
            publish.file_stem(request.name, {**values, "notebook": path.stem, "run": run})
            if request.name
            else ""
        )
        jobs.append(
            Job(
                notebook=path,
                name=path.stem,
                run=run,
                stem=stem,
                parameters=values,
                overrides=overrides,
                formats=tuple(request.formats),
                out_dir=out,
                data_dir=data_path,
                data_fingerprint=data_fingerprint,
                timeout=request.timeout,
                command=command,
                validate_seconds=elapsed,
                since=request.since,
                pdf_variant=request.pdf_variant or "pdf/ua-1",
            )
        )
    return jobs


def _resolve_notebooks(notebooks: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The notebook files a request names (every one in ``notebooks/`` for none), each with
    a name that can name its report folder."""
    known = paths.report_notebooks()
    if not notebooks:
        if not known:
            raise UsageError(f"no notebooks in {paths.NOTEBOOKS_DIR}")
        resolved = [p.resolve() for p in known]
    else:
        resolved = []
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
    for path in resolved:
        publish.check_notebook_name(path.stem)
        _check_readable(path)
    return resolved


def _check_readable(path: Path) -> None:
    """A usage error, before any kernel, for a notebook file that is not a notebook.

    A file found readable is not read again in this process while it is unchanged (the jobs
    of a batch share a few notebooks; ``brief serve`` checks one per request).
    """
    import nbformat  # noqa: PLC0415

    try:
        status = path.stat()
        seen = (str(path), status.st_mtime_ns, status.st_size, status.st_ino)
    except OSError:
        seen = None
    if seen is not None and seen in _READABLE:
        return
    notebook_metadata(path)  # JSON that is no object ([], "x", null) is refused by name
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except (OSError, ValueError, AttributeError, TypeError, nbformat.ValidationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path} is not a readable Jupyter notebook: {first}") from None
    if seen is not None:
        _READABLE.add(seen)


#: Notebook files :func:`_check_readable` found readable: (path, mtime, size, inode).
_READABLE: set[tuple[str, int, int, int]] = set()


def _given_parameters(request: RenderRequest) -> tuple[dict[str, object], Path | None]:
    """The parameters as given, before any schema: the ``-f`` file's, then ``parameters``,
    then the data folder, which both ``--data`` and the parameter ``data_dir`` can name."""
    raw: dict[str, object] = {}
    if request.params_file is not None:
        raw.update(_params_file(request.params_file))
    raw.update(request.parameters)
    data_path = _data_dir(request.data_dir, raw)
    if data_path is not None:
        raw["data_dir"] = str(data_path)
    return raw, data_path


def _params_file(path: Path) -> dict[object, object]:
    """A ``-f`` file's mapping, read as a plan is (:mod:`helpers.yamlfile`)."""
    from helpers.yamlfile import read_yaml  # noqa: PLC0415 - PyYAML, which would delay the zygote too

    kind = "parameters file"
    loaded = read_yaml(path, kind=kind, header=f"{kind} {path} is not valid YAML:")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(
            f"{kind} {path} must hold a mapping of parameter names to values, "
            f"not a {type(loaded).__name__}"
        )
    return loaded


def _check_parameters(
    notebooks: Sequence[Path], raw: Mapping[str, object]
) -> list[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """Each notebook with its checked parameters and its defaults; every notebook's problems
    in one :class:`ParameterError`."""
    problems: list[str] = []
    checked: list[tuple[Path, dict[str, Any], dict[str, Any]]] = []
    for path in notebooks:
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
    return checked


def _data_dir(data_dir: Path | str | None, raw: Mapping[str, object]) -> Path | None:
    given = raw.get("data_dir")
    if given in (None, "", "None", "null"):
        given = None
    error = UsageError if data_dir is not None else ParameterError
    what = "data folder" if data_dir is not None else "parameter 'data_dir' ="
    if (
        data_dir is not None
        and given is not None
        and resolved(str(given), what="parameter 'data_dir' =", error=ParameterError)
        != resolved(data_dir, what="data folder")
    ):
        raise UsageError(
            f"--data {data_dir} and the parameter data_dir={given!r} disagree; give one"
        )
    chosen = data_dir if data_dir is not None else given
    if chosen is None:
        return None
    # Given as the parameter data_dir, a bad folder is a bad parameter (exit 4), as the
    # README promises for every parameter; given as --data, a usage error.
    text = str(chosen)
    if "\x00" in text:
        raise error(f"{what} {text[:100]!r}: a folder name cannot hold a NUL byte")
    path = resolved(text, what=what, error=error)
    if not path.is_dir():
        if error is ParameterError:
            raise ParameterError(
                f"parameter 'data_dir' = {text[:100]!r}: no such folder ({path}); "
                "give a data folder, or None for the package's data/"
            )
        raise UsageError(f"data folder {path} does not exist")
    return path


def require_sources(data_dir: Path | None) -> None:
    """``--require-sources``: refuse a data folder whose source texts are not all found here.

    Raises
    ------
    DataValidationError
        Naming each source text that is missing and where it was looked for (exit 3).
    """
    from helpers.data import validation  # noqa: PLC0415 - ~0.2 s that would delay brief render's zygote

    notes = validation.unchecked_sources(data_dir)
    if notes:
        raise DataValidationError(
            [
                f"{note}; --require-sources publishes no brief whose quotations were not "
                "checked: give the folder with --sources or $BRIEF_SOURCES"
                for note in notes
            ]
        )


def quotations(data_dir: Path | None) -> dict[str, Any]:
    """What a manifest records of the check of the brief's quotations against the source
    texts: ``{"checked": bool, "unchecked": [note, ...]}``. Whether they were checked is an
    input of the run (:func:`helpers.pipeline.uptodate.job_inputs`): a brief made without a
    source text is made again once the text is there."""
    from helpers.data import validation  # noqa: PLC0415 - ~0.2 s that would delay brief render's zygote

    notes = validation.unchecked_sources(data_dir)
    return {"checked": not notes, "unchecked": notes}


def warn_unchecked(jobs: Sequence[Job], reporter: Reporter) -> None:
    """Say, before rendering, which source texts are missing: the briefs will be published,
    saying in their source note that their quotations were not checked."""
    from helpers.data import validation  # noqa: PLC0415 - ~0.2 s that would delay brief render's zygote

    for folder in dict.fromkeys(job.data_dir for job in jobs):
        for note in validation.unchecked_sources(folder):
            reporter.message(
                f"warning: {note}; the briefs will say their quotations were not checked"
            )
