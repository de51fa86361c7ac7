"""The machinery every chart shares, and the source line printed under each.

Reading rows (:func:`records`: columns checked, missing values as ``None``), the small value
helpers (``optional_str``, ``as_flag``, ``as_timestamp``, ``plain_words``, ``display_label``,
``actor_name``, ``count_of``, ``when_phrase``), font sizes from rcParams and text measured in
the current font (``font_sizes``, ``measure``), wrapping to a width in inches (``wrap_to``,
``fit_lines``, ``row_labels``), estimates of the laid-out Axes (``axes_inches``,
``axes_height``, ``unsqueezed_width``, ``tick_overhang``), and what every chart draws around
its data: the title (``draw_title``), the legend (``draw_legend``, ``legend_columns``), the
lines under the axes (``draw_footer``, ``xlabel_anchor``), the empty-chart message
(``draw_nothing``) and :func:`source_line`.

These names are public within :mod:`helpers.report.charts` (listed in ``__all__``); the
package's ``__init__`` exports only the user-facing ones. Nothing here draws a chart or
changes global state; the plot families (:mod:`~helpers.report.charts.timelines`,
:mod:`~helpers.report.charts.projects`, :mod:`~helpers.report.charts.supplies`,
:mod:`~helpers.report.charts.maps`) import from it.
"""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.textpath import TextToPath
from matplotlib.ticker import NullLocator

from helpers.errors import DataValidationError
from helpers.report import formatting as fmt
from helpers.report.theme import MUTED

__all__ = [
    "TEXT_DARK",
    "Plotter",
    "actor_name",
    "as_flag",
    "as_timestamp",
    "axes_height",
    "axes_inches",
    "category_order",
    "count_of",
    "display_label",
    "draw_footer",
    "draw_legend",
    "draw_nothing",
    "draw_title",
    "fit_lines",
    "font_sizes",
    "legend_columns",
    "measure",
    "optional_str",
    "plain_words",
    "plot_texts_out_of_layout",
    "records",
    "resolve_ax",
    "row_labels",
    "source_line",
    "tick_overhang",
    "unsqueezed_width",
    "when_phrase",
    "wrap_to",
    "xlabel_anchor",
]

_TEXT_TO_PATH = TextToPath()
TEXT_DARK = "#262626"


class Plotter(abc.ABC):
    """One chart of a plot family, as seaborn keeps one plotter per family.

    A plotter holds the chart's rows and options once and computes its facts once, when it
    is made: what the title, the drawing and the alt text all say. :meth:`plot` draws on an
    Axes and :meth:`describe` returns the alt text, both from those facts, so they cannot
    disagree. The public axes-level functions (``timeline``, ``describe_timeline``, ...) make
    a plotter and call it.
    """

    #: What the chart says, computed once from the rows and options.
    facts: Any

    @abc.abstractmethod
    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the chart on ``ax`` (default the current Axes) and return the Axes."""

    @abc.abstractmethod
    def describe(self) -> str:
        """The alt text: what the chart shows, with the values."""


def records(frame: pd.DataFrame | None, table: str, required: Sequence[str]) -> list[dict]:
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


def optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def as_flag(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def as_timestamp(value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return None if pd.isna(stamp) else stamp.normalize()


def plain_words(value: Any) -> str:
    """``"under_discussion"`` -> ``"under discussion"``."""
    return "" if value is None else str(value).replace("_", " ")


def category_order(frame: pd.DataFrame | None, column: str) -> list[str]:
    """The schema's order for a categorical column, else the order of first appearance."""
    if frame is None or column not in frame.columns:
        return []
    series = frame[column]
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [str(c) for c in series.cat.categories]
    return [str(v) for v in pd.unique(series.dropna())]


def display_label(text: Any) -> str:
    """A data name drawn on its own (tick, row, node, legend entry): a capital first letter.

    Names are stored in running-text case ("deep-sea port", "the international community")
    for the narrative's sentences; only the first character changes ("Sukhoi" stays as is).
    Titles and alt text keep the stored case mid-sentence.
    """
    return fmt.sentence_case(str(text))


def actor_name(actor_id: Any, names: Mapping[str, str] | None) -> str:
    """Display name for an actor id; without one, the id made readable ("myanmar-army")."""
    if actor_id is None:
        return ""
    key = str(actor_id)
    if names and key in names:
        return str(names[key])
    # Most ids are proper names ("russia"), so the guess is capitalised.
    return fmt.sentence_case(key.replace("-", " ").replace("_", " "))


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """``"5 events"``: figures, unlike fmt.count's words below ten, so that titles compare
    like with like ("3 of 5 dated events") and counts scan quickly in tight space."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def when_phrase(
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


def resolve_ax(ax: Axes | None) -> Axes:
    return ax if ax is not None else plt.gca()


def _points(key: str) -> float:
    """A font size from rcParams in points (read only)."""
    return FontProperties(size=mpl.rcParams[key]).get_size_in_points()


def font_sizes() -> dict[str, float]:
    tick = _points("ytick.labelsize")
    return {
        "title": _points("axes.titlesize"),
        "label": _points("axes.labelsize"),
        "annotation": tick,
        "note": max(tick - 1.0, 6.0),
    }


def axes_inches(ax: Axes, decoration: float = 0.0) -> tuple[float, float]:
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


def measure(text: str, size: float, weight: str = "normal") -> float:
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


def wrap_to(text: str, inches: float, size: float, weight: str = "normal") -> str:
    """Wrap ``text`` at word boundaries so each line fits ``inches``."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in _glued_words(paragraph):
            trial = f"{current} {word}" if current else word
            if current and measure(trial, size, weight) > inches:
                lines.append(current)
                current = word
            else:
                current = trial
        lines.append(current)
    return "\n".join(lines)


def fit_lines(text: str, inches: float, size: float, row_pitch: float) -> str:
    """Wrap to ``inches``, keeping as many lines as a row of ``row_pitch`` inches holds."""
    max_lines = max(1, int(row_pitch * 72 / (1.05 * size)))
    lines = wrap_to(text, inches, size).split("\n")
    if len(lines) <= max_lines:
        return "\n".join(lines)
    kept = lines[:max_lines]
    last = kept[-1]
    while last and measure(last + "…", size) > inches:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return "\n".join(kept)


def row_labels(ax: Axes, labels: Sequence[str]) -> list[str]:
    """Row labels for the y axis, wrapped (two lines at most) to a third of the figure."""
    width = 0.3 * ax.get_figure(root=True).get_figwidth()
    size = font_sizes()["annotation"]
    return [
        label if measure(label, size) <= width else fit_lines(label, width, size, 2.2 * size / 72)
        for label in labels
    ]


def _left_decoration(ax: Axes) -> float:
    """Estimated width in inches of the y tick labels and y label, left of the Axes."""
    if not ax.axison:
        return 0.0
    size = font_sizes()["annotation"]
    texts = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    if texts:
        width = max(measure(t, size) for t in texts) + 0.08
    else:
        width = 0.3 if len(ax.get_yticks()) else 0.0
    if ax.get_ylabel():
        width += 1.3 * font_sizes()["label"] / 72 + 0.06
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


def axes_height(ax: Axes, title: str, footer: Sequence[str], x_axis: bool = True) -> float:
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
    sizes = font_sizes()
    room = _room(ax)
    title_lines = wrap_to(title, room, sizes["title"], "bold").count("\n") + 1
    footer_lines = sum(wrap_to(t, room, sizes["note"]).count("\n") + 1 for t in footer)
    used = title_lines * 1.25 * sizes["title"] + footer_lines * 1.3 * sizes["note"]
    if x_axis:
        used += 1.5 * (sizes["annotation"] + sizes["label"])
    return max(cell - used / 72 - 0.35, 0.5)


def unsqueezed_width(ax: Axes, full: float) -> float:
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


def tick_overhang(ax: Axes, size: float, width: float) -> float:
    """Inches by which the first and last x tick labels stick out past the axes' ends."""
    lo, hi = sorted(ax.get_xlim())
    per_inch = (hi - lo) / width
    ticks = [t for t in ax.xaxis.get_major_locator()() if lo <= t <= hi]
    if not ticks:
        return 0.0
    labels = ax.xaxis.get_major_formatter().format_ticks(ticks)
    left = measure(labels[0], size) / 2 - (ticks[0] - lo) / per_inch
    right = measure(labels[-1], size) / 2 - (hi - ticks[-1]) / per_inch
    return max(left, 0.0) + max(right, 0.0)


def plot_texts_out_of_layout(ax: Axes) -> None:
    """Leave labels drawn in the plot out of the layout engine's sums.

    A label anchored in data coordinates moves with the Axes; if it pokes out, constrained
    layout shrinks the Axes to make room, the label moves with it, and the Axes collapses.
    The title, axis labels, legend and source line stay in the layout.
    """
    for text in ax.texts:
        text.set_in_layout(False)


def draw_title(ax: Axes, text: str, inches: float | None = None) -> None:
    size = font_sizes()["title"]
    ax.set_title(
        wrap_to(text, _room(ax) if inches is None else inches, size, "bold"),
        loc="left",
        fontsize=size,
        fontweight="bold",
        parse_math=False,
    )


def _literal_legend(legend: Legend) -> Legend:
    for text in legend.get_texts():
        text.set_parse_math(False)
    return legend


def draw_legend(ax: Axes, handles: list, labels: list[str], **kwargs: Any) -> Legend | None:
    if not handles:
        return None
    size = font_sizes()["annotation"]
    options = {"frameon": False, "fontsize": size, "handlelength": 1.6, "borderaxespad": 0.3}
    options.update(kwargs)
    return _literal_legend(ax.legend(handles, labels, **options))


def legend_columns(labels: Sequence[str], inches: float, size: float) -> int:
    """As many legend columns as fit ``inches``: one row if possible, else balanced rows."""
    if not labels:
        return 1
    entry = (1.6 + 0.8 + 1.2) * size / 72  # handle, handle-text pad, column spacing
    for rows in range(1, len(labels) + 1):
        columns = math.ceil(len(labels) / rows)
        widths = [
            max(measure(labels[i], size) for i in range(c * rows, min((c + 1) * rows, len(labels))))
            for c in range(columns)
        ]
        if sum(widths) + columns * entry <= inches:
            return columns
    return 1


def draw_footer(
    ax: Axes, lines: Sequence[tuple[str, str]], anchor: Any = None, inches: float | None = None
) -> list[Text]:
    """Stack small grey lines under the axes, each anchored below the one before.

    ``anchor`` is the artist the first line hangs from (the x-axis label, a legend); ``None``
    hangs it from the axes' bottom edge. Lines wrap to ``inches``, default :func:`_room`.
    """
    size = font_sizes()["note"]
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
            wrap_to(text, room, size),
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


def xlabel_anchor(ax: Axes) -> Any:
    return ax.xaxis.label if ax.get_xlabel() else None


def draw_nothing(ax: Axes, message: str) -> None:
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=MUTED,
        fontsize=font_sizes()["label"],
        parse_math=False,
        gid="empty",
    )
    ax.xaxis.set_major_locator(NullLocator())
    ax.yaxis.set_major_locator(NullLocator())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)


def _paragraphs(row: dict) -> dict[int, int]:
    """Line -> paragraph number, from a source row's ``paragraph_lines`` ('1;7;13;17')."""
    listed = row.get("paragraph_lines")
    if listed is None or pd.isna(listed):
        return {}
    lines = [int(part) for part in str(listed).split(";") if part.strip().isdigit()]
    return {line: i + 1 for i, line in enumerate(lines)}


def source_line(
    frame: pd.DataFrame | None, table_name: str, sources: pd.DataFrame | None = None
) -> str:
    """The source line printed under a chart: each source by its label and date, and the
    paragraphs its rows come from, as the brief's notes name them (no file, line or table:
    the HTML annex holds that trail).

    Parameters
    ----------
    frame
        The rows the chart draws; needs ``source_id`` and ``line`` columns.
    table_name
        The table the rows come from (kept for callers; not printed).
    sources
        The ``sources`` table: its ``label``, ``published`` and ``paragraph_lines``.

    Returns
    -------
    str
        For example ``"Source: Report of 2 March 2024, paras 2 and 4"``.
    """
    del table_name
    if frame is None or frame.empty or "source_id" not in frame.columns:
        return "Source: none"
    rows: dict[str, dict] = {}
    if sources is not None and not sources.empty:
        rows = {str(r["source_id"]): r for r in sources.to_dict("records")}
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
    for source_id, found in lines_by_source.items():
        row = rows.get(source_id, {})
        label = str(row.get("label") or source_id)
        published = row.get("published")
        if published is not None and not pd.isna(published):
            stamp = pd.Timestamp(published)
            label += f" of {stamp.day} {stamp:%B %Y}"
        paragraphs = _paragraphs(row)
        numbers = sorted({paragraphs.get(line) for line in found} - {None})
        if numbers and len(numbers) == len({paragraphs.get(line) for line in found}):
            word = "para." if len(numbers) == 1 else "paras"
            listed = [str(n) for n in numbers]
            text = listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"
            label += f", {word} {text}"
        parts.append(label)
    return f"Source: {'; '.join(parts)}"
