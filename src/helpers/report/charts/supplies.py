"""Defence supplies: :func:`defence_supplies` and its alt text.

A table-like dot chart, one row per item and one column per supplier, with the quantities
written out beside each row as the source states them (each row has its own unit); with many
rows, dots per category and supplier. One :class:`DefenceSuppliesPlotter` holds the rows and
options and computes the facts once (:func:`_supply_facts`); it draws
(:func:`defence_supplies`) and writes the alt text (:func:`describe_defence_supplies`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.transforms as mtransforms
import pandas as pd
from matplotlib.axes import Axes

from helpers.report import formatting as fmt
from helpers.report.charts.base import (
    TEXT_DARK,
    Plotter,
    actor_name,
    as_timestamp,
    axes_height,
    axes_inches,
    category_order,
    count_of,
    display_label,
    draw_footer,
    draw_nothing,
    draw_title,
    fit_lines,
    font_sizes,
    measure,
    plain_words,
    plot_texts_out_of_layout,
    records,
    resolve_ax,
    row_labels,
    source_line,
    when_phrase,
    xlabel_anchor,
)
from helpers.report.theme import LIGHT, MUTED, PARTNER_COLORS, color_for

__all__ = ["DefenceSuppliesPlotter", "defence_supplies", "describe_defence_supplies"]

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
    item, category = str(row["item"]), plain_words(row["category"])
    return item if category.lower() in item.lower() else f"{item} ({category})"


def _supply_when(row: dict) -> str | None:
    return when_phrase(
        as_timestamp(row.get("date_start")),
        as_timestamp(row.get("date_end")),
        str(row.get("date_precision") or "day"),
    )


def _supply_facts(
    supplies: pd.DataFrame | None, actor_names: Mapping[str, str] | None, max_rows: int
) -> _SupplyFacts:
    rows = records(supplies, "supplies", _SUPPLY_COLUMNS)
    counts = Counter(str(r["supplier_id"]) for r in rows if r["supplier_id"] is not None)
    suppliers = [s for s, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    # Items whose seller the source does not name get a column of their own, never another's.
    unnamed = any(r["supplier_id"] is None for r in rows)
    categories = [
        c
        for c in category_order(supplies, "category")
        if any(str(r["category"]) == c for r in rows)
    ]
    n = len(rows)
    if not rows:
        title = "No supplies recorded"
    else:
        top = suppliers[0] if suppliers else None
        k = counts[top] if top else 0
        name = actor_name(top, actor_names)
        if top is None:
            title = f"{count_of(n, 'item')} recorded, no supplier named"
        elif k == n and n > 1:
            title = f"{name} is named as the supplier of all {n} items recorded"
        else:
            title = f"{name} is named as the supplier of {k} of {count_of(n, 'item')} recorded"
        quantities = [q for q in (_quantity_of(r) for r in rows) if q]
        if not quantities:
            title += "; no quantity is stated"
        elif len(quantities) == 1:
            title += f"; only one quantity is stated: {quantities[0]}"
        else:
            title += f"; {len(quantities)} of {n} state a quantity"
    aggregated = n > max_rows
    note = f"Aggregated by category: {count_of(n, 'supply row')}." if aggregated else None
    columns = [*suppliers, ""] if unnamed else suppliers
    return _SupplyFacts(fmt.sentence_case(title), rows, columns, categories, aggregated, note)


class DefenceSuppliesPlotter(Plotter):
    """Defence supplies: the options held once, the facts computed once.

    Parameters are those of :func:`defence_supplies` (``ax`` aside). :meth:`plot` draws,
    :meth:`describe` is the alt text, both from :attr:`facts`.
    """

    def __init__(
        self,
        supplies: pd.DataFrame,
        *,
        actor_names: Mapping[str, str] | None = None,
        sources: pd.DataFrame | None = None,
        max_rows: int = 12,
    ) -> None:
        self.supplies = supplies
        self.actor_names = actor_names
        self.sources = sources
        self.max_rows = max_rows
        self.facts = _supply_facts(supplies, actor_names, max_rows)

    def plot(self, ax: Axes | None = None) -> Axes:
        ax = resolve_ax(ax)
        facts = self.facts
        supplies, actor_names, sources = self.supplies, self.actor_names, self.sources
        sizes = font_sizes()
        ax.set_xlabel("Supplier", fontsize=sizes["label"])
        ax.set_ylabel("Category" if facts.aggregated else "Item supplied", fontsize=sizes["label"])
        if not facts.rows:
            draw_nothing(ax, "Nothing recorded: the data has no supplies")
            anchor = xlabel_anchor(ax)
        else:
            footer = [facts.note or "", source_line(supplies, "supplies", sources)]
            height = axes_height(ax, facts.title, footer, x_axis=False) - 0.3  # headers on top
            _supply_grid(ax, facts, actor_names, height)
            anchor = None  # the headers are on top; hang the notes from the axes' bottom
        plot_texts_out_of_layout(ax)
        draw_title(ax, facts.title)
        lines = [("note", facts.note)] if facts.note else []
        lines.append(("source", source_line(supplies, "supplies", sources)))
        draw_footer(ax, lines, anchor)
        return ax

    def describe(self) -> str:
        """The alt text: the finding, then each item with its supplier and quantity."""
        facts = self.facts
        actor_names = self.actor_names
        if not facts.rows:
            return "Dot chart of supplies: nothing recorded; the data has no supplies."
        parts = [f"Dot chart of supplies by item and supplier. {facts.title}."]
        if facts.note:
            parts.append(facts.note)
        listed = []
        for r in facts.rows:
            supplier = actor_name(r["supplier_id"], actor_names) if r["supplier_id"] else ""
            text = f"{_item(r)} from {supplier or 'a supplier the source does not name'}"
            if r.get("recipient_id"):
                text += f" to {actor_name(r['recipient_id'], actor_names)}"
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
    ax = resolve_ax(ax)
    return DefenceSuppliesPlotter(
        supplies, actor_names=actor_names, sources=sources, max_rows=max_rows
    ).plot(ax)


def _supply_grid(
    ax: Axes, facts: _SupplyFacts, names: Mapping[str, str] | None, height_in: float
) -> None:
    """A small table: supplier columns of dots, then the quantities written out."""
    sizes = font_sizes()
    suppliers = facts.suppliers or [""]
    supplier_labels = [display_label(actor_name(s, names) or "not named") for s in suppliers]
    column = {s: i for i, s in enumerate(suppliers)}
    k = len(suppliers)
    if facts.aggregated:
        labels, texts = _category_dots(ax, facts, column)
    else:
        labels, texts = _item_dots(ax, facts, column)

    # Widths: each supplier column as wide as its name, the quantities take the rest.
    n = len(labels)
    labels = row_labels(ax, labels)
    widest_row_label = max(measure(t, sizes["annotation"]) for t in labels)
    axes_width, _ = axes_inches(ax, decoration=widest_row_label + 0.35)
    column_inches = max(0.9, max(measure(t, sizes["annotation"]) for t in supplier_labels) + 0.3)
    right = -0.5 + max(axes_width / column_inches, k + 3.0)
    text_x = k - 0.5 + 0.15
    # The written quantities wrap to the width left of them, on as many lines as a row holds.
    text_room = axes_width - (text_x + 0.5) * axes_width / (right + 0.5) - 0.1
    row_pitch = height_in / max(n + 0.5, 1)
    texts = [
        fit_lines(t, text_room, sizes["annotation"], row_pitch)
        if measure(t, sizes["annotation"]) > text_room
        else t
        for t in texts
    ]
    _draw_quantities(ax, texts, text_x)
    ax.hlines(range(n), -0.5, right, colors=LIGHT, linewidth=0.8, zorder=0)
    ax.set_xlim(-0.5, right)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_yticks(range(n), row_labels(ax, labels), parse_math=False)
    ax.set_xticks(range(k), supplier_labels, parse_math=False)
    ax.tick_params(axis="both", labelsize=sizes["annotation"], length=0)
    _supply_headers(ax, k, text_x)


def _category_dots(
    ax: Axes, facts: _SupplyFacts, column: Mapping[str, int]
) -> tuple[list[str], list[str]]:
    """Aggregated rows: a dot per category and supplier, its area the number of items.

    Returns the row labels and the text written beside each row, one per category.
    """
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in facts.rows:
        cells[(str(r["category"]), str(r["supplier_id"] or ""))].append(r)
    row_keys = facts.categories
    labels = [display_label(plain_words(c)) for c in row_keys]
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
            f"{count_of(len(members), 'item')}; "
            + (f"{stated} with a stated quantity" if stated else "quantity not stated")
        )
    return labels, texts


def _item_dots(
    ax: Axes, facts: _SupplyFacts, column: Mapping[str, int]
) -> tuple[list[str], list[str]]:
    """One row per item, by category: a dot under its supplier, filled if a quantity is stated.

    Returns the row labels and the text written beside each row (quantity, dates, purpose).
    """
    category_rank = {c: i for i, c in enumerate(facts.categories)}
    ordered = sorted(
        facts.rows,
        key=lambda r: (category_rank.get(str(r["category"]), 99), str(r["item"])),
    )
    labels = []
    texts = []
    for y, r in enumerate(ordered):
        labels.append(display_label(_item(r)))
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
    return labels, texts


def _draw_quantities(ax: Axes, texts: Sequence[str], x: float) -> None:
    """The quantities written out, one per row from ``x``; "not stated" in grey italics."""
    size = font_sizes()["annotation"]
    for y, text in enumerate(texts):
        muted = "not stated" in text and not text[0].isdigit()
        ax.text(
            x,
            y,
            text,
            va="center",
            ha="left",
            fontsize=size,
            style="italic" if muted else "normal",
            color=MUTED if muted else TEXT_DARK,
            parse_math=False,
            gid="quantity",
        )


def _supply_headers(ax: Axes, k: int, text_x: float) -> None:
    """Column headers along the top, as in a table.

    "Supplier" over the ``k`` columns of dots, then the heading of the written quantities
    (from ``text_x``) at the same height.
    """
    sizes = font_sizes()
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
    return DefenceSuppliesPlotter(
        supplies, actor_names=actor_names, sources=sources, max_rows=max_rows
    ).describe()
