"""The timeline of events: :func:`timeline`, its alt text and its fitted height.

Events on a date axis, each drawn as precisely as the source dates it (a point for a day, a
light bar for a month, a solid bar for a period, a fading bar for an ongoing event), undated
events in a lane of their own. The rows are laid out in points, so :func:`timeline_height`
(and :func:`fit_timeline`, which draws once and sets the figure's height) can say how tall a
figure must be for every row and label to fit. :func:`describe_timeline` is the alt text, from
the same facts (:func:`_timeline_facts`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import Formatter, NullLocator

from helpers.errors import ParameterError
from helpers.report import formatting as fmt
from helpers.report.charts.base import (
    TEXT_DARK,
    actor_name,
    as_flag,
    as_timestamp,
    axes_inches,
    category_order,
    count_of,
    display_label,
    draw_footer,
    draw_legend,
    draw_nothing,
    draw_title,
    font_sizes,
    legend_columns,
    measure,
    optional_str,
    plain_words,
    plot_texts_out_of_layout,
    records,
    resolve_ax,
    source_line,
    tick_overhang,
    unsqueezed_width,
    when_phrase,
    wrap_to,
    xlabel_anchor,
)
from helpers.report.theme import LIGHT, MUTED, THEME_COLORS, color_for

_DAY = pd.Timedelta(days=1)

_EVENT_COLUMNS = (
    "event_id",
    "title",
    "theme",
    "date_start",
    "date_end",
    "date_precision",
    "ongoing",
)


@dataclass(frozen=True)
class _Event:
    event_id: str
    title: str
    theme: str
    precision: str
    ongoing: bool
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    actor_id: str | None
    counterpart_id: str | None


@dataclass(frozen=True)
class _Extent:
    start: pd.Timestamp
    stop: pd.Timestamp  # exclusive
    first_month_stop: pd.Timestamp | None  # month precision: end of the month it started in
    open_ended: bool  # ongoing with no end: runs to the source date and beyond
    single_day: bool


@dataclass(frozen=True)
class _TimelineFacts:
    title: str
    n_total: int
    n_dated: int
    n_undated: int
    dated: list[_Event]  # shown, chronological
    undated: list[_Event]  # shown, input order
    as_of: pd.Timestamp | None
    note: str | None


def _events(events: pd.DataFrame | None) -> list[_Event]:
    rows = records(events, "events", _EVENT_COLUMNS)
    out = []
    for row in rows:
        start = as_timestamp(row["date_start"])
        precision = optional_str(row["date_precision"]) or (
            "day" if start is not None else "undated"
        )
        if start is None:
            precision = "undated"
        out.append(
            _Event(
                event_id=str(row["event_id"]),
                title=str(row["title"]),
                theme=optional_str(row["theme"]) or "",
                precision=precision,
                ongoing=as_flag(row["ongoing"]),
                start=start,
                end=as_timestamp(row["date_end"]),
                actor_id=optional_str(row.get("actor_id")),
                counterpart_id=optional_str(row.get("counterpart_id")),
            )
        )
    return out


def _resolve_as_of(
    as_of: Any, items: list[_Event], events: pd.DataFrame | None, sources: pd.DataFrame | None
) -> pd.Timestamp | None:
    if as_of is not None:
        return pd.Timestamp(as_of).normalize()
    if sources is not None and not sources.empty and "published" in sources.columns:
        published = sources
        if events is not None and "source_id" in events.columns:
            cited = set(events["source_id"].dropna().astype(str))
            if cited & set(sources["source_id"].astype(str)):
                published = sources[sources["source_id"].astype(str).isin(cited)]
        latest = pd.to_datetime(published["published"]).max()
        if not pd.isna(latest):
            return pd.Timestamp(latest).normalize()
    known = [d for e in items for d in (e.start, e.end) if d is not None]
    return max(known) if known else None


def _extent(event: _Event, as_of: pd.Timestamp | None) -> _Extent:
    assert event.start is not None
    first_month_stop = None
    if event.precision == "month":
        period = event.start.to_period("M")
        start = period.start_time
        first_month_stop = period.end_time.normalize() + _DAY
        minimum_stop = first_month_stop
    else:
        start = event.start
        minimum_stop = start + _DAY
    if event.end is not None:
        stop = max(event.end + _DAY, minimum_stop)
        open_ended = False
    elif event.ongoing:
        stop = max(as_of, minimum_stop) if as_of is not None else minimum_stop
        open_ended = True
    else:
        stop = minimum_stop
        open_ended = False
    single_day = event.precision in ("day", "period") and stop - start == _DAY
    return _Extent(start, stop, first_month_stop, open_ended, single_day)


#: Above this many events per event shown, the timeline narrows the rows down with pandas
#: before looking at them one by one (see :func:`_candidate_events`).
_TRIM_FACTOR = 4


def _candidate_events(
    events: pd.DataFrame | None, as_of: Any, sources: pd.DataFrame | None, max_events: int
) -> tuple[pd.DataFrame, pd.Timestamp | None, tuple[int, int, int]] | None:
    """For a large frame, the rows :func:`_timeline_facts` can show, with the whole's counts.

    What it keeps, in the frame's order: the ``max_events`` dated rows that end last (as
    :func:`_extent` computes the end; among equal ends the first, as a stable sort does) and
    the first ``max_events`` undated rows. Those are all the chart can show, so the facts are
    those of the whole frame; only the counts, returned as ``(total, dated, undated)``, need
    the whole. ``None`` (look at every row) for a small frame, or columns that are not typed
    as :func:`helpers.data.load` types them.
    """
    if events is None or len(events) <= _TRIM_FACTOR * max_events:
        return None
    if any(c not in events.columns for c in _EVENT_COLUMNS):
        return None
    typed = all(
        pd.api.types.is_datetime64_dtype(events[c]) for c in ("date_start", "date_end")
    ) and pd.api.types.is_bool_dtype(events["ongoing"])
    if not typed:
        return None
    start = events["date_start"].dt.normalize()
    end = events["date_end"].dt.normalize()
    dated = start.notna()
    as_of_ts = _resolve_as_of(as_of, [], events, sources)
    if as_of_ts is None:
        known = pd.concat([start, end]).max()
        as_of_ts = None if pd.isna(known) else pd.Timestamp(known)
    precision = events["date_precision"].astype(object)
    minimum = (start + pd.offsets.MonthBegin(1)).where(precision == "month", start + _DAY)
    stop = minimum.where(end.isna(), np.maximum(end + _DAY, minimum))
    ongoing = events["ongoing"].fillna(False).astype(bool) & end.isna()
    if as_of_ts is not None:
        stop = stop.where(~ongoing, minimum.clip(lower=as_of_ts))
    keep = ~dated & (~dated).cumsum().le(max_events)
    if dated.sum() > max_events:
        # A stable sort keeps the first rows among equal ends: so do we.
        threshold = stop[dated].nlargest(max_events).iloc[-1]
        above = dated & (stop > threshold)
        at = dated & (stop == threshold)
        keep |= above | (at & at.cumsum().le(max_events - int(above.sum())))
    else:
        keep |= dated
    counts = (len(events), int(dated.sum()), int((~dated).sum()))
    return events[keep], as_of_ts, counts


def _timeline_facts(
    events: pd.DataFrame | None,
    as_of: Any,
    sources: pd.DataFrame | None,
    max_events: int,
) -> _TimelineFacts:
    if max_events < 1:
        raise ParameterError(f"max_events={max_events!r}: give a whole number of at least 1")
    trimmed = _candidate_events(events, as_of, sources, max_events)
    if trimmed is None:
        items = _events(events)
        as_of_ts = _resolve_as_of(as_of, items, events, sources)
        dated = [e for e in items if e.start is not None]
        undated = [e for e in items if e.start is None]
        n_total, n_dated, n_undated = len(items), len(dated), len(undated)
    else:
        frame, as_of_ts, (n_total, n_dated, n_undated) = trimmed
        items = _events(frame)
        dated = [e for e in items if e.start is not None]
        undated = [e for e in items if e.start is None]

    # Many rows: keep the most recent dated events, then undated ones, up to max_events.
    note = None
    shown_dated, shown_undated = dated, undated
    if n_total > max_events:

        def recency(e: _Event) -> pd.Timestamp:
            return _extent(e, as_of_ts).stop

        shown_dated = sorted(dated, key=recency, reverse=True)[:max_events]
        shown_undated = undated[: max_events - len(shown_dated)]
        which = "the most recent" if shown_dated else "in data order"
        note = f"Showing {max_events:,} of {n_total:,} events ({which})."
        if n_undated > len(shown_undated):
            note += f" {n_undated - len(shown_undated):,} undated events not shown."

    # The finding, about the events drawn: the month in which the most of them began.
    shown = " shown" if note else ""
    starts = Counter(e.start.to_period("M") for e in shown_dated)
    if not items:
        title = "No events recorded"
    elif not shown_dated:
        bound = f" (no later than {fmt.day(as_of_ts)})" if as_of_ts is not None else ""
        title = f"None of the {count_of(len(shown_undated), 'event')}{shown} is dated{bound}"
    else:
        month, top = max(starts.items(), key=lambda kv: (kv[1], kv[0]))
        n = count_of(len(shown_dated), "dated event")
        if top >= 2:
            title = f"{top} of {n}{shown} began in {fmt.month(month.start_time)}"
        else:
            first = min(e.start for e in shown_dated)
            last = max(e.start for e in shown_dated)
            span = fmt.month(first)
            if first.to_period("M") != last.to_period("M"):
                span += f" to {fmt.month(last)}"
            title = f"{n}{shown}, {span}"
        if shown_undated:
            more = len(shown_undated)
            title += f"; {more:,} more {'is' if more == 1 else 'are'} undated"
    shown_dated = sorted(shown_dated, key=lambda e: (e.start, _extent(e, as_of_ts).stop))
    return _TimelineFacts(
        title=fmt.sentence_case(title),
        n_total=n_total,
        n_dated=n_dated,
        n_undated=n_undated,
        dated=shown_dated,
        undated=shown_undated,
        as_of=as_of_ts,
        note=note,
    )


# The timeline is laid out in points, as multiples of the label font size, never as fractions
# of the figure: its rows keep their pitch whatever the figure's height, so timeline_height
# can say how tall a figure must be for every row and label to fit.
_LINE_EM = 1.4  # a line of text: Noto Sans's ascent plus descent is 1.36 em
_ROW_EM = 1.6  # a dated row with a one-line label, and the gap to the next row
_BAR_EM = 1.1  # a bar's thickness: a one-line label fits inside it
_GAP_EM = 0.35  # around and between the undated lane's entries
_INK_DROP_EM = 0.25  # baseline below a row's centre that centres a label's ink on it
_PAD_IN = 0.05  # inches between a mark and its label, and inside the axes' edges
_POINT_MS = 6.5  # marker size, in points, of a day-precise event
_LANE_INDENT_IN = 0.16  # an undated entry's text, from its column's left edge
_LANE_GUTTER_IN = 0.15  # between the undated lane's two columns
_PROBE_MARGIN_IN = 3.0  # inches the scratch figure of timeline_height adds for the rest


def timeline(
    events: pd.DataFrame,
    *,
    ax: Axes | None = None,
    actor_names: Mapping[str, str] | None = None,
    as_of: Any = None,
    sources: pd.DataFrame | None = None,
    max_events: int = 15,
    start: Any = None,
    mark: str | None = None,
    undated_heading: str | None = None,
) -> Axes:
    """Draw events on a date axis, showing how precisely the source dates each one.

    One row per event, labelled with its title and coloured by theme. A day-precise event is
    a point; a month-precise event a light bar over the whole month; a period a solid bar from
    its first to its last day; an ongoing event with no end a bar to the source date that fades
    out beyond it, marked "ongoing". Undated events are not given a made-up date: they are
    listed in a separate lane, "Undated (no later than <source date>)", whose position carries
    no date. The date axis runs along the top, as in a Gantt chart.

    Rows are laid out in points (a fixed pitch per line of label), not in fractions of the
    figure: :func:`timeline_height` gives the figure height at which they all fit. A taller
    figure spreads the rows; a shorter one squeezes them together.

    Parameters
    ----------
    events
        Rows of ``events.csv`` (typed or as strings): ``event_id``, ``title``, ``theme``,
        ``date_start``, ``date_end``, ``date_precision``, ``ongoing``, and ``source_id`` /
        ``line`` for the source line.
    ax
        Axes to draw on; default the current Axes.
    actor_names
        Actor id -> display name. The drawn labels are the events' own titles, so this only
        matters to :func:`describe_timeline`; accepted here so both take the same arguments.
    as_of
        The source date: where ongoing bars stop and what undated events are "no later than".
        Default: the latest ``published`` date of ``sources`` cited by the events, else the
        latest date in the events.
    sources
        The ``sources`` table, for the source line's title and the default ``as_of``.
    max_events
        Most rows to draw. Beyond it, the most recent events are kept and a note says
        "Showing N of M events".
    start
        The first day of the brief's window: the date axis starts there at the latest.
    mark
        The label of the dotted line drawn at ``as_of`` (default "Source date 2 Mar 2024"):
        say what the date is, e.g. "Known by 2 Mar 2024" or "Cut 30 Sep 2023 (report of ...)".
    undated_heading
        The heading of the undated lane (default "Undated (no later than <as_of>)").

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ds = helpers.load()  # doctest: +SKIP
    >>> timeline(ds.events, sources=ds.sources)  # doctest: +SKIP
    """
    ax = resolve_ax(ax)
    _draw_timeline(
        events,
        ax,
        as_of=as_of,
        sources=sources,
        max_events=max_events,
        start=start,
        mark=mark,
        undated_heading=undated_heading,
    )
    return ax


def timeline_height(
    events: pd.DataFrame,
    *,
    max_events: int = 15,
    width: float = 6.6,
    as_of: Any = None,
    sources: pd.DataFrame | None = None,
) -> float:
    """The figure height in inches at which :func:`timeline` fits every row and label.

    The chart is drawn once on a scratch figure of ``width`` inches (never shown, not
    registered with pyplot): its rows say how many points they need, and the layout engine
    says how much the title, date axis, legend and source line take around them.

    Parameters
    ----------
    events, max_events, as_of, sources
        As for :func:`timeline`. ``as_of`` and ``sources`` move the date axis and lengthen
        the source line; pass the ones the chart will be drawn with for an exact height.
    width
        Figure width in inches; the figure must use ``layout="constrained"``, as
        :func:`figure` and the brief's figures do.

    Returns
    -------
    float
        Inches, rounded up to a hundredth.

    Examples
    --------
    >>> height = timeline_height(ds.events, sources=ds.sources)  # doctest: +SKIP
    >>> fig = Figure(figsize=(6.6, height), layout="constrained")  # doctest: +SKIP
    """
    probe = Figure(figsize=(width, 10.0), layout="constrained")
    ax = probe.add_subplot()
    rows = _draw_timeline(events, ax, as_of=as_of, sources=sources, max_events=max_events)
    return _fitted_height(ax, rows)


def fit_timeline(events: pd.DataFrame, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Draw :func:`timeline` and set its figure to the height :func:`timeline_height` gives.

    The same chart, drawn once instead of twice (once to measure, once to keep): for a
    figure that holds this one chart, in ``layout="constrained"``. Arguments as for
    :func:`timeline`, which all go through to the one drawing function both share.
    """
    ax = resolve_ax(ax)
    rows = _draw_timeline(events, ax, **kwargs)
    ax.figure.set_figheight(_fitted_height(ax, rows))
    return ax


def _fitted_height(ax: Axes, rows: float) -> float:
    """The figure height, in inches, at which ``ax`` is ``rows`` points tall."""
    figure = ax.get_figure(root=True)
    # What surrounds the axes does not depend on the figure's height (the legend and source
    # line hang from the axes by offsets in points), so one layout pass measures it.
    figure.set_figheight(rows / 72 + _PROBE_MARGIN_IN)
    figure.draw_without_rendering()
    around = figure.get_figheight() * (1 - ax.get_position().height)
    return math.ceil((around + rows / 72) * 100 - 1e-6) / 100


@dataclass(frozen=True)
class _Layout:
    """The date axis once set up: its limits, and the sizes rows are placed with."""

    xlim: tuple[float, float]
    tail: float  # data units over which an ongoing bar fades out past the source date
    axes_width: float  # inches, once laid out
    text_width: float  # inches the title, legend and notes may take
    per_inch: float  # data units per inch along x
    size: float  # the labels' font size, in points; the rest in points too
    line: float
    bar: float
    gap: float


def _draw_timeline(
    events: pd.DataFrame,
    ax: Axes,
    *,
    actor_names: Mapping[str, str] | None = None,
    as_of: Any = None,
    sources: pd.DataFrame | None = None,
    max_events: int = 15,
    start: Any = None,
    mark: str | None = None,
    undated_heading: str | None = None,
) -> float:
    """Draw the timeline on ``ax``; return the height in points its rows and lane need.

    Takes what :func:`timeline` takes; ``actor_names`` only matters to the alt text.
    """
    facts = _timeline_facts(events, as_of, sources, max_events)
    ax.set_xlabel("Date", fontsize=font_sizes()["label"], labelpad=3)
    if facts.n_total == 0:
        return _draw_no_events(ax, facts, events, sources)
    extents = {e.event_id: _extent(e, facts.as_of) for e in facts.dated}
    layout = _date_axis(ax, facts, extents, start)
    # Everything below is placed in points from the top of the axes (y grows downwards).
    y, taken, precisions_used = _draw_dated_rows(ax, facts.dated, extents, layout)
    if facts.as_of is not None and facts.dated:
        y = _draw_source_date(ax, facts.as_of, mark, y, taken, layout)
    y = _draw_undated_lane(ax, facts, undated_heading, y, layout)
    ax.set_ylim(y, 0)
    legend = _timeline_legend(ax, events, facts, precisions_used, layout.text_width)
    plot_texts_out_of_layout(ax)
    draw_title(ax, facts.title, layout.text_width)
    lines = [("note", facts.note)] if facts.note else []
    lines.append(("source", source_line(events, "events", sources)))
    draw_footer(ax, lines, legend, layout.text_width)
    return y


def _draw_no_events(
    ax: Axes, facts: _TimelineFacts, events: pd.DataFrame, sources: pd.DataFrame | None
) -> float:
    """Say that there is nothing to draw; return the height in points that takes."""
    text_width = unsqueezed_width(ax, axes_inches(ax)[0])
    draw_nothing(ax, "Nothing recorded: the data has no events")
    plot_texts_out_of_layout(ax)
    draw_title(ax, facts.title, text_width)
    source = [("source", source_line(events, "events", sources))]
    draw_footer(ax, source, xlabel_anchor(ax), text_width)
    return 3 * _LINE_EM * font_sizes()["label"]


def _date_range(
    facts: _TimelineFacts, extents: Mapping[str, _Extent], start: Any
) -> tuple[float, float]:
    """The dates the axis must show (as date numbers): the rows, the source date, ``start``."""
    as_of_ts = facts.as_of
    if facts.dated:
        lo = min(x.start for x in extents.values())
        hi = max(x.stop for x in extents.values())
        if as_of_ts is not None:
            hi = max(hi, as_of_ts)
            lo = min(lo, as_of_ts)
        if start is not None:
            lo = min(lo, pd.Timestamp(start))
        return mdates.date2num(lo), mdates.date2num(hi)
    if as_of_ts is not None:
        x_hi = mdates.date2num(as_of_ts)
        return x_hi - 365, x_hi
    return (
        mdates.date2num(pd.Timestamp("2000-01-01")),
        mdates.date2num(pd.Timestamp("2001-01-01")),
    )


def _date_axis(
    ax: Axes, facts: _TimelineFacts, extents: Mapping[str, _Extent], start: Any
) -> _Layout:
    """Set up the date axis along the top; return the layout the rows are placed in."""
    sizes = font_sizes()
    x_lo, x_hi = _date_range(facts, extents, start)
    span = max(x_hi - x_lo, 30.0)
    any_open = any(x.open_ended for x in extents.values())
    tail = 0.05 * span
    xlim = (x_lo - 0.04 * span, x_hi + (0.04 + (0.16 if any_open else 0.0)) * span)
    ax.set_xlim(*xlim)
    # Axes: dates on top (Gantt style), no y ticks: every row is labelled directly.
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(_DateTicks())
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    # No tick marks: the grid lines carry the dates down the rows, and the axis stays short.
    ax.tick_params(axis="x", labelsize=sizes["annotation"], colors=TEXT_DARK, length=0, pad=3)
    ax.yaxis.set_major_locator(NullLocator())
    ax.grid(axis="x", color=LIGHT, linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    for side, visible in (("top", True), ("bottom", False), ("left", False), ("right", False)):
        ax.spines[side].set_visible(visible)

    # The layout gives up the overhang of the first and last tick labels at the axes' ends.
    full_width, _ = axes_inches(ax)
    axes_width = max(full_width - tick_overhang(ax, sizes["annotation"], full_width), 1.0)
    size = sizes["annotation"]
    return _Layout(
        xlim=xlim,
        tail=tail,
        axes_width=axes_width,
        text_width=unsqueezed_width(ax, axes_width),
        per_inch=(xlim[1] - xlim[0]) / axes_width,
        size=size,
        line=_LINE_EM * size,
        bar=_BAR_EM * size,
        gap=_GAP_EM * size,
    )


#: A one-line dated row, for placing the source-date label: its centre (points from the top)
#: and the stretches of x (data units) its mark and label take.
_Taken = tuple[float, list[tuple[float, float]]]


def _draw_dated_rows(
    ax: Axes, dated: Sequence[_Event], extents: Mapping[str, _Extent], layout: _Layout
) -> tuple[float, list[_Taken], set[str]]:
    """Draw the dated rows, earliest first, from the top.

    Returns where the rows end (points from the top), the one-line rows (see ``_Taken``)
    and the date precisions drawn, for the legend.
    """
    precisions_used: set[str] = set()
    taken: list[_Taken] = []
    y = layout.gap
    for event in dated:
        extent = extents[event.event_id]
        marks = _row_marks(event, extent, layout)
        label = _place_row_label(
            display_label(event.title),
            marks.mark_from,
            marks.mark_to,
            marks.segments,
            layout.xlim,
            layout.axes_width,
            layout.size,
        )
        # The label decides the row's height: on its own line(s) above the mark, or beside.
        row = _ROW_EM * layout.size
        if label.above:
            label_centre = y + row / 2 + (label.lines - 1) * layout.line / 2
            centre = y + row / 2 + label.lines * layout.line
            y += row + label.lines * layout.line
        else:
            centre = label_centre = y + row / 2
            y += row
            taken.append((centre, _taken_spans(label, marks, extent, layout)))
        precisions_used |= _draw_row_marks(ax, event, extent, marks, centre, layout)
        _draw_row_label(ax, event, label, label_centre, layout.size)
    return y, taken, precisions_used


@dataclass(frozen=True)
class _RowMarks:
    """What a dated row draws, in data units along x, worked out before drawing."""

    color: str
    light: tuple[float, float, float, float]  # the month's fill: the colour, see-through
    x0: float
    x1: float
    point: bool  # a marker at x0
    light_to: float  # the light bar runs from x0 to here; none when it is x0
    segments: list[tuple[float, float, Any]]  # stretches of one colour: (from, to, colour)
    mark_from: float  # everything drawn on the row, "ongoing" aside, lies between these
    mark_to: float


def _row_marks(event: _Event, extent: _Extent, layout: _Layout) -> _RowMarks:
    """Work out a dated row's marks from its precision and extent, before drawing them."""
    color = color_for(event.theme, THEME_COLORS)
    light = mpl.colors.to_rgba(color, 0.35)
    x0 = mdates.date2num(extent.start)
    x1 = mdates.date2num(extent.stop)
    radius = _POINT_MS / 2 / 72 * layout.per_inch
    point = extent.single_day and not extent.open_ended
    light_to = solid_from = x0
    if not point:
        if event.precision == "month":
            month_end = mdates.date2num(extent.first_month_stop)
            light_to = solid_from = x1 if not extent.open_ended else month_end
        elif event.precision == "day":
            point = True
            solid_from = x0 + radius  # a label inside starts clear of the point
    segments = [(x0, light_to, light), (max(solid_from, light_to), x1, color)]
    if extent.single_day and not extent.open_ended:
        segments = []  # a point alone: nothing to write inside
    mark_from = x0 - radius if point else x0
    mark_to = layout.xlim[1] if extent.open_ended else max(x1, x0 + radius if point else x1)
    return _RowMarks(color, light, x0, x1, point, light_to, segments, mark_from, mark_to)


def _taken_spans(
    label: _RowLabel, marks: _RowMarks, extent: _Extent, layout: _Layout
) -> list[tuple[float, float]]:
    """The stretches of a one-line row its mark ("ongoing" included) and label take."""
    size, per_inch = layout.size, layout.per_inch
    width = measure(label.text, size) * per_inch
    left = label.x - width if label.ha == "right" else label.x
    drawn_to = marks.mark_to
    if extent.open_ended:
        drawn_to = marks.x1 + layout.tail * 1.1 + 1.1 * measure("ongoing", size) * per_inch
    return [(marks.mark_from, drawn_to), (left, left + width)]


def _draw_row_marks(
    ax: Axes, event: _Event, extent: _Extent, marks: _RowMarks, centre: float, layout: _Layout
) -> set[str]:
    """Draw a dated row's point and bars at ``centre``; return the precisions they show."""
    gid = f"event:{event.event_id}"
    color, x0, x1, bar = marks.color, marks.x0, marks.x1, layout.bar
    drawn: set[str] = set()
    if marks.point:
        ax.plot([x0], [centre], marker="o", ms=_POINT_MS, color=color, ls="none", zorder=3, gid=gid)
        drawn.add("day")
    if marks.light_to > x0:
        ax.add_patch(
            Rectangle(
                (x0, centre - bar / 2),
                marks.light_to - x0,
                bar,
                facecolor=marks.light,
                edgecolor=color,
                linewidth=1.0,
                zorder=2,
                gid=gid,
            )
        )
        drawn.add("month")
    solid_start = max(x0, marks.light_to)
    if marks.segments and x1 > solid_start:
        ax.add_patch(
            Rectangle(
                (solid_start, centre - bar / 2),
                x1 - solid_start,
                bar,
                facecolor=color,
                edgecolor=color,
                linewidth=1.0,
                zorder=2,
                gid=gid,
            )
        )
        if not extent.open_ended:
            drawn.add("period")
    if extent.open_ended:
        _draw_ongoing(ax, event, marks, centre, layout)
        drawn.add("ongoing")
    return drawn


def _draw_ongoing(
    ax: Axes, event: _Event, marks: _RowMarks, centre: float, layout: _Layout
) -> None:
    """Beyond the source date nothing is known: fade the bar out, then say "ongoing"."""
    x1, tail, bar, color = marks.x1, layout.tail, layout.bar, marks.color
    steps = 8
    for step in range(steps):
        ax.add_patch(
            Rectangle(
                (x1 + step * tail / steps, centre - bar / 2),
                tail / steps,
                bar,
                facecolor=mpl.colors.to_rgba(color, 0.75 * (1 - (step + 1) / (steps + 1))),
                edgecolor="none",
                zorder=2,
                gid=f"ongoing:{event.event_id}",
            )
        )
    ax.text(
        x1 + tail * 1.1,
        centre,
        "ongoing",
        va="center",
        ha="left",
        fontsize=layout.size,
        style="italic",
        color=color,
        parse_math=False,
        gid=f"ongoing-label:{event.event_id}",
    )


def _draw_row_label(
    ax: Axes, event: _Event, label: _RowLabel, label_centre: float, size: float
) -> None:
    ax.text(
        label.x,
        label_centre + _INK_DROP_EM * size if label.inside else label_centre,
        label.text,
        ha=label.ha,
        va="baseline" if label.inside else "center",
        fontsize=size,
        color=label.color,
        linespacing=1.0,
        # A white backing keeps a label beside its mark legible over grid lines and the
        # source-date line; a label inside a bar sits on the bar's own colour.
        bbox=None
        if label.inside
        else {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
        zorder=4,
        parse_math=False,
        gid=f"row-label:{event.event_id}",
    )


def _draw_source_date(
    ax: Axes,
    as_of: pd.Timestamp,
    mark: str | None,
    y: float,
    taken: Sequence[_Taken],
    layout: _Layout,
) -> float:
    """Mark the source date across the dated rows; return where the rows now end.

    The mark is named in the first row with room beside it, else on a line of its own
    below them.
    """
    note = font_sizes()["note"]
    xlim, per_inch = layout.xlim, layout.per_inch
    x_as_of = mdates.date2num(as_of)
    mark = mark or f"Source date {fmt.short_day(as_of)}"
    pad = _PAD_IN * per_inch
    width = measure(mark, note) * per_inch
    spot = _free_spot(x_as_of, width, pad, xlim, taken)
    if spot is None:
        middle = y + 1.0 + _LINE_EM * note / 2
        y += 1.0 + _LINE_EM * note
        fits_left = x_as_of - xlim[0] >= width + 2 * pad
        fits_right = xlim[1] - x_as_of >= width + 2 * pad
        if fits_left or fits_right:
            ha = "right" if fits_left else "left"
            x_mark = x_as_of - pad if fits_left else x_as_of + pad
        else:
            x_mark, ha = x_as_of, "center"
        line_to = middle
    else:
        middle, x_mark, ha = spot
        line_to = y
    ax.vlines(x_as_of, 0, line_to, colors=MUTED, linestyles=(0, (1, 2)), lw=0.9)
    ax.text(
        x_mark,
        middle,
        mark,
        ha=ha,
        va="center",
        fontsize=note,
        color=MUTED,
        linespacing=1.0,
        parse_math=False,
        gid="as-of",
    )
    return y


def _draw_undated_lane(
    ax: Axes, facts: _TimelineFacts, heading: str | None, y: float, layout: _Layout
) -> float:
    """Draw the undated lane below the rows; return where it ends.

    It is positioned in axes fractions along x, so it sits at no date.
    """
    size, line, gap, axes_width = layout.size, layout.line, layout.gap, layout.axes_width
    if not facts.undated:
        return y + gap
    lane = ax.get_yaxis_transform()
    top = y + (gap if facts.dated else 0.0)
    ax.text(
        _PAD_IN / axes_width,
        top + gap,
        heading or _undated_heading(facts.as_of),
        transform=lane,
        ha="left",
        va="top",
        fontsize=size,
        fontweight="bold",
        color=TEXT_DARK,
        linespacing=1.0,
        parse_math=False,
        gid="undated-heading",
    )
    texts = [display_label(e.title) + (" (ongoing)" if e.ongoing else "") for e in facts.undated]
    bottom = top + gap + line
    for left, entries in _undated_columns(texts, axes_width - 2 * _PAD_IN, size):
        entry_top = top + gap + line
        for index, text in entries:
            _draw_undated_entry(ax, facts.undated[index], text, left, entry_top, layout)
            entry_top += (text.count("\n") + 1) * line + gap
        bottom = max(bottom, entry_top)
    ax.axhspan(top, bottom, facecolor="#F4F4F4", edgecolor="none", zorder=1, gid="undated-lane")
    return bottom


def _draw_undated_entry(
    ax: Axes, event: _Event, text: str, left: float, top: float, layout: _Layout
) -> None:
    """One entry of the undated lane: a square in the theme's colour, then the text."""
    lane = ax.get_yaxis_transform()
    gid = f"undated:{event.event_id}"
    ax.plot(
        [(_PAD_IN + left + 0.05) / layout.axes_width],
        [top + layout.line / 2],
        marker="s",
        ms=5.5,
        color=color_for(event.theme, THEME_COLORS),
        ls="none",
        transform=lane,
        zorder=3,
        gid=gid,
    )
    ax.text(
        (_PAD_IN + left + _LANE_INDENT_IN) / layout.axes_width,
        top,
        text,
        transform=lane,
        ha="left",
        va="top",
        fontsize=layout.size,
        color=TEXT_DARK,
        linespacing=1.0,
        parse_math=False,
        gid=gid,
    )


def _timeline_legend(
    ax: Axes,
    events: pd.DataFrame,
    facts: _TimelineFacts,
    precisions_used: set[str],
    inches: float,
) -> Legend | None:
    """Legend under the axes: themes by colour, date precision by shape.

    It hangs from the axes by an offset in points, not a fraction of their height (see
    :func:`timeline_height`).
    """
    shown = facts.dated + facts.undated
    themes = [t for t in category_order(events, "theme") if any(e.theme == t for e in shown)]
    handles: list = [Patch(facecolor=color_for(t, THEME_COLORS)) for t in themes]
    labels = [display_label(plain_words(t)) for t in themes]
    key = {
        "day": (Line2D([], [], marker="o", color=MUTED, ls="none", ms=6), "Day"),
        "month": (
            Patch(facecolor=mpl.colors.to_rgba(MUTED, 0.35), edgecolor=MUTED),
            "Month (day unknown)",
        ),
        "period": (Patch(facecolor=MUTED), "Period"),
    }
    for name in ("day", "month", "period"):
        if name in precisions_used:
            handles.append(key[name][0])
            labels.append(key[name][1])
    return draw_legend(
        ax,
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(0.0, 0.0),
        borderaxespad=0.5,
        borderpad=0.25,
        ncol=legend_columns(labels, inches, font_sizes()["annotation"]),
        columnspacing=1.2,
    )


def _free_spot(
    x: float,
    width: float,
    pad: float,
    xlim: tuple[float, float],
    rows: Sequence[tuple[float, Sequence[tuple[float, float]]]],
) -> tuple[float, float, str] | None:
    """The first row with ``width`` free just left (else right) of ``x``: (y, x, ha)."""
    for centre, spans in rows:
        for lo, hi, anchor, ha in (
            (x - pad - width, x, x - pad, "right"),
            (x, x + pad + width, x + pad, "left"),
        ):
            inside = xlim[0] + pad <= lo and hi <= xlim[1] - pad
            if inside and all(hi + pad <= a or b + pad <= lo for a, b in spans):
                return centre, anchor, ha
    return None


@dataclass(frozen=True)
class _RowLabel:
    text: str
    x: float  # data x of the anchor
    ha: str
    color: str
    inside: bool = False  # on the bar's own colour, not beside the mark on a white backing
    above: bool = False  # on its own line(s) above the mark

    @property
    def lines(self) -> int:
        return self.text.count("\n") + 1


def _place_row_label(
    text: str,
    mark_from: float,
    mark_to: float,
    segments: Sequence[tuple[float, float, Any]],
    xlim: tuple[float, float],
    axes_width: float,
    size: float,
) -> _RowLabel:
    """Put a dated row's label on one line beside its mark, inside it, or above it.

    In order: right of the mark, left of it, else on a line of its own above the mark, which
    makes the row taller; never over the bar (``segments``, the bar's stretches, are no
    longer used for labels). Only a
    label wider than the axes is wrapped there; none is shortened. ``mark_from`` and
    ``mark_to`` bound everything drawn on the row ("ongoing" included).
    """
    per_inch = (xlim[1] - xlim[0]) / axes_width
    pad = _PAD_IN * per_inch
    room_right = (xlim[1] - mark_to) / per_inch - 2 * _PAD_IN
    room_left = (mark_from - xlim[0]) / per_inch - 2 * _PAD_IN
    needed = measure(text, size)
    if needed <= room_right:
        return _RowLabel(text, mark_to + pad, "left", TEXT_DARK)
    if needed <= room_left:
        return _RowLabel(text, mark_from - pad, "right", TEXT_DARK)
    # Never on the bar itself: a label printed over a mark reads as clutter on a dark bar
    # and hides the bar's extent; a line of its own above the mark keeps both legible.
    del segments
    room = axes_width - 2 * _PAD_IN
    text = wrap_to(text, room, size)
    needed = measure(text, size)
    # Start where the mark starts, moved left as far as the label needs to end in the axes.
    x = max(min(mark_from, xlim[1] - pad - needed * per_inch), xlim[0] + pad)
    return _RowLabel(text, x, "left", TEXT_DARK, above=True)


def _undated_columns(
    texts: Sequence[str], inches: float, size: float
) -> list[tuple[float, list[tuple[int, str]]]]:
    """Lay the undated entries out in one column, or two when that is shorter.

    Returns ``(left edge in inches, [(index, wrapped text), ...])`` per column. Entries keep
    their order, down the first column and then the second. With more than three entries,
    the split between the columns is the one that needs the fewest lines.
    """
    indent = _LANE_INDENT_IN

    def wrapped(indices: Iterable[int], width: float) -> list[tuple[int, str]]:
        return [(i, wrap_to(texts[i], width, size)) for i in indices]

    def lines(column: list[tuple[int, str]]) -> float:
        # A gap between entries is worth about a quarter of a line.
        return sum(t.count("\n") + 1 + _GAP_EM / _LINE_EM for _, t in column)

    single = [(0.0, wrapped(range(len(texts)), inches - indent))]
    if len(texts) <= 3:
        return single
    first = range(math.ceil(len(texts) / 2))
    second = range(len(first), len(texts))
    both = inches - 2 * indent - _LANE_GUTTER_IN
    widths = {round(both / 2, 3)} | {
        round(measure(texts[i], size) + 0.01, 3) for i in range(len(texts))
    }
    best, best_key = single, (lines(single[0][1]), 0.0)
    for width in sorted(widths):
        other = both - width
        if min(width, other) < 1.0:
            continue
        layout = [
            (0.0, wrapped(first, width)),
            (width + indent + _LANE_GUTTER_IN, wrapped(second, other)),
        ]
        key = (max(lines(c) for _, c in layout), abs(width - other))
        if key < best_key:
            best, best_key = layout, key
    return best


def _undated_heading(as_of: pd.Timestamp | None) -> str:
    if as_of is None:
        return "Undated (no later than the source's date)"
    return f"Undated (no later than {fmt.short_day(as_of)})"


class _DateTicks(Formatter):
    """Month ticks as "Apr", a year's first month as "2024", and the first tick's year beside it.

    Like :class:`matplotlib.dates.ConciseDateFormatter`, but the first visible tick always
    names its year, so months before the first January on the axis are not left unplaced.
    """

    def __call__(self, x: float, pos: int | None = None) -> str:
        return self.format_ticks([x])[0]

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        lo, hi = sorted(self.axis.get_view_interval()) if self.axis else (-np.inf, np.inf)
        labels: list[str] = []
        first = True
        for value in values:
            day = mdates.num2date(value)
            if day.month == 1 and day.day == 1:
                text = f"{day:%Y}"
            elif day.day == 1:
                text = f"{day:%b}"
            else:
                text = f"{day.day} {day:%b}"
            visible = lo <= value <= hi
            if first and visible and text != f"{day:%Y}":
                text += f" {day:%Y}"  # one line: the axis takes less height
            first = first and not visible
            labels.append(text)
        return labels


def describe_timeline(
    events: pd.DataFrame,
    *,
    actor_names: Mapping[str, str] | None = None,
    as_of: Any = None,
    sources: pd.DataFrame | None = None,
    max_events: int = 15,
    start: Any = None,
    mark: str | None = None,
    undated_heading: str | None = None,
) -> str:
    """Alt text for :func:`timeline`, from the same rows and arguments.

    Returns
    -------
    str
        The finding, then each event shown with its dates as precisely as the source gives
        them, then the undated ones.
    """
    facts = _timeline_facts(events, as_of, sources, max_events)
    if facts.n_total == 0:
        return "Timeline chart: nothing recorded; the data has no events."

    def who(e: _Event) -> str:
        if not actor_names or e.actor_id is None:
            return ""
        parties = actor_name(e.actor_id, actor_names)
        if e.counterpart_id:
            parties += " with " + actor_name(e.counterpart_id, actor_names)
        return f" [{parties}]"

    parts = [f"Timeline chart. {facts.title}."]
    if facts.dated:
        listed = "; ".join(
            f"{e.title}{who(e)}: "
            + str(when_phrase(e.start, e.end, e.precision, ongoing=e.ongoing, as_of=facts.as_of))
            for e in facts.dated
        )
        parts.append(f"Dated events, earliest first: {listed}.")
    if facts.undated:
        listed = "; ".join(
            e.title + (" (ongoing)" if e.ongoing else "") + who(e) for e in facts.undated
        )
        heading = undated_heading or _undated_heading(facts.as_of)
        parts.append(f"{heading}, not placed on the date axis: {listed}.")
    if mark and facts.dated:
        parts.append(f"A dotted line marks: {mark}.")
    if facts.note:
        parts.append(facts.note)
    return " ".join(parts)
