"""Apply a brief's parameters to the dataset: what it knows, when, and with what emphasis.

Two questions about time, kept apart (see :class:`TimeView`):

* **What was known by ``as_of``.** A source counts only if it was published by ``as_of``;
  every row drawn from a later source is unknown to the brief, whatever date its event has.
* **Which events fall in the window** ``[start, end]`` (``end`` defaults to ``as_of``). An event
  counts as in the window only if it certainly lies there: one known only to its month or
  period counts as after a cut that falls inside that month or period, and is set aside as
  *possibly outside the window*, never shown as known. An ongoing event counts once it had
  certainly begun by ``end``, and is drawn up to ``end``. An undated row linked to a dated
  event (``related_event_id``) is no earlier than that event. When ``end`` falls before the
  latest source the brief uses, the brief is a *hindsight view*: events up to ``end`` as
  reported later.

Undated rows are kept when ``include_undated`` is true; in a windowed brief they are marked
"date unknown", since they may fall outside the window. The partner decides emphasis, not
existence: every row the time rules keep is in the selection, with a ``focus`` column saying
whether it involves the partner (directly or through a related event), another foreign power,
or only actors at home. An assessment or judgment stays only while at least one row it rests
on (``rests_on``) is in the brief. The themes a notebook covers decide which rows its sections
show; the thesis of each source opens every brief, whatever its themes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from helpers.data.dataset import Dataset
from helpers.params import BaseParams
from helpers.report.citations import ID_COLUMNS

#: For each table, the columns that name actors.
ACTOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("actor_id", "counterpart_id"),
    "projects": ("partner_id", "host_id"),
    "supplies": ("supplier_id", "recipient_id"),
    "assessments": ("subject_id", "object_id", "context_id"),
    "relations": ("actor_id", "other_id"),
}
HOME = "myanmar"
#: Why a row is not in a brief; :mod:`helpers.report.narrative` words each for the reader.
REASONS = (
    "published after the cut",
    "outside the window",
    "possibly outside the window",
    "undated, left out",
    "evidence not in the brief",
    "other themes",
)


@dataclass(frozen=True)
class TimeView:
    """Which question about time a brief answers, and the dates that frame it."""

    #: Sources published after this day are unknown to the brief.
    known_by: dt.date
    #: The window of events: first and last day (``start`` None: no lower bound).
    start: dt.date | None
    end: dt.date
    #: The latest publication date among the sources the brief may use; None if there is none.
    latest_source: dt.date | None

    @property
    def hindsight(self) -> bool:
        """True when the window ends before the sources describing it were published."""
        return self.latest_source is not None and self.end < self.latest_source

    @property
    def windowed(self) -> bool:
        """True when the window cuts the record: an undated row may then fall outside it."""
        return self.start is not None or self.hindsight


@dataclass(frozen=True)
class Selection:
    """The rows a brief may speak of, and what its rules set aside."""

    params: BaseParams
    dataset: Dataset
    view: TimeView
    #: The sources published by ``as_of``.
    sources: pd.DataFrame
    events: pd.DataFrame
    projects: pd.DataFrame
    supplies: pd.DataFrame
    assessments: pd.DataFrame
    relations: pd.DataFrame
    judgments: pd.DataFrame
    #: Each source's thesis (assessments marked ``thesis``), whatever the brief's themes.
    thesis: pd.DataFrame
    #: The places the brief may show: every place the data names, less those named only by
    #: rows the brief sets aside (a place follows the facts that put it on the map).
    places: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Rows set aside, by reason (one of :data:`REASONS`) and table.
    left_out: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    #: What :meth:`on_themes` gave, by table and themes: every section asks again.
    _themed: dict[tuple[str, tuple[str, ...]], pd.DataFrame] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def partner(self) -> str:
        return self.params.partner_id

    @property
    def dated_events(self) -> pd.DataFrame:
        return self.events[self.events["date_start"].notna()]

    @property
    def undated_events(self) -> pd.DataFrame:
        return self.events[self.events["date_start"].isna()]

    def on_themes(self, table: str, themes: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Rows of ``table`` on ``themes`` (default: the brief's), partner's first.

        Tables without a theme (projects) follow the theme ``energy``. Computed once per
        table and themes (the sections and the opening ask for the same ones a few dozen
        times); each caller gets its own shallow copy, which pandas' copy-on-write keeps
        apart: a change one caller makes to its frame never reaches the next.
        """
        wanted = tuple(themes if themes is not None else self.params.selected_themes)
        found = self._themed.get((table, wanted))
        if found is None:
            frame = getattr(self, table)
            if "theme" in frame:
                frame = frame[frame["theme"].isin(wanted)]
            elif "energy" not in wanted:
                frame = frame.head(0)
            found = self._themed[table, wanted] = emphasis_order(frame)
        return found.copy(deep=False)

    def is_empty(self) -> bool:
        return all(
            frame.empty
            for frame in (self.events, self.projects, self.supplies, self.assessments, self.thesis)
        )


#: Sort order of ``focus``: the partner's rows, then the war at home, then other powers.
FOCUS_ORDER = {"partner": 0, "home": 1, "other": 2}


def emphasis_order(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the partner's rows first, then home, then other powers (stable)."""
    if frame.empty or "focus" not in frame:
        return frame
    return frame.iloc[frame["focus"].map(FOCUS_ORDER).argsort(kind="stable")]


def foreign_states(dataset: Dataset) -> set[str]:
    """Actor ids of states other than Myanmar."""
    actors = dataset.actors
    return set(actors.loc[(actors["kind"] == "state") & (actors["actor_id"] != HOME), "actor_id"])


def _values(series: pd.Series) -> list:
    """A column as plain Python values, missing ones as None: walking a list is many times
    faster than walking pandas' extension arrays value by value (64,000 rows at 1000x)."""
    return series.astype(object).where(series.notna(), None).tolist()


def _event_links(events: pd.DataFrame) -> tuple[dict[str, frozenset], dict[str, pd.Timestamp]]:
    """Per event id: its actors and those of the events it is linked to (``related_event_id``,
    followed to the end of the chain), and the earliest date the chain gives it."""
    ids = [str(v) for v in _values(events["event_id"])]
    related = dict(zip(ids, _values(events["related_event_id"]), strict=True))
    own = {
        event_id: frozenset(v for v in pair if v is not None)
        for event_id, pair in zip(
            ids,
            zip(_values(events["actor_id"]), _values(events["counterpart_id"]), strict=True),
            strict=True,
        )
    }
    start = dict(zip(ids, events["date_start"].tolist(), strict=True))
    actors, earliest = dict(own), {}
    for event_id in ids:
        seen, link, first = {event_id}, related[event_id], start[event_id]
        while link is not None and link in own and link not in seen:
            seen.add(link)
            actors[event_id] = actors[event_id] | own[link]
            if pd.isna(first):
                first = start[link]
            link = related[link]
        earliest[event_id] = first
    return actors, earliest


def _actors_of(frame: pd.DataFrame, table: str, linked: dict[str, frozenset]) -> pd.Series:
    """Each row's actors, and those of the events it is linked to."""
    if table == "events":
        return frame["event_id"].astype(str).map(linked).astype(object)
    columns = [_values(frame[c]) for c in ACTOR_COLUMNS.get(table, ()) if c in frame]
    own = [frozenset(v for v in values if v is not None) for values in zip(*columns, strict=True)]
    own = own or [frozenset()] * len(frame)
    if "related_event_id" in frame:
        own = [
            mine if rel is None else mine | linked.get(rel, frozenset())
            for mine, rel in zip(own, _values(frame["related_event_id"]), strict=True)
        ]
    return pd.Series(own, index=frame.index, dtype=object)


def _focus(actors: pd.Series, partner: str, foreign: set[str]) -> tuple[pd.Series, pd.Series]:
    powers = actors.map(lambda ids: frozenset(ids & foreign))
    focus = powers.map(lambda ids: "partner" if partner in ids else ("other" if ids else "home"))
    return focus.astype(object), powers.astype(object)


def _month_end(ts: pd.Series) -> pd.Series:
    return ts + pd.offsets.MonthEnd(0)


def _date_bounds(frame: pd.DataFrame, linked_start: pd.Series) -> pd.DataFrame:
    """Per dated-table row: earliest possible date, date by which it had certainly begun,
    latest date it covers (NaT: still running), and whether it is dated at all."""
    start, end = frame["date_start"], frame["date_end"]
    precision = frame["date_precision"].astype(object)
    ongoing = frame["ongoing"].fillna(False).astype(bool) if "ongoing" in frame else False
    begun = start.where(precision != "month", _month_end(start))
    begun = begun.where(precision != "period", end.fillna(start))
    latest = end.where(end.notna(), begun)
    if isinstance(ongoing, pd.Series):
        latest = latest.where(~(ongoing & end.isna()), pd.NaT)
        # An ongoing period with no end had begun by its start's month, at the latest.
        begun = begun.where(~(ongoing & end.isna() & (precision == "period")), _month_end(start))
    dated = start.notna()
    earliest = start.where(dated, linked_start)
    return pd.DataFrame(
        {"earliest": earliest, "begun": begun, "latest": latest, "dated": dated},
        index=frame.index,
    )


def _window_status(bounds: pd.DataFrame, view: TimeView, running: pd.Series) -> pd.Series:
    """'in', 'outside', 'possibly outside' or 'undated' for each row."""
    end = pd.Timestamp(view.end)
    start = pd.Timestamp(view.start) if view.start else None
    status = pd.Series("in", index=bounds.index, dtype=object)
    dated = bounds["dated"]
    # Undated rows: outside only when a linked event puts them after the window.
    status[~dated] = "undated"
    status[~dated & (bounds["earliest"] > end)] = "outside"
    earliest, begun, latest = bounds["earliest"], bounds["begun"], bounds["latest"]
    overlaps = dated & (earliest <= end)
    if start is not None:
        overlaps &= running | (latest >= start)
    certain = dated & (begun <= end) & (running | (latest <= end))
    if start is not None:
        certain &= running | (earliest >= start)
    status[dated & ~overlaps] = "outside"
    status[dated & overlaps & ~certain] = "possibly outside"
    return status


def select(dataset: Dataset, params: BaseParams) -> Selection:
    """Return the rows of ``dataset`` that a brief with ``params`` may use."""
    as_of = pd.Timestamp(params.as_of)
    sources = dataset.sources[dataset.sources["published"] <= as_of].reset_index(drop=True)
    latest = sources["published"].max() if not sources.empty else None
    view = TimeView(
        known_by=params.as_of,
        start=params.start,
        end=params.window_end,
        latest_source=None if latest is None else latest.date(),
    )
    cut = _Cut(dataset, params, view)
    kept = _dated_tables(cut)
    assessments, judgments = _evidence(cut, kept)
    thesis = assessments[assessments["thesis"].fillna(False).astype(bool)]
    _set_aside_other_themes(cut, kept, assessments)
    places = _places(cut, kept)
    return Selection(
        params=params,
        dataset=dataset,
        view=view,
        sources=sources,
        events=kept["events"],
        projects=kept["projects"],
        supplies=kept["supplies"],
        assessments=assessments.reset_index(drop=True),
        relations=kept["relations"],
        judgments=judgments.reset_index(drop=True),
        thesis=thesis.reset_index(drop=True),
        places=places,
        left_out={reason: tables for reason, tables in cut.left.items() if tables},
    )


class _Cut:
    """What :func:`select` sorts every table by, and the rows it has set aside so far."""

    def __init__(self, dataset: Dataset, params: BaseParams, view: TimeView) -> None:
        self.dataset = dataset
        self.params = params
        self.view = view
        self.as_of = pd.Timestamp(params.as_of)
        sources = dataset.sources
        self.published = dict(zip(sources["source_id"], sources["published"], strict=True))
        self.partner = params.partner_id
        self.foreign = foreign_states(dataset)
        self.linked_actors, self.linked_start = _event_links(dataset.events)
        #: reason -> table -> the rows set aside for it, in the order they were.
        self.left: dict[str, dict[str, pd.DataFrame]] = {reason: {} for reason in REASONS}

    def set_aside(self, reason: str, table: str, rows: pd.DataFrame) -> None:
        if not rows.empty:
            self.left[reason][table] = pd.concat([self.left[reason].get(table, rows.head(0)), rows])

    def known(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (table ``name``) whose source is published by the cut, with
        their ``focus`` and ``powers``; the others are set aside."""
        known = frame["source_id"].map(self.published) <= self.as_of
        self.set_aside("published after the cut", name, frame[~known])
        frame = frame[known]
        frame["focus"], frame["powers"] = _focus(
            _actors_of(frame, name, self.linked_actors), self.partner, self.foreign
        )
        return frame


def _dated_tables(cut: _Cut) -> dict[str, pd.DataFrame]:
    """The events, supplies, projects and relations a brief may use."""
    kept: dict[str, pd.DataFrame] = {}
    # Events first: the other dated tables take a linked event's date and actors.
    for name in ("events", "supplies", "projects", "relations"):
        frame = cut.known(name, getattr(cut.dataset, name).copy())
        if name in ("events", "supplies"):
            frame = _in_window(frame, cut.linked_start, cut.view, cut.params, name, cut.set_aside)
            frame = _follow_linked(frame, name, cut)
        elif name == "projects":
            frame = _follow_events(frame, kept["events"], cut.view, name, cut.set_aside, cut.left)
        elif name == "relations":
            frame = _follow_evidence(frame, cut)
        kept[name] = frame.reset_index(drop=True)
    return kept


def _left_ids(cut: _Cut, table: str) -> dict[str, str]:
    """Row id -> the reason it was set aside, for the rows of ``table`` set aside so far."""
    reasons: dict[str, str] = {}
    for reason, tables in cut.left.items():
        if table in tables:
            for row_id in tables[table][ID_COLUMNS[table]].astype(str):
                reasons.setdefault(row_id, reason)
    return reasons


def _follow_linked(frame: pd.DataFrame, name: str, cut: _Cut) -> pd.DataFrame:
    """An undated row linked to an event the brief sets aside (``related_event_id``, followed
    along the chain) goes with that event, for the same reason: a procurement tied to an
    October visit is not kept as 'date unknown' in a brief that leaves October out."""
    while not frame.empty:
        gone = _left_ids(cut, "events")
        related = frame["related_event_id"].astype(object)
        follows = frame["date_start"].isna() & related.isin(set(gone))
        if not follows.any():
            return frame
        for reason in dict.fromkeys(gone[str(r)] for r in related[follows]):
            mask = follows & related.map(lambda r, why=reason, g=gone: g.get(str(r)) == why)
            cut.set_aside(reason, name, frame[mask.astype(bool)])
        frame = frame[~follows]
        if name != "events":
            return frame
    return frame


#: The columns that say where in a source a row's words stand.
CITED = ("source_id", "line", "evidence")


def _follow_evidence(frame: pd.DataFrame, cut: _Cut) -> pd.DataFrame:
    """A tie (relation) quoting the very words of a fact the brief sets aside goes with that
    fact: its note would otherwise cite the fact left out."""
    gone: dict[tuple, str] = {}
    for reason, tables in cut.left.items():
        for table in ("events", "supplies", "projects"):
            rows = tables.get(table)
            if rows is not None and not rows.empty:
                for key in rows[list(CITED)].astype(str).itertuples(index=False, name=None):
                    gone.setdefault(key, reason)
    if not gone or frame.empty:
        return frame
    keys = [tuple(k) for k in frame[list(CITED)].astype(str).itertuples(index=False, name=None)]
    reasons = pd.Series([gone.get(k) for k in keys], index=frame.index, dtype=object)
    for reason in dict.fromkeys(r for r in reasons if r is not None):
        cut.set_aside(reason, "relations", frame[reasons == reason])
    return frame[reasons.isna()]


def _evidence(cut: _Cut, kept: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assessments and judgments known by the cut that rest on rows in the brief."""
    shown_ids = {
        str(row_id)
        for name, frame in kept.items()
        for row_id in frame[ID_COLUMNS[name]].astype(str)
    }
    assessments = cut.known("assessments", cut.dataset.assessments.copy())
    supported = _supported(assessments, shown_ids)
    cut.set_aside("evidence not in the brief", "assessments", assessments[~supported])
    assessments = assessments[supported]
    judgments = cut.dataset.judgments.copy()
    made = judgments["made"] <= cut.as_of
    cut.set_aside("published after the cut", "judgments", judgments[~made])
    judgments = judgments[made]
    supported = _supported(judgments, shown_ids | set(assessments["assessment_id"].astype(str)))
    cut.set_aside("evidence not in the brief", "judgments", judgments[~supported])
    return assessments, judgments[supported]


def _places(cut: _Cut, kept: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The places the brief may show; a place named only by rows set aside goes with them
    (for the first reason one of them was set aside)."""
    places = cut.dataset.places
    shown = {str(p) for name in ("events", "projects") for p in kept[name]["place_id"].dropna()}
    gone: dict[str, str] = {}
    for reason, tables in cut.left.items():
        if reason == "other themes":
            continue
        for name in ("events", "projects"):
            rows = tables.get(name)
            if rows is not None and not rows.empty:
                for place in rows["place_id"].dropna().astype(str):
                    gone.setdefault(place, reason)
    ids = places["place_id"].astype(str)
    dropped = ids.isin(set(gone) - shown)
    for reason in dict.fromkeys(gone[i] for i in ids[dropped]):
        cut.set_aside(reason, "places", places[dropped & ids.map(gone.get).eq(reason)])
    return places[~dropped].reset_index(drop=True)


def _set_aside_other_themes(
    cut: _Cut, kept: dict[str, pd.DataFrame], assessments: pd.DataFrame
) -> None:
    """Note the rows on themes the brief does not cover (they stay in the selection)."""
    themes = set(cut.params.selected_themes)
    for name in ("events", "supplies"):
        frame = kept[name]
        cut.set_aside("other themes", name, frame[~frame["theme"].isin(themes)])
    cut.set_aside(
        "other themes",
        "assessments",
        assessments[~assessments["theme"].isin(themes) & ~assessments["thesis"].astype(bool)],
    )
    if "energy" not in themes:
        cut.set_aside("other themes", "projects", kept["projects"])


def _in_window(frame, linked_start, view, params, name, set_aside) -> pd.DataFrame:
    """Keep the rows of a dated table that certainly fall in the window; mark the rest."""
    own = frame["event_id"] if name == "events" else frame["related_event_id"]
    starts = pd.to_datetime(own.astype(object).map(linked_start))
    bounds = _date_bounds(frame, starts.astype(frame["date_start"].dtype))
    running = (
        frame["ongoing"].fillna(False).astype(bool)
        if "ongoing" in frame
        else (pd.Series(False, index=frame.index))
    )
    running &= frame["date_end"].isna()
    status = _window_status(bounds, view, running)
    set_aside("outside the window", name, frame[status == "outside"])
    set_aside("possibly outside the window", name, frame[status == "possibly outside"])
    undated = status == "undated"
    if not params.include_undated:
        set_aside("undated, left out", name, frame[undated])
    keep = (status == "in") | (undated & params.include_undated)
    end = pd.Timestamp(view.end)
    frame = frame.assign(
        # Where the chart and text stop a row: its own end, else (still running) the cut.
        shown_end=bounds["latest"].fillna(end).clip(upper=end).where(bounds["dated"]),
        cut_at_end=bounds["dated"] & (bounds["latest"].isna() | (bounds["latest"] > end)),
        date_unknown=undated & view.windowed,
    )
    return frame[keep]


def _follow_events(frame, events, view, name, set_aside, left) -> pd.DataFrame:
    """Projects take the window status of the event they hang on (``related_event_id``):
    one whose event is set aside is set aside for the same reason."""
    shown = set(events["event_id"].astype(str))
    undated = set(events.loc[events["date_start"].isna(), "event_id"].astype(str))
    related = frame["related_event_id"].astype(object)
    keep = related.isna() | related.isin(shown)
    for reason, tables in left.items():
        if "events" in tables:
            dropped = ~keep & related.isin(set(tables["events"]["event_id"].astype(str)))
            set_aside(reason, name, frame[dropped])
    frame = frame[keep]
    related = frame["related_event_id"].astype(object)
    return frame.assign(date_unknown=(related.isna() | related.isin(undated)) & view.windowed)


def _supported(frame: pd.DataFrame, shown_ids: set[str]) -> pd.Series:
    """Rows whose ``rests_on`` is empty or names at least one row in the brief."""
    if frame.empty:
        return pd.Series(True, index=frame.index, dtype=bool)

    def any_shown(text) -> bool:
        if pd.isna(text) or not str(text).strip():
            return True
        return any(part.strip() in shown_ids for part in str(text).split(";"))

    return frame["rests_on"].map(any_shown).astype(bool)


def rests_on(row: pd.Series) -> list[str]:
    """The ids a row's ``rests_on`` names, in order."""
    text = row.get("rests_on")
    if text is None or pd.isna(text):
        return []
    return [part.strip() for part in str(text).split(";") if part.strip()]
