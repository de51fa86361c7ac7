"""Typed parameter schemas for the report notebooks, and their checking.

One pydantic model per notebook. The same model checks parameters twice: in ``brief render`` /
``brief batch`` before any kernel starts (:func:`validate_parameters`, which also rejects names
the notebook does not declare), and in the notebook's own validation cell
(:func:`from_namespace`), so an analyst's interactive run fails the same way.

Values from the command line arrive as strings and are converted by the schema (``"007"``
stays the string ``"007"`` for a title; ``"2023-09-30"`` becomes a date), never guessed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from helpers.errors import ParameterError, UsageError
from helpers.text import NOT_TEXT

Theme = Literal["defence", "energy", "economy", "regional"]
THEMES: tuple[str, ...] = ("defence", "energy", "economy", "regional")
PARTNERS: tuple[str, ...] = ("Russia", "China", "India")
#: The key under which a brief's cell outputs carry data for the pipeline (the sources
#: section's data trail, which ``brief render`` copies into the manifest).
OUTPUT_METADATA_KEY = "myanmar-brief"
#: Under :data:`OUTPUT_METADATA_KEY`: the title block a brief's opening cell leaves in the
#: executed notebook for the house exporters (``helpers.report.brief.leave_title_block``).
TITLE_BLOCK_KEY = "title_block"
#: The source's date: what the shipped data knows up to, and the default ``as_of``.
SOURCE_DATE = dt.date(2024, 3, 2)
#: The parameters that move from one edition of a series to the next (see
#: :mod:`helpers.ledger`): a series is a notebook with its other parameters fixed.
EDITION_FIELDS: tuple[str, ...] = ("as_of", "end")
#: The parameter naming the previous edition a brief is compared with. ``brief render`` sets
#: it (``--since``); it is part of neither the series nor the run folder's name.
SINCE_FIELD = "since"

# The one rule for text (helpers.text.NOT_TEXT: controls, separators, text-direction
# characters), and no tab or newline either: a newline in a string parameter could break out
# of papermill's injected assignment, and a title has no use for one.
_NOT_PLAIN = re.compile(f"{NOT_TEXT.pattern}|[\t\n\r]")


def _plain(text: str) -> str:
    found = _NOT_PLAIN.search(text)
    if found:
        char = found.group()
        raise ValueError(
            f"character U+{ord(char):04X} at position {found.start() + 1} is not allowed: "
            "no control or text-direction characters in plain text"
        )
    return text


PlainText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=160),
    AfterValidator(_plain),
]


class BaseParams(BaseModel):
    """Parameters shared by every report notebook."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    title: PlainText | None = Field(
        None, description="Title printed on the brief; None for a title naming the partner"
    )
    as_of: dt.date = Field(
        SOURCE_DATE,
        description="The brief knows only what was known by this date (YYYY-MM-DD): "
        "sources published later are left out",
    )
    start: dt.date | None = Field(
        None,
        description="First day of the window of events, YYYY-MM-DD; None for no lower bound",
    )
    end: dt.date | None = Field(
        None,
        description="Last day of the window of events, YYYY-MM-DD; None for as_of. "
        "Before as_of: the events up to this day as sources published by as_of describe "
        "them (a hindsight view)",
    )
    partner: Literal["Russia", "China", "India"] = Field(
        "Russia", description="The foreign partner the brief is about: Russia, China or India"
    )
    data_dir: str | None = Field(None, description="Data folder; None for the package's data/")
    paper: Literal["A4", "Letter"] = Field("A4", description="Paper size of the PDF: A4 or Letter")
    include_undated: bool = Field(
        True,
        description="Show events the source does not date (in a window, marked 'date unknown')",
    )
    max_rows: int = Field(
        15, ge=1, le=200, description="Most rows in any chart or table before it is truncated"
    )
    since: Annotated[str, StringConstraints(max_length=4096), AfterValidator(_plain)] | None = (
        Field(
            None,
            description="The previous edition to compare with: its run folder or manifest.json, "
            'or "first" for the first edition of a series; None for no comparison (brief '
            "render sets it; see --since)",
        )
    )

    #: The notebook this schema belongs to (file stem in notebooks/).
    notebook: ClassVar[str] = ""
    #: The title used when ``title`` is None; ``{partner}`` is filled in.
    default_title: ClassVar[str] = "Myanmar and {partner}"
    #: The line under the title.
    subtitle: ClassVar[str] = "What the sources in the data say, and how far they can be trusted"

    @field_validator("partner", mode="before")
    @classmethod
    def _partner_any_case(cls, value: Any) -> Any:
        if isinstance(value, str):
            for name in PARTNERS:
                if value.strip().lower() == name.lower():
                    return name
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _no_binary(cls, value: Any) -> Any:
        # YAML's !!binary gives bytes, which pydantic would silently decode into text.
        if isinstance(value, bytes | bytearray):
            raise ValueError("binary data is not a parameter value; give text")
        return value

    @field_validator("as_of", "start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        # pydantic also reads a number, or text of digits, as Unix time: `-p as_of 0` would be
        # 1 January 1970. A date is a date (from YAML or Python) or text in YYYY-MM-DD.
        if value is None or isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            text = value.strip()
            if text in ("", "None", "null") or re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                return text
        raise ValueError("expected a date written YYYY-MM-DD")

    @field_validator("max_rows", mode="before")
    @classmethod
    def _no_bool_count(cls, value: Any) -> Any:
        # pydantic reads true as 1; `max_rows: yes` in a YAML file is a mistake, not one row.
        if isinstance(value, bool):
            raise ValueError("expected a whole number, not true/false")
        return value

    @field_validator("start", "end", "data_dir", "since", mode="before")
    @classmethod
    def _none_words(cls, value: Any) -> Any:
        # From a command line, "None" or "" means no value; the schema decides, not papermill.
        if isinstance(value, str) and value.strip() in ("", "None", "null"):
            return None
        return value

    @model_validator(mode="after")
    def _window_in_order(self) -> BaseParams:
        if self.start is not None and self.start > self.as_of:
            raise ValueError(f"start ({self.start}) must be on or before as_of ({self.as_of})")
        if self.end is not None and self.end > self.as_of:
            raise ValueError(f"end ({self.end}) must be on or before as_of ({self.as_of})")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start ({self.start}) must be on or before end ({self.end})")
        return self

    @property
    def display_title(self) -> str:
        """``title``, or the schema's default title naming the partner."""
        if self.title:
            return self.title
        return self.default_title.format(partner=self.partner)

    @property
    def hindsight(self) -> bool:
        """True when the window ends before ``as_of``: events up to ``end`` as later sources
        describe them."""
        return self.window_end < self.as_of

    def time_view(self) -> str:
        """Which question about time the brief answers, for its masthead and running footer:
        'Known by 2 March 2024', or 'Events to 30 September 2023, as known on 2 March 2024
        (hindsight)'."""
        known = _day(self.as_of)
        if self.start is None and not self.hindsight:
            return f"Known by {known}"
        span = (
            f"from {_day(self.start)} to {_day(self.window_end)}"
            if self.start
            else (f"to {_day(self.window_end)}")
        )
        view = f"Events {span}, as known on {known}"
        return f"{view} (hindsight)" if self.hindsight else view

    def masthead(self) -> dict[str, Any]:
        """What the brief's title block shows: title, subtitle, the time view and the scope."""
        scope = [
            ["Focus", self.partner],
            ["Sections", ", ".join(self.selected_themes)],
            ["Undated events", "shown" if self.include_undated else "left out"],
        ]
        if self.data_dir:
            # Never the folder's path: a reader has no use for a server's paths, and the path
            # is text nobody checked (newlines, direction controls). The data trail in the
            # annex gives the data's fingerprint; the manifest keeps the folder.
            scope.append(["Data", "a data folder other than the package's own"])
        return {
            "title": self.display_title,
            "subtitle": self.subtitle.format(partner=self.partner),
            "as_of": self.time_view(),
            "as_of_iso": self.as_of.isoformat(),
            "scope": scope,
        }

    @property
    def window_end(self) -> dt.date:
        """The last day shown: ``end`` if given, else ``as_of``."""
        return self.end or self.as_of

    @property
    def partner_id(self) -> str:
        """The partner's actor id in the data (``russia``, ``china``, ``india``)."""
        return self.partner.lower()

    @property
    def selected_themes(self) -> tuple[str, ...]:
        return THEMES

    def injectable(self) -> dict[str, Any]:
        """The values as papermill should inject them: JSON-safe literals.

        ``since`` is left out: which edition a brief follows is found when it runs (brief
        render injects it then), and is part of neither its run's name nor its inputs.
        """
        values = json.loads(self.model_dump_json())
        values.pop(SINCE_FIELD, None)
        return values


def _day(date: dt.date) -> str:
    return f"{date.day} {date:%B %Y}"


def _theme_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class BriefParams(BaseParams):
    """The main brief: key judgments, timeline, defence, energy, economy, regional, sources."""

    notebook: ClassVar[str] = "brief"
    default_title: ClassVar[str] = "Myanmar's junta and {partner}"
    subtitle: ClassVar[str] = "Defence, energy, trade and the region, as the sources report them"
    themes: list[Theme] = Field(
        list(THEMES),
        min_length=1,
        description="Sections to include: any of defence, energy, economy, regional",
    )

    _split_themes = field_validator("themes", mode="before")(
        classmethod(lambda cls, v: _theme_list(v))
    )

    @field_validator("themes")
    @classmethod
    def _unique_themes(cls, value: list[str]) -> list[str]:
        return [t for t in THEMES if t in value]

    @property
    def selected_themes(self) -> tuple[str, ...]:
        return tuple(self.themes)


class DefenceParams(BaseParams):
    """The defence-cooperation notebook."""

    notebook: ClassVar[str] = "defence"
    default_title: ClassVar[str] = "Defence cooperation: Myanmar's junta and {partner}"
    subtitle: ClassVar[str] = "Visits, agreements, exercises and supplies, and the war behind them"

    @property
    def selected_themes(self) -> tuple[str, ...]:
        return ("defence",)


class EnergyTradeParams(BaseParams):
    """The energy, infrastructure and trade notebook."""

    notebook: ClassVar[str] = "energy_trade"
    default_title: ClassVar[str] = "Energy, infrastructure and trade: Myanmar and {partner}"
    subtitle: ClassVar[str] = "Energy and infrastructure projects, trade settlement and oil"

    @property
    def selected_themes(self) -> tuple[str, ...]:
        return ("energy", "economy")


SCHEMAS: dict[str, type[BaseParams]] = {
    model.notebook: model for model in (BriefParams, DefenceParams, EnergyTradeParams)
}


def notebook_metadata(path: Path) -> dict[str, Any]:
    """A notebook file's top-level ``metadata``, or a UsageError saying why the file is no
    notebook: not UTF-8, not JSON, or JSON that is not an object (``[]``, ``"x"``, ``null``).
    """
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path} is not a readable Jupyter notebook: {why}") from None
    if not isinstance(value, dict):
        kinds = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}
        raise UsageError(
            f"{path} is not a readable Jupyter notebook: it holds "
            f"{kinds.get(type(value), 'a number')}, not a notebook (a JSON object with cells "
            "and metadata)"
        )
    metadata = value.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def schema_for(notebook: str | Path) -> type[BaseParams]:
    """The schema of a notebook, by the ``brief.schema`` metadata or else the file stem."""
    path = Path(notebook)
    name = path.stem
    if path.suffix == ".ipynb" and path.is_file():
        brief = notebook_metadata(path).get("brief")
        chosen = brief.get("schema") if isinstance(brief, dict) else None
        name = chosen if isinstance(chosen, str) else name
    try:
        return SCHEMAS[name]
    except KeyError:
        known = ", ".join(sorted(SCHEMAS))
        raise ParameterError(
            f"{path.name}: no parameter schema named {name!r}; known: {known}"
        ) from None


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut short, saying how long it was: a huge value must not flood a message."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} characters" if isinstance(value, str | bytes) else f"{len(text)} in all"
    return f"{text[: limit - 20]}... ({size})"


def _describe(error: dict, raw: Mapping[str, Any], model: type[BaseParams]) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    name = loc[0] if loc else None
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(model.model_fields)
        return f"unknown parameter {_shown(name)}; this notebook takes: {allowed}"
    if name is None:
        return error["msg"].removeprefix("Value error, ")
    field = model.model_fields[name]
    value = raw.get(name, error.get("input"))
    where = ".".join(loc)
    return (
        f"parameter {where!r} = {_shown(value)}: {error['msg'].removeprefix('Value error, ')}"
        f" (expected: {field.description})"
    )


def field_problems(
    model: type[BaseParams], raw: Mapping[str, Any], error: ValidationError
) -> list[tuple[str | None, str]]:
    """Each problem of ``error`` as :func:`check` words it, with the parameter it is about
    (``None`` for a problem of no one parameter): a form shows each by its field."""
    found = []
    for item in error.errors():
        loc = item.get("loc", ())
        name = str(loc[0]) if loc else None
        found.append((name, _describe(item, raw, model)))
    return found


def check(
    model: type[BaseParams], raw: Mapping[str, Any], *, where: str = "parameters"
) -> BaseParams:
    """Validate ``raw`` against ``model``; raise :class:`ParameterError` listing every problem."""
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        lines = [_describe(error, raw, model) for error in exc.errors()]
        raise ParameterError(f"{where}: " + "; ".join(lines)) from None


def validate_parameters(notebook: str | Path, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check parameters for a notebook before any kernel starts.

    Parameters
    ----------
    notebook
        Path of the report notebook (its schema is found by :func:`schema_for`).
    raw
        Parameter values: strings from ``-p``, typed values from a YAML file or from Python.

    Returns
    -------
    dict
        Every parameter of the notebook, defaults filled in, as JSON-safe values to inject.

    Raises
    ------
    ParameterError
        Naming each bad parameter, its value and what is allowed.
    """
    model = schema_for(notebook)
    for name in raw:
        if not isinstance(name, str) or not name.isidentifier():
            raise ParameterError(
                f"{Path(notebook).name}: parameter name {_shown(name)} is not a valid name; "
                f"this notebook takes: {', '.join(model.model_fields)}"
            )
    return check(model, raw, where=Path(notebook).name).injectable()


def from_namespace(
    schema: str, namespace: Mapping[str, Any], *, strict: bool = False
) -> BaseParams:
    """Build the validated parameters inside a notebook from its variables.

    The notebook's validation cell calls ``helpers.params.from_namespace("brief", globals())``:
    the schema's fields are picked from the namespace, so an interactive run that sets a bad
    value fails exactly as ``brief render`` would. With ``strict``, so does an unknown name:
    a plain value (text, number, true/false, None, list, mapping, date) in the namespace that
    is not a parameter, as a misspelt ``partnr = "China"`` in the parameters cell would be.
    (Before the brief opens, a report notebook defines nothing but its parameters.)
    """
    model = SCHEMAS[schema]
    where = f"{schema}.ipynb"
    if strict:
        unknown = sorted(
            name
            for name, value in namespace.items()
            if name not in model.model_fields
            and not name.startswith("_")
            and name not in _KERNEL_NAMES
            and isinstance(value, _PLAIN_VALUES)
        )
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            raise ParameterError(
                f"{where}: unknown parameter {names}; this notebook takes: "
                f"{', '.join(model.model_fields)}"
            )
    raw = {name: namespace[name] for name in model.model_fields if name in namespace}
    return check(model, raw, where=where)


#: Names IPython itself puts in a kernel's namespace (the input and output history).
_KERNEL_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})
#: The values a parameters cell (or papermill's injected one) assigns.
_PLAIN_VALUES = (str, int, float, bool, type(None), list, tuple, dict, dt.date)


def type_name_of(annotation: Any, metadata: list | None = None) -> str:
    """A reader's name for a parameter type: 'date or None', 'one of: A4, Letter'."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(type_name_of(a) for a in inner) + " or None"
    if origin is typing.Annotated:
        return type_name_of(args[0])
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin is list:
        return "list of " + type_name_of(args[0]).removeprefix("one of: ").join(["(", ")"])
    bounds = [
        f"{symbol} {getattr(m, key)}"
        for m in metadata or []
        for key, symbol in (("ge", ">="), ("le", "<="))
        if getattr(m, key, None) is not None
    ]
    names = {str: "text", int: "integer", bool: "true/false", dt.date: "date (YYYY-MM-DD)"}
    name = names.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return f"{name} ({', '.join(bounds)})" if bounds else name


def describe(notebook: str | Path) -> list[dict[str, Any]]:
    """Each parameter of a notebook: name, type, default and help, from its schema."""
    model = schema_for(notebook)
    rows = []
    for name, field in model.model_fields.items():
        type_name = type_name_of(field.annotation, field.metadata)
        default = field.default
        rows.append(
            {
                "name": name,
                "type": type_name,
                "default": json.loads(json.dumps(default, default=str)),
                "help": field.description or "",
            }
        )
    return rows
