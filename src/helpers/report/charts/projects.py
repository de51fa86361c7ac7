"""Project capacities: :func:`project_capacities` and its alt text.

One horizontal bar per project with a stated capacity, a hollow marker and "capacity not
stated" for the others; with many projects, one stacked bar per sector. One
:class:`ProjectCapacitiesPlotter` holds the rows and options and computes the facts once
(:func:`_project_facts`); it draws (:func:`project_capacities`) and writes the alt text
(:func:`describe_project_capacities`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from helpers.errors import DataValidationError, ParameterError
from helpers.report import formatting as fmt
from helpers.report.charts.base import (
    TEXT_DARK,
    Plotter,
    actor_name,
    axes_inches,
    category_order,
    count_of,
    display_label,
    draw_footer,
    draw_legend,
    draw_nothing,
    draw_title,
    font_sizes,
    measure,
    plain_words,
    plot_texts_out_of_layout,
    records,
    resolve_ax,
    row_labels,
    source_line,
    xlabel_anchor,
)
from helpers.report.theme import LIGHT, MUTED, PARTNER_COLORS, STATUS_COLORS, color_for

__all__ = ["ProjectCapacitiesPlotter", "describe_project_capacities", "project_capacities"]

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
    rows = records(projects, "projects", _PROJECT_COLUMNS)
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
        s for s in category_order(projects, "sector") if any(str(r["sector"]) == s for r in rows)
    ]
    n = len(rows)
    if not rows:
        title = "No projects recorded"
    elif not stated:
        title = f"None of the {count_of(n, 'project')} states a capacity"
    else:
        # A finding the source states row by row; never a total the chart would compute.
        largest = max(stated, key=lambda r: float(r["capacity"]))
        status = plain_words(largest["status"])
        title = (
            f"The largest stated capacity is the {largest['name']}'s "
            f"{fmt.capacity(largest['capacity'], unit)} ({status})"
        )
        if unstated:
            title += f"; {len(unstated):,} of {count_of(n, 'project')} state no capacity"
    aggregated = n > max_rows
    note = (
        f"Aggregated by sector: {count_of(n, 'project')} in {count_of(len(sectors), 'sector')}."
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
        return display_label(actor_name(key, names) or "no partner")
    return display_label(plain_words(key))


class ProjectCapacitiesPlotter(Plotter):
    """Project capacities: the options held once, the facts computed once.

    Parameters are those of :func:`project_capacities` (``ax`` aside). :meth:`plot` draws,
    :meth:`describe` is the alt text, both from :attr:`facts`.
    """

    def __init__(
        self,
        projects: pd.DataFrame,
        *,
        actor_names: Mapping[str, str] | None = None,
        sources: pd.DataFrame | None = None,
        hue: str = "partner",
        max_rows: int = 12,
    ) -> None:
        self.projects = projects
        self.actor_names = actor_names
        self.sources = sources
        self.hue = hue
        self.max_rows = max_rows
        self.facts = _project_facts(projects, actor_names, hue, max_rows)

    def plot(self, ax: Axes | None = None) -> Axes:
        ax = resolve_ax(ax)
        facts = self.facts
        projects, actor_names, sources = self.projects, self.actor_names, self.sources
        sizes = font_sizes()
        ax.set_xlabel(f"Capacity ({facts.unit})", fontsize=sizes["label"])
        ax.set_ylabel("Sector" if facts.aggregated else "Project", fontsize=sizes["label"])
        if not facts.rows:
            draw_nothing(ax, "Nothing recorded: the data has no projects")
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
        plot_texts_out_of_layout(ax)
        draw_title(ax, facts.title)
        lines = [("note", facts.note)] if facts.note else []
        lines.append(("source", source_line(projects, "projects", sources)))
        draw_footer(ax, lines, xlabel_anchor(ax))
        return ax

    def describe(self) -> str:
        """The alt text: the finding, then each project's capacity (or each sector's)."""
        facts = self.facts
        actor_names = self.actor_names
        if not facts.rows:
            return "Bar chart of project capacities: nothing recorded; the data has no projects."

        def one(r: dict) -> str:
            bits = [plain_words(r["sector"]), plain_words(r["status"])]
            partner = actor_name(r.get("partner_id"), actor_names)
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
                text = f"{display_label(plain_words(sector))}: {count_of(len(members), 'project')}"
                if stated:
                    text += (
                        f", {sum(stated):,.0f} {facts.unit} stated for "
                        f"{count_of(len(stated), 'of them', 'of them')}"
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
    ax = resolve_ax(ax)
    return ProjectCapacitiesPlotter(
        projects, actor_names=actor_names, sources=sources, hue=hue, max_rows=max_rows
    ).plot(ax)


def _capacity_xlim(ax: Axes, largest: float, note: str, legend_labels: Sequence[str]) -> None:
    """Leave room right of the longest bar for its note ("660 MW · under discussion")."""
    if largest <= 0:
        ax.set_xlim(0, 1.0)
        ax.set_xticks([0])
        return
    size = font_sizes()["annotation"]
    left = max((measure(t, size) for t in _tick_texts(ax)), default=0.3) + 0.35
    legend = max((measure(t, size) for t in legend_labels), default=0.0) + 0.6
    width, _ = axes_inches(ax, decoration=left + legend)
    share = min((measure(note, size) + 0.15) / width, 0.6)
    ax.set_xlim(0, largest / (1 - share))
    # The scale stops at the first tick past the longest bar; the rest is room for its note.
    ticks = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(0, largest)
    ticks = [t for t in ticks if t >= 0]
    end = next((t for t in ticks if t >= largest), ticks[-1])
    ax.set_xticks([t for t in ticks if t <= end])
    ax.spines["bottom"].set_bounds(0, end)
    ax.xaxis.label.set_x(end / 2 / ax.get_xlim()[1])  # centre the axis label on the scale


def _tick_texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels() if t.get_text()]


def _project_rows(ax: Axes, facts: _ProjectFacts, names: Mapping[str, str] | None) -> None:
    """One row per project: a bar for each stated capacity, then a hollow marker for the rest."""
    stated, unstated = _ordered_projects(facts)
    ordered = stated + unstated
    ax.set_yticks(
        range(len(ordered)),
        row_labels(ax, [display_label(r["name"]) for r in ordered]),
        parse_math=False,
    )
    keys = list(dict.fromkeys(_hue_key(r, facts.hue) for r in ordered))
    legend_labels = [_hue_label(k, facts.hue, names) for k in keys]
    if unstated:
        legend_labels.append("Capacity not stated")
    notes = {
        id(r): f"{float(r['capacity']):,.0f} {facts.unit} · {_aside(r, facts.hue, names)}"
        for r in stated
    }
    largest_row = max(stated, key=lambda r: float(r["capacity"]), default=None)
    _capacity_xlim(
        ax,
        float(largest_row["capacity"]) if largest_row else 0.0,
        notes[id(largest_row)] if largest_row else "",
        legend_labels,
    )
    _draw_stated(ax, facts, stated, notes)
    _draw_unstated(ax, facts, unstated, len(stated), names)
    ax.set_ylim(len(ordered) - 0.5, -0.6)
    handles: list = [Patch(facecolor=_hue_color(k, facts.hue)) for k in keys]
    if unstated:
        handles.append(Line2D([], [], marker="o", mfc="white", mec=MUTED, mew=1.5, ls="none"))
    _hue_legend(ax, facts.hue, handles, legend_labels)


def _ordered_projects(facts: _ProjectFacts) -> tuple[list[dict], list[dict]]:
    """The stated capacities, largest first; then the unstated, grouped as the bars' hues."""
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
    return stated, unstated


def _aside(row: dict, hue: str, names: Mapping[str, str] | None) -> str:
    """What the bar's colour does not show, written beside it: the status, or the partner."""
    if hue == "partner":
        return plain_words(row["status"])
    return actor_name(row.get("partner_id"), names) or "no partner"


def _draw_stated(
    ax: Axes, facts: _ProjectFacts, stated: Sequence[dict], notes: Mapping[int, str]
) -> None:
    """A bar per stated capacity, from the top row down, with its note at the end."""
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
            fontsize=font_sizes()["annotation"],
            color=TEXT_DARK,
            parse_math=False,
            gid="capacity-label",
        )


def _draw_unstated(
    ax: Axes,
    facts: _ProjectFacts,
    unstated: Sequence[dict],
    first_row: int,
    names: Mapping[str, str] | None,
) -> None:
    """A hollow marker at zero per project with no capacity, and the words that say so."""
    for y, r in enumerate(unstated, start=first_row):
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
            f"capacity not stated · {_aside(r, facts.hue, names)}",
            xy=(0, y),
            xytext=(7, 0),
            textcoords="offset points",
            va="center",
            fontsize=font_sizes()["annotation"],
            style="italic",
            color=MUTED,
            parse_math=False,
            gid="not-stated-label",
        )


def _hue_legend(ax: Axes, hue: str, handles: list, labels: list[str]) -> None:
    """The legend of the bars' colours, right of the axes, titled by what the colour shows."""
    draw_legend(
        ax,
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title=hue.capitalize(),
        alignment="left",
    )


def _project_sectors(ax: Axes, facts: _ProjectFacts, names: Mapping[str, str] | None) -> None:
    size = font_sizes()["annotation"]
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
        row_labels(ax, [display_label(plain_words(s)) for s in sectors]),
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
                f"{count_of(len(rows), 'project')}" + (f"; {missing} not stated" if missing else "")
            )
        else:
            notes[sector] = f"capacity not stated for {count_of(len(rows), 'project')}"
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
            style, color = "normal", TEXT_DARK
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
    handles: list = [Patch(facecolor=_hue_color(k, facts.hue)) for k in keys]
    _hue_legend(ax, facts.hue, handles, [_hue_label(k, facts.hue, names) for k in keys])


def describe_project_capacities(
    projects: pd.DataFrame,
    *,
    actor_names: Mapping[str, str] | None = None,
    sources: pd.DataFrame | None = None,
    hue: str = "partner",
    max_rows: int = 12,
) -> str:
    """Alt text for :func:`project_capacities`, from the same rows and arguments."""
    return ProjectCapacitiesPlotter(
        projects, actor_names=actor_names, sources=sources, hue=hue, max_rows=max_rows
    ).describe()
