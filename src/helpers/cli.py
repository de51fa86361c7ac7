"""The ``brief`` command: a thin layer over the library API.

Each subcommand parses its options and calls one library function; failures are raised as
:class:`~helpers.errors.BriefError` subclasses whose ``exit_code`` becomes the process's exit
status (see the README's table).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import BriefError, UsageError

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="myanmar-brief")
def cli() -> None:
    """Validate the data, inspect notebook parameters, and render briefs."""


@cli.command()
@DATA_OPTION
@SOURCES_OPTION
def validate(data_dir: Path | None, sources: tuple[Path, ...]) -> None:
    """Check a data folder; print every problem; exit 3 if there is any."""
    from .validation import validate as run_validation

    report = run_validation(data_dir, list(sources))
    for note in report.skipped:
        click.echo(f"note: {note}", err=True)
    if not report.valid:
        for problem in report.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(report.problems)} problem(s) in {report.data_dir}", err=True)
        sys.exit(3)
    click.echo(f"{report.data_dir}: valid")


@cli.command()
@click.argument("notebook")
def params(notebook: str) -> None:
    """Print each parameter of NOTEBOOK with its type, default and help."""
    from . import paths
    from .params import describe

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


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn package errors into their exit codes."""
    try:
        cli.main(args=argv, prog_name="brief", standalone_mode=False)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
