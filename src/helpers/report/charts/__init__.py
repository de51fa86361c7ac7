"""The brief's charts: seaborn-style axes-level functions, and alt text from the same data.

Every chart function has the shape ``name(frame(s), *, ax=None, **kwargs) -> Axes``: it draws
only on ``ax`` (or :func:`matplotlib.pyplot.gca`), changes no global state (no rcParams, no new
figures) and returns the Axes. Each chart carries

* a title that states a finding computed from the rows (never typed in),
* labelled axes with units (the locator map has no axes to label),
* a source line under the axes naming the source and lines its rows cite,
* the colour-blind-safe colours of :mod:`helpers.theme`, paired with a second channel
  (marker, line style, fill) wherever the colours carry meaning.

Each chart has a companion ``describe_<name>(...)`` taking the same arguments and returning
alt text: what the chart shows, with the values. Both are built from one private "facts" step,
so the title and the alt text cannot disagree. :func:`describe` dispatches by kind and
:func:`figure` is the figure-level wrapper that owns a new figure.

Text taken from the data is drawn literally: mathtext is switched off for it
(``parse_math=False``), so ``"A $35 million agreement"`` prints a dollar sign instead of
switching to maths.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.ticker import Formatter, MaxNLocator, NullLocator

from helpers import paths
from helpers.errors import DataValidationError, ParameterError
from helpers.report import formatting as fmt
from helpers.report.theme import (
    LIGHT,
    MUTED,
    PARTNER_COLORS,
    STATUS_COLORS,
    THEME_COLORS,
    color_for,
)

__all__ = [
    "CHARTS",
    "defence_supplies",
    "describe",
    "describe_defence_supplies",
    "describe_project_capacities",
    "describe_timeline",
    "figure",
    "fit_timeline",
    "project_capacities",
    "source_line",
    "timeline",
    "timeline_height",
]

_DAY = pd.Timedelta(days=1)
_TEXT_TO_PATH = TextToPath()
_TEXT_DARK = "#262626"

# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def _records(frame: pd.DataFrame | None, table: str, required: Sequence[str]) -> list[dict]:
    """Rows as dicts with ``None`` for missing values, after checking the columns exist."""
    if frame is None:
        return []
    _require_columns(frame, table, required)
    if frame.empty:
        return []
    # Column by column (what to_dict("records") gives, in a quarter of the time on large
    # tables).
    columns = {name: _column(frame, name) for name in frame.columns}
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _require_columns(frame: pd.DataFrame, table: str, required: Sequence[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataValidationError(
            [
                f"{table}: missing column(s) {', '.join(missing)}; the chart needs "
                f"{', '.join(required)} (see data/datapackage.json)"
            ]
        )


def _column(frame: pd.DataFrame, column: str) -> list[Any]:
    """A column's values as Python objects, ``None`` for missing ones or a missing column."""
    if column not in frame.columns:
        return [None] * len(frame)
    values = frame[column].astype(object).tolist()
    missing = frame[column].isna().to_numpy()
    if missing.any():
        values = [None if gap else value for value, gap in zip(values, missing, strict=True)]
    return values


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _flag(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _timestamp(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp.normalize()


def _words(value: Any) -> str:
    """``"under_discussion"`` -> ``"under discussion"``."""
    return "" if value is None else str(value).replace("_", " ")


def _category_order(frame: pd.DataFrame | None, column: str) -> list[str]:
    """The schema's order for a categorical column, else the order of first appearance."""
    if frame is None or column not in frame.columns:
        return []
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [str(c) for c in series.cat.categories]
    return [str(v) for v in pd.unique(series.dropna())]


def _label(text: Any) -> str:
    """A data name drawn on its own (tick, row, node, legend entry): a capital first letter.

    Names are stored in running-text case ("deep-sea port", "the international community")
    for the narrative's sentences; only the first character changes ("Sukhoi" stays as is).
    Titles and alt text keep the stored case mid-sentence.
    """
    return fmt.sentence_case(str(text))


def _name(actor_id: Any, names: Mapping[str, str] | None) -> str:
    """Display name for an actor id; without one, the id made readable ("myanmar-army")."""
    if actor_id is None:
        return ""
    key = str(actor_id)
    if names and key in names:
        return str(names[key])
    # Most ids are proper names ("russia"), so the guess is capitalised.
    return fmt.sentence_case(key.replace("-", " ").replace("_", " "))


def _short(name: str) -> str:
    """Drop a trailing parenthetical for on-chart labels: the alt text keeps the full name."""
    if name.endswith(")") and " (" in name:
        return name[: name.rindex(" (")]
    return name


def _count(n: int, noun: str, plural: str | None = None) -> str:
    """``"5 events"``: figures, unlike fmt.count's words below ten, so that titles compare
    like with like ("3 of 5 dated events") and counts scan quickly in tight space."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def _when(
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    precision: str,
    *,
    ongoing: bool = False,
    as_of: pd.Timestamp | None = None,
) -> str | None:
    """fmt.when's date phrase for what the chart draws; ``None`` when undated.

    fmt.when reads one date per precision; a chart draws the whole extent, so a month- or
    day-precise row with a later end is phrased as the span it covers ("October–November
    2023"), and an ongoing row says where its bar stops (the source date).
    """
    if start is None:
        return None
    if end is not None and end <= start:
        end = None
    if end is None:
        precision = "day" if precision == "period" else precision
    elif precision != "period":
        if precision == "month":
            start = start.to_period("M").start_time
            end = end.to_period("M").end_time.normalize()
        precision = "period"
    open_ended = ongoing and end is None
    text = fmt.when(start, pd.NaT if end is None else end, precision, ongoing=open_ended)
    if open_ended:
        text += f", ongoing at {fmt.day(as_of)}" if as_of is not None else ", ongoing"
    return text


def _resolve_ax(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.gca()


def _points(key: str) -> float:
    """A font size from rcParams in points (read only)."""
    return FontProperties(size=mpl.rcParams[key]).get_size_in_points()


def _sizes() -> dict[str, float]:
    tick = _points("ytick.labelsize")
    return {
        "title": _points("axes.titlesize"),
        "label": _points("axes.labelsize"),
        "annotation": tick,
        "note": max(tick - 1.0, 6.0),
    }


def _axes_inches(ax: Axes, decoration: float = 0.0) -> tuple[float, float]:
    """The Axes' size in inches, as it will be once laid out (an estimate).

    Under a layout engine (``constrained`` or ``tight``) the Axes will grow into the
    figure's margins, so the subplot-parameter box underestimates it; ``decoration`` is the
    width of tick labels and axis label the Axes will give up on the left.
    """
    fig = ax.get_figure(root=True)
    box = ax.get_position()
    width, height = box.width * fig.get_figwidth(), box.height * fig.get_figheight()
    if fig.get_layout_engine() is not None:
        params = fig.subplotpars
        width = box.width / (params.right - params.left) * fig.get_figwidth() - 0.2
        width -= decoration
    return max(width, 1.0), max(height, 1.0)


def _measure(text: str, size: float, weight: str = "normal") -> float:
    """Width in inches of the widest line of ``text`` in the current font."""
    props = FontProperties(size=size, weight=weight)
    # The font a family name resolves to is read from rcParams, so it is part of the key.
    fonts = tuple(
        tuple(mpl.rcParams[f"font.{name}"]) if f"font.{name}" in mpl.rcParams else (name,)
        for name in props.get_family()
    )
    lines = [line for line in text.split("\n") if line]
    return max((_line_points(line, props, fonts) for line in lines), default=0.0) / 72


@functools.lru_cache(maxsize=8192)
def _line_points(line: str, props: FontProperties, fonts: tuple) -> float:
    """Width in points of one line; cached, as wrapping measures the same words again."""
    width, _, _ = _TEXT_TO_PATH.get_text_width_height_descent(line, props, ismath=False)
    return width


_GLUE = {"a", "an", "the", "of", "to", "about", "than", "no"}


def _glued_words(text: str) -> list[str]:
    """Split at spaces, but keep a number or a short function word with the next word."""
    words: list[str] = []
    glue_next = False
    for word in text.split(" "):
        if glue_next and words:
            words[-1] += " " + word
        else:
            words.append(word)
        glue_next = word.lower() in _GLUE or word.replace(",", "").replace(".", "").isdigit()
    return words


def _wrap_to(text: str, inches: float, size: float, weight: str = "normal") -> str:
    """Wrap ``text`` at word boundaries so each line fits ``inches``."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in _glued_words(paragraph):
            trial = f"{current} {word}" if current else word
            if current and _measure(trial, size, weight) > inches:
                lines.append(current)
                current = word
            else:
                current = trial
        lines.append(current)
    return "\n".join(lines)


def _left_decoration(ax: Axes) -> float:
    """Estimated width in inches of the y tick labels and y label, left of the Axes."""
    if not ax.axison:
        return 0.0
    size = _sizes()["annotation"]
    texts = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    if texts:
        width = max(_measure(t, size) for t in texts) + 0.08
    else:
        width = 0.3 if len(ax.get_yticks()) else 0.0
    if ax.get_ylabel():
        width += 1.3 * _sizes()["label"] / 72 + 0.06
    return width


def _room(ax: Axes) -> float:
    """Inches from the Axes' left edge to the right edge of its figure, once laid out."""
    fig = ax.get_figure(root=True)
    box = ax.get_position()
    if fig.get_layout_engine() is not None:
        params = fig.subplotpars
        cell = box.width / (params.right - params.left) * fig.get_figwidth()
        return max(cell - 0.2 - _left_decoration(ax), 1.0)
    return max((1.0 - box.x0) * fig.get_figwidth() - 0.1, 1.0)


def _axes_height(ax: Axes, title: str, footer: Sequence[str], x_axis: bool = True) -> float:
    """Estimated height in inches of the Axes once the layout makes room for the rest.

    Under a layout engine the Axes gets what its grid cell leaves after the title, the
    x-axis decorations and the lines under the chart; without one, its current box.
    """
    fig = ax.get_figure(root=True)
    box = ax.get_position()
    if fig.get_layout_engine() is None:
        return max(box.height * fig.get_figheight(), 0.5)
    params = fig.subplotpars
    cell = box.height / (params.top - params.bottom) * fig.get_figheight()
    sizes = _sizes()
    room = _room(ax)
    title_lines = _wrap_to(title, room, sizes["title"], "bold").count("\n") + 1
    footer_lines = sum(_wrap_to(t, room, sizes["note"]).count("\n") + 1 for t in footer)
    used = title_lines * 1.25 * sizes["title"] + footer_lines * 1.3 * sizes["note"]
    if x_axis:
        used += 1.5 * (sizes["annotation"] + sizes["label"])
    return max(cell - used / 72 - 0.35, 0.5)


def _unsqueezed_width(ax: Axes, full: float) -> float:
    """Inches that text hung from the axes' left edge may take without narrowing the axes.

    ``full`` is the axes' width once laid out. Constrained layout measures how far the
    title, legend and source line stick out past the axes from where the axes are before
    the layout (the subplot parameters' box), and settles in two passes: text wider than
    halfway between that box and ``full`` makes it narrow the axes, so that rows placed for
    the full width would no longer fit.
    """
    fig = ax.get_figure(root=True)
    if fig.get_layout_engine() is None:
        return full
    before = ax.get_position().width * fig.get_figwidth()
    return max(min(full, (full + before) / 2 - 0.05), 1.0)


def _tick_overhang(ax: Axes, size: float, width: float) -> float:
    """Inches by which the first and last x tick labels stick out past the axes' ends."""
    lo, hi = sorted(ax.get_xlim())
    per_inch = (hi - lo) / width
    ticks = [t for t in ax.xaxis.get_major_locator()() if lo <= t <= hi]
    if not ticks:
        return 0.0
    labels = ax.xaxis.get_major_formatter().format_ticks(ticks)
    left = _measure(labels[0], size) / 2 - (ticks[0] - lo) / per_inch
    right = _measure(labels[-1], size) / 2 - (hi - ticks[-1]) / per_inch
    return max(left, 0.0) + max(right, 0.0)


def _plot_texts_out_of_layout(ax: Axes) -> None:
    """Leave labels drawn in the plot out of the layout engine's sums.

    A label anchored in data coordinates moves with the Axes; if it pokes out, constrained
    layout shrinks the Axes to make room, the label moves with it, and the Axes collapses.
    The title, axis labels, legend and source line stay in the layout.
    """
    for text in ax.texts:
        text.set_in_layout(False)


def _title(ax: Axes, text: str, inches: float | None = None) -> None:
    size = _sizes()["title"]
    ax.set_title(
        _wrap_to(text, _room(ax) if inches is None else inches, size, "bold"),
        loc="left",
        fontsize=size,
        fontweight="bold",
        parse_math=False,
    )


def _literal_legend(legend: Legend) -> Legend:
    for text in legend.get_texts():
        text.set_parse_math(False)
    return legend


def _legend(ax: Axes, handles: list, labels: list[str], **kwargs: Any) -> Legend | None:
    if not handles:
        return None
    size = _sizes()["annotation"]
    options = {"frameon": False, "fontsize": size, "handlelength": 1.6, "borderaxespad": 0.3}
    options.update(kwargs)
    return _literal_legend(ax.legend(handles, labels, **options))


def _legend_columns(labels: Sequence[str], inches: float, size: float) -> int:
    """As many legend columns as fit ``inches``: one row if possible, else balanced rows."""
    if not labels:
        return 1
    entry = (1.6 + 0.8 + 1.2) * size / 72  # handle, handle-text pad, column spacing
    for rows in range(1, len(labels) + 1):
        columns = math.ceil(len(labels) / rows)
        widths = [
            max(
                _measure(labels[i], size) for i in range(c * rows, min((c + 1) * rows, len(labels)))
            )
            for c in range(columns)
        ]
        if sum(widths) + columns * entry <= inches:
            return columns
    return 1


def _footer(
    ax: Axes, lines: Sequence[tuple[str, str]], anchor: Any = None, inches: float | None = None
) -> list[Text]:
    """Stack small grey lines under the axes, each anchored below the one before.

    ``anchor`` is the artist the first line hangs from (the x-axis label, a legend); ``None``
    hangs it from the axes' bottom edge. Lines wrap to ``inches``, default :func:`_room`.
    """
    size = _sizes()["note"]
    room = _room(ax) if inches is None else inches
    drawn: list[Text] = []
    previous = anchor
    for gid, text in lines:
        if previous is None:
            xycoords: Any = "axes fraction"
            offset = (0, -4)
        else:
            xycoords = ("axes fraction", previous)
            offset = (0, -3)
        previous = ax.annotate(
            _wrap_to(text, room, size),
            xy=(0, 0),
            xycoords=xycoords,
            xytext=offset,
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=size,
            color=MUTED,
            annotation_clip=False,
            parse_math=False,
            gid=gid,
        )
        drawn.append(previous)
    return drawn


def _xlabel_anchor(ax: Axes) -> Any:
    return ax.xaxis.label if ax.get_xlabel() else None


def _nothing(ax: Axes, message: str) -> None:
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=MUTED,
        fontsize=_sizes()["label"],
        parse_math=False,
        gid="empty",
    )
    ax.xaxis.set_major_locator(NullLocator())
    ax.yaxis.set_major_locator(NullLocator())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)


def _table_path(table_name: str) -> str:
    return f"{paths.DATA_DIR.name}/{table_name}.csv"


def source_line(
    frame: pd.DataFrame | None, table_name: str, sources: pd.DataFrame | None = None
) -> str:
    """The source line printed under a chart, built from its rows' ``source_id`` and ``line``.

    Parameters
    ----------
    frame
        The rows the chart draws; needs ``source_id`` and ``line`` columns.
    table_name
        The table the rows come from (``"projects"``), printed as ``data/projects.csv``.
    sources
        The ``sources`` table; its ``title`` replaces the source id when given.

    Returns
    -------
    str
        For example ``"Source: News article: ..., lines 7, 17 — data/projects.csv"``.

    Examples
    --------
    >>> source_line(dataset.projects, "projects", dataset.sources)  # doctest: +SKIP
    'Source: News article: Myanmar junta seeks Russian ties ..., lines 7, 17 — data/projects.csv'
    """
    where = _table_path(table_name)
    if frame is None or frame.empty or "source_id" not in frame.columns:
        return f"Source: no rows — {where}"
    titles: dict[str, str] = {}
    if sources is not None and not sources.empty:
        titles = {
            str(k): str(v) for k, v in zip(sources["source_id"], sources["title"], strict=True)
        }
    lines_by_source: dict[str, set[int]] = {}
    pairs = frame[["source_id"] + (["line"] if "line" in frame.columns else [])]
    pairs = pairs.drop_duplicates()  # each (source, line) once, in order of first use
    lines = pairs["line"] if "line" in pairs.columns else [None] * len(pairs)
    for source_id, line in zip(pairs["source_id"], lines, strict=True):
        if pd.isna(source_id):
            continue
        seen = lines_by_source.setdefault(str(source_id), set())
        if line is not None and not pd.isna(line):
            seen.add(int(line))
    parts = []
    for source_id, lines in lines_by_source.items():
        label = titles.get(source_id, source_id)
        if lines:
            ordered = sorted(lines)
            word = "line" if len(ordered) == 1 else "lines"
            label += f", {word} {', '.join(str(n) for n in ordered)}"
        parts.append(label)
    return f"Source: {'; '.join(parts)} — {where}"


# ---------------------------------------------------------------------------------------------
# 1. Timeline of events
# ---------------------------------------------------------------------------------------------

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
    rows = _records(events, "events", _EVENT_COLUMNS)
    out = []
    for row in rows:
        start = _timestamp(row["date_start"])
        precision = _str(row["date_precision"]) or ("day" if start is not None else "undated")
        if start is None:
            precision = "undated"
        out.append(
            _Event(
                event_id=str(row["event_id"]),
                title=str(row["title"]),
                theme=_str(row["theme"]) or "",
                precision=precision,
                ongoing=_flag(row["ongoing"]),
                start=start,
                end=_timestamp(row["date_end"]),
                actor_id=_str(row.get("actor_id")),
                counterpart_id=_str(row.get("counterpart_id")),
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
        title = f"None of the {_count(len(shown_undated), 'event')}{shown} is dated{bound}"
    else:
        month, top = max(starts.items(), key=lambda kv: (kv[1], kv[0]))
        n = _count(len(shown_dated), "dated event")
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
    ax = _resolve_ax(ax)
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


def fit_timeline(
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
    """Draw :func:`timeline` and set its figure to the height :func:`timeline_height` gives.

    The same chart, drawn once instead of twice (once to measure, once to keep): for a
    figure that holds this one chart, in ``layout="constrained"``. Arguments as for
    :func:`timeline`.
    """
    ax = _resolve_ax(ax)
    rows = _draw_timeline(
        events,
        ax,
        as_of=as_of,
        sources=sources,
        max_events=max_events,
        start=start,
        mark=mark,
        undated_heading=undated_heading,
    )
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


def _draw_timeline(
    events: pd.DataFrame,
    ax: Axes,
    *,
    as_of: Any,
    sources: pd.DataFrame | None,
    max_events: int,
    start: Any = None,
    mark: str | None = None,
    undated_heading: str | None = None,
) -> float:
    """Draw the timeline on ``ax``; return the height in points its rows and lane need."""
    facts = _timeline_facts(events, as_of, sources, max_events)
    sizes = _sizes()
    ax.set_xlabel("Date", fontsize=sizes["label"], labelpad=3)
    if facts.n_total == 0:
        text_width = _unsqueezed_width(ax, _axes_inches(ax)[0])
        _nothing(ax, "Nothing recorded: the data has no events")
        _plot_texts_out_of_layout(ax)
        _title(ax, facts.title, text_width)
        source = [("source", source_line(events, "events", sources))]
        _footer(ax, source, _xlabel_anchor(ax), text_width)
        return 3 * _LINE_EM * sizes["label"]

    as_of_ts = facts.as_of
    extents = {e.event_id: _extent(e, as_of_ts) for e in facts.dated}
    if facts.dated:
        lo = min(x.start for x in extents.values())
        hi = max(x.stop for x in extents.values())
        if as_of_ts is not None:
            hi = max(hi, as_of_ts)
            lo = min(lo, as_of_ts)
        if start is not None:
            lo = min(lo, pd.Timestamp(start))
        x_lo, x_hi = mdates.date2num(lo), mdates.date2num(hi)
    elif as_of_ts is not None:
        x_hi = mdates.date2num(as_of_ts)
        x_lo = x_hi - 365
    else:
        x_lo, x_hi = (
            mdates.date2num(pd.Timestamp("2000-01-01")),
            mdates.date2num(pd.Timestamp("2001-01-01")),
        )
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
    ax.tick_params(axis="x", labelsize=sizes["annotation"], colors=_TEXT_DARK, length=0, pad=3)
    ax.yaxis.set_major_locator(NullLocator())
    ax.grid(axis="x", color=LIGHT, linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    for side, visible in (("top", True), ("bottom", False), ("left", False), ("right", False)):
        ax.spines[side].set_visible(visible)

    # The layout gives up the overhang of the first and last tick labels at the axes' ends.
    full_width, _ = _axes_inches(ax)
    axes_width = max(full_width - _tick_overhang(ax, sizes["annotation"], full_width), 1.0)
    text_width = _unsqueezed_width(ax, axes_width)
    per_inch = (xlim[1] - xlim[0]) / axes_width  # data units per inch along x

    # Everything below is placed in points from the top of the axes (y grows downwards).
    size = sizes["annotation"]
    line, bar, gap = _LINE_EM * size, _BAR_EM * size, _GAP_EM * size
    precisions_used: set[str] = set()
    taken: list[tuple[float, list[tuple[float, float]]]] = []  # one-line rows: centre, spans
    y = gap
    for event in facts.dated:
        color = color_for(event.theme, THEME_COLORS)
        light = mpl.colors.to_rgba(color, 0.35)
        extent = extents[event.event_id]
        gid = f"event:{event.event_id}"
        x0 = mdates.date2num(extent.start)
        x1 = mdates.date2num(extent.stop)
        # What the row draws, worked out before drawing: the label decides the row's height.
        radius = _POINT_MS / 2 / 72 * per_inch
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
        mark_to = xlim[1] if extent.open_ended else max(x1, x0 + radius if point else x1)
        label = _place_row_label(
            _label(event.title), mark_from, mark_to, segments, xlim, axes_width, size
        )
        row = _ROW_EM * size
        if label.above:
            label_centre = y + row / 2 + (label.lines - 1) * line / 2
            centre = y + row / 2 + label.lines * line
            y += row + label.lines * line
        else:
            centre = label_centre = y + row / 2
            y += row
            width = _measure(label.text, size) * per_inch
            left = label.x - width if label.ha == "right" else label.x
            drawn_to = mark_to
            if extent.open_ended:
                drawn_to = x1 + tail * 1.1 + 1.1 * _measure("ongoing", size) * per_inch
            taken.append((centre, [(mark_from, drawn_to), (left, left + width)]))

        if point:
            ax.plot(
                [x0], [centre], marker="o", ms=_POINT_MS, color=color, ls="none", zorder=3, gid=gid
            )
            precisions_used.add("day")
        if light_to > x0:
            ax.add_patch(
                Rectangle(
                    (x0, centre - bar / 2),
                    light_to - x0,
                    bar,
                    facecolor=light,
                    edgecolor=color,
                    linewidth=1.0,
                    zorder=2,
                    gid=gid,
                )
            )
            precisions_used.add("month")
        solid_start = max(x0, light_to)
        if segments and x1 > solid_start:
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
                precisions_used.add("period")
        if extent.open_ended:
            # Beyond the source date nothing is known: fade out, then say "ongoing".
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
                fontsize=size,
                style="italic",
                color=color,
                parse_math=False,
                gid=f"ongoing-label:{event.event_id}",
            )
            precisions_used.add("ongoing")
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

    # Source-date marker across the dated rows, named in the first row with room beside
    # it, else on a line of its own below them.
    if as_of_ts is not None and facts.dated:
        note = sizes["note"]
        x_as_of = mdates.date2num(as_of_ts)
        mark = mark or f"Source date {fmt.short_day(as_of_ts)}"
        pad = _PAD_IN * per_inch
        width = _measure(mark, note) * per_inch
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

    # The undated lane: positioned in axes fractions along x, so it sits at no date.
    lane = ax.get_yaxis_transform()
    if facts.undated:
        top = y + (gap if facts.dated else 0.0)
        ax.text(
            _PAD_IN / axes_width,
            top + gap,
            undated_heading or _undated_heading(as_of_ts),
            transform=lane,
            ha="left",
            va="top",
            fontsize=size,
            fontweight="bold",
            color=_TEXT_DARK,
            linespacing=1.0,
            parse_math=False,
            gid="undated-heading",
        )
        texts = [_label(e.title) + (" (ongoing)" if e.ongoing else "") for e in facts.undated]
        bottom = top + gap + line
        for left, entries in _undated_columns(texts, axes_width - 2 * _PAD_IN, size):
            entry_top = top + gap + line
            for index, text in entries:
                event = facts.undated[index]
                gid = f"undated:{event.event_id}"
                ax.plot(
                    [(_PAD_IN + left + 0.05) / axes_width],
                    [entry_top + line / 2],
                    marker="s",
                    ms=5.5,
                    color=color_for(event.theme, THEME_COLORS),
                    ls="none",
                    transform=lane,
                    zorder=3,
                    gid=gid,
                )
                ax.text(
                    (_PAD_IN + left + _LANE_INDENT_IN) / axes_width,
                    entry_top,
                    text,
                    transform=lane,
                    ha="left",
                    va="top",
                    fontsize=size,
                    color=_TEXT_DARK,
                    linespacing=1.0,
                    parse_math=False,
                    gid=gid,
                )
                entry_top += (text.count("\n") + 1) * line + gap
            bottom = max(bottom, entry_top)
        ax.axhspan(top, bottom, facecolor="#F4F4F4", edgecolor="none", zorder=1, gid="undated-lane")
        y = bottom
    else:
        y += gap
    ax.set_ylim(y, 0)

    # Legend under the axes: themes by colour, date precision by shape. It hangs from the
    # axes by an offset in points, not a fraction of their height (see timeline_height).
    shown = facts.dated + facts.undated
    themes = [t for t in _category_order(events, "theme") if any(e.theme == t for e in shown)]
    handles: list = [Patch(facecolor=color_for(t, THEME_COLORS)) for t in themes]
    labels = [_label(_words(t)) for t in themes]
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
    legend = _legend(
        ax,
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(0.0, 0.0),
        borderaxespad=0.5,
        borderpad=0.25,
        ncol=_legend_columns(labels, text_width, sizes["annotation"]),
        columnspacing=1.2,
    )
    _plot_texts_out_of_layout(ax)
    _title(ax, facts.title, text_width)
    lines = [("note", facts.note)] if facts.note else []
    lines.append(("source", source_line(events, "events", sources)))
    _footer(ax, lines, legend, text_width)
    return y


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

    In order: right of the mark, left of it, inside a stretch of the bar of one colour
    (``segments``: ``(from, to, colour)``) where dark, black or white text reads on it at
    4.5:1; else on a line of its own above the mark, which makes the row taller. Only a
    label wider than the axes is wrapped there; none is shortened. ``mark_from`` and
    ``mark_to`` bound everything drawn on the row ("ongoing" included).
    """
    per_inch = (xlim[1] - xlim[0]) / axes_width
    pad = _PAD_IN * per_inch
    room_right = (xlim[1] - mark_to) / per_inch - 2 * _PAD_IN
    room_left = (mark_from - xlim[0]) / per_inch - 2 * _PAD_IN
    needed = _measure(text, size)
    if needed <= room_right:
        return _RowLabel(text, mark_to + pad, "left", _TEXT_DARK)
    if needed <= room_left:
        return _RowLabel(text, mark_from - pad, "right", _TEXT_DARK)
    for start, stop, fill in sorted(segments, key=lambda s: s[0] - s[1]):  # longest first
        ink = _ink_on(fill)
        if ink is not None and needed <= (stop - start) / per_inch - 2 * _PAD_IN:
            return _RowLabel(text, start + pad, "left", ink, inside=True)
    room = axes_width - 2 * _PAD_IN
    text = _wrap_to(text, room, size)
    needed = _measure(text, size)
    # Start where the mark starts, moved left as far as the label needs to end in the axes.
    x = max(min(mark_from, xlim[1] - pad - needed * per_inch), xlim[0] + pad)
    return _RowLabel(text, x, "left", _TEXT_DARK, above=True)


def _luminance(color: Any) -> float:
    """WCAG relative luminance of ``color`` as printed on a white page."""
    r, g, b, a = mpl.colors.to_rgba(color)
    channels = [a * c + (1 - a) for c in (r, g, b)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _ink_on(fill: Any) -> str | None:
    """The house dark grey, black or white: the first that reads on ``fill`` at 4.5:1."""
    background = _luminance(fill)
    for ink in (_TEXT_DARK, "black", "white"):
        lighter, darker = sorted((background, _luminance(ink)), reverse=True)
        if (lighter + 0.05) / (darker + 0.05) >= 4.5:
            return ink
    return None


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
        return [(i, _wrap_to(texts[i], width, size)) for i in indices]

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
        round(_measure(texts[i], size) + 0.01, 3) for i in range(len(texts))
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


def _fit_lines(text: str, inches: float, size: float, row_pitch: float) -> str:
    """Wrap to ``inches``, keeping as many lines as a row of ``row_pitch`` inches holds."""
    max_lines = max(1, int(row_pitch * 72 / (1.05 * size)))
    lines = _wrap_to(text, inches, size).split("\n")
    if len(lines) <= max_lines:
        return "\n".join(lines)
    kept = lines[:max_lines]
    last = kept[-1]
    while last and _measure(last + "…", size) > inches:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return "\n".join(kept)


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
        parties = _name(e.actor_id, actor_names)
        if e.counterpart_id:
            parties += " with " + _name(e.counterpart_id, actor_names)
        return f" [{parties}]"

    parts = [f"Timeline chart. {facts.title}."]
    if facts.dated:
        listed = "; ".join(
            f"{e.title}{who(e)}: "
            + str(_when(e.start, e.end, e.precision, ongoing=e.ongoing, as_of=facts.as_of))
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


# ---------------------------------------------------------------------------------------------
# 2. Project capacities
# ---------------------------------------------------------------------------------------------

_PROJECT_COLUMNS = ("project_id", "name", "sector", "capacity", "capacity_unit", "status")


@dataclass(frozen=True)
class _ProjectFacts:
    title: str
    rows: list[dict]
    stated: list[dict]
    unstated: list[dict]
    unit: str
    hue: str
    sectors: list[str]
    aggregated: bool
    note: str | None


def _project_facts(
    projects: pd.DataFrame | None,
    actor_names: Mapping[str, str] | None,
    hue: str,
    max_rows: int,
) -> _ProjectFacts:
    if hue not in ("partner", "status"):
        raise ParameterError(f"hue={hue!r}: use 'partner' or 'status'")
    rows = _records(projects, "projects", _PROJECT_COLUMNS)
    stated = [r for r in rows if r["capacity"] is not None]
    unstated = [r for r in rows if r["capacity"] is None]
    units = sorted({str(r["capacity_unit"]) for r in stated if r["capacity_unit"] is not None})
    if len(units) > 1:
        raise DataValidationError(
            [
                f"projects: capacities in several units ({', '.join(units)}); "
                "chart one unit at a time"
            ]
        )
    unit = units[0] if units else "MW"
    sectors = [
        s for s in _category_order(projects, "sector") if any(str(r["sector"]) == s for r in rows)
    ]
    n = len(rows)
    if not rows:
        title = "No projects recorded"
    elif not stated:
        title = f"None of the {_count(n, 'project')} states a capacity"
    else:
        # A finding the source states row by row; never a total the chart would compute.
        largest = max(stated, key=lambda r: float(r["capacity"]))
        status = _words(largest["status"])
        title = (
            f"The largest stated capacity is the {largest['name']}'s "
            f"{fmt.capacity(largest['capacity'], unit)} ({status})"
        )
        if unstated:
            title += f"; {len(unstated):,} of {_count(n, 'project')} state no capacity"
    aggregated = n > max_rows
    note = (
        f"Aggregated by sector: {_count(n, 'project')} in {_count(len(sectors), 'sector')}."
        if aggregated
        else None
    )
    return _ProjectFacts(
        fmt.sentence_case(title), rows, stated, unstated, unit, hue, sectors, aggregated, note
    )


def _hue_key(row: dict, hue: str) -> str:
    return str(row.get("partner_id") or "") if hue == "partner" else str(row["status"])


def _hue_color(key: str, hue: str) -> str:
    return color_for(key, PARTNER_COLORS if hue == "partner" else STATUS_COLORS)


def _hue_label(key: str, hue: str, names: Mapping[str, str] | None) -> str:
    if hue == "partner":
        return _label(_name(key, names) or "no partner")
    return _label(_words(key))


def project_capacities(
    projects: pd.DataFrame,
    *,
    ax: Axes | None = None,
    actor_names: Mapping[str, str] | None = None,
    sources: pd.DataFrame | None = None,
    hue: str = "partner",
    max_rows: int = 12,
) -> Axes:
    """Draw each project's capacity as a horizontal bar; mark those with none stated.

    Projects with a capacity get a bar of that length, annotated with the value and the status
    (or partner). Projects whose source gives no capacity get a hollow marker at zero and the
    words "capacity not stated": they are never drawn as a zero-length bar without comment.
    Rows run from the largest capacity down, then the unstated ones by sector. With more than
    ``max_rows`` projects the chart aggregates by sector (stacked by ``hue``) and says so.

    Parameters
    ----------
    projects
        Rows of ``projects.csv``: ``project_id``, ``name``, ``sector``, ``capacity``,
        ``capacity_unit``, ``status``, ``partner_id``, ``source_id``, ``line``.
    ax
        Axes to draw on; default the current Axes.
    actor_names
        Actor id -> display name, for partners.
    sources
        The ``sources`` table, for the source line.
    hue
        ``"partner"`` (default) or ``"status"``: what the bar colour shows. The other one is
        written beside each bar.
    max_rows
        Most projects drawn one per row before aggregating by sector.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _resolve_ax(ax)
    facts = _project_facts(projects, actor_names, hue, max_rows)
    sizes = _sizes()
    ax.set_xlabel(f"Capacity ({facts.unit})", fontsize=sizes["label"])
    ax.set_ylabel("Sector" if facts.aggregated else "Project", fontsize=sizes["label"])
    if not facts.rows:
        _nothing(ax, "Nothing recorded: the data has no projects")
    elif facts.aggregated:
        _project_sectors(ax, facts, actor_names)
    else:
        _project_rows(ax, facts, actor_names)
    if facts.rows:
        ax.grid(axis="x", color=LIGHT, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.tick_params(axis="both", labelsize=sizes["annotation"])
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    _plot_texts_out_of_layout(ax)
    _title(ax, facts.title)
    lines = [("note", facts.note)] if facts.note else []
    lines.append(("source", source_line(projects, "projects", sources)))
    _footer(ax, lines, _xlabel_anchor(ax))
    return ax


def _capacity_xlim(ax: Axes, largest: float, note: str, legend_labels: Sequence[str]) -> None:
    """Leave room right of the longest bar for its note ("660 MW · under discussion")."""
    if largest <= 0:
        ax.set_xlim(0, 1.0)
        ax.set_xticks([0])
        return
    size = _sizes()["annotation"]
    left = max((_measure(t, size) for t in _tick_texts(ax)), default=0.3) + 0.35
    legend = max((_measure(t, size) for t in legend_labels), default=0.0) + 0.6
    width, _ = _axes_inches(ax, decoration=left + legend)
    share = min((_measure(note, size) + 0.15) / width, 0.6)
    ax.set_xlim(0, largest / (1 - share))
    # The scale stops at the first tick past the longest bar; the rest is room for its note.
    ticks = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(0, largest)
    ticks = [t for t in ticks if t >= 0]
    end = next((t for t in ticks if t >= largest), ticks[-1])
    ax.set_xticks([t for t in ticks if t <= end])
    ax.spines["bottom"].set_bounds(0, end)
    ax.xaxis.label.set_x(end / 2 / ax.get_xlim()[1])  # centre the axis label on the scale


def _row_labels(ax: Axes, labels: Sequence[str]) -> list[str]:
    """Row labels for the y axis, wrapped (two lines at most) to a third of the figure."""
    width = 0.3 * ax.get_figure(root=True).get_figwidth()
    size = _sizes()["annotation"]
    return [
        label if _measure(label, size) <= width else _fit_lines(label, width, size, 2.2 * size / 72)
        for label in labels
    ]


def _tick_texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels() if t.get_text()]


def _project_rows(ax: Axes, facts: _ProjectFacts, names: Mapping[str, str] | None) -> None:
    sector_rank = {s: i for i, s in enumerate(facts.sectors)}
    stated = sorted(facts.stated, key=lambda r: (-float(r["capacity"]), str(r["name"])))
    hue_rank = {k: i for i, k in enumerate(dict.fromkeys(_hue_key(r, facts.hue) for r in stated))}
    unstated = sorted(
        facts.unstated,
        key=lambda r: (
            hue_rank.get(_hue_key(r, facts.hue), len(hue_rank)),
            _hue_key(r, facts.hue),
            sector_rank.get(str(r["sector"]), 99),
            str(r["name"]),
        ),
    )
    ordered = stated + unstated
    size = _sizes()["annotation"]
    other = "status" if facts.hue == "partner" else "partner"

    def aside(r: dict) -> str:
        if other == "status":
            return _words(r["status"])
        return _name(r.get("partner_id"), names) or "no partner"

    ax.set_yticks(
        range(len(ordered)), _row_labels(ax, [_label(r["name"]) for r in ordered]), parse_math=False
    )
    keys = list(dict.fromkeys(_hue_key(r, facts.hue) for r in ordered))
    legend_labels = [_hue_label(k, facts.hue, names) for k in keys]
    if unstated:
        legend_labels.append("Capacity not stated")
    notes = {id(r): f"{float(r['capacity']):,.0f} {facts.unit} · {aside(r)}" for r in stated}
    largest_row = max(stated, key=lambda r: float(r["capacity"]), default=None)
    _capacity_xlim(
        ax,
        float(largest_row["capacity"]) if largest_row else 0.0,
        notes[id(largest_row)] if largest_row else "",
        legend_labels,
    )
    if stated:
        ax.barh(
            list(range(len(stated))),
            [float(r["capacity"]) for r in stated],
            height=0.6,
            color=[_hue_color(_hue_key(r, facts.hue), facts.hue) for r in stated],
            gid="capacity",
        )
    for y, r in enumerate(stated):
        ax.annotate(
            notes[id(r)],
            xy=(float(r["capacity"]), y),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=size,
            color=_TEXT_DARK,
            parse_math=False,
            gid="capacity-label",
        )
    for y, r in enumerate(unstated, start=len(stated)):
        color = _hue_color(_hue_key(r, facts.hue), facts.hue)
        ax.plot(
            [0],
            [y],
            marker="o",
            ms=6,
            mfc="white",
            mec=color,
            mew=1.5,
            ls="none",
            clip_on=False,
            zorder=3,
            gid=f"not-stated:{r['project_id']}",
        )
        ax.annotate(
            f"capacity not stated · {aside(r)}",
            xy=(0, y),
            xytext=(7, 0),
            textcoords="offset points",
            va="center",
            fontsize=size,
            style="italic",
            color=MUTED,
            parse_math=False,
            gid="not-stated-label",
        )
    ax.set_ylim(len(ordered) - 0.5, -0.6)
    handles: list = [Patch(facecolor=_hue_color(k, facts.hue)) for k in keys]
    if unstated:
        handles.append(Line2D([], [], marker="o", mfc="white", mec=MUTED, mew=1.5, ls="none"))
    labels = legend_labels
    _legend(
        ax,
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title=facts.hue.capitalize(),
        alignment="left",
    )


def _project_sectors(ax: Axes, facts: _ProjectFacts, names: Mapping[str, str] | None) -> None:
    size = _sizes()["annotation"]
    by_sector: dict[str, list[dict]] = defaultdict(list)
    for r in facts.rows:
        by_sector[str(r["sector"])].append(r)
    sectors = facts.sectors
    keys = list(dict.fromkeys(_hue_key(r, facts.hue) for r in facts.rows))
    totals = {
        s: sum(float(r["capacity"]) for r in by_sector[s] if r["capacity"] is not None)
        for s in sectors
    }
    ax.set_yticks(
        range(len(sectors)),
        _row_labels(ax, [_label(_words(s)) for s in sectors]),
        parse_math=False,
    )
    notes = {}
    for sector in sectors:
        rows = by_sector[sector]
        with_capacity = [r for r in rows if r["capacity"] is not None]
        missing = len(rows) - len(with_capacity)
        if with_capacity:
            notes[sector] = (
                f"{totals[sector]:,.0f} {facts.unit} from {len(with_capacity)} of "
                f"{_count(len(rows), 'project')}" + (f"; {missing} not stated" if missing else "")
            )
        else:
            notes[sector] = f"capacity not stated for {_count(len(rows), 'project')}"
    top = max(sectors, key=lambda s: totals[s])
    _capacity_xlim(ax, totals[top], notes[top], [_hue_label(k, facts.hue, names) for k in keys])
    left = np.zeros(len(sectors))
    for key in keys:
        widths = np.array(
            [
                sum(
                    float(r["capacity"])
                    for r in by_sector[s]
                    if r["capacity"] is not None and _hue_key(r, facts.hue) == key
                )
                for s in sectors
            ]
        )
        if widths.any():
            ax.barh(
                range(len(sectors)),
                widths,
                left=left,
                height=0.6,
                color=_hue_color(key, facts.hue),
                gid=f"capacity:{key}",
            )
        left += widths
    for y, sector in enumerate(sectors):
        if totals[sector] > 0 or any(r["capacity"] is not None for r in by_sector[sector]):
            style, color = "normal", _TEXT_DARK
        else:
            style, color = "italic", MUTED
            ax.plot([0], [y], marker="o", ms=6, mfc="white", mec=MUTED, ls="none", clip_on=False)
        ax.annotate(
            notes[sector],
            xy=(totals[sector], y),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            fontsize=size,
            style=style,
            color=color,
            parse_math=False,
        )
    ax.set_ylim(len(sectors) - 0.5, -0.6)
    handles = [Patch(facecolor=_hue_color(k, facts.hue)) for k in keys]
    _legend(
        ax,
        handles,
        [_hue_label(k, facts.hue, names) for k in keys],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title=facts.hue.capitalize(),
        alignment="left",
    )


def describe_project_capacities(
    projects: pd.DataFrame,
    *,
    actor_names: Mapping[str, str] | None = None,
    sources: pd.DataFrame | None = None,
    hue: str = "partner",
    max_rows: int = 12,
) -> str:
    """Alt text for :func:`project_capacities`, from the same rows and arguments."""
    facts = _project_facts(projects, actor_names, hue, max_rows)
    if not facts.rows:
        return "Bar chart of project capacities: nothing recorded; the data has no projects."

    def one(r: dict) -> str:
        bits = [_words(r["sector"]), _words(r["status"])]
        partner = _name(r.get("partner_id"), actor_names)
        if partner:
            bits.append(f"with {partner}")
        return f"{r['name']} ({', '.join(bits)})"

    parts = [f"Bar chart of project capacities in {facts.unit}. {facts.title}."]
    if facts.aggregated:
        # The bars are sectors, so is the text: one line per project would not end.
        parts.append(facts.note or "")
        by_sector = []
        for sector in facts.sectors:
            members = [r for r in facts.rows if str(r["sector"]) == sector]
            stated = [float(r["capacity"]) for r in members if r["capacity"] is not None]
            text = f"{_label(_words(sector))}: {_count(len(members), 'project')}"
            if stated:
                text += (
                    f", {sum(stated):,.0f} {facts.unit} stated for "
                    f"{_count(len(stated), 'of them', 'of them')}"
                )
            by_sector.append(text)
        parts.append(f"By sector: {'; '.join(by_sector)}.")
        return " ".join(p for p in parts if p)
    if facts.stated:
        listed = "; ".join(
            f"{one(r)}: {float(r['capacity']):,.0f} {facts.unit}"
            for r in sorted(facts.stated, key=lambda r: -float(r["capacity"]))
        )
        parts.append(f"With a stated capacity: {listed}.")
    if facts.unstated:
        parts.append(f"Capacity not stated: {'; '.join(one(r) for r in facts.unstated)}.")
    return " ".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------------
# 3. Defence supplies
# ---------------------------------------------------------------------------------------------

_SUPPLY_COLUMNS = ("supply_id", "item", "category", "supplier_id", "quantity")


@dataclass(frozen=True)
class _SupplyFacts:
    title: str
    rows: list[dict]
    suppliers: list[str]
    categories: list[str]
    aggregated: bool
    note: str | None


def _quantity(row: dict) -> str | None:
    """``"more than 8 million barrels"``, or ``None`` when the source gives no quantity."""
    text = fmt.quantity(
        row.get("quantity"), row.get("quantity_unit"), row.get("quantity_qualifier")
    )
    return text or None


def _quantity_of(row: dict) -> str | None:
    """``"more than 8 million barrels of oil"``; a bare count reads ``"12 rocket launchers"``."""
    quantity = _quantity(row)
    if quantity is None:
        return None
    unit = row.get("quantity_unit")
    counted = unit is None or str(unit) == "units"
    return f"{quantity} {row['item']}" if counted else f"{quantity} of {row['item']}"


def _item(row: dict) -> str:
    """The item with its category, unless the name already says it: ``"oil"``, not
    ``"oil (oil)"``; ``"Sukhoi fighter jets (combat aircraft)"``."""
    item, category = str(row["item"]), _words(row["category"])
    return item if category.lower() in item.lower() else f"{item} ({category})"


def _supply_when(row: dict) -> str | None:
    return _when(
        _timestamp(row.get("date_start")),
        _timestamp(row.get("date_end")),
        str(row.get("date_precision") or "day"),
    )


def _supply_facts(
    supplies: pd.DataFrame | None, actor_names: Mapping[str, str] | None, max_rows: int
) -> _SupplyFacts:
    rows = _records(supplies, "supplies", _SUPPLY_COLUMNS)
    counts = Counter(str(r["supplier_id"]) for r in rows if r["supplier_id"] is not None)
    suppliers = [s for s, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    # Items whose seller the source does not name get a column of their own, never another's.
    unnamed = any(r["supplier_id"] is None for r in rows)
    categories = [
        c
        for c in _category_order(supplies, "category")
        if any(str(r["category"]) == c for r in rows)
    ]
    n = len(rows)
    if not rows:
        title = "No supplies recorded"
    else:
        top = suppliers[0] if suppliers else None
        k = counts[top] if top else 0
        name = _name(top, actor_names)
        if top is None:
            title = f"{_count(n, 'item')} recorded, no supplier named"
        elif k == n and n > 1:
            title = f"{name} is named as the supplier of all {n} items recorded"
        else:
            title = f"{name} is named as the supplier of {k} of {_count(n, 'item')} recorded"
        quantities = [q for q in (_quantity_of(r) for r in rows) if q]
        if not quantities:
            title += "; no quantity is stated"
        elif len(quantities) == 1:
            title += f"; only one quantity is stated: {quantities[0]}"
        else:
            title += f"; {len(quantities)} of {n} state a quantity"
    aggregated = n > max_rows
    note = f"Aggregated by category: {_count(n, 'supply row')}." if aggregated else None
    columns = [*suppliers, ""] if unnamed else suppliers
    return _SupplyFacts(fmt.sentence_case(title), rows, columns, categories, aggregated, note)


def defence_supplies(
    supplies: pd.DataFrame,
    *,
    ax: Axes | None = None,
    actor_names: Mapping[str, str] | None = None,
    sources: pd.DataFrame | None = None,
    max_rows: int = 12,
) -> Axes:
    """Draw what each supplier provided, as a table-like dot chart with the quantities in words.

    One row per item (with its category where the name does not already say it), one column
    per supplier. A filled dot means the source states a quantity, a hollow one that it does
    not. Quantities are written out beside each row ("more than 8 million barrels ·
    March–June 2023") instead of being put on one numeric axis, because each row has its own
    unit: barrels of oil and jets do not share a scale. With more than ``max_rows`` rows the
    chart counts items per category and supplier (dot area = number of items).

    Parameters
    ----------
    supplies
        Rows of ``supplies.csv``: ``supply_id``, ``item``, ``category``, ``supplier_id``,
        ``quantity``, ``quantity_qualifier``, ``quantity_unit``, the date columns, ``purpose``,
        ``source_id``, ``line``.
    ax
        Axes to draw on; default the current Axes.
    actor_names
        Actor id -> display name, for suppliers.
    sources
        The ``sources`` table, for the source line.
    max_rows
        Most rows drawn one per item before aggregating by category.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _resolve_ax(ax)
    facts = _supply_facts(supplies, actor_names, max_rows)
    sizes = _sizes()
    ax.set_xlabel("Supplier", fontsize=sizes["label"])
    ax.set_ylabel("Category" if facts.aggregated else "Item supplied", fontsize=sizes["label"])
    if not facts.rows:
        _nothing(ax, "Nothing recorded: the data has no supplies")
        anchor = _xlabel_anchor(ax)
    else:
        footer = [facts.note or "", source_line(supplies, "supplies", sources)]
        height = _axes_height(ax, facts.title, footer, x_axis=False) - 0.3  # headers on top
        _supply_grid(ax, facts, actor_names, height)
        anchor = None  # the headers are on top; hang the notes from the axes' bottom
    _plot_texts_out_of_layout(ax)
    _title(ax, facts.title)
    lines = [("note", facts.note)] if facts.note else []
    lines.append(("source", source_line(supplies, "supplies", sources)))
    _footer(ax, lines, anchor)
    return ax


def _supply_grid(
    ax: Axes, facts: _SupplyFacts, names: Mapping[str, str] | None, height_in: float
) -> None:
    """A small table: supplier columns of dots, then the quantities written out."""
    sizes = _sizes()
    suppliers = facts.suppliers or [""]
    supplier_labels = [_label(_name(s, names) or "not named") for s in suppliers]
    column = {s: i for i, s in enumerate(suppliers)}
    k = len(suppliers)
    category_rank = {c: i for i, c in enumerate(facts.categories)}

    if facts.aggregated:
        cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for r in facts.rows:
            cells[(str(r["category"]), str(r["supplier_id"] or ""))].append(r)
        row_keys = facts.categories
        labels = [_label(_words(c)) for c in row_keys]
        most = max(len(v) for v in cells.values())
        for (category, supplier), members in cells.items():
            stated = any(m.get("quantity") is not None for m in members)
            color = color_for(supplier, PARTNER_COLORS)
            ax.scatter(
                [column.get(supplier, 0)],
                [row_keys.index(category)],
                s=40 + 260 * len(members) / most,
                facecolors=color if stated else "white",
                edgecolors=color,
                linewidths=1.5,
                zorder=3,
                gid=f"supply-cell:{category}:{supplier}",
            )
        texts = []
        for category in row_keys:
            members = [r for (c, _), rs in cells.items() if c == category for r in rs]
            stated = sum(1 for m in members if m.get("quantity") is not None)
            texts.append(
                f"{_count(len(members), 'item')}; "
                + (f"{stated} with a stated quantity" if stated else "quantity not stated")
            )
    else:
        ordered = sorted(
            facts.rows,
            key=lambda r: (category_rank.get(str(r["category"]), 99), str(r["item"])),
        )
        row_keys = [str(r["supply_id"]) for r in ordered]
        labels = []
        texts = []
        for y, r in enumerate(ordered):
            labels.append(_label(_item(r)))
            quantity = _quantity(r)
            color = color_for(r["supplier_id"], PARTNER_COLORS)
            ax.plot(
                [column.get(str(r["supplier_id"] or ""), 0)],
                [y],
                marker="o",
                ms=8,
                mfc=color if quantity else "white",
                mec=color,
                mew=1.6,
                ls="none",
                zorder=3,
                gid=f"supply:{r['supply_id']}",
            )
            bits = [quantity or "quantity not stated"]
            when = _supply_when(r)
            if when:
                bits.append(when)
            if r.get("purpose"):
                bits.append(str(r["purpose"]))
            texts.append(" · ".join(bits))

    # Widths: each supplier column as wide as its name, the quantities take the rest.
    n = len(row_keys)
    labels = _row_labels(ax, labels)
    widest_row_label = max(_measure(t, sizes["annotation"]) for t in labels)
    axes_width, _ = _axes_inches(ax, decoration=widest_row_label + 0.35)
    column_inches = max(0.9, max(_measure(t, sizes["annotation"]) for t in supplier_labels) + 0.3)
    right = -0.5 + max(axes_width / column_inches, k + 3.0)
    text_x = k - 0.5 + 0.15
    # The written quantities wrap to the width left of them, on as many lines as a row holds.
    text_room = axes_width - (text_x + 0.5) * axes_width / (right + 0.5) - 0.1
    row_pitch = height_in / max(n + 0.5, 1)
    texts = [
        _fit_lines(t, text_room, sizes["annotation"], row_pitch)
        if _measure(t, sizes["annotation"]) > text_room
        else t
        for t in texts
    ]

    for y, text in enumerate(texts):
        muted = "not stated" in text and not text[0].isdigit()
        ax.text(
            text_x,
            y,
            text,
            va="center",
            ha="left",
            fontsize=sizes["annotation"],
            style="italic" if muted else "normal",
            color=MUTED if muted else _TEXT_DARK,
            parse_math=False,
            gid="quantity",
        )
    ax.hlines(range(n), -0.5, right, colors=LIGHT, linewidth=0.8, zorder=0)
    ax.set_xlim(-0.5, right)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks(range(n), _row_labels(ax, labels), parse_math=False)
    ax.set_xticks(range(k), supplier_labels, parse_math=False)
    ax.tick_params(axis="both", labelsize=sizes["annotation"], length=0)

    # Column headers along the top, as in a table: "Supplier" over the dots, then the
    # heading of the written quantities at the same height.
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    fig = ax.get_figure(root=True)
    header = mtransforms.blended_transform_factory(
        ax.transData, ax.transAxes
    ) + mtransforms.ScaledTranslation(0, (sizes["annotation"] * 1.3 + 7) / 72, fig.dpi_scale_trans)
    ax.xaxis.set_label_coords((k - 1) / 2, 1.0, transform=header)
    ax.text(
        text_x,
        1.0,
        "Quantity, as stated in the source",
        transform=header,
        ha="left",
        va="baseline",
        fontsize=sizes["label"],
        color=ax.xaxis.label.get_color(),
        parse_math=False,
        gid="quantity-heading",
    )
    for side in ("bottom", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["top"].set_visible(True)
    ax.spines["top"].set_color("#BBBBBB")


def describe_defence_supplies(
    supplies: pd.DataFrame,
    *,
    actor_names: Mapping[str, str] | None = None,
    sources: pd.DataFrame | None = None,
    max_rows: int = 12,
) -> str:
    """Alt text for :func:`defence_supplies`, from the same rows and arguments."""
    facts = _supply_facts(supplies, actor_names, max_rows)
    if not facts.rows:
        return "Dot chart of supplies: nothing recorded; the data has no supplies."
    parts = [f"Dot chart of supplies by item and supplier. {facts.title}."]
    if facts.note:
        parts.append(facts.note)
    listed = []
    for r in facts.rows:
        supplier = _name(r["supplier_id"], actor_names) if r["supplier_id"] else ""
        text = f"{_item(r)} from {supplier or 'a supplier the source does not name'}"
        if r.get("recipient_id"):
            text += f" to {_name(r['recipient_id'], actor_names)}"
        quantity = _quantity(r)
        text += f": {quantity}" if quantity else ": quantity not stated"
        when = _supply_when(r)
        if when:
            text += f", {when}"
        if r.get("purpose"):
            text += f", {r['purpose']}"
        listed.append(text)
    parts.append("Items: " + "; ".join(listed) + ".")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# Registry, dispatch and the figure-level wrapper
# ---------------------------------------------------------------------------------------------

#: kind -> (chart function, alt-text function, default height in inches).
CHARTS: dict[str, tuple[Callable[..., Axes], Callable[..., str], float]] = {
    "timeline": (timeline, describe_timeline, 4.5),
    "project_capacities": (project_capacities, describe_project_capacities, 3.4),
    "defence_supplies": (defence_supplies, describe_defence_supplies, 3.0),
}


def _chart(kind: str) -> tuple[Callable[..., Axes], Callable[..., str], float]:
    try:
        return CHARTS[kind]
    except KeyError:
        raise ParameterError(
            f"chart kind {kind!r} is unknown; use one of: {', '.join(CHARTS)}"
        ) from None


def describe(kind: str, *args: Any, **kwargs: Any) -> str:
    """Alt text for a chart named by kind: ``describe("timeline", ds.events, ...)``.

    Parameters
    ----------
    kind
        A key of :data:`CHARTS`.
    *args, **kwargs
        What the chart function takes, minus ``ax``.

    Returns
    -------
    str
    """
    _, describer, _ = _chart(kind)
    kwargs.pop("ax", None)
    return describer(*args, **kwargs)


def figure(
    kind: str, *args: Any, width: float = 6.5, height: float | None = None, **kwargs: Any
) -> Figure:
    """Draw one chart on a new figure of a brief's size and return the figure.

    The figure is made with :class:`matplotlib.figure.Figure`, not pyplot, so it is not
    registered anywhere global; Jupyter displays it when it is the cell's value. Its layout
    is ``constrained`` so the title, legend and source line fit.

    Parameters
    ----------
    kind
        A key of :data:`CHARTS`: ``"timeline"``, ``"project_capacities"``,
        or ``"defence_supplies"``. The locator map is :func:`helpers.maps.locator_map`.
    *args, **kwargs
        Passed to the chart function.
    width, height
        Size in inches; the default height depends on the chart.

    Returns
    -------
    matplotlib.figure.Figure
    """
    draw, _, default_height = _chart(kind)
    fig = Figure(figsize=(width, height or default_height), layout="constrained")
    ax = fig.add_subplot()
    draw(*args, ax=ax, **kwargs)
    return fig
