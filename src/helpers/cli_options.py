"""The ``brief`` command's shared parts: the options a setting can give (each with its
environment variable, :func:`setting`), the options several commands take, and
:class:`BriefCommand`, whose ``--log-level``, ``-v`` and ``-q`` every command takes after its
name. The commands themselves are :mod:`helpers.cli`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from helpers import config, logs
from helpers.common import DEFAULT_TIMEOUT, parse_formats
from helpers.errors import UsageError


def setting(*decls: str, key: str, **attrs: Any) -> Any:
    """An option for the setting ``key``, read from its environment variable when the command
    line does not give it; ``--help`` names the variable, and click names it in the message
    when its value is bad."""
    return click.option(*decls, envvar=config.ENVIRONMENT[key], show_envvar=True, **attrs)


#: Setting key -> the name of the option's parameter; ``sources`` is a search path, set apart
#: (:func:`helpers.config.sources_exported`).
PARAMETERS = {
    "out": "out_dir",
    "data": "data_dir",
    "workers": "workers",
    "formats": "formats",
    "timeout": "timeout",
    "log_level": "log_level",
    "pdf_variant": "pdf_variant",
    "smtp": "smtp",
    "smtp_user": "smtp_user",
    "from": "sender",
    "base_url": "base_url",
}

DATA_OPTION = setting(
    "--data",
    "data_dir",
    key="data",
    type=click.Path(path_type=Path),
    default=None,
    help="Data folder (default: the package's data/).",
)
SOURCES_OPTION = click.option(
    "--sources",
    "sources",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Folder holding source texts (repeatable), searched before $BRIEF_SOURCES, the "
    "project file's sources and ../shared/source.",
)


class FolderPath(click.Path):
    """A folder option that refuses an empty value: ``--out ""`` is not the working folder."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail(f"{value!r} names no folder; give a folder's path", param, ctx)
        return super().convert(value, param, ctx)


OUT_OPTION = setting(
    "--out",
    "out_dir",
    key="out",
    type=FolderPath(path_type=Path, file_okay=False),
    default=None,
    help="Output folder (default: reports/).",
)
WORKERS_OPTION = setting(
    "--workers",
    key="workers",
    type=click.IntRange(min=1),
    default=None,
    help="Jobs rendered at once on this machine (default: the number of cores).",
)


def formats_callback(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_formats(value)
    except UsageError:
        raise click.BadParameter(f"{value!r}: choose html, pdf or html,pdf") from None


FORMATS_OPTION = setting(
    "--to",
    "formats",
    key="formats",
    default="html,pdf",
    show_default=True,
    callback=formats_callback,
    help="Output formats, comma-separated: html, pdf.",
)
TIMEOUT_OPTION = setting(
    "--timeout",
    key="timeout",
    type=click.IntRange(min=1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds any one cell may run.",
)

PDF_VARIANT_OPTION = setting(
    "--pdf-variant",
    "pdf_variant",
    key="pdf_variant",
    type=click.Choice(
        ["pdf/ua-1", "pdf/ua-2", "pdf/a-3u", "pdf/a-3a", "none"], case_sensitive=False
    ),
    default="pdf/ua-1",
    show_default=True,
    help="The PDF's variant: tagged, accessible PDF/UA-1 by default; pdf/a-3u for archives "
    "(the cited evidence attached); none for a plain untagged PDF.",
)
BASE_URL_OPTION = setting(
    "--base-url",
    "base_url",
    key="base_url",
    default=None,
    metavar="URL",
    help="Where the output folder is served (https://briefs.example.org/): feeds and mail "
    "link there; without it, feeds link relatively and mail carries no link.",
)

SMTP_OPTION = setting(
    "--smtp",
    "smtp",
    key="smtp",
    default=None,
    metavar="HOST:PORT",
    help="The mail server. STARTTLS is used when offered, and required for any host that is "
    "not loopback unless --insecure-smtp.",
)
SMTP_USER_OPTION = setting(
    "--smtp-user",
    "smtp_user",
    key="smtp_user",
    default=None,
    metavar="USER",
    help="Log in as USER; the password is read from $BRIEF_SMTP_PASSWORD only.",
)
FROM_OPTION = setting(
    "--from",
    "sender",
    key="from",
    default=None,
    metavar="ADDRESS",
    help="The sender's address.",
)

COLD_OPTION = click.option(
    "--cold",
    is_flag=True,
    help="Start each kernel from its kernelspec instead of forking a warm one (as "
    "BRIEF_WARM_KERNELS=0 does).",
)
REQUIRE_SOURCES_OPTION = click.option(
    "--require-sources",
    is_flag=True,
    help="Refuse (exit 3, before any kernel) when a source text the data names is not found, "
    "instead of publishing briefs that say their quotations were not checked.",
)

#: Where :class:`BriefCommand` keeps a command's log level, and where it came from.
LEVEL_KEY = "brief.log_level"


class BriefCommand(click.Command):
    """A ``brief`` command: it takes ``--log-level``, ``-v`` and ``-q`` after its name, and runs
    with the ``helpers`` (and papermill's and nbconvert's) loggers at that level.

    ``-v`` is ``--log-level INFO``, ``-vv`` ``DEBUG``, ``-q`` ``ERROR``; giving two of them is
    a usage error. ``quiet_help`` is the command's own help for ``-q``.
    """

    def __init__(self, *args: Any, quiet_help: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += [
            click.Option(
                ["--log-level"],
                envvar=config.ENVIRONMENT["log_level"],
                show_envvar=True,
                type=click.Choice(logs.LEVELS, case_sensitive=False),
                metavar="LEVEL",
                default=logs.DEFAULT_LEVEL,
                show_default=True,
                help="Log level of brief, papermill and nbconvert: DEBUG, INFO, WARNING, ERROR "
                "or CRITICAL (any case).",
            ),
            click.Option(
                ["-v", "--verbose"],
                count=True,
                help="Log more: -v is --log-level INFO, -vv DEBUG.",
            ),
            click.Option(
                ["-q", "--quiet"],
                is_flag=True,
                help=quiet_help or "Print only errors (--log-level ERROR).",
            ),
        ]

    def invoke(self, ctx: click.Context) -> Any:
        level, origin = command_level(ctx)
        ctx.meta[LEVEL_KEY] = (level, origin)
        ctx.with_resource(logs.logging_to_stderr(level))
        return super().invoke(ctx)


def command_level(ctx: click.Context) -> tuple[str, str]:
    """The command's log level from ``--log-level``, ``-v`` or ``-q``, and where it came from;
    the three are taken out of the parameters the command's function receives."""
    level = ctx.params.pop("log_level")
    verbose = ctx.params.pop("verbose")
    quiet = ctx.params.pop("quiet")
    given = [
        opt
        for opt, on in (
            ("--log-level", ctx.get_parameter_source("log_level") is ParameterSource.COMMANDLINE),
            ("-v", verbose > 0),
            ("-q", quiet),
        )
        if on
    ]
    if len(given) > 1:
        raise click.UsageError(
            f"give one of --log-level, -v and -q, not {' and '.join(given)}", ctx
        )
    if verbose:
        return ("INFO" if verbose == 1 else "DEBUG"), "command line"
    if quiet:
        return "ERROR", "command line"
    return level, origin_of(ctx, "log_level")


def origin_of(ctx: click.Context, name: str) -> str:
    """Where a parameter's value came from, as ``brief config`` says it."""
    source = ctx.get_parameter_source(name)
    if source is ParameterSource.COMMANDLINE:
        return "command line"
    if source is ParameterSource.ENVIRONMENT:
        key = next(k for k, p in PARAMETERS.items() if p == name)
        return f"${config.ENVIRONMENT[key]}"
    if source is ParameterSource.DEFAULT_MAP:
        project = project_of(ctx)
        return project.label if project is not None else "project file"
    return "default"


def is_quiet(ctx: click.Context | None = None) -> bool:
    """Whether the command's level is ERROR or above: print failures only."""
    ctx = ctx or click.get_current_context()
    level, _ = ctx.meta.get(LEVEL_KEY, (logs.DEFAULT_LEVEL, "default"))
    return logs.level_number(level) >= logging.ERROR


def project_of(ctx: click.Context) -> config.ProjectFile | None:
    return ctx.find_root().meta.get("brief.project")


def after_the_command(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """``brief -v render``: the log options go after the command's name."""
    if value and ctx.get_parameter_source(param.name or "") is ParameterSource.COMMANDLINE:
        opt = param.opts[0]
        raise click.UsageError(
            f"{opt} goes after the command's name, as in: brief render {opt} ...", ctx
        )


def default_map(
    project: config.ProjectFile | None, commands: Mapping[str, click.Command]
) -> dict[str, dict[str, Any]]:
    """Per command of ``commands``, the project file's value of each option a setting gives."""
    if project is None or not project.settings:
        return {}
    given: dict[str, Any] = {}
    for key, value in project.settings.items():
        if key in PARAMETERS:
            given[PARAMETERS[key]] = ",".join(value) if key == "formats" else value
    return {
        name: {p.name: given[p.name] for p in command.params if p.name in given}
        for name, command in commands.items()
    }


class BriefGroup(click.Group):
    """The ``brief`` group: its commands are :class:`BriefCommand`."""

    command_class = BriefCommand
