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


def key_judgment_rows(selection: Selection, limit: int = 5) -> pd.DataFrame:
    """The assessments the key judgments state: the most telling first, at most ``limit``."""
    return _assessments(selection, selection.params.selected_themes).head(limit)


def key_judgments(selection: Selection, cites: Citations, *, limit: int = 5) -> Markup:
    """The source's main judgments about the partner, then the headline figures."""
    themes = selection.params.selected_themes
    most = selection.params.max_rows
    rows = key_judgment_rows(selection, limit)
    judgments = [
        {"statement": row["statement"], "cite": cites.marker("assessments", row)}
        for _, row in rows.iterrows()
    ]
    figures = []
    events = selection.events[selection.events["theme"].isin(themes)]
    events = events[events["value"].notna()]
    supplies = selection.supplies[selection.supplies["theme"].isin(themes)]
    supplies = supplies[supplies["quantity"].notna()]
    # At most max_rows figures from single rows, events first; the paragraph counts the rest.
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
            plants = fmt.count(len(group), "plant")
            if len(group) > most:  # a total over many rows cites the first of them
                plants += f"; the first {most:,} cited"
            figures.append(
                {
                    "label": f"Power capacity under discussion ({plants})",
                    "value": fmt.capacity(group["capacity"].sum(), unit),
                    "when": "",
                    "cite": cites.markers("projects", group.head(most)),
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
    places = dict(
        zip(selection.dataset.places["place_id"], selection.dataset.places["name"], strict=True)
    )
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
    lead = [
        {"statement": row["statement"], "cite": cites.marker("assessments", row)}
        for _, row in assessments.head(most).iterrows()
    ]
    events = selection.events[selection.events["theme"] == theme]
    items = _event_items(selection, cites, events, most)
    if not lead and not items:
        return Markup("")
    return render(
        "events",
        lead=lead,
        events=items,
        more_lead=fmt.count(len(assessments) - len(lead), "more assessment")
        if len(assessments) > len(lead)
        else "",
        more_events=fmt.count(len(events) - len(items), "more event")
        if len(events) > len(items)
        else "",
    )


def supplies(selection: Selection, cites: Citations, theme: str) -> Markup:
    """Who supplied what to whom; quantities, periods and purposes where the source gives them."""
    names = _names(selection)
    frame = selection.supplies[selection.supplies["theme"] == theme].head(selection.params.max_rows)
    groups, details = [], []
    for (supplier, recipient), group in frame.groupby(["supplier_id", "recipient_id"], sort=False):
        plain = group[group["quantity"].isna()]
        if not plain.empty:
            groups.append(
                {
                    "supplier": names.get(supplier, supplier),
                    "recipient": names.get(recipient, recipient),
                    "listing": fmt.join([str(item) for item in plain["item"]]),
                    "cite": cites.markers("supplies", plain),
                }
            )
        for _, row in group[group["quantity"].notna()].iterrows():
            when = event_when(row, selection) if row["date_precision"] != "undated" else ""
            details.append(
                {
                    "supplier": names.get(supplier, supplier),
                    "recipient": names.get(recipient, recipient),
                    "amount": fmt.quantity(
                        row["quantity"], row["quantity_unit"], row["quantity_qualifier"]
                    ),
                    "item": row["item"],
                    "when": when,
                    "purpose": "" if pd.isna(row["purpose"]) else str(row["purpose"]),
                    "cite": cites.marker("supplies", row),
                }
            )
    more = int((selection.supplies["theme"] == theme).sum()) - len(frame)
    if not groups and not details:
        return Markup("")
    return render(
        "supplies",
        groups=groups,
        details=details,
        more=fmt.count(more, "more supply", "more supplies") if more > 0 else "",
    )


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
    rows = [row | {"quote": quote(row["evidence"])} for row in cites.rows()]
    documents: dict[str, dict] = {}
    for row in rows:
        documents.setdefault(
            row["source_id"],
            {"title": row["source_title"], "published": row["published"], "id": row["source_id"]},
        )
    return render("sources", citations=rows, documents=list(documents.values()))
