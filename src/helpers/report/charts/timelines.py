"""The timeline of events: :func:`timeline`, its alt text and its fitted height.

Events on a date axis, each drawn as precisely as the source dates it (a point for a day, a
light bar for a month, a solid bar for a period, a fading bar for an ongoing event), undated
events in a lane of their own. One :class:`TimelinePlotter` holds the chart's rows and options
and its facts (:func:`~helpers.report.charts.timeline_facts.timeline_facts`, computed once);
it draws (:meth:`~TimelinePlotter.plot`), fits the figure's height to the rows
(:meth:`~TimelinePlotter.fit`, :meth:`~TimelinePlotter.height`) and writes the alt text
(:meth:`~TimelinePlotter.describe`). The public functions make a plotter and call it. The
rows are laid out in points (:mod:`~helpers.report.charts.timeline_layout`), so
:func:`timeline_height` (and :func:`fit_timeline`, which draws once and sets the figure's
height) can say how tall a figure must be for every row and label to fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from helpers.report import formatting as fmt
from helpers.report.charts.base import (
    TEXT_DARK,
    Plotter,
    actor_name,
    axes_inches,
    category_order,
    display_label,
    draw_footer,
    draw_legend,
    draw_nothing,
    draw_title,
    font_sizes,
    legend_columns,
    measure,
    plain_words,
    plot_texts_out_of_layout,
    resolve_ax,
    source_line,
    unsqueezed_width,
    when_phrase,
    xlabel_anchor,
)
from helpers.report.charts.timeline_facts import (
    Event,
    Extent,
    TimelineFacts,
    default_undated_heading,
    event_extent,
    timeline_facts,
)
from helpers.report.charts.timeline_layout import (
    INK_DROP_EM,
    LANE_INDENT_IN,
    LINE_EM,
    PAD_IN,
    POINT_MS,
    ROW_EM,
    Layout,
    RowLabel,
    RowMarks,
    Taken,
    date_axis,
    fitted_height,
    free_spot,
    place_row_label,
    row_marks,
    taken_spans,
    undated_columns,
)
from helpers.report.theme import MUTED, THEME_COLORS, color_for

__all__ = [
    "TimelinePlotter",
    "describe_timeline",
    "fit_timeline",
    "timeline",
    "timeline_height",
]


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
    plotter = TimelinePlotter(
        events,
        actor_names=actor_names,
        as_of=as_of,
        sources=sources,
        max_events=max_events,
        start=start,
        mark=mark,
        undated_heading=undated_heading,
    )
    return plotter.plot(ax)


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
    plotter = TimelinePlotter(events, as_of=as_of, sources=sources, max_events=max_events)
    return plotter.height(width)


def fit_timeline(events: pd.DataFrame, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Draw :func:`timeline` and set its figure to the height :func:`timeline_height` gives.

    The same chart, drawn once instead of twice (once to measure, once to keep): for a
    figure that holds this one chart, in ``layout="constrained"``. Arguments as for
    :func:`timeline`, which all go through to the one plotter both use.
    """
    ax = resolve_ax(ax)
    return TimelinePlotter(events, **kwargs).fit(ax)


class TimelinePlotter(Plotter):
    """The timeline of one set of events: its options held once, its facts computed once.

    Parameters are those of :func:`timeline` (``ax`` aside); ``actor_names`` only matters to
    the alt text. :meth:`plot` draws, :meth:`fit` draws and sets the figure's height to the
    rows, :meth:`height` measures that height on a scratch figure, :meth:`describe` is the alt
    text, all from :attr:`facts`.
    """

    def __init__(
        self,
        events: pd.DataFrame,
        *,
        actor_names: Mapping[str, str] | None = None,
        as_of: Any = None,
        sources: pd.DataFrame | None = None,
        max_events: int = 15,
        start: Any = None,
        mark: str | None = None,
        undated_heading: str | None = None,
    ) -> None:
        self.events = events
        self.actor_names = actor_names
        self.sources = sources
        self.start = start
        self.mark = mark
        self.undated_heading = undated_heading
        self.facts: TimelineFacts = timeline_facts(events, as_of, sources, max_events)

    def plot(self, ax: Axes | None = None) -> Axes:
        ax = resolve_ax(ax)
        self.draw(ax)
        return ax

    def fit(self, ax: Axes | None = None) -> Axes:
        """Draw on ``ax`` and set its figure to the height at which every row fits."""
        ax = resolve_ax(ax)
        rows = self.draw(ax)
        ax.figure.set_figheight(fitted_height(ax, rows))
        return ax

    def height(self, width: float = 6.6) -> float:
        """The figure height in inches, on a scratch figure ``width`` inches wide, at which
        every row and label fits (see :func:`timeline_height`)."""
        probe = Figure(figsize=(width, 10.0), layout="constrained")
        ax = probe.add_subplot()
        return fitted_height(ax, self.draw(ax))

    def draw(self, ax: Axes) -> float:
        """Draw the timeline on ``ax``; return the height in points its rows and lane need."""
        facts, events, sources = self.facts, self.events, self.sources
        ax.set_xlabel("Date", fontsize=font_sizes()["label"], labelpad=3)
        if facts.n_total == 0:
            return _draw_no_events(ax, facts, events, sources)
        extents = {e.event_id: event_extent(e, facts.as_of) for e in facts.dated}
        layout = date_axis(ax, facts, extents, self.start)
        # Everything below is placed in points from the top of the axes (y grows downwards).
        y, taken, precisions_used = _draw_dated_rows(ax, facts.dated, extents, layout)
        if facts.as_of is not None and facts.dated:
            y = _draw_source_date(ax, facts.as_of, self.mark, y, taken, layout)
        y = _draw_undated_lane(ax, facts, self.undated_heading, y, layout)
        ax.set_ylim(y, 0)
        legend = _timeline_legend(ax, events, facts, precisions_used, layout.text_width)
        plot_texts_out_of_layout(ax)
        draw_title(ax, facts.title, layout.text_width)
        lines = [("note", facts.note)] if facts.note else []
        lines.append(("source", source_line(events, "events", sources)))
        draw_footer(ax, lines, legend, layout.text_width)
        return y

    def describe(self) -> str:
        """The finding, then each event shown with its dates as precisely as the source gives
        them, then the undated ones."""
        facts, actor_names = self.facts, self.actor_names
        if facts.n_total == 0:
            return "Timeline chart: nothing recorded; the data has no events."

        def who(e: Event) -> str:
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
                + str(
                    when_phrase(e.start, e.end, e.precision, ongoing=e.ongoing, as_of=facts.as_of)
                )
                for e in facts.dated
            )
            parts.append(f"Dated events, earliest first: {listed}.")
        if facts.undated:
            listed = "; ".join(
                e.title + (" (ongoing)" if e.ongoing else "") + who(e) for e in facts.undated
            )
            heading = self.undated_heading or default_undated_heading(facts.as_of)
            parts.append(f"{heading}, not placed on the date axis: {listed}.")
        if self.mark and facts.dated:
            parts.append(f"A dotted line marks: {self.mark}.")
        if facts.note:
            parts.append(facts.note)
        return " ".join(parts)


def _draw_no_events(
    ax: Axes, facts: TimelineFacts, events: pd.DataFrame, sources: pd.DataFrame | None
) -> float:
    """Say that there is nothing to draw; return the height in points that takes."""
    text_width = unsqueezed_width(ax, axes_inches(ax)[0])
    draw_nothing(ax, "Nothing recorded: the data has no events")
    plot_texts_out_of_layout(ax)
    draw_title(ax, facts.title, text_width)
    source = [("source", source_line(events, "events", sources))]
    draw_footer(ax, source, xlabel_anchor(ax), text_width)
    return 3 * LINE_EM * font_sizes()["label"]


def _draw_dated_rows(
    ax: Axes, dated: Sequence[Event], extents: Mapping[str, Extent], layout: Layout
) -> tuple[float, list[Taken], set[str]]:
    """Draw the dated rows, earliest first, from the top.

    Returns where the rows end (points from the top), the one-line rows (see ``Taken``)
    and the date precisions drawn, for the legend.
    """
    precisions_used: set[str] = set()
    taken: list[Taken] = []
    y = layout.gap
    for event in dated:
        extent = extents[event.event_id]
        marks = row_marks(event, extent, layout)
        label = place_row_label(
            display_label(event.title),
            marks.mark_from,
            marks.mark_to,
            marks.segments,
            layout.xlim,
            layout.axes_width,
            layout.size,
        )
        # The label decides the row's height: on its own line(s) above the mark, or beside.
        row = ROW_EM * layout.size
        if label.above:
            label_centre = y + row / 2 + (label.lines - 1) * layout.line / 2
            centre = y + row / 2 + label.lines * layout.line
            y += row + label.lines * layout.line
        else:
            centre = label_centre = y + row / 2
            y += row
            taken.append((centre, taken_spans(label, marks, extent, layout)))
        precisions_used |= _draw_row_marks(ax, event, extent, marks, centre, layout)
        _draw_row_label(ax, event, label, label_centre, layout.size)
    return y, taken, precisions_used


def _draw_row_marks(
    ax: Axes, event: Event, extent: Extent, marks: RowMarks, centre: float, layout: Layout
) -> set[str]:
    """Draw a dated row's point and bars at ``centre``; return the precisions they show."""
    gid = f"event:{event.event_id}"
    color, x0, x1, bar = marks.color, marks.x0, marks.x1, layout.bar
    drawn: set[str] = set()
    if marks.point:
        ax.plot([x0], [centre], marker="o", ms=POINT_MS, color=color, ls="none", zorder=3, gid=gid)
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


def _draw_ongoing(ax: Axes, event: Event, marks: RowMarks, centre: float, layout: Layout) -> None:
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
    ax: Axes, event: Event, label: RowLabel, label_centre: float, size: float
) -> None:
    ax.text(
        label.x,
        label_centre + INK_DROP_EM * size if label.inside else label_centre,
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
    taken: Sequence[Taken],
    layout: Layout,
) -> float:
    """Mark the source date across the dated rows; return where the rows now end.

    The mark is named in the first row with room beside it, else on a line of its own
    below them.
    """
    note = font_sizes()["note"]
    xlim, per_inch = layout.xlim, layout.per_inch
    x_as_of = mdates.date2num(as_of)
    mark = mark or f"Source date {fmt.short_day(as_of)}"
    pad = PAD_IN * per_inch
    width = measure(mark, note) * per_inch
    spot = free_spot(x_as_of, width, pad, xlim, taken)
    if spot is None:
        middle = y + 1.0 + LINE_EM * note / 2
        y += 1.0 + LINE_EM * note
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
    ax: Axes, facts: TimelineFacts, heading: str | None, y: float, layout: Layout
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
        PAD_IN / axes_width,
        top + gap,
        heading or default_undated_heading(facts.as_of),
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
    for left, entries in undated_columns(texts, axes_width - 2 * PAD_IN, size):
        entry_top = top + gap + line
        for index, text in entries:
            _draw_undated_entry(ax, facts.undated[index], text, left, entry_top, layout)
            entry_top += (text.count("\n") + 1) * line + gap
        bottom = max(bottom, entry_top)
    ax.axhspan(top, bottom, facecolor="#F4F4F4", edgecolor="none", zorder=1, gid="undated-lane")
    return bottom


def _draw_undated_entry(
    ax: Axes, event: Event, text: str, left: float, top: float, layout: Layout
) -> None:
    """One entry of the undated lane: a square in the theme's colour, then the text."""
    lane = ax.get_yaxis_transform()
    gid = f"undated:{event.event_id}"
    ax.plot(
        [(PAD_IN + left + 0.05) / layout.axes_width],
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
        (PAD_IN + left + LANE_INDENT_IN) / layout.axes_width,
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
    facts: TimelineFacts,
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
    return TimelinePlotter(
        events,
        actor_names=actor_names,
        as_of=as_of,
        sources=sources,
        max_events=max_events,
        start=start,
        mark=mark,
        undated_heading=undated_heading,
    ).describe()
