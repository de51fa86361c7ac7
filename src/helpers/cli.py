"""The ``brief`` command: a thin layer over the library API.

Each subcommand parses its options and calls one library function: ``brief render`` builds a
:class:`~helpers.pipeline.request.RenderRequest` for :func:`helpers.pipeline.render.render`,
``brief batch`` a :class:`~helpers.batch.runner.BatchRequest` for
:func:`helpers.batch.runner.run_plan`. Failures are raised as
:class:`~helpers.errors.BriefError` subclasses whose ``exit_code`` becomes the process's exit
status (see the README's table).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from helpers.common import DEFAULT_TIMEOUT
from helpers.errors import BriefError, DataValidationError, UsageError

DATA_OPTION = click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Data folder (default: the package's data/).",
)
SOURCES_OPTION = click.option(
    "--sources",
    "sources",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Folder holding source texts, searched before $BRIEF_SOURCES and ../shared/source.",
)
OUT_OPTION = click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder (default: reports/).",
)

COLD_OPTION = click.option(
    "--cold",
    is_flag=True,
    help="Start each kernel from its kernelspec instead of forking a warm one (as "
    "BRIEF_WARM_KERNELS=0 does).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="myanmar-brief")
def cli() -> None:
    """Validate the data, inspect notebook parameters, render briefs and compare editions."""


@cli.command()
@DATA_OPTION
@SOURCES_OPTION
def validate(data_dir: Path | None, sources: tuple[Path, ...]) -> None:
    """Check a data folder; print every problem; exit 3 if there is any."""
    from helpers.data.validation import validate as run_validation

    report = run_validation(data_dir, list(sources))
    for note in report.skipped:
        click.echo(f"note: {note}", err=True)
    if not report.valid:
        for problem in report.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(report.problems)} problem(s) in {report.data_dir}", err=True)
        raise click.exceptions.Exit(DataValidationError.exit_code)
    if report.skipped:
        click.echo(
            f"{report.data_dir}: valid, but the evidence of {len(report.skipped)} source(s) "
            "was not checked against the source text (see the notes above); briefs made from "
            "it will say so"
        )
        return
    click.echo(f"{report.data_dir}: valid")


@cli.command()
@click.argument("notebook")
def params(notebook: str) -> None:
    """Print each parameter of NOTEBOOK with its type, default and help."""
    from helpers import paths
    from helpers.params import describe

    path = paths.notebook_path(notebook)
    if not path.is_file():
        known = ", ".join(p.stem for p in paths.report_notebooks())
        raise UsageError(f"no notebook {notebook!r}; known: {known}")
    rows = describe(path)
    width = max(len(r["name"]) for r in rows)
    click.echo(f"Parameters of {path.name}:")
    for row in rows:
        default = "None" if row["default"] is None else repr(row["default"])
        click.echo(f"  {row['name']:<{width}}  {row['type']}  (default {default})")
        click.echo(f"  {'':<{width}}  {row['help']}")


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from helpers.common import parse_formats

    try:
        return parse_formats(value)
    except UsageError:
        raise click.BadParameter(f"{value!r}: choose html, pdf or html,pdf") from None


@cli.command()
@click.argument("notebooks", nargs=-1)
@click.option(
    "-p",
    "--parameter",
    "parameters",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="Set a parameter (repeatable); the notebook's schema converts the text.",
)
@click.option(
    "-f",
    "--params-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="YAML file with a mapping of parameter names to values; -p overrides it.",
)
@click.option(
    "--to",
    "formats",
    default="html,pdf",
    show_default=True,
    callback=_formats,
    help="Output formats, comma-separated: html, pdf.",
)
@DATA_OPTION
@OUT_OPTION
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds any one cell may run.",
)
@click.option(
    "--since",
    metavar="RUN|DATE",
    default=None,
    help="The edition to compare with: a run folder, its manifest.json, or the date "
    "(YYYY-MM-DD) of an edition of the series in --out (default: the previous published "
    "edition of the series; see docs/editions.md).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only failures.")
@COLD_OPTION
def render(
    notebooks: tuple[str, ...],
    parameters: tuple[tuple[str, str], ...],
    params_file: Path | None,
    formats: tuple[str, ...],
    data_dir: Path | None,
    out_dir: Path | None,
    timeout: int,
    since: str | None,
    quiet: bool,
    cold: bool,
) -> None:
    """Execute NOTEBOOK(s) and publish .ipynb, HTML, PDF and manifest.json under reports/.

    With no NOTEBOOK, renders every notebook in notebooks/ with its defaults. Exit codes:
    0 ok, 2 usage, 3 invalid data, 4 invalid parameters, 5 execution failed, 6 rendering
    failed, 75 another run holds the lock.
    """
    from helpers.pipeline import render as render_module
    from helpers.pipeline.progress import make_reporter
    from helpers.pipeline.request import RenderRequest

    given: dict[str, str] = {}
    for name, value in parameters:
        if name in given and given[name] != value:
            raise UsageError(f"parameter {name!r} given twice: {given[name]!r} and {value!r}")
        given[name] = value
    request = RenderRequest(
        notebooks=notebooks,
        parameters=given,
        params_file=params_file,
        formats=formats,
        data_dir=data_dir,
        out_dir=out_dir,
        timeout=timeout,
        warm_kernels=False if cold else None,
        since=since,
    )
    _quiet_papermill()
    with make_reporter(quiet=quiet) as reporter:
        render_module.render(request, reporter=reporter)


@cli.command()
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Jobs rendered at once on this machine (default: the number of cores).",
)
@OUT_OPTION
@DATA_OPTION
@click.option("--force", is_flag=True, help="Render every job, also those that are unchanged.")
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run the jobs on a Dask distributed scheduler (tcp://host:8786); its workers must "
    "see --out, the notebooks and the data at the same paths.",
)
@click.option(
    "--connect-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="With --scheduler: how long to wait for the scheduler, for a first worker, and with "
    "no worker left, before the jobs not done fail with exit 69 (default: 90).",
)
@click.option(
    "--worker-retries",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="How often a job whose worker process died (the OOM killer, a lost cluster worker) "
    "runs again on another worker. Its cells may have had effects, so by default it fails.",
)
@click.option(
    "--only-changed",
    is_flag=True,
    help="Publish an edition only if it differs from the previous edition of its series "
    "(what a mailing list wants); the others are reported as skipped.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless a job fails.")
@COLD_OPTION
def batch(
    plan: Path,
    workers: int | None,
    out_dir: Path | None,
    data_dir: Path | None,
    force: bool,
    scheduler: str | None,
    connect_timeout: float | None,
    worker_retries: int,
    only_changed: bool,
    quiet: bool,
    cold: bool,
) -> None:
    """Render every job of PLAN (a YAML file; see docs/plans.md) that changed since its last run.

    Each job renders as `brief render` would, into its own run folder; jobs run in parallel,
    each with its own kernel. The summary says why each job ran or was skipped; the log is in
    <out>/_logs/. Exit codes: 0 every job ran or was skipped, 2 bad plan, 3 invalid data,
    4 invalid parameters, 5 or 6 a job failed (the first failure's code), 69 the Dask cluster
    failed the batch, 75 another run holds the lock, 130 interrupted.
    """
    from helpers.batch import runner as batch_module
    from helpers.pipeline.progress import make_reporter

    request = batch_module.BatchRequest(
        plan=plan,
        workers=workers,
        out_dir=out_dir,
        data_dir=data_dir,
        force=force,
        scheduler=scheduler,
        warm_kernels=False if cold else None,
        only_changed=only_changed,
        worker_retries=worker_retries,
        connect_timeout=connect_timeout,
    )
    _quiet_papermill()
    with make_reporter(quiet=quiet) as reporter:
        result = batch_module.run_plan(request, reporter=reporter)
    if not quiet or not result.ok:
        click.echo(result.summary(), err=not result.ok and quiet)
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


@cli.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def diff(old: Path, new: Path, as_json: bool) -> None:
    """Print what edition NEW shows that edition OLD did not, and the other way round.

    OLD and NEW are run folders or their manifest.json files. Exit code 0 whatever changed;
    2 if either cannot be read as an edition.
    """
    from helpers.editions import as_text
    from helpers.pipeline.editions import diff as compare_runs

    changes = compare_runs(old, new)
    if as_json:
        import json

        click.echo(json.dumps(changes.as_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(as_text(changes))


def _quiet_papermill() -> None:
    """papermill logs kernel deaths and timeouts itself; the error we raise says it better."""
    import logging

    logging.getLogger("papermill").addHandler(logging.NullHandler())


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn package errors into their exit codes."""
    try:
        # Without standalone mode click returns the code of ``Exit`` rather than exiting.
        code = cli.main(args=argv, prog_name="brief", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as exc:
        exc.show()
        return UsageError.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BriefError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
