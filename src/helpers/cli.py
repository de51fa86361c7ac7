"""The ``brief`` command: a thin layer over the library API.

Each subcommand parses its options and calls one library function: ``brief render`` builds a
:class:`~helpers.pipeline.request.RenderRequest` for :func:`helpers.pipeline.render.render`,
``brief batch`` a :class:`~helpers.batch.runner.BatchRequest` for
:func:`helpers.batch.runner.run_plan` (or :func:`~helpers.batch.runner.plan_batch` with
``--dry-run``). Failures are raised as :class:`~helpers.errors.BriefError` subclasses whose
``exit_code`` becomes the process's exit status (see the README's table).

An option that a setting can give (:data:`helpers.config.SETTINGS`) takes its value from the
command line, else its environment variable (the option's ``envvar``), else the project file
(the context's ``default_map``, which :func:`cli` fills from
:func:`helpers.config.find_project_file`), else its default: click's own order.
``ParameterSource`` says which, for ``brief config``.
Every command takes ``--log-level``, ``-v`` and ``-q`` after its name
(:class:`~helpers.cli_options.BriefCommand`); the options several commands share are
:mod:`helpers.cli_options`'s.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from helpers import config, ledger, paths
from helpers.cli_options import (
    BASE_URL_OPTION,
    COLD_OPTION,
    DATA_OPTION,
    FORMATS_OPTION,
    FROM_OPTION,
    LEVEL_KEY,
    OUT_OPTION,
    PARAMETERS,
    PDF_VARIANT_OPTION,
    REQUIRE_SOURCES_OPTION,
    SMTP_OPTION,
    SMTP_USER_OPTION,
    SOURCES_OPTION,
    TIMEOUT_OPTION,
    WORKERS_OPTION,
    BriefGroup,
    after_the_command,
    default_map,
    is_quiet,
    origin_of,
    project_of,
)
from helpers.common import ipython_dir_if_homeless
from helpers.data import validation
from helpers.errors import BriefError, DataValidationError, UsageError
from helpers.pipeline.progress import make_reporter
from helpers.pipeline.request import RenderRequest
from helpers.signals import forget_published, sigterm_interrupts, stopped_message


@click.group(cls=BriefGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="myanmar-brief")
@click.option("-v", "--verbose", count=True, hidden=True, callback=after_the_command)
@click.option("-q", "--quiet", is_flag=True, hidden=True, callback=after_the_command)
@click.option("--log-level", hidden=True, callback=after_the_command)
@click.pass_context
def cli(ctx: click.Context, **_: Any) -> None:
    """Validate the data, inspect notebook parameters, render, compare and send briefs.

    Options take their defaults from the environment ($BRIEF_OUT, $BRIEF_DATA, ...), then
    from the project file (brief.toml, or [tool.myanmar-brief] in pyproject.toml, here or in
    the nearest folder above); the command line wins over both. `brief config` shows the
    settings in force and where each came from (docs/config.md).

    Every command takes --log-level LEVEL, -v (-vv) and -q after its name:
    `brief render -v brief`.
    """
    project = config.find_project_file()
    ctx.meta["brief.project"] = project
    # brief config names $BRIEF_SOURCES's own folders, before the project file's join them.
    ctx.meta["brief.sources_env"] = os.environ.get(paths.SOURCES_ENV)
    ctx.default_map = default_map(project, cli.commands)
    ctx.with_resource(config.sources_exported(project))


@cli.command(quiet_help="Print only the problems: nothing when the data is valid.")
@DATA_OPTION
@SOURCES_OPTION
def validate(data_dir: Path | None, sources: tuple[Path, ...]) -> None:
    """Check a data folder; print every problem; exit 3 if there is any."""
    quiet = is_quiet()
    report = validation.validate(data_dir, list(sources))
    if not quiet:
        for note in report.skipped:
            click.echo(f"note: {note}", err=True)
    if not report.valid:
        for problem in report.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(report.problems)} problem(s) in {report.data_dir}", err=True)
        raise click.exceptions.Exit(DataValidationError.exit_code)
    if quiet:
        return
    if report.skipped:
        click.echo(
            f"{report.data_dir}: valid, but the evidence of {len(report.skipped)} source(s) "
            "was not checked against the source text (see the notes above); briefs made from "
            "it will say so"
        )
        return
    click.echo(f"{report.data_dir}: valid")


@cli.command(quiet_help="Print only errors (the parameters are printed all the same).")
@click.argument("notebook")
def params(notebook: str) -> None:
    """Print each parameter of NOTEBOOK with its type, default and help."""
    from helpers.params import describe  # noqa: PLC0415

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


@cli.command(quiet_help="Print only failures (as --log-level ERROR).")
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
@FORMATS_OPTION
@DATA_OPTION
@OUT_OPTION
@TIMEOUT_OPTION
@click.option(
    "--since",
    metavar="RUN|DATE",
    default=None,
    help="The edition to compare with: a run folder, its manifest.json, or the date "
    "(YYYY-MM-DD) of an edition of the series in --out (default: the previous published "
    "edition of the series; see docs/editions.md).",
)
@click.option(
    "--name",
    "name",
    metavar="TEMPLATE",
    default=None,
    help="Name of the output files, from the run's values: '{notebook}-{partner}-{as_of}' "
    "gives brief-China-2024-03-02.pdf (default: the notebook's name). Fields: notebook, run "
    "and every parameter.",
)
@REQUIRE_SOURCES_OPTION
@PDF_VARIANT_OPTION
@BASE_URL_OPTION
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
    name: str | None,
    require_sources: bool,
    pdf_variant: str,
    base_url: str | None,
    cold: bool,
) -> None:
    """Execute NOTEBOOK(s) and publish .ipynb, HTML, PDF and manifest.json under reports/.

    With no NOTEBOOK, renders every notebook in notebooks/ with its defaults. Exit codes:
    0 ok, 2 usage, 3 invalid data, 4 invalid parameters, 5 execution failed, 6 rendering
    failed, 75 another run holds the lock.
    """
    from helpers.pipeline import render as render_module  # noqa: PLC0415

    given: dict[str, str] = {}
    for key, value in parameters:
        if key in given and given[key] != value:
            raise UsageError(f"parameter {key!r} given twice: {given[key]!r} and {value!r}")
        given[key] = value
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
        name=name,
        require_sources=require_sources,
        pdf_variant=pdf_variant,
        base_url=base_url,
    )
    with make_reporter(quiet=is_quiet()) as reporter:
        render_module.render(request, reporter=reporter)


@cli.command(quiet_help="Print nothing unless a job fails (as --log-level ERROR).")
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))
@WORKERS_OPTION
@OUT_OPTION
@DATA_OPTION
@click.option("--force", is_flag=True, help="Render every job, also those that are unchanged.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print whether each job would run or be skipped, and why, and the counts; run "
    "nothing and write nothing (no lock, log, index or output folder).",
)
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
@REQUIRE_SOURCES_OPTION
@PDF_VARIANT_OPTION
@BASE_URL_OPTION
@click.option(
    "--send",
    is_flag=True,
    help="Then email each edition the batch published: to its plan entry's deliver: "
    "addresses, else the project file's recipients of its series (see brief send).",
)
@SMTP_OPTION
@FROM_OPTION
@SMTP_USER_OPTION
@click.option(
    "--insecure-smtp", is_flag=True, help="Allow a mail server without STARTTLS off this machine."
)
@COLD_OPTION
@click.pass_context
def batch(
    ctx: click.Context,
    plan: Path,
    workers: int | None,
    out_dir: Path | None,
    data_dir: Path | None,
    force: bool,
    dry_run: bool,
    scheduler: str | None,
    connect_timeout: float | None,
    worker_retries: int,
    only_changed: bool,
    require_sources: bool,
    pdf_variant: str,
    base_url: str | None,
    send: bool,
    smtp: str | None,
    sender: str | None,
    smtp_user: str | None,
    insecure_smtp: bool,
    cold: bool,
) -> None:
    """Render every job of PLAN (a YAML file; see docs/plans.md) that changed since its last run.

    Each job renders as `brief render` would, into its own run folder; jobs run in parallel,
    each with its own kernel. The summary says why each job ran or was skipped; the log is in
    <out>/_logs/. With --dry-run, only says what would run. Exit codes: 0 every job ran or
    was skipped, 2 bad plan, 3 invalid data, 4 invalid parameters, 5 or 6 a job failed (the
    first failure's code), 69 the Dask cluster failed the batch, 75 another run holds the
    lock, 130 interrupted.
    """
    from helpers.batch import runner as batch_module  # noqa: PLC0415

    if scheduler is not None and ctx.get_parameter_source("workers") in (
        ParameterSource.ENVIRONMENT,
        ParameterSource.DEFAULT_MAP,
    ):
        workers = None  # a setting for local runs; --scheduler places the jobs
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
        require_sources=require_sources,
        pdf_variant=pdf_variant,
        base_url=base_url,
    )
    quiet = is_quiet()
    if dry_run:
        with make_reporter(quiet=quiet) as reporter:
            preview = batch_module.plan_batch(request, reporter=reporter)
        click.echo(preview.summary())
        return
    # Checked before any kernel starts: a batch that cannot send says so first.
    server = _server(smtp, smtp_user, insecure_smtp, sender) if send else None
    with make_reporter(quiet=quiet) as reporter:
        result = batch_module.run_plan(request, reporter=reporter)
    if not quiet or not result.ok:
        click.echo(result.summary(), err=not result.ok and quiet)
    code = result.exit_code
    if send:  # what was published goes out, also when another job failed
        sent = _send_batch(ctx, result, server, sender, base_url, only_changed, quiet)
        code = code or sent
    if code:
        raise click.exceptions.Exit(code)


def _server(
    smtp: str | None, user: str | None, insecure: bool, sender: str | None, *, needed: bool = True
) -> Any:
    """The mail server the options name (:class:`helpers.pipeline.mail.Server`); a usage
    error, before anything runs, for a missing server or sender."""
    from helpers.pipeline.mail import Server  # noqa: PLC0415

    if not sender:
        raise UsageError("no sender: give --from ADDRESS (or $BRIEF_FROM, or from in brief.toml)")
    if smtp is None:
        if needed:
            raise UsageError(
                "no mail server: give --smtp HOST:PORT (or $BRIEF_SMTP, or smtp in brief.toml)"
            )
        return None
    return Server.parse(smtp, user=user, insecure=insecure)


def _send_batch(
    ctx: click.Context,
    result: Any,
    server: Any,
    sender: str | None,
    base_url: str | None,
    only_changed: bool,
    quiet: bool,
) -> int:
    """``brief batch --send``: mail the editions the batch published; the send's exit code."""
    from helpers.pipeline import mail  # noqa: PLC0415

    published = [
        (o.job.job.out_dir / o.job.job.name / o.job.job.run, o.job.source.deliver)
        for o in result.outcomes
        if o.status == "ran" and o.result is not None and o.result.status == "ok"
    ]
    if not published:
        if not quiet:
            click.echo("send: no edition was published; nothing to send")
        return 0
    out, found = mail.editions_of([path for path, _ in published])
    configured = _configured_recipients(ctx)
    editions = [
        (edition, pdf, mail.recipients_for(edition, deliver, configured))
        for (edition, pdf), (_, deliver) in zip(found, published, strict=True)
    ]
    for edition, _, recipients in editions:
        if not recipients and not quiet:
            click.echo(
                f"send: no recipient for {edition.notebook}/{edition.run} ({edition.series_title}):"
                " give its plan entry deliver:, or recipients in brief.toml"
            )
    report = mail.send_editions(
        out, editions, sender=sender, server=server, base_url=base_url, only_changed=only_changed
    )
    if not quiet or report.exit_code:
        click.echo(report.summary(), err=bool(report.exit_code) and quiet)
    return report.exit_code


def _configured_recipients(ctx: click.Context) -> dict[str, list[str]]:
    project = project_of(ctx)
    return dict(project.settings.get("recipients", {})) if project else {}


@cli.command(quiet_help="Print only failures (as --log-level ERROR).")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDRESS",
    help="A recipient (repeatable); default: the project file's recipients of each run's "
    "series and notebook.",
)
@SMTP_OPTION
@FROM_OPTION
@SMTP_USER_OPTION
@BASE_URL_OPTION
@click.option(
    "--insecure-smtp", is_flag=True, help="Allow a mail server without STARTTLS off this machine."
)
@click.option("--again", is_flag=True, help="Send also to readers the ledger says have it.")
@click.option(
    "--only-changed", is_flag=True, help="Send only editions with something new since the last."
)
@click.option("--dry-run", is_flag=True, help="Write each message as an .eml file; send nothing.")
@click.pass_context
def send(
    ctx: click.Context,
    runs: tuple[Path, ...],
    to: tuple[str, ...],
    smtp: str | None,
    sender: str | None,
    smtp_user: str | None,
    base_url: str | None,
    insecure_smtp: bool,
    again: bool,
    only_changed: bool,
    dry_run: bool,
) -> None:
    """Email the published edition in each RUN folder (reports/brief/default ...) as a PDF.

    Each reader gets an edition once: the delivery ledger (<out>/_deliveries/ledger.jsonl)
    records every message, and a second send says so and sends nothing (docs/distribution.md).
    The password is read from $BRIEF_SMTP_PASSWORD only. Exit codes: 0 sent (or already
    sent), 2 usage, 6 a symbolic link where the ledger goes, 7 a recipient refused or
    deferred, 69 the server cannot be reached or used, 75 another run holds the output folder.
    """
    from helpers.pipeline import mail  # noqa: PLC0415

    server = _server(smtp, smtp_user, insecure_smtp, sender, needed=not dry_run)
    bad = [a for a in to if "@" not in a or any(c.isspace() for c in a)]
    if bad:
        raise UsageError(f"--to {bad[0]!r}: not an email address")
    out, found = mail.editions_of(runs)
    configured = _configured_recipients(ctx)
    editions = [(e, pdf, mail.recipients_for(e, to, configured)) for e, pdf in found]
    nobody = [f"{e.notebook}/{e.run} ({e.series_title})" for e, _, r in editions if not r]
    if nobody:
        raise UsageError(
            "no recipients for " + ", ".join(nobody) + ": give --to ADDRESS, or recipients "
            "for the series or notebook in brief.toml (docs/distribution.md)"
        )
    quiet = is_quiet()
    report = mail.send_editions(
        out,
        editions,
        sender=sender,
        server=server,
        base_url=base_url,
        again=again,
        only_changed=only_changed,
        dry_run=dry_run,
    )
    if not quiet or report.exit_code:
        click.echo(report.summary(), err=bool(report.exit_code) and quiet)
    if report.exit_code:
        raise click.exceptions.Exit(report.exit_code)


@cli.command(quiet_help="Print nothing but the summary line (as --log-level ERROR).")
@click.argument("notebooks", nargs=-1)
@click.option(
    "--sample",
    is_flag=True,
    help="Render and check the fixed CI sample (about 20 briefs) instead of the whole grid.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The proof's own folder (default: reports/_proof/); never the published editions.",
)
@WORKERS_OPTION
@click.option(
    "--every-signature",
    is_flag=True,
    help="Render every distinct brief of the grid, not only the pairwise cover (slower).",
)
def proof(
    notebooks: tuple[str, ...],
    sample: bool,
    out_dir: Path | None,
    workers: int | None,
    every_signature: bool,
) -> None:
    """Render the briefs the parameters can make and check each against the proof's rules.

    NOTEBOOK names limit the proof to those notebooks (default: brief, defence,
    energy_trade). Prints the grid's size before and after pruning, then one summary line;
    the report is <out>/proof.html (violations by rule, and a contact sheet of every first
    page). Exit codes: 0 no violation, 1 violations (or a brief that did not render), 2 usage.
    See docs/proof.md.
    """
    from helpers.proof import run as proof_module  # noqa: PLC0415

    request = proof_module.ProofRequest(
        notebooks=notebooks,
        sample=sample,
        out_dir=out_dir,
        workers=workers,
        every_signature=every_signature,
    )
    with make_reporter(quiet=is_quiet(), out=sys.stderr) as reporter:
        result = proof_module.run_proof(request, reporter=reporter, echo=click.echo)
    click.echo(result.summary())
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


@cli.command(quiet_help="Print only errors (the comparison is printed all the same).")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def diff(old: Path, new: Path, as_json: bool) -> None:
    """Print what edition NEW shows that edition OLD did not, and the other way round.

    OLD and NEW are run folders or their manifest.json files. Exit code 0 whatever changed;
    2 if either cannot be read as an edition.
    """
    from helpers.pipeline.series import diff as compare_runs  # noqa: PLC0415

    changes = compare_runs(old, new)
    if as_json:
        click.echo(json.dumps(changes.as_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(ledger.as_text(changes))


@cli.command(quiet_help="Print only the address and errors.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to bind (0: any free port).",
)
@OUT_OPTION
@DATA_OPTION
@click.option(
    "--workers",
    "workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Briefs rendered at once.",
)
@click.option(
    "--queue",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="Renders that may wait behind them; past that, 503 with Retry-After.",
)
@click.option(
    "--token",
    default=None,
    envvar="BRIEF_SERVE_TOKEN",
    show_envvar=True,
    help="Token every request must show (default: none on 127.0.0.1; a new one, "
    "printed, on any other address).",
)
@FORMATS_OPTION
@TIMEOUT_OPTION
@COLD_OPTION
def serve(
    host: str,
    port: int,
    out_dir: Path | None,
    data_dir: Path | None,
    workers: int,
    queue: int,
    token: str | None,
    formats: tuple[str, ...],
    timeout: int,
    cold: bool,
) -> None:
    """Serve a parameter form per notebook and render briefs on demand (docs/serve.md).

    Needs the [serve] extra. Binds 127.0.0.1 unless --host says otherwise; any other address
    needs a token. Exit codes: 0 stopped cleanly, 2 usage (a non-loopback host with a bad
    token), 75 another run holds --out, 130 stopped while a render was cancelled.
    """
    try:
        from helpers.serve.server import serve as run_server  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(
            f"brief serve needs the [serve] extra ({exc.name} is missing): "
            "pip install 'myanmar-brief[serve]'"
        ) from None
    code = run_server(
        host=host,
        port=port,
        out_dir=out_dir or paths.REPORTS_DIR,
        data_dir=data_dir,
        workers=workers,
        queue=queue,
        token=token,
        timeout=timeout,
        formats=formats,
        warm=not cold,
        echo=click.echo,
    )
    if code:
        raise click.exceptions.Exit(code)


@cli.command("list", quiet_help="Print only errors (the list is printed all the same).")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_command(as_json: bool) -> None:
    """List what this installation ships and where: the notebooks `brief render` takes by
    name, the example plans for `brief batch`, the data, the documentation, the folders
    searched for source texts (and whether each exists) and the default output folder.
    Exit code 0.
    """
    shipped = paths.shipped()
    if as_json:
        click.echo(json.dumps(shipped, indent=2, default=str, ensure_ascii=False))
        return
    kind = "installed package" if shipped["installed"] else "source checkout"
    lines = [f"{kind}: {shipped['root']}", "notebooks (brief render NAME):"]
    lines += [f"  {name:<14} {path}" for name, path in shipped["notebooks"].items()]
    lines.append("plans (brief batch PLAN):")
    lines += [f"  {path}" for path in shipped["plans"].values()]
    lines.append(f"data: {shipped['data']}")
    lines.append("docs:")
    lines += [f"  {path}" for path in shipped["docs"].values()]
    lines.append("source texts, searched in this order (--sources, $BRIEF_SOURCES, default):")
    lines += [
        f"  {folder}{'' if Path(folder).is_dir() else '  (not there)'}"
        for folder in shipped["sources"]
    ]
    lines.append(f"reports (default --out): {shipped['reports']}")
    click.echo("\n".join(lines))


@cli.command("config", quiet_help="Print only errors (the settings are printed all the same).")
@OUT_OPTION
@DATA_OPTION
@SOURCES_OPTION
@WORKERS_OPTION
@FORMATS_OPTION
@TIMEOUT_OPTION
@PDF_VARIANT_OPTION
@SMTP_OPTION
@SMTP_USER_OPTION
@FROM_OPTION
@BASE_URL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@click.pass_context
def config_command(
    ctx: click.Context,
    out_dir: Path | None,
    data_dir: Path | None,
    sources: tuple[Path, ...],
    workers: int | None,
    formats: tuple[str, ...],
    timeout: int,
    as_json: bool,
    **delivery: Any,
) -> None:
    """Print the setting each option starts from here, and where it came from.

    Each comes from the command line (these options, as the other commands take them), an
    environment variable ($BRIEF_OUT ...), the project file, or the built-in default; see
    docs/config.md. Exit code 0; 2 for a malformed project file.
    """
    from helpers.batch.executors import default_workers  # noqa: PLC0415

    project = project_of(ctx)
    level, level_origin = ctx.meta[LEVEL_KEY]
    root = ctx.find_root().meta
    folders = config.source_origins(
        sources, project, environ={paths.SOURCES_ENV: root.get("brief.sources_env") or ""}
    )
    cores = workers is None
    settings = [
        config.Effective("out", out_dir or paths.REPORTS_DIR, origin_of(ctx, "out_dir")),
        config.Effective("data", data_dir or paths.DATA_DIR, origin_of(ctx, "data_dir")),
        config.Effective(
            "sources", tuple(p for p, _ in folders), tuple(origin for _, origin in folders)
        ),
        config.Effective(
            "workers",
            default_workers() if cores else workers,
            "default" if cores else origin_of(ctx, "workers"),
        ),
        config.Effective("formats", formats, origin_of(ctx, "formats")),
        config.Effective("timeout", timeout, origin_of(ctx, "timeout")),
        config.Effective("log_level", level, level_origin),
        *_delivery_settings(ctx, delivery, project),
        config.Effective(
            "cache",
            paths.cache_dir(),
            f"${config.CACHE_ENV}" if os.environ.get(config.CACHE_ENV) else "default",
        ),
    ]
    if as_json:
        click.echo(json.dumps(config.as_json(settings, project), indent=2, ensure_ascii=False))
    else:
        click.echo(config.as_text(settings, project))


def _delivery_settings(
    ctx: click.Context, given: dict[str, Any], project: config.ProjectFile | None
) -> list[config.Effective]:
    """``brief config``'s rows of the distribution settings (docs/distribution.md)."""
    rows = [
        config.Effective(key, given[name], origin_of(ctx, name))
        for key, name in PARAMETERS.items()
        if name in given
    ]
    recipients = dict(project.settings.get("recipients", {})) if project else {}
    rows.append(
        config.Effective(
            "recipients",
            ", ".join(f"{k}: {' '.join(v)}" for k, v in recipients.items()) or None,
            project.label if recipients and project else "default",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn package errors into their exit codes."""
    forget_published()
    try:
        # Without standalone mode click returns the code of ``Exit`` rather than exiting.
        # SIGTERM stops the command as Ctrl-C does from start to end: also when it lands
        # after a run's lock is released (it used to kill the process: exit 143). A service
        # user's cron mail stays quiet (a private IPython folder when the home is not ours).
        with ipython_dir_if_homeless(), sigterm_interrupts():
            code = cli.main(args=argv, prog_name="brief", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(stopped_message(), err=True)
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
