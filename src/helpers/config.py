"""Settings: the defaults ``brief``'s options start from, and the level of its logs.

A setting's value comes from the first of these that gives it:

1. the command line (``--out``, ``--workers``, ``-v`` ...);
2. the environment (:data:`ENVIRONMENT`: ``$BRIEF_OUT``, ``$BRIEF_DATA`` ...);
3. the project file: ``brief.toml``, or the ``[tool.myanmar-brief]`` table of a
   ``pyproject.toml``, in the working directory or the nearest folder above it that has one
   (:func:`find_project_file`); relative paths in it are relative to its folder;
4. the built-in default.

The command line does the layering with click's own machinery (an option's ``envvar``, the
context's ``default_map``, ``ParameterSource``); this module owns what click cannot know:
which settings exist and under which names (:data:`SETTINGS`), reading and checking the
project file, the search path of source texts, describing the effective settings
(``brief config``). The logging the level sets up is :mod:`helpers.logs`'s.

The library's functions take their arguments explicitly and read no project file: only the
``brief`` command does.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.common import check_pdf_variant, parse_formats
from helpers.errors import UsageError
from helpers.logs import LEVELS

__all__ = [
    "BRIEF_TOML",
    "CACHE_ENV",
    "ENVIRONMENT",
    "PYPROJECT",
    "SETTINGS",
    "TABLE",
    "Effective",
    "ProjectFile",
    "Setting",
    "as_json",
    "as_text",
    "find_project_file",
    "read_project_file",
    "source_origins",
    "sources_exported",
]

#: A file of brief's settings alone, the keys at its top level.
BRIEF_TOML = "brief.toml"
#: A project's ``pyproject.toml``; brief's settings are its :data:`TABLE` table.
PYPROJECT = "pyproject.toml"
#: The table of ``pyproject.toml`` holding brief's settings (the distribution's name).
TABLE = "tool.myanmar-brief"
#: Where the package caches what it may recompute (:func:`helpers.paths.cache_dir`).
CACHE_ENV = "BRIEF_CACHE"


@dataclass(frozen=True)
class Setting:
    """One setting: its key in the project file, its environment variable, what it sets."""

    key: str
    envvar: str
    meaning: str
    allowed: str


#: Every setting, in the order ``brief config`` lists them.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "out",
        "BRIEF_OUT",
        "output folder (--out of render, batch)",
        "a folder, as text",
    ),
    Setting(
        "data",
        "BRIEF_DATA",
        "data folder (--data of validate, render, batch)",
        "a folder, as text",
    ),
    Setting(
        "sources",
        paths.SOURCES_ENV,
        "folders searched for source texts, after --sources",
        "a folder or a list of folders, as text",
    ),
    Setting(
        "workers",
        "BRIEF_WORKERS",
        "jobs at once (--workers of batch)",
        "a whole number, at least 1",
    ),
    Setting(
        "formats",
        "BRIEF_FORMATS",
        "output formats (--to of render)",
        'a list of "html", "pdf", or the text "html,pdf"',
    ),
    Setting(
        "timeout",
        "BRIEF_TIMEOUT",
        "seconds any one cell may run (--timeout of render)",
        "a whole number of seconds, at least 1",
    ),
    Setting(
        "log_level",
        "BRIEF_LOG_LEVEL",
        "log level (--log-level, -v, -q of every command)",
        ", ".join(LEVELS[:-1]) + " or " + LEVELS[-1],
    ),
    # Issue 21: distribution (docs/distribution.md).
    Setting(
        "pdf_variant",
        "BRIEF_PDF_VARIANT",
        "the PDF's variant (--pdf-variant of render, batch)",
        "pdf/ua-1, pdf/ua-2, pdf/a-3u, pdf/a-3a or none",
    ),
    Setting(
        "smtp",
        "BRIEF_SMTP",
        "the mail server (--smtp of send, batch --send)",
        'text "HOST:PORT" (or "HOST", port 25)',
    ),
    Setting(
        "smtp_user",
        "BRIEF_SMTP_USER",
        "the user to log in to the mail server as; the password only from $BRIEF_SMTP_PASSWORD",
        "text",
    ),
    Setting(
        "from",
        "BRIEF_FROM",
        "the sender of the mail (--from of send, batch --send)",
        "an email address, as text",
    ),
    Setting(
        "base_url",
        "BRIEF_BASE_URL",
        "where the output folder is served: absolute links in feeds and mail (--base-url)",
        'an http(s) URL, as text, e.g. "https://briefs.example.org/"',
    ),
    Setting(
        "recipients",
        "",
        "who receives each series (brief send, batch --send): a table of series -> addresses",
        'a table: "brief" (every series of a notebook) or a series as the index names it '
        '("brief: partner = China") = a list of email addresses',
    ),
)
#: Setting key -> its environment variable.
ENVIRONMENT: dict[str, str] = {s.key: s.envvar for s in SETTINGS if s.envvar}
_ALLOWED = {s.key: s.allowed for s in SETTINGS}
_PATH_KEYS = ("out", "data")


@functools.cache
def _schema() -> type:
    """The pydantic model of the project file's settings, as written: every key optional,
    no other key allowed, types strict (``workers = "2"`` is refused, not read as 2).

    Built on first use: pydantic costs a third of a second to import, and most runs of
    ``brief`` have no project file to check.
    """
    from pydantic import BaseModel, ConfigDict, Field, field_validator  # noqa: PLC0415

    class ProjectSettings(BaseModel):
        """The project file's settings, as written."""

        model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

        out: str | None = Field(default=None, min_length=1)
        data: str | None = Field(default=None, min_length=1)
        sources: list[str] | str | None = None
        workers: int | None = Field(default=None, ge=1)
        formats: list[str] | str | None = None
        timeout: int | None = Field(default=None, ge=1)
        log_level: str | None = None
        pdf_variant: str | None = None
        smtp: str | None = Field(default=None, min_length=1)
        smtp_user: str | None = Field(default=None, min_length=1)
        sender: str | None = Field(default=None, alias="from", min_length=3)
        base_url: str | None = None
        recipients: dict[str, list[str]] | None = None

        @field_validator("pdf_variant")
        @classmethod
        def _variant(cls, value: str | None) -> str | None:
            return _pdf_variant(value)

        @field_validator("base_url")
        @classmethod
        def _base_url(cls, value: str | None) -> str | None:
            return _http_url(value)

        @field_validator("recipients")
        @classmethod
        def _recipients(cls, value: dict[str, list[str]] | None) -> dict | None:
            return _addresses(value)

        @field_validator("sources")
        @classmethod
        def _sources(cls, value: list[str] | str | None) -> list[str] | str | None:
            folders = [value] if isinstance(value, str) else value or []
            if any(not folder for folder in folders):
                raise ValueError("a folder may not be empty text")
            return value

        @field_validator("formats")
        @classmethod
        def _formats(cls, value: list[str] | str | None) -> list[str] | str | None:
            if value is None:
                return None
            try:
                return list(parse_formats(value))
            except UsageError as exc:
                raise ValueError(str(exc)) from None

        @field_validator("log_level")
        @classmethod
        def _level(cls, value: str | None) -> str | None:
            if value is None:
                return None
            if value.upper() not in LEVELS:
                raise ValueError(f"unknown level {value!r}; choose from: {', '.join(LEVELS)}")
            return value.upper()

    return ProjectSettings


def _pdf_variant(value: str | None) -> str | None:
    """A PDF variant, lower case; ValueError naming the variants there are."""
    if value is None:
        return None
    try:
        return check_pdf_variant(value)
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def _addresses(value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
    """Per series, a list of at least one address with an @ and no space."""
    for series, addresses in (value or {}).items():
        bad = [a for a in addresses if "@" not in a or any(c.isspace() for c in a)]
        if bad or not addresses:
            why = f"not an email address: {bad[0]!r}" if bad else "no address"
            raise ValueError(f"series {series!r}: {why}")
    return value


@dataclass(frozen=True)
class ProjectFile:
    """A project file found and checked: where it is, and the settings it gives.

    Attributes
    ----------
    path
        The file: a ``brief.toml`` or a ``pyproject.toml``.
    settings
        The keys the file gives, ready to use: ``out`` and ``data`` as absolute paths
        (relative ones are taken from the file's folder), ``sources`` as a tuple of them,
        ``formats`` as a tuple (``("html",)``), ``log_level`` in capitals, ``workers`` and
        ``timeout`` as numbers.
    ignored
        A ``pyproject.toml`` in the same folder whose :data:`TABLE` table this ``brief.toml``
        overrides, if any.
    """

    path: Path
    settings: Mapping[str, Any]
    ignored: Path | None = None

    @property
    def label(self) -> str:
        """How messages and ``brief config`` name the file: ``/p/pyproject.toml
        [tool.myanmar-brief]`` or ``/p/brief.toml``."""
        return f"{self.path} [{TABLE}]" if self.path.name == PYPROJECT else str(self.path)


def read_project_file(path: Path | str, *, ignored: Path | None = None) -> ProjectFile:
    """Read and check a ``brief.toml``, or the :data:`TABLE` table of a ``pyproject.toml``.

    Parameters
    ----------
    path
        The file. A ``pyproject.toml`` without the table gives no settings.
    ignored
        Recorded as :attr:`ProjectFile.ignored`.

    Raises
    ------
    UsageError
        The file cannot be read or is not TOML; the table is not a table; a key is unknown
        or its value of the wrong type. Every problem is listed, each naming the file, the
        key and what is allowed.
    """
    path = Path(path).absolute()
    table = _table(path, _load(path))
    return _checked(path, table or {}, ignored)


def find_project_file(start: Path | str | None = None) -> ProjectFile | None:
    """The project file that applies in ``start`` (default: the working directory).

    From ``start`` upwards, the first folder holding a ``brief.toml``, or a ``pyproject.toml``
    with a :data:`TABLE` table, gives the settings. When a folder holds both, ``brief.toml``
    wins and the table is ignored (:attr:`ProjectFile.ignored`), as ``ruff.toml`` wins over
    ``[tool.ruff]``. A ``pyproject.toml`` without the table is passed over.

    Returns
    -------
    ProjectFile or None
        None when no folder up to the root has one.

    Raises
    ------
    UsageError
        The file that applies is malformed (:func:`read_project_file`), or a
        ``pyproject.toml`` that mentions ``myanmar-brief`` cannot be read.
    """
    try:
        folder = Path(start).absolute() if start is not None else Path.cwd()
    except OSError:  # the working directory was removed
        return None
    for here in (folder, *folder.parents):
        pyproject = here / PYPROJECT
        table = _pyproject_table(pyproject)
        brief = here / BRIEF_TOML
        if brief.is_file():
            return read_project_file(brief, ignored=pyproject if table is not None else None)
        if table is not None:
            return _checked(pyproject, table, None)
    return None


def _pyproject_table(path: Path) -> dict[str, Any] | None:
    """The :data:`TABLE` table of a ``pyproject.toml``; None if it has none or is not there.

    A file that does not mention the distribution is not parsed: a broken ``pyproject.toml``
    of some other project above the working directory is none of brief's business.
    """
    if not path.is_file():
        return None
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if b"myanmar-brief" not in text:
        return None
    return _table(path, _load(path, text))


def _load(path: Path, text: bytes | None = None) -> dict[str, Any]:
    try:
        raw = path.read_bytes() if text is None else text
        return tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None


def _table(path: Path, document: dict[str, Any]) -> dict[str, Any] | None:
    if path.name != PYPROJECT:
        return document
    tool = document.get("tool")
    table = tool.get("myanmar-brief") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise UsageError(
            f"{path}: [{TABLE}] must be a table of settings, not {type(table).__name__} "
            f"{table!r}; see docs/config.md"
        )
    return table


def _checked(path: Path, table: Mapping[str, Any], ignored: Path | None) -> ProjectFile:
    from pydantic import ValidationError  # noqa: PLC0415

    label = f"{path} [{TABLE}]" if path.name == PYPROJECT else str(path)
    try:
        given = _schema().model_validate(dict(table))
    except ValidationError as exc:
        problems = _problems(exc, table, path)
        raise UsageError(
            f"{label}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)
        ) from None
    folder = path.parent
    settings: dict[str, Any] = {}
    for key, value in given.model_dump(exclude_none=True, by_alias=True).items():
        if key in _PATH_KEYS:
            value = _from(folder, value, where=f"{label}: {key}")
        elif key == "sources":
            value = tuple(
                _from(folder, v, where=f"{label}: sources")
                for v in ([value] if isinstance(value, str) else value)
            )
        elif key == "formats":
            value = tuple(value)
        settings[key] = value
    return ProjectFile(path, settings, ignored)


def _from(folder: Path, value: str, *, where: str = "path") -> Path:
    """A path from the project file: ``~`` expanded, relative to the file's folder.

    Raises
    ------
    UsageError
        Naming the file and key, for a value that names no folder: empty, holding a NUL
        byte, or starting with the home folder (``~nouser/``) of a user there is none of.
    """
    shown = repr(value[:80])
    if not value.strip():
        raise UsageError(f"{where} = {shown} names no folder; give a folder's path")
    if "\x00" in value:
        raise UsageError(f"{where} = {shown}: a path cannot hold a NUL byte")
    try:
        expanded = Path(value).expanduser()
    except RuntimeError:
        user = value[1:].split("/", 1)[0]
        whose = repr(user) if user else "this user"
        raise UsageError(
            f"{where} = {shown}: there is no home folder of {whose} to start it from; write "
            "the folder out"
        ) from None
    return Path(os.path.abspath(folder / expanded))


def _problems(exc: Any, table: Mapping[str, Any], path: Path) -> list[str]:
    """One line per key: unknown, or its value and what is allowed."""
    keys = [s.key for s in SETTINGS]
    problems: dict[str, str] = {}
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else "?"
        if key in problems:
            continue  # a union reports each branch; one line per key is enough
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            if key == "tool" and path.name == BRIEF_TOML:
                hint = f" (in {BRIEF_TOML} the keys stand at the top, without [{TABLE}])"
            problems[key] = f"unknown key {key!r}{hint}; the keys are: {', '.join(keys)}"
            continue
        why = (
            str(error.get("ctx", {}).get("error", error["msg"]))
            if error["type"] == "value_error"
            else f"expected {_ALLOWED[key]}"
        )
        problems[key] = f"{key} = {table.get(key)!r}: {why}"
    return list(problems.values())


# -- the search path of source texts -----------------------------------------------------------


def _env_folders(environ: Mapping[str, str]) -> list[str]:
    return [p for p in environ.get(paths.SOURCES_ENV, "").split(os.pathsep) if p]


@contextlib.contextmanager
def sources_exported(project: ProjectFile | None) -> Iterator[None]:
    """While it lasts, ``$BRIEF_SOURCES`` names the project file's ``sources`` too.

    Source texts are searched in ``--sources``, then ``$BRIEF_SOURCES``, then
    ``../shared/source`` (:func:`helpers.paths.source_dirs`); the project file's folders go
    after ``$BRIEF_SOURCES``'s own, so the order is the settings' precedence. They are put in
    the environment because kernels and batch workers, which check the data too, inherit it.
    """
    folders = [str(p) for p in (project.settings.get("sources", ()) if project else ())]
    if not folders:
        yield
        return
    before = os.environ.get(paths.SOURCES_ENV)
    os.environ[paths.SOURCES_ENV] = os.pathsep.join([*_env_folders(os.environ), *folders])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(paths.SOURCES_ENV, None)
        else:
            os.environ[paths.SOURCES_ENV] = before


def source_origins(
    given: Sequence[Path],
    project: ProjectFile | None,
    environ: Mapping[str, str] | None = None,
) -> list[tuple[Path, str]]:
    """The folders searched for source texts, in order, each with where it came from.

    Parameters
    ----------
    given
        Folders from ``--sources``.
    project
        The project file, if any.
    environ
        The environment before :func:`sources_exported`; default ``os.environ``.
    """
    environ = os.environ if environ is None else environ
    rows = [(Path(p), "command line") for p in given]
    rows += [(Path(p), f"${paths.SOURCES_ENV}") for p in _env_folders(environ)]
    if project is not None:
        rows += [(Path(p), project.label) for p in project.settings.get("sources", ())]
    # The last folder paths.source_dirs searches is its built-in one.
    rows.append((paths.source_dirs()[-1], "default"))
    return rows


# -- describing the effective settings ---------------------------------------------------------


@dataclass(frozen=True)
class Effective:
    """A setting's effective value and where it came from (``command line``, ``$BRIEF_OUT``,
    the project file's label, ``default``); ``sources`` has one of each per folder."""

    key: str
    value: Any
    origin: str | tuple[str, ...]


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def as_json(settings: Sequence[Effective], project: ProjectFile | None) -> dict[str, Any]:
    """The settings as JSON-safe values: ``{"project_file": ..., "settings": {key: {"value":
    ..., "source": ...}}}``; ``sources`` gives a list of folders and a list of sources."""
    return {
        "project_file": str(project.path) if project else None,
        "ignored": str(project.ignored) if project and project.ignored else None,
        "settings": {
            s.key: {"value": _plain(s.value), "source": _plain(s.origin)} for s in settings
        },
    }


def as_text(
    settings: Sequence[Effective], project: ProjectFile | None, *, cwd: Path | None = None
) -> str:
    """The settings as ``brief config`` prints them: a line per value, then where it came from."""
    if project is not None:
        lines = [f"project file: {project.label}"]
        if project.ignored is not None:
            lines.append(
                f"  ({project.ignored} [{TABLE}] is ignored: {BRIEF_TOML} in the same folder wins)"
            )
    else:
        where = cwd if cwd is not None else Path.cwd()
        lines = [
            f"project file: none ({BRIEF_TOML}, or {PYPROJECT} with [{TABLE}], in {where} or above)"
        ]
    rows: list[tuple[str, str, str]] = []
    for s in settings:
        if isinstance(s.origin, tuple):  # a search path: a row per folder
            for i, (value, origin) in enumerate(zip(s.value, s.origin, strict=True)):
                rows.append((s.key if i == 0 else "", str(value), origin))
            continue
        text = ",".join(s.value) if isinstance(s.value, list | tuple) else str(s.value)
        rows.append((s.key, text, s.origin))
    key_width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    lines += [f"{k:<{key_width}}  {v:<{value_width}}  {o}".rstrip() for k, v, o in rows]
    return "\n".join(lines)
