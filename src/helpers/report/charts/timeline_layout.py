"""Where the timeline's parts go, and the figure height that fits them.

The timeline is laid out in points, as multiples of the label font size (the ``*_EM``
constants), never as fractions of the figure, so :func:`fitted_height` can say how tall a
figure must be for every row and label to fit. Here: the date axis and the layout the rows
are placed in (:func:`date_axis`, :class:`Layout`), each dated row's marks and where its label
goes (:func:`row_marks`, :func:`place_row_label`), a free spot for the source-date label, and
the undated lane's columns. The drawing is :mod:`~helpers.report.charts.timelines`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter, NullLocator

from helpers.report.charts.base import (
    TEXT_DARK,
    axes_inches,
    font_sizes,
    measure,
    tick_overhang,
    unsqueezed_width,
    wrap_to,
)
from helpers.report.charts.timeline_facts import (
    Event,
    Extent,
    TimelineFacts,
)
from helpers.report.theme import LIGHT, THEME_COLORS, color_for

__all__ = [
    "BAR_EM",
    "GAP_EM",
    "INK_DROP_EM",
    "LANE_GUTTER_IN",
    "LANE_INDENT_IN",
    "LINE_EM",
    "PAD_IN",
    "POINT_MS",
    "PROBE_MARGIN_IN",
    "ROW_EM",
    "Layout",
    "RowLabel",
    "RowMarks",
    "Taken",
    "date_axis",
    "fitted_height",
    "free_spot",
    "place_row_label",
    "row_marks",
    "taken_spans",
    "undated_columns",
]

# The timeline is laid out in points, as multiples of the label font size, never as fractions
# of the figure: its rows keep their pitch whatever the figure's height, so timeline_height
# can say how tall a figure must be for every row and label to fit.
LINE_EM = 1.4  # a line of text: Noto Sans's ascent plus descent is 1.36 em
ROW_EM = 1.6  # a dated row with a one-line label, and the gap to the next row
BAR_EM = 1.1  # a bar's thickness: a one-line label fits inside it
GAP_EM = 0.35  # around and between the undated lane's entries
INK_DROP_EM = 0.25  # baseline below a row's centre that centres a label's ink on it
PAD_IN = 0.05  # inches between a mark and its label, and inside the axes' edges
POINT_MS = 6.5  # marker size, in points, of a day-precise event
LANE_INDENT_IN = 0.16  # an undated entry's text, from its column's left edge
LANE_GUTTER_IN = 0.15  # between the undated lane's two columns
PROBE_MARGIN_IN = 3.0  # inches the scratch figure of timeline_height adds for the rest


def fitted_height(ax: Axes, rows: float) -> float:
    """The figure height, in inches, at which ``ax`` is ``rows`` points tall."""
    figure = ax.get_figure(root=True)
    # What surrounds the axes does not depend on the figure's height (the legend and source
    # line hang from the axes by offsets in points), so one layout pass measures it: the
    # layout engine's own pass, which measures every artist without drawing any (a full
    # draw_without_rendering() drew the whole chart besides, a third of its cost; savefig
    # lays the figure out again at the height this returns).
    figure.set_figheight(rows / 72 + PROBE_MARGIN_IN)
    engine = figure.get_layout_engine()
    if engine is None:
        figure.draw_without_rendering()  # no engine: nothing moves; as before
    else:
        engine.execute(figure)
    around = figure.get_figheight() * (1 - ax.get_position().height)
    return math.ceil((around + rows / 72) * 100 - 1e-6) / 100


@dataclass(frozen=True)
class Layout:
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


def _date_range(
    facts: TimelineFacts, extents: Mapping[str, Extent], start: Any
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


def date_axis(ax: Axes, facts: TimelineFacts, extents: Mapping[str, Extent], start: Any) -> Layout:
    """Set up the date axis along the top; return the layout the rows are placed in."""
    sizes = font_sizes()
    x_lo, x_hi = _date_range(facts, extents, start)
    span = max(x_hi - x_lo, 30.0)
    any_open = any(x.open_ended for x in extents.values())
    tail = 0.05 * span
    xlim = (x_lo - 0.04 * span, x_hi + (0.04 + (0.16 if any_open else 0.0)) * span)
    ax.set_xlim(*xlim)
    # Axes: dates on top (Gantt style), no y ticks: every row is labelled directly.
    ax.xaxis.set_major_locator(_DateLocator(minticks=3, maxticks=8))
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
    return Layout(
        xlim=xlim,
        tail=tail,
        axes_width=axes_width,
        text_width=unsqueezed_width(ax, axes_width),
        per_inch=(xlim[1] - xlim[0]) / axes_width,
        size=size,
        line=LINE_EM * size,
        bar=BAR_EM * size,
        gap=GAP_EM * size,
    )


#: A one-line dated row, for placing the source-date label: its centre (points from the top)
#: and the stretches of x (data units) its mark and label take.
Taken = tuple[float, list[tuple[float, float]]]


@dataclass(frozen=True)
class RowMarks:
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


def row_marks(event: Event, extent: Extent, layout: Layout) -> RowMarks:
    """Work out a dated row's marks from its precision and extent, before drawing them."""
    color = color_for(event.theme, THEME_COLORS)
    light = mpl.colors.to_rgba(color, 0.35)
    x0 = mdates.date2num(extent.start)
    x1 = mdates.date2num(extent.stop)
    radius = POINT_MS / 2 / 72 * layout.per_inch
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
    return RowMarks(color, light, x0, x1, point, light_to, segments, mark_from, mark_to)


def taken_spans(
    label: RowLabel, marks: RowMarks, extent: Extent, layout: Layout
) -> list[tuple[float, float]]:
    """The stretches of a one-line row its mark ("ongoing" included) and label take."""
    size, per_inch = layout.size, layout.per_inch
    width = measure(label.text, size) * per_inch
    left = label.x - width if label.ha == "right" else label.x
    drawn_to = marks.mark_to
    if extent.open_ended:
        drawn_to = marks.x1 + layout.tail * 1.1 + 1.1 * measure("ongoing", size) * per_inch
    return [(marks.mark_from, drawn_to), (left, left + width)]


def free_spot(
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
class RowLabel:
    text: str
    x: float  # data x of the anchor
    ha: str
    color: str
    inside: bool = False  # on the bar's own colour, not beside the mark on a white backing
    above: bool = False  # on its own line(s) above the mark

    @property
    def lines(self) -> int:
        return self.text.count("\n") + 1


def place_row_label(
    text: str,
    mark_from: float,
    mark_to: float,
    segments: Sequence[tuple[float, float, Any]],
    xlim: tuple[float, float],
    axes_width: float,
    size: float,
) -> RowLabel:
    """Put a dated row's label on one line beside its mark, inside it, or above it.

    In order: right of the mark, left of it, else on a line of its own above the mark, which
    makes the row taller; never over the bar (``segments``, the bar's stretches, are no
    longer used for labels). Only a
    label wider than the axes is wrapped there; none is shortened. ``mark_from`` and
    ``mark_to`` bound everything drawn on the row ("ongoing" included).
    """
    per_inch = (xlim[1] - xlim[0]) / axes_width
    pad = PAD_IN * per_inch
    room_right = (xlim[1] - mark_to) / per_inch - 2 * PAD_IN
    room_left = (mark_from - xlim[0]) / per_inch - 2 * PAD_IN
    needed = measure(text, size)
    if needed <= room_right:
        return RowLabel(text, mark_to + pad, "left", TEXT_DARK)
    if needed <= room_left:
        return RowLabel(text, mark_from - pad, "right", TEXT_DARK)
    # Never on the bar itself: a label printed over a mark reads as clutter on a dark bar
    # and hides the bar's extent; a line of its own above the mark keeps both legible.
    del segments
    room = axes_width - 2 * PAD_IN
    text = wrap_to(text, room, size)
    needed = measure(text, size)
    # Start where the mark starts, moved left as far as the label needs to end in the axes.
    x = max(min(mark_from, xlim[1] - pad - needed * per_inch), xlim[0] + pad)
    return RowLabel(text, x, "left", TEXT_DARK, above=True)


def undated_columns(
    texts: Sequence[str], inches: float, size: float
) -> list[tuple[float, list[tuple[int, str]]]]:
    """Lay the undated entries out in one column, or two when that is shorter.

    Returns ``(left edge in inches, [(index, wrapped text), ...])`` per column. Entries keep
    their order, down the first column and then the second. With more than three entries,
    the split between the columns is the one that needs the fewest lines.
    """
    indent = LANE_INDENT_IN

    def wrapped(indices: Iterable[int], width: float) -> list[tuple[int, str]]:
        return [(i, wrap_to(texts[i], width, size)) for i in indices]

    def lines(column: list[tuple[int, str]]) -> float:
        # A gap between entries is worth about a quarter of a line.
        return sum(t.count("\n") + 1 + GAP_EM / LINE_EM for _, t in column)

    single = [(0.0, wrapped(range(len(texts)), inches - indent))]
    if len(texts) <= 3:
        return single
    first = range(math.ceil(len(texts) / 2))
    second = range(len(first), len(texts))
    both = inches - 2 * indent - LANE_GUTTER_IN
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
            (width + indent + LANE_GUTTER_IN, wrapped(second, other)),
        ]
        key = (max(lines(c) for _, c in layout), abs(width - other))
        if key < best_key:
            best, best_key = layout, key
    return best


class _DateLocator(mdates.AutoDateLocator):
    """matplotlib's ``AutoDateLocator``, its ticks worked out once per view interval.

    The layout engine and the draw ask the axis for its ticks a few dozen times per timeline
    (at every measure of the axis), and ``AutoDateLocator`` works them out anew each time
    through dateutil's ``rrule``: about a tenth of a timeline's time. Its ticks depend on the
    view interval alone, which :func:`date_axis` sets once, so they are the same each time.
    """

    _memo: tuple[tuple[float, float], np.ndarray] | None = None

    def __call__(self) -> np.ndarray:
        if self.axis is None:
            return super().__call__()
        interval = tuple(float(v) for v in self.axis.get_view_interval())
        if self._memo is None or self._memo[0] != interval:
            self._memo = (interval, np.asarray(super().__call__()))
        return self._memo[1].copy()


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
