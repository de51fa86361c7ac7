"""Batch plans: which notebooks to render with which parameters, read and checked.

A plan is a YAML file (the format is documented in ``docs/plans.md``)::

    version: 1
    defaults: {paper: A4}          # optional: parameters of every job
    formats: [html, pdf]           # optional, as `brief render --to`
    timeout: 600                   # optional: seconds any one cell may run
    name: "{notebook}-{partner}"   # optional: the output files' name, as `brief render --name`
    jobs:
      - notebook: brief            # explicit parameter sets
        parameters: [{}, {partner: China}]
      - notebook: defence          # every combination of the values given
        grid: {partner: [Russia, China], paper: [A4, Letter]}

It is checked the way parameters are, in three steps, before anything runs:

1. :func:`load_plan` reads the YAML as a ``brief render -f`` parameters file is read
   (:mod:`helpers.yamlfile`: no tags, anchors, aliases or keys given twice, no number or
   boolean that YAML would read unlike it looks, dates as the text they were written as).
   The structure is checked with pydantic (unknown keys are errors). A malformed plan is a
   :class:`~helpers.errors.UsageError` (exit 2) naming the entry: ``jobs[1].grid: empty``.
2. :func:`expand` turns each entry into :class:`PlanJob` objects: every parameter set, times
   every combination of the grid, on top of ``defaults``.
3. :func:`check_parameters` validates every job's parameters against its notebook's schema
   (:func:`~helpers.params.validate_parameters`); problems are a
   :class:`~helpers.errors.ParameterError` (exit 4) naming the job:
   ``jobs[1] (defence, partner=France): ...``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from helpers import paths
from helpers.common import DEFAULT_TIMEOUT
from helpers.errors import ParameterError, UsageError
from helpers.params import validate_parameters
from helpers.pipeline.publish import check_notebook_name
from helpers.yamlfile import parse_yaml, read_text

#: The plan format this module reads.
PLAN_VERSION = 1
#: Most jobs one plan may expand to: a grid multiplies quickly.
MAX_JOBS = 500

__all__ = [
    "MAX_JOBS",
    "PLAN_VERSION",
    "Plan",
    "PlanJob",
    "check_parameters",
    "expand",
    "load_plan",
    "parse_plan",
]

# -- the structure ------------------------------------------------------------------------------


class _Entry(BaseModel):
    """One entry of ``jobs``."""

    model_config = ConfigDict(extra="forbid")

    notebook: Annotated[str, Field(min_length=1, strict=True)]
    parameters: list[dict[str, Any]] | None = None
    grid: dict[str, list[Any]] | None = None
    name: Annotated[str, Field(min_length=1, strict=True)] | None = None
    #: Who receives each edition this entry publishes, with ``brief batch --send``.
    deliver: (
        Annotated[list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]], Field(min_length=1)]
        | None
    ) = None

    @field_validator("parameters", mode="before")
    @classmethod
    def _one_set(cls, value: Any) -> Any:
        # A single mapping is one parameter set.
        return [value] if isinstance(value, Mapping) else value

    @field_validator("parameters")
    @classmethod
    def _some_sets(cls, value: list | None) -> list | None:
        if value is not None and not value:
            raise ValueError("an empty list gives no jobs; leave it out to run the defaults")
        return value

    @field_validator("grid")
    @classmethod
    def _some_values(cls, value: dict | None) -> dict | None:
        if value is None:
            return value
        if not value:
            raise ValueError("empty; give each parameter a list of values, e.g. {partner: [China]}")
        empty = [name for name, values in value.items() if not values]
        if empty:
            raise ValueError(f"{', '.join(map(repr, empty))}: an empty list gives no jobs")
        return value


class _Plan(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1]
    defaults: dict[str, Any] = Field(default_factory=dict)
    formats: Annotated[list[Literal["html", "pdf"]], Field(min_length=1)] = ["html", "pdf"]
    timeout: Annotated[int, Field(gt=0, strict=True)] | None = DEFAULT_TIMEOUT
    name: Annotated[str, Field(min_length=1, strict=True)] | None = None
    jobs: Annotated[list[_Entry], Field(min_length=1)]


_KEYS = {
    (): ", ".join(_Plan.model_fields),
    ("jobs", 0): ", ".join(_Entry.model_fields),
}


@dataclass(frozen=True)
class Plan:
    """A plan that was read and whose structure is valid.

    Attributes
    ----------
    source
        Where it came from, for messages: the file's path, or ``<plan>``.
    base_dir
        The folder notebook paths in the plan are relative to: the plan file's folder.
    defaults
        Parameters given to every job (a job's own values win).
    formats
        Output formats, as ``brief render --to``.
    timeout
        Seconds any one cell may run; ``None`` for no limit.
    entries
        The ``jobs`` entries as written: ``notebook``, ``parameters``, ``grid``, ``name``.
    name
        The output files' name template of every entry that gives none (``brief render
        --name``); ``None`` for the notebook's name.
    """

    source: str
    base_dir: Path
    defaults: dict[str, Any]
    formats: tuple[str, ...]
    timeout: int | None
    entries: tuple[dict[str, Any], ...]
    version: int = PLAN_VERSION
    name: str | None = None


@dataclass(frozen=True)
class PlanJob:
    """One job of a plan: a notebook and the parameters the plan gives it.

    Attributes
    ----------
    entry
        Index of the entry in ``jobs`` that made it.
    notebook
        The notebook file, resolved.
    given
        The parameters as the plan gives them (``defaults``, then the parameter set, then the
        grid combination), before the notebook's schema checks them. Dates are ISO strings.
    shown
        The values that tell this job apart from the others of its entry (the parameter set
        and grid combination, not ``defaults``), for :attr:`label`.
    file_name
        The template that names its output files (``name`` in its entry, else in the plan);
        ``None`` for the notebook's name.
    deliver
        Email addresses that ``brief batch --send`` sends its editions to (``deliver:``).
    """

    entry: int
    notebook: Path
    given: dict[str, Any]
    shown: dict[str, Any] = field(default_factory=dict)
    file_name: str | None = None
    #: The addresses ``brief batch --send`` mails its editions to (``deliver:`` of its entry).
    deliver: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The notebook's name: its file stem, which names its report folder."""
        return self.notebook.stem

    @property
    def label(self) -> str:
        """``jobs[1] (defence, partner=France)``: how messages name this job."""
        values = ", ".join(f"{k}={_show(v)}" for k, v in self.shown.items()) or "defaults"
        return f"jobs[{self.entry}] ({self.name}, {values})"


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


# -- reading ------------------------------------------------------------------------------------


def load_plan(path: Path | str) -> Plan:
    """Read a plan file and check its structure.

    Parameters
    ----------
    path
        The YAML file. Notebook paths in it are relative to its folder.

    Returns
    -------
    Plan

    Raises
    ------
    UsageError
        The file cannot be read, is not YAML, breaks a rule of :mod:`helpers.yamlfile` (a
        tag, an alias, a key given twice, an ambiguous value), or breaks the format; the
        message names the file and the entry (``jobs[1].grid``) or line.
    """
    path = Path(path)
    text = read_text(path, kind="plan")
    return parse_plan(text, source=str(path), base_dir=path.resolve().parent)


def parse_plan(text: str, *, source: str = "<plan>", base_dir: Path | None = None) -> Plan:
    """Check the text of a plan; see :func:`load_plan`.

    Parameters
    ----------
    text
        YAML.
    source
        Names the plan in messages.
    base_dir
        The folder relative notebook paths start from. Default: the current folder.
    """
    raw = parse_yaml(
        text, kind="plan", source=source, alias_hint=", or put what every job shares in 'defaults'"
    )
    if raw is None:
        raise UsageError(f"plan {source} is empty; it needs at least 'version: 1' and 'jobs'")
    if not isinstance(raw, dict):
        raise UsageError(
            f"plan {source} must be a mapping with 'version' and 'jobs', not a {type(raw).__name__}"
        )
    try:
        model = _Plan.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(error) for error in exc.errors()]
        raise UsageError(f"plan {source}:\n  " + "\n  ".join(lines)) from None
    return Plan(
        source=source,
        base_dir=Path(base_dir) if base_dir is not None else Path.cwd(),
        defaults=dict(model.defaults),
        formats=tuple(dict.fromkeys(model.formats)),
        timeout=model.timeout,
        entries=tuple(entry.model_dump() for entry in model.jobs),
        version=model.version,
        name=model.name,
    )


def _where(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        parent, key = loc[:-1], loc[-1]
        shape = tuple(0 if isinstance(p, int) else p for p in parent)
        allowed = _KEYS.get(shape)
        where = _where(parent) or "the plan"
        tail = f"; {'an entry' if parent else 'a plan'} takes: {allowed}" if allowed else ""
        return f"{where}: unknown key {key!r}{tail}"
    if error["type"] == "missing":
        parent, key = loc[:-1], loc[-1]
        return f"{_where(parent) or 'the plan'}: {key!r} is missing"
    if loc == ("version",):
        return f"version: {error.get('input')!r} is not a plan version this program reads (1)"
    shape = tuple(0 if isinstance(p, int) else p for p in loc)
    hint = _HINTS.get(shape[:3] if shape[:3] == ("jobs", 0, "grid") else shape)
    if hint and error["type"] in ("list_type", "dict_type", "too_short"):
        message = hint
    return f"{_where(loc)}: {message}"


_HINTS = {
    ("jobs",): "give at least one job, e.g. [{notebook: brief}]",
    ("jobs", 0, "parameters"): "give a mapping of parameter names to values, or a list of them",
    ("jobs", 0, "parameters", 0): "give a mapping of parameter names to values",
    ("jobs", 0, "grid"): "give each parameter a list of values, e.g. {partner: [Russia, China]}",
    ("defaults",): "give a mapping of parameter names to values",
}


# -- expanding ---------------------------------------------------------------------------------


def expand(plan: Plan) -> list[PlanJob]:
    """Every job of a plan, in the order written: each parameter set times each combination.

    Returns
    -------
    list of PlanJob

    Raises
    ------
    UsageError
        An unknown notebook, a parameter given both in a set and in the grid, or more than
        :data:`MAX_JOBS` jobs; the message names the entry.
    """
    jobs: list[PlanJob] = []
    problems: list[str] = []
    for index, entry in enumerate(plan.entries):
        try:
            notebook = _resolve_notebook(entry["notebook"], plan.base_dir)
            check_notebook_name(notebook.stem)
        except UsageError as exc:
            problems.append(f"jobs[{index}].notebook: {exc}")
            continue
        sets = entry["parameters"] or [{}]
        grid = entry["grid"] or {}
        combinations = [
            dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())
        ]
        for number, chosen in enumerate(sets):
            both = sorted(set(chosen) & set(grid))
            if both:
                names = ", ".join(map(repr, both))
                problems.append(
                    f"jobs[{index}]: {names} given in parameters[{number}] and in grid; "
                    "give each parameter in one place"
                )
                continue
            for combination in combinations:
                shown = {**chosen, **combination}
                jobs.append(
                    PlanJob(
                        entry=index,
                        notebook=notebook,
                        given={**plan.defaults, **shown},
                        shown=shown,
                        file_name=entry.get("name") or plan.name,
                        deliver=tuple(entry.get("deliver") or ()),
                    )
                )
    if problems:
        raise UsageError(f"plan {plan.source}:\n  " + "\n  ".join(problems))
    if len(jobs) > MAX_JOBS:
        raise UsageError(
            f"plan {plan.source} expands to {len(jobs)} jobs, more than {MAX_JOBS}; "
            "split it or make the grids smaller"
        )
    return jobs


def _resolve_notebook(name: str, base_dir: Path) -> Path:
    """A bare name from ``notebooks/``, or a ``.ipynb`` path relative to the plan's folder."""
    if name.endswith(".ipynb") or "/" in name or "\\" in name:
        path = (base_dir / Path(name).expanduser()).resolve()
        if not path.is_file():
            raise UsageError(f"no notebook file {path}")
        return path
    path = paths.NOTEBOOKS_DIR / f"{name}.ipynb"
    if not path.is_file():
        known = ", ".join(p.stem for p in paths.report_notebooks()) or "(none)"
        raise UsageError(f"unknown notebook {name!r}; known notebooks: {known}")
    return path.resolve()


# -- checking parameters -----------------------------------------------------------------------


def check_parameters(jobs: Sequence[PlanJob]) -> list[dict[str, Any]]:
    """Validate every job's parameters against its notebook's schema, before anything runs.

    Parameters
    ----------
    jobs
        From :func:`expand`.

    Returns
    -------
    list of dict
        Each job's parameters as the notebook will receive them, defaults filled in.

    Raises
    ------
    ParameterError
        Listing every problem, each after the job's label
        (``jobs[1] (defence, partner=France): parameter 'partner' = 'France': ...``). A
        problem shared by several combinations of one entry is listed once, with a count.
    """
    checked: list[dict[str, Any]] = []
    problems: dict[tuple[int, str], list[str]] = {}
    for job in jobs:
        try:
            checked.append(validate_parameters(job.notebook, job.given))
        except ParameterError as exc:
            message = str(exc).removeprefix(f"{job.notebook.name}: ")
            problems.setdefault((job.entry, message), []).append(job.label)
    if problems:
        lines = []
        for (index, message), labels in problems.items():
            more = len(labels) - 1
            tail = f" (and {more} more of jobs[{index}])" if more else ""
            lines.append(f"{labels[0]}: {message}{tail}")
        raise ParameterError("\n".join(lines))
    return checked
