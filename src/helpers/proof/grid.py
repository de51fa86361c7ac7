"""The proof's parameter grid, and its pruning to the briefs that differ.

The full grid (:func:`full_grid`) is every notebook x every partner x each theme alone and all
themes (only the main brief has ``themes``) x ``include_undated`` on and off x the time views
of :data:`TIME_VIEWS` x both papers. Most of its points make the same brief: a theme that
holds nothing in a window, a hindsight end on the 15th or the 31st of a month with no event
that month. :func:`prune` computes each point's *selection signature* in-process, with no
kernel, from :func:`helpers.report.selection.select` on the loaded dataset, and keeps one
point per distinct signature. The paper changes only the layout, so the pruned grid is
rendered on A4, and a stratified subset (per notebook and partner, the brief with the most
rows and the one with the fewest) on US Letter as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from helpers.data.dataset import Dataset
from helpers.params import PARTNERS, SCHEMAS, SOURCE_DATE, THEMES, BaseParams
from helpers.report.selection import Selection, select

#: The notebooks the grid covers, in order.
NOTEBOOKS: tuple[str, ...] = ("brief", "defence", "energy_trade")
PAPERS: tuple[str, ...] = ("A4", "Letter")


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


#: Each time view: a name for the report, and the time parameters it sets.
#: Knowledge cuts before, on and after the source's date (2 March 2024); hindsight ends on the
#: first, a middle and the last day of the months holding month-precision events (October and
#: November 2023) and of the oil's period (March-June 2023); windows holding no, one and
#: several dated events.
TIME_VIEWS: dict[str, dict[str, dt.date]] = {
    "known before the source": {"as_of": _d("2023-09-30")},
    "known on the source's date": {"as_of": SOURCE_DATE},
    "known after the source": {"as_of": _d("2024-06-30")},
    **{
        f"hindsight to {day}": {"end": _d(day)}
        for day in (
            "2023-03-01",
            "2023-04-15",
            "2023-06-30",
            "2023-10-01",
            "2023-10-15",
            "2023-10-31",
            "2023-11-01",
            "2023-11-15",
            "2023-11-30",
        )
    },
    "window with no dated event": {"start": _d("2022-01-01"), "end": _d("2022-12-31")},
    "window with one dated event": {"start": _d("2023-03-01"), "end": _d("2023-06-30")},
    "window with several dated events": {"start": _d("2023-10-01"), "end": _d("2023-11-30")},
}


@dataclass(frozen=True)
class Point:
    """One brief of the grid: a notebook and the parameters that differ from its defaults."""

    notebook: str
    parameters: dict[str, Any] = field(hash=False, compare=False)
    #: The time view's name in :data:`TIME_VIEWS`.
    view: str = ""
    key: str = ""

    @staticmethod
    def of(notebook: str, parameters: dict[str, Any], view: str = "") -> Point:
        text = json.dumps([notebook, parameters], sort_keys=True, default=str)
        return Point(notebook, parameters, view, hashlib.sha256(text.encode()).hexdigest()[:12])

    def params(self) -> BaseParams:
        """The validated parameters (the notebook's schema)."""
        return SCHEMAS[self.notebook].model_validate(self.parameters)

    def injectable(self) -> dict[str, Any]:
        """The parameters as a plan gives them: dates as text."""
        return {
            k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.parameters.items()
        }

    @property
    def label(self) -> str:
        """``brief partner=China themes=energy ...``: how the proof report names the brief."""
        shown = " ".join(f"{k}={_show(v)}" for k, v in sorted(self.injectable().items()))
        return f"{self.notebook} {shown}".strip()


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _theme_options(notebook: str) -> list[list[str] | None]:
    if notebook != "brief":
        return [None]
    return [[theme] for theme in THEMES] + [list(THEMES)]


def full_grid(notebooks: Sequence[str] = NOTEBOOKS) -> list[Point]:
    """Every point of the grid, papers included (see the module's description)."""
    points = []
    for notebook in notebooks:
        for partner in PARTNERS:
            for themes in _theme_options(notebook):
                for undated in (True, False):
                    for view, times in TIME_VIEWS.items():
                        for paper in PAPERS:
                            values: dict[str, Any] = {"partner": partner}
                            if themes is not None and len(themes) < len(THEMES):
                                values["themes"] = themes
                            if not undated:
                                values["include_undated"] = False
                            values.update(times)
                            if paper != "A4":
                                values["paper"] = paper
                            points.append(Point.of(notebook, values, view))
    return points


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, str | None]]:
    """A frame's rows as plain dicts of the named columns (those it has), values as text."""
    present = [c for c in (*columns, "theme", "thesis") if c in frame]
    values = frame[present].astype(object).where(frame[present].notna(), None)
    return [
        {c: None if v is None else str(v) for c, v in zip(present, row, strict=True)}
        for row in values.itertuples(index=False)
    ]


@dataclass
class _Plain:
    """A selection's rows as plain values, once: a signature then costs no pandas."""

    view: Any
    shown: dict[str, list[dict[str, str | None]]]
    left: dict[str, dict[str, list[dict[str, str | None]]]]

    @staticmethod
    def of(selection: Selection) -> _Plain:
        shown = {t: _records(getattr(selection, t), c) for t, c in _SIGNATURE_COLUMNS.items()}
        left = {
            reason: {
                t: _records(rows, _SIGNATURE_COLUMNS[t][:1])
                for t, rows in tables.items()
                if t in _SIGNATURE_COLUMNS  # places follow the rows that name them
            }
            for reason, tables in selection.left_out.items()
            if reason != "other themes"
        }
        return _Plain(selection.view, shown, left)


def _on_themes(table: str, rows: list[dict], themes: Sequence[str]) -> list[dict]:
    """The rows a brief on ``themes`` shows (as :meth:`Selection.on_themes`; an assessment
    also when it is a thesis; relations and judgments whatever the themes)."""
    if table in ("relations", "judgments"):
        return rows
    if table == "projects":
        return rows if "energy" in themes else []
    return [
        r
        for r in rows
        if r.get("theme") in themes or (table == "assessments" and r.get("thesis") == "True")
    ]


def _key(rows: list[dict], columns: Sequence[str]) -> list:
    return sorted(tuple(r.get(c) for c in columns) for r in rows)


#: Per table: the columns that identify a row and the ones the brief's wording depends on.
_SIGNATURE_COLUMNS = {
    "events": ("event_id", "date_unknown", "cut_at_end", "focus"),
    "projects": ("project_id", "date_unknown", "focus"),
    "supplies": ("supply_id", "date_unknown", "cut_at_end", "focus"),
    "assessments": ("assessment_id", "focus"),
    "relations": ("relation_id", "focus"),
    "judgments": ("judgment_id",),
}


def _day_kind(day: dt.date) -> str:
    """How a window's bound reads: the first, the last or another day of its month."""
    if day.day == 1:
        return "first"
    return "last" if (day + dt.timedelta(days=1)).day == 1 else "other"


def signature(point: Point, selection: Selection | _Plain) -> str:
    """What decides a brief's text: the rows on its themes that it shows (and how each is
    marked), the rows on its themes set aside and why, the kind of time view (and, in a
    window, whether it ends on a month's last day), the notebook, partner, themes and
    switches. Two points with the same signature make the same brief up to the dates printed
    in it. The paper is not part of it.

    ``selection`` is :func:`~helpers.report.selection.select` for the point's partner,
    switches and time view, with any themes: the themes only filter it here.
    """
    plain = selection if isinstance(selection, _Plain) else _Plain.of(selection)
    params = point.params()
    themes = params.selected_themes
    view = plain.view
    parts: dict[str, Any] = {
        "notebook": point.notebook,
        "partner": params.partner,
        "themes": list(themes),
        "undated": params.include_undated,
        "view": [
            view.windowed,
            view.hindsight,
            view.start is not None,
            view.end < view.known_by,
            _day_kind(view.end) == "last" if view.windowed else "",
            view.latest_source is None,
        ],
        "title": params.title,
        "max_rows": params.max_rows,
    }
    for table, columns in _SIGNATURE_COLUMNS.items():
        parts[table] = _key(_on_themes(table, plain.shown[table], themes), columns)
    parts["left_out"] = {
        reason: {
            table: _key(_on_themes(table, rows, themes), _SIGNATURE_COLUMNS[table][:1])
            for table, rows in sorted(tables.items())
        }
        for reason, tables in sorted(plain.left.items())
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _size(plain: _Plain, themes: Sequence[str]) -> int:
    return sum(
        len(_on_themes(t, plain.shown[t], themes))
        for t in ("events", "projects", "supplies", "assessments")
    )


@dataclass(frozen=True)
class Pruned:
    """The grid and what is left of it.

    Attributes
    ----------
    full
        Points in the full grid, papers included.
    distinct
        A4 points with distinct signatures (step 1).
    points
        The points to render: the pairwise cover on A4 (step 2), then the Letter subset.
    stands_for
        For each point kept in step 1, the keys of the grid points with its signature.
    """

    full: int
    distinct: int
    points: tuple[Point, ...]
    stands_for: dict[str, tuple[str, ...]]

    @property
    def kept(self) -> int:
        return len(self.points)


def _factors(point: Point) -> tuple[tuple[str, str], ...]:
    """The four factors of a point (notebook and themes, partner, undated, time view)."""
    values = point.parameters
    themes = values.get("themes")
    return (
        ("notebook", point.notebook + (f" themes={','.join(themes)}" if themes else "")),
        ("partner", str(values.get("partner"))),
        ("undated", str(values.get("include_undated", True))),
        ("view", point.view),
    )


def _pairs(point: Point) -> set[tuple]:
    factors = _factors(point)
    return {(a, b) for i, a in enumerate(factors) for b in factors[i + 1 :]}


def prune(grid: Iterable[Point], dataset: Dataset, *, pairwise: bool = True) -> Pruned:
    """Prune the grid in two steps, and add a stratified subset on Letter.

    1. **Same signature, same brief.** Of the A4 points with one :func:`signature`, the first
       stands for the others.
    2. **Every pair of factor values** (``pairwise``). Of those, a greedy cover keeps points
       until every pair of values of two factors (notebook and themes, partner, undated, time
       view) that the grid holds is in a kept brief, counting for each kept brief every point
       it stands for. With ``pairwise=False``, every distinct signature is kept.

    The Letter subset is, per notebook and partner, the kept brief with the most rows shown
    and the one with the fewest (the longest is the one whose pages break first).
    """
    grid = list(grid)
    by_key = {p.key: p for p in grid}
    kept: dict[str, Point] = {}
    sizes: dict[str, int] = {}
    stands: dict[str, list[str]] = {}
    selections: dict[str, _Plain] = {}
    for point in grid:
        if point.parameters.get("paper", "A4") != "A4":
            continue
        base = {k: v for k, v in point.parameters.items() if k != "themes"}
        cache_key = json.dumps(base, sort_keys=True, default=str)
        if cache_key not in selections:
            selections[cache_key] = _Plain.of(
                select(dataset, SCHEMAS["brief"].model_validate(base))
            )
        sel = selections[cache_key]
        sig = signature(point, sel)
        if sig not in kept:
            kept[sig] = point
            sizes[point.key] = _size(sel, point.params().selected_themes)
            stands[point.key] = []
        stands[kept[sig].key].append(point.key)
    distinct = list(kept.values())
    chosen = _cover(distinct, stands, by_key) if pairwise else distinct
    letters = []
    for notebook in dict.fromkeys(p.notebook for p in chosen):
        for partner in PARTNERS:
            group = [
                p for p in chosen if p.notebook == notebook and p.parameters["partner"] == partner
            ]
            if not group:
                continue
            ends = {max(group, key=lambda p: sizes[p.key]), min(group, key=lambda p: sizes[p.key])}
            for p in sorted(ends, key=lambda p: p.key):
                letter = Point.of(p.notebook, {**p.parameters, "paper": "Letter"}, p.view)
                letters.append(letter)
    return Pruned(
        full=len(grid),
        distinct=len(distinct),
        points=tuple(chosen + letters),
        stands_for={k: tuple(v) for k, v in stands.items()},
    )


def _cover(
    candidates: list[Point], stands: dict[str, list[str]], by_key: dict[str, Point]
) -> list[Point]:
    """Greedy all-pairs cover: repeatedly the candidate covering most pairs not yet covered
    (ties: grid order), until every pair is covered."""
    covers = {p.key: set().union(*(_pairs(by_key[k]) for k in stands[p.key])) for p in candidates}
    wanted = set().union(*covers.values()) if covers else set()
    order = {p.key: i for i, p in enumerate(candidates)}
    chosen: list[Point] = []
    left = list(candidates)
    while wanted:
        best = max(left, key=lambda p: (len(covers[p.key] & wanted), -order[p.key]))
        chosen.append(best)
        left.remove(best)
        wanted -= covers[best.key]
    return sorted(chosen, key=lambda p: order[p.key])


#: The CI sample: about 20 points chosen to cover every rule's territory (each notebook, each
#: partner, undated off, a knowledge cut before the source, hindsight mid-month, a window with
#: no events, one with several, Letter).
SAMPLE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("brief", {"partner": "Russia"}),
    ("brief", {"partner": "China"}),
    ("brief", {"partner": "India"}),
    ("brief", {"partner": "Russia", "paper": "Letter"}),
    ("brief", {"partner": "India", "include_undated": False}),
    ("brief", {"partner": "Russia", "as_of": _d("2023-09-30")}),
    ("brief", {"partner": "China", "end": _d("2023-10-15")}),
    ("brief", {"partner": "Russia", "end": _d("2023-11-15")}),
    ("brief", {"partner": "Russia", "start": _d("2022-01-01"), "end": _d("2022-12-31")}),
    ("brief", {"partner": "Russia", "start": _d("2023-10-01"), "end": _d("2023-11-30")}),
    ("brief", {"partner": "India", "themes": ["regional"]}),
    ("brief", {"partner": "China", "themes": ["defence"]}),
    ("brief", {"partner": "Russia", "themes": ["energy"], "include_undated": False}),
    ("defence", {"partner": "Russia"}),
    ("defence", {"partner": "China", "paper": "Letter"}),
    ("defence", {"partner": "India", "end": _d("2023-10-31")}),
    ("energy_trade", {"partner": "Russia"}),
    ("energy_trade", {"partner": "India", "include_undated": False}),
    ("energy_trade", {"partner": "China", "start": _d("2023-03-01"), "end": _d("2023-06-30")}),
    ("energy_trade", {"partner": "Russia", "as_of": _d("2024-06-30")}),
)


def sample() -> list[Point]:
    """The fixed CI sample (:data:`SAMPLE`)."""
    return [Point.of(notebook, dict(values), "sample") for notebook, values in SAMPLE]
