"""Narrative from data: small dicts of facts, turned into sentences by Jinja templates.

Each public function takes a :class:`~helpers.selection.Selection` and the brief's
:class:`~helpers.citations.Citations` and returns escaped HTML (``markupsafe.Markup``). The
templates live in ``templates/narrative/``; autoescaping is on, so a value from the data is
always text, never markup. Every sentence that states a fact carries the citation markers of
the rows it came from.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from . import formatting as fmt
from . import paths
from .citations import Citations, quote
from .selection import Selection

#: Most citation markers one sentence carries for rows that state the same thing; the rest are
#: counted ("+12 rows"), so a brief stays as long on a large dataset as on a small one.
CITE_LIMIT = 3
#: Most single-row figures in the key judgments' "By the numbers".
KEY_FIGURES = 6
#: A sources list longer than this runs over more than a page; printed, it takes one column
#: (see print.css: WeasyPrint takes seconds to balance two columns of a hundred entries).
LONG_SOURCES_LIST = 40
#: Section headings by theme.
THEME_TITLES = {
    "defence": "Defence cooperation",
    "energy": "Energy and infrastructure projects",
    "economy": "Economic ties: trade, currencies and oil",
    "regional": "Regional implications",
}
#: What a "nothing recorded" passage says it has nothing on.
THEME_TOPICS = {
    "defence": "defence cooperation",
    "energy": "energy and infrastructure projects",
    "economy": "trade, currencies and oil",
    "regional": "regional implications",
}
#: Which assessments lead the key judgments, most telling first.
JUDGMENT_ORDER = (
    "aim",
    "largest_supplier",
    "dependence",
    "trend",
    "intent",
    "implication",
    "monitoring",
)
HELD_WORDS = {
    "not yet known": "not yet known by then",
    "about another partner": "about another partner",
    "other themes": "on other themes",
    "outside the window": "outside the window",
    "undated, excluded": "undated and excluded",
}
STATUS_WORDS = {
    "under_discussion": "under discussion",
    "agreed": "agreed",
    "under_construction": "under construction",
    "developed": "developed",
}


@cache
def environment() -> Environment:
    """The Jinja environment for narrative templates (autoescaped, strict about names)."""
    env = Environment(
        loader=FileSystemLoader(paths.TEMPLATES_DIR / "narrative"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render(template: str, **facts) -> Markup:
    """Render ``templates/narrative/<template>.html.j2`` with ``facts``."""
    return Markup(environment().get_template(f"{template}.html.j2").render(**facts).strip())


def _names(selection: Selection) -> dict[str, str]:
    return selection.dataset.actor_names()


def _known_by(selection: Selection) -> pd.Timestamp:
    return selection.dataset.source_date


def event_when(row: pd.Series, selection: Selection) -> str:
    """The date phrase of an event or supply row, keeping its precision."""
    return fmt.when(
        row["date_start"],
        row["date_end"],
        row["date_precision"],
        ongoing=bool(row.get("ongoing", False))
        if not pd.isna(row.get("ongoing", False))
        else False,
        known_by=_known_by(selection),
    )


def nothing(selection: Selection, topic: str) -> Markup:
    """A clear passage for an empty selection, saying what held rows back."""
    params = selection.params
    held: dict[str, int] = {}
    for reasons in selection.held_back.values():
        for reason, n in reasons.items():
            held[reason] = held.get(reason, 0) + n
    window = ""
    if params.start or params.end:
        start = fmt.day(params.start) if params.start else "the start of the record"
        window = f"{start} – {fmt.day(params.window_end)}"
    return render(
        "nothing",
        topic=topic,
        partner=params.partner,
        as_of=fmt.day(params.as_of),
        window=window,
        held=fmt.join(
            [f"{fmt.count(n, 'row')} {HELD_WORDS[reason]}" for reason, n in sorted(held.items())]
        ),
    )


def _assessments(selection: Selection, themes: tuple[str, ...]) -> pd.DataFrame:
    frame = selection.assessments
    frame = frame[frame["theme"].isin(themes)]
    order = {kind: i for i, kind in enumerate(JUDGMENT_ORDER)}
    return frame.assign(_order=frame["kind"].astype(str).map(order)).sort_values(
        ["_order", "line"], kind="stable"
    )


def _first_distinct(frame: pd.DataFrame, column: str, limit: int) -> pd.DataFrame:
    """The rows of ``frame`` whose ``column`` text is one of its first ``limit`` texts."""
    key = frame[column].astype(str).str.strip()
    return frame[key.isin(pd.unique(key)[:limit])]


def _distinct(frame: pd.DataFrame, column: str, limit: int) -> list[pd.DataFrame]:
    """The rows of ``frame`` grouped by ``column``'s text, first ``limit`` groups, in order."""
    kept = _first_distinct(frame, column, limit)
    return [group for _, group in kept.groupby(kept[column].astype(str).str.strip(), sort=False)]


def _statements(
    frame: pd.DataFrame, cites: Citations, limit: int
) -> tuple[list[dict], pd.DataFrame]:
    """The first ``limit`` distinct statements of ``frame`` (assessments), each citing its rows.

    Rows that make the same statement word for word (two sources saying one thing, or a
    large dataset) make one sentence with at most :data:`CITE_LIMIT` markers and a count of
    the rest. Returns the sentences and every row they stand for.
    """
    groups = _distinct(frame, "statement", limit)
    items = [
        {
            "statement": group["statement"].iloc[0],
            "cite": cites.markers("assessments", group, limit=CITE_LIMIT),
        }
        for group in groups
    ]
    return items, (pd.concat(groups) if groups else frame.head(0))


def key_judgment_rows(selection: Selection, limit: int = 5) -> pd.DataFrame:
    """The assessments the key judgments state: the most telling ``limit`` statements.

    Every row of a statement said word for word by several rows is included, so that no
    section repeats it.
    """
    return _first_distinct(
        _assessments(selection, selection.params.selected_themes), "statement", limit
    )


def key_judgments(selection: Selection, cites: Citations, *, limit: int = 5) -> Markup:
    """The source's main judgments about the partner, then the headline figures."""
    themes = selection.params.selected_themes
    most = min(selection.params.max_rows, KEY_FIGURES)
    judgments, _ = _statements(_assessments(selection, themes), cites, limit)
    figures = []
    events = selection.events[selection.events["theme"].isin(themes)]
    events = events[events["value"].notna()]
    supplies = selection.supplies[selection.supplies["theme"].isin(themes)]
    supplies = supplies[supplies["quantity"].notna()]
    # At most KEY_FIGURES figures from single rows, events first; the paragraph counts the rest.
    more = max(0, len(events) + len(supplies) - most)
    supplies = supplies.head(max(0, most - len(events)))
    for _, row in events.head(most).iterrows():
        figures.append(
            {
                "label": row["title"],
                "value": fmt.money(row["value"], row["currency"]),
                "when": event_when(row, selection),
                "cite": cites.marker("events", row),
            }
        )
    names = _names(selection)
    for _, row in supplies.iterrows():
        figures.append(
            {
                "label": f"{row['item']} from {names.get(row['supplier_id'], row['supplier_id'])}",
                "value": fmt.quantity(
                    row["quantity"], row["quantity_unit"], row["quantity_qualifier"]
                ),
                "when": event_when(row, selection),
                "cite": cites.marker("supplies", row),
            }
        )
    if "energy" in themes:
        projects = selection.projects[selection.projects["capacity"].notna()]
        for unit, group in projects.groupby("capacity_unit", observed=True):
            figures.append(
                {
                    "label": f"Power capacity under discussion ({fmt.count(len(group), 'plant')})",
                    "value": fmt.capacity(group["capacity"].sum(), unit),
                    "when": "",
                    # a total over many rows cites the first of them and counts the rest
                    "cite": cites.markers("projects", group, limit=CITE_LIMIT),
                }
            )
    return render(
        "key_judgments",
        judgments=judgments,
        figures=figures,
        more=fmt.count(more, "more figure") if more else "",
        nothing=nothing(selection, "the partner") if not judgments and not figures else "",
    )


def timeline_summary(selection: Selection) -> Markup:
    """One paragraph: how many dated and undated engagements, and over which span."""
    dated = selection.dated_events
    undated = selection.undated_events
    first = last = ""
    if not dated.empty:
        first_row = dated.loc[dated["date_start"].idxmin()]
        last_row = dated.loc[dated["shown_end"].idxmax()]
        first = (fmt.day if first_row["date_precision"] == "day" else fmt.month)(
            first_row["date_start"]
        )
        precise = last_row["date_precision"] == "day" or last_row["cut_at_as_of"]
        last = (fmt.day if precise else fmt.month)(last_row["shown_end"])
    return render(
        "timeline",
        dated=fmt.count(len(dated), "dated engagement") if len(dated) else "",
        first=first,
        last=last,
        undated=fmt.count(len(undated), "event") if len(undated) else "",
        undated_note=f"they are known only to precede {fmt.day(_known_by(selection))}",
        cut=bool(dated["cut_at_as_of"].any()) if not dated.empty else False,
        as_of=fmt.day(selection.params.as_of),
    )


def _event_items(
    selection: Selection, cites: Citations, frame: pd.DataFrame, limit: int
) -> list[dict]:
    places = selection.dataset.place_names()
    dated = frame[frame["date_start"].notna()].sort_values("date_start", kind="stable")
    ordered = pd.concat([dated, frame[frame["date_start"].isna()]])
    items = []
    for _, row in ordered.head(limit).iterrows():
        items.append(
            {
                "when": "Undated"
                if row["date_precision"] == "undated"
                else fmt.sentence_case(event_when(row, selection)),
                "title": row["title"],
                "value": fmt.money(row["value"], row["currency"]),
                "place": "",
                "cite": cites.marker("events", row),
            }
        )
        if not pd.isna(row["place_id"]) and places.get(row["place_id"], "") not in row["title"]:
            items[-1]["place"] = places.get(row["place_id"], "")
    return items


def theme_events(
    selection: Selection, cites: Citations, theme: str, *, stated: frozenset[str] = frozenset()
) -> Markup:
    """A theme's assessments as a lead paragraph, then its events in date order.

    ``stated`` holds assessment ids the brief has already said (in its key judgments); they
    are not repeated.
    """
    most = selection.params.max_rows
    assessments = _assessments(selection, (theme,))
    assessments = assessments[~assessments["assessment_id"].isin(stated)]
    lead, stated_here = _statements(assessments, cites, most)
    events = selection.events[selection.events["theme"] == theme]
    items = _event_items(selection, cites, events, most)
    if not lead and not items:
        return Markup("")
    return render(
        "events",
        lead=lead,
        events=items,
        more_lead=fmt.count(len(assessments) - len(stated_here), "more assessment")
        if len(assessments) > len(stated_here)
        else "",
        more_events=fmt.count(len(events) - len(items), "more event")
        if len(events) > len(items)
        else "",
    )


def supplies(selection: Selection, cites: Citations, theme: str) -> Markup:
    """Who supplied what to whom; quantities, periods and purposes where the source gives them.

    Items are named once however many rows name them, and rows that state the same quantity
    of the same item for the same purpose make one sentence that counts its records and
    cites the first :data:`CITE_LIMIT`. At most ``max_rows`` items and sentences are shown; the
    paragraph counts the rows left out.
    """
    names = _names(selection)
    most = selection.params.max_rows
    frame = selection.supplies[selection.supplies["theme"] == theme]
    groups, details, shown = [], [], 0
    for (supplier, recipient), pair in frame.groupby(["supplier_id", "recipient_id"], sort=False):
        plain = pair[pair["quantity"].isna()]
        if not plain.empty:
            items = _distinct(plain, "item", most)
            firsts = pd.concat([item.head(1) for item in items])
            shown += sum(len(item) for item in items)
            groups.append(
                {
                    "supplier": names.get(supplier, supplier),
                    "recipient": names.get(recipient, recipient),
                    "listing": fmt.join([str(item["item"].iloc[0]) for item in items]),
                    "cite": cites.markers(
                        "supplies",
                        pd.concat([firsts, pd.concat(items).drop(firsts.index)]),
                        limit=len(firsts) if len(firsts) > 1 else CITE_LIMIT,
                    ),
                }
            )
        stated = pair[pair["quantity"].notna()]
        # Rows alike: the same quantity as printed, of the same item, for the same purpose.
        alike = [
            f"{fmt.quantity(q, u, k)}|{item}|{'' if pd.isna(purpose) else purpose}"
            for q, u, k, item, purpose in zip(
                stated["quantity"],
                stated["quantity_unit"],
                stated["quantity_qualifier"],
                stated["item"],
                stated["purpose"],
                strict=True,
            )
        ]
        stated = stated.assign(_alike=pd.Series(alike, index=stated.index, dtype=object))
        for same in _distinct(stated, "_alike", max(0, most - len(details))):
            row = same.iloc[0]
            shown += len(same)
            details.append(
                {
                    "supplier": names.get(supplier, supplier),
                    "recipient": names.get(recipient, recipient),
                    "amount": fmt.quantity(
                        row["quantity"], row["quantity_unit"], row["quantity_qualifier"]
                    ),
                    "item": row["item"],
                    "when": _single_when(same, selection),
                    "records": _records_phrase(same),
                    "purpose": "" if pd.isna(row["purpose"]) else str(row["purpose"]),
                    "cite": cites.markers("supplies", same, limit=CITE_LIMIT),
                }
            )
    more = len(frame) - shown
    if not groups and not details:
        return Markup("")
    return render(
        "supplies",
        groups=groups,
        details=details,
        more=fmt.count(more, "more supply", "more supplies") if more > 0 else "",
    )


def _single_when(rows: pd.DataFrame, selection: Selection) -> str:
    """The date phrase of a lone dated row; '' for an undated one or for several rows."""
    row = rows.iloc[0]
    if len(rows) > 1 or row["date_precision"] == "undated":
        return ""
    return event_when(row, selection)


def _records_phrase(rows: pd.DataFrame) -> str:
    """For several rows alike: how many, and the months they span ('' for one row)."""
    if len(rows) == 1:
        return ""
    dated = rows[rows["date_start"].notna()]
    if dated.empty:
        return f"{fmt.count(len(rows), 'record')}, undated"
    first = fmt.month(dated["date_start"].min())
    last = fmt.month(dated["date_end"].fillna(dated["date_start"]).max())
    return f"{fmt.count(len(rows), 'record')}, {first if first == last else f'{first} – {last}'}"


def projects(selection: Selection, cites: Citations) -> Markup:
    """Projects by status and partner, with capacities where stated and their total."""
    names = _names(selection)
    groups = []
    for (partner, status), group in selection.projects.groupby(
        ["partner_id", "status"], sort=False, observed=True
    ):
        shown = group.head(selection.params.max_rows)
        items = [
            f"{row['name']} ({fmt.capacity(row['capacity'], row['capacity_unit'])})"
            if not pd.isna(row["capacity"])
            else str(row["name"])
            for _, row in shown.iterrows()
        ]
        if len(group) > len(shown):
            items.append(fmt.count(len(group) - len(shown), "more project"))
        with_capacity = group[group["capacity"].notna()]
        total = ""
        if len(with_capacity) > 1 and with_capacity["capacity_unit"].nunique() == 1:
            total = fmt.capacity(
                with_capacity["capacity"].sum(), with_capacity["capacity_unit"].iloc[0]
            )
        groups.append(
            {
                "count": fmt.count(len(group), "project"),
                "verb": "is" if len(group) == 1 else "are",
                "status": STATUS_WORDS.get(str(status), str(status)),
                "partner": names.get(partner, partner),
                "listing": fmt.join(items),
                "cite": cites.markers("projects", shown),
                "total": total,
                "with_capacity": fmt.count(len(with_capacity), "of them", "of them"),
                "without_capacity": fmt.count(len(group) - len(with_capacity), "other", "others"),
            }
        )
    return render("projects", groups=groups) if groups else Markup("")


def sources(cites: Citations) -> Markup:
    """The numbered sources list every marker points into, grouped under each source."""
    rows, first = [], {}
    for row in cites.rows():
        # A fragment already quoted (many rows can stand on one line) is quoted once; later
        # entries point back to it, so the list grows by a line, not a paragraph, per row.
        key = (row["source_id"], row["line"], row["evidence"])
        rows.append(row | {"quote": quote(row["evidence"]), "same_as": first.get(key)})
        first.setdefault(key, row["number"])
    documents: dict[str, dict] = {}
    for row in rows:
        documents.setdefault(
            row["source_id"],
            {"title": row["source_title"], "published": row["published"], "id": row["source_id"]},
        )
    return render(
        "sources", citations=rows, documents=list(documents.values()), long=LONG_SOURCES_LIST
    )
