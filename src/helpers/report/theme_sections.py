"""A theme's section: the source's lead judgment, the events, the supplies and the projects,
each worded no stronger than its row (``modality``, ``status``, an open list "including").
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from helpers.report import formatting as fmt
from helpers.report import grammar
from helpers.report.attribution import (
    STATUS_STRENGTH,
    assessment_item,
    distinct_statements,
    ordered_assessments,
    unstated,
)
from helpers.report.citations import Citations
from helpers.report.selection import Selection, emphasis_order
from helpers.report.words import (
    CITE_LIMIT,
    STATUS_WORDS,
    actor_name,
    date_head,
    render,
    reporter,
    text_of,
    truthy,
    when,
)

#: What a section says when the source has nothing on the partner in its theme.
NO_PARTNER = {
    "defence": "no defence cooperation between Myanmar and {partner}",
    "energy": "no energy or infrastructure project with {partner}",
    "economy": "no economic dealings between Myanmar and {partner}",
    "regional": "nothing on {partner}'s part in the region",
}


def theme_section(
    selection: Selection,
    cites: Citations,
    theme: str,
    *,
    stated: set[str],
    figured: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[Markup, set[str]]:
    """A theme's section: its bottom line (the source's lead judgment, attributed), the
    events, the supplies or projects, then what else the source judges. Notes are numbered in
    that reading order. An event whose figure the key figures give (``figured``) is listed
    without it: a figure is told once. Returns the HTML and the assessments it stated."""
    most = selection.params.max_rows
    assessments = unstated(selection, selection.on_themes("assessments", (theme,)), stated)
    groups = distinct_statements(ordered_assessments(assessments))
    events = selection.on_themes("events", (theme,))
    supplies = selection.on_themes("supplies", (theme,))
    projects = selection.on_themes("projects") if theme == "energy" else selection.projects.head(0)
    if not groups and events.empty and supplies.empty and projects.empty:
        return Markup(""), set()
    lead = _lead_items(selection, cites, groups[:1])
    said = {str(i) for g in groups[:most] for i in g["assessment_id"]}
    # Said of the partner anywhere on this theme (the thesis and key points included)?
    every = (
        events,
        supplies,
        projects,
        selection.on_themes("assessments", (theme,)),
        selection.on_themes("relations", (theme,)),
    )
    rows = pd.concat([f[["focus"]] for f in every])
    opening = ""
    if not rows.empty and not (rows["focus"] == "partner").any():
        opening = _no_partner_sentence(selection, theme, every)
    # An event a fact sentence tells in full (the talks behind the projects, a procurement
    # behind a supply) is cited there, not listed again.
    told = told_events(selection)
    events = events[~events["event_id"].astype(str).isin(told)]
    items = _event_items(selection, cites, events, most, figured)
    facts = supplies_text(selection, cites, supplies) + projects_text(selection, cites, projects)
    also = _lead_items(selection, cites, groups[1:most], first=False)
    return (
        render(
            "section",
            opening=opening,
            lead=lead,
            also=also,
            events=items,
            more_events=fmt.count(len(events) - len(items), "more event")
            if len(events) > len(items)
            else "",
            facts=facts,
        ),
        said,
    )


def _lead_items(
    selection: Selection, cites: Citations, groups: list[pd.DataFrame], *, first: bool = True
) -> list[dict]:
    """Assessments as a section states them: the first attributed in full, the next ones
    going on from it ('The report also says', 'It says')."""
    items = []
    for group in groups:
        item = assessment_item(selection, cites, group.iloc[0])
        item["cite"] = cites.markers("assessments", group, limit=CITE_LIMIT)
        if items or not first:
            subject, verb = item["says"].rsplit(" ", 1)
            item["says"] = f"{subject} also {verb}" if not items else f"It {verb}"
        items.append(item)
    return items


def told_events(selection: Selection) -> set[str]:
    """Events that the brief's supply and project sentences tell (their related events)."""
    frames = (selection.on_themes("supplies"), selection.on_themes("projects"))
    return {str(e) for frame in frames for e in frame["related_event_id"].dropna()}


def related_events(selection: Selection, rows: pd.DataFrame) -> pd.DataFrame:
    """The events ``rows`` hang on (``related_event_id``), for their citations."""
    ids = set(rows["related_event_id"].dropna().astype(str))
    return selection.events[selection.events["event_id"].astype(str).isin(ids)]


def _no_partner_sentence(selection: Selection, theme: str, frames) -> str:
    powers: list[str] = []
    for frame in frames:
        for ids in frame["powers"]:
            for actor_id in sorted(ids):
                name = actor_name(selection, actor_id)
                if name not in powers:
                    powers.append(name)
    about = fmt.join(powers) if powers else "the conflict inside Myanmar"
    nothing = NO_PARTNER[theme].format(partner=selection.params.partner)
    return f"The report records {nothing}. What it says here concerns {about}."


def _event_items(
    selection: Selection,
    cites: Citations,
    frame: pd.DataFrame,
    limit: int,
    figured: frozenset[tuple[str, str]] = frozenset(),
) -> list[dict]:
    places = selection.dataset.place_names()
    dated = frame[frame["date_start"].notna()].sort_values("date_start", kind="stable")
    ordered = pd.concat([dated, frame[frame["date_start"].isna()]])
    items = []
    for row in ordered.head(limit).to_dict("records"):
        place = places.get(str(row["place_id"]), "") if not pd.isna(row["place_id"]) else ""
        items.append(
            {
                "when": date_head(row, selection),
                "title": row["title"],
                "value": ""
                if ("events", str(row["event_id"])) in figured
                else fmt.money(row["value"], row["currency"]),
                "place": place if place and place not in str(row["title"]) else "",
                "cite": cites.marker("events", row),
            }
        )
    return items


def supplies_text(selection: Selection, cites: Citations, frame: pd.DataFrame) -> Markup:
    """What was supplied or procured, worded by each row's modality.

    Rows that name items in an open list ("including") say "include"; a procurement names a
    seller only where the row does. Rows alike (same item, quantity, purpose, modality) make
    one sentence that counts its records and cites the first :data:`CITE_LIMIT`.
    """
    if frame.empty:
        return Markup("")
    most = selection.params.max_rows
    sentences, shown = [], 0
    # Rows alike: same parties, modality, list, quantity as printed, purpose (and item, when a
    # quantity is stated). Built column by column: 4,000 rows at 1000x.
    column = {name: [text_of(v) for v in frame[name].astype(object)] for name in frame.columns}
    amounts = [
        fmt.quantity(q, u, k)
        for q, u, k in zip(
            frame["quantity"].astype(object),
            frame["quantity_unit"].astype(object),
            frame["quantity_qualifier"].astype(object),
            strict=True,
        )
    ]
    keys = [
        "|".join(parts)
        for parts in zip(
            column["supplier_id"],
            column["recipient_id"],
            column["modality"],
            column["including"],
            amounts,
            column["purpose"],
            [item if amount else "" for item, amount in zip(column["item"], amounts, strict=True)],
            strict=True,
        )
    ]
    frame = frame.assign(_key=keys)
    for _, group in frame.groupby("_key", sort=False):
        if len(sentences) >= most:
            break
        items = list(dict.fromkeys(str(i) for i in group["item"]))
        row = group.iloc[0]
        firsts = group.drop_duplicates("item")
        rest = group.drop(firsts.index)
        shown += len(group)
        ordered = pd.concat([firsts, rest])
        limit = max(len(firsts.head(most)), CITE_LIMIT) if len(firsts) > 1 else CITE_LIMIT
        cite = cites.sup(
            cites.numbers("supplies", ordered, limit=limit)
            + cites.numbers("events", related_events(selection, ordered.head(limit))),
            alike=max(0, len(ordered) - limit),
        )
        sentences.append(
            {
                # The first sentence names who says it; the next ones go on from it.
                "says": "It also says"
                if sentences
                else f"According to {reporter(selection, str(row['source_id']))},",
                "modality": str(row["modality"]),
                "including": truthy(row["including"]),
                "supplier": actor_name(selection, row["supplier_id"]),
                "recipient": actor_name(selection, row["recipient_id"]),
                "listing": fmt.join(items[:most]),
                "more_items": fmt.count(len(items) - most, "more item")
                if len(items) > most
                else "",
                "amount": fmt.quantity(
                    row["quantity"], row["quantity_unit"], row["quantity_qualifier"]
                ),
                "when": _supply_when(group, selection),
                "records": _records_phrase(group),
                "purpose": text_of(row["purpose"]),
                "date_unknown": truthy(row.get("date_unknown")),
                "cite": cite,
            }
        )
    more = len(frame) - shown
    return render(
        "supplies",
        sentences=sentences,
        more=fmt.count(more, "more supply", "more supplies") if more > 0 else "",
    )


def _supply_when(rows: pd.DataFrame, selection: Selection) -> str:
    """The date phrase of a lone dated row; '' for an undated one or for several rows."""
    row = rows.iloc[0]
    if len(rows) > 1 or pd.isna(row["date_start"]):
        return ""
    return when(row, selection)


def _records_phrase(rows: pd.DataFrame) -> str:
    """For several rows alike: how many, and the months they span ('' for one row)."""
    if len(rows) == 1 or rows["item"].nunique() > 1:
        return ""
    dated = rows[rows["date_start"].notna()]
    if dated.empty:
        return f"{fmt.count(len(rows), 'record')}, undated"
    first = fmt.month(dated["date_start"].min())
    last = fmt.month(dated["date_end"].fillna(dated["date_start"]).max())
    return f"{fmt.count(len(rows), 'record')}, {first if first == last else f'{first} – {last}'}"


def projects_text(selection: Selection, cites: Citations, frame: pd.DataFrame) -> Markup:
    """Projects by partner and status, worded by status; an open list says 'including' and
    gives no count; a total of capacities is marked as the brief's own sum."""
    if frame.empty:
        return Markup("")
    most = selection.params.max_rows
    groups = []
    for (partner, status), group in emphasis_order(frame).groupby(
        ["partner_id", "status"], sort=False, observed=True
    ):
        shown = group.head(most)
        items = [
            f"a {fmt.capacity(row['capacity'], row['capacity_unit'])} {row['name']}"
            if not pd.isna(row["capacity"])
            else _article(str(row["name"]))
            for row in shown.to_dict("records")
        ]
        if len(group) > len(shown):
            items.append(fmt.count(len(group) - len(shown), "more project"))
        with_capacity = group[group["capacity"].notna()]
        total = ""
        # A sum only of things the report says exist: never of plants under discussion.
        exists = STATUS_STRENGTH.get(str(status), 0) >= STATUS_STRENGTH["under_construction"]
        if exists and len(with_capacity) > 1 and with_capacity["capacity_unit"].nunique() == 1:
            total = fmt.capacity(
                with_capacity["capacity"].sum(), with_capacity["capacity_unit"].iloc[0]
            )
        talks = selection.events[
            selection.events["event_id"].isin(set(group["related_event_id"].dropna()))
        ]
        place = ""
        if not talks.empty and not pd.isna(talks["place_id"].iloc[0]):
            place = selection.dataset.place_names().get(str(talks["place_id"].iloc[0]), "")
        groups.append(
            {
                "says": fmt.sentence_case(reporter(selection, str(group["source_id"].iloc[0]))),
                "reporter": reporter(selection, str(group["source_id"].iloc[0])),
                "status": str(status),
                "status_words": STATUS_WORDS.get(str(status), str(status).replace("_", " ")),
                "including": bool(group["including"].fillna(False).astype(bool).any()),
                "count": fmt.count(len(group), "project"),
                "partner": actor_name(selection, partner),
                "host": actor_name(selection, group["host_id"].iloc[0]),
                "place": place,
                "listing": fmt.join(items),
                "cite": cites.sup(
                    cites.numbers("projects", shown)
                    + cites.numbers("events", related_events(selection, shown))
                ),
                "total": total,
                "with_capacity": fmt.count(len(with_capacity), "plant"),
                "date_unknown": bool(group["date_unknown"].fillna(False).astype(bool).all()),
                "them": grammar.agree(len(group), "it"),
                "they": "it" if len(group) == 1 else "they",
                "any_of_them": "it" if len(group) == 1 else "any of them",
            }
        )
    return render("projects", groups=groups)


def _article(name: str) -> str:
    """'a deep-sea port', 'an oil refinery'; a plural ('special economic zones (SEZs)') or a
    name ('Sittwe port') takes none."""
    head = name.split(" (", 1)[0]
    if head[:1].isupper():
        return f"the {name}"
    if head.endswith("s"):
        return name
    return f"{'an' if head[:1] in 'aeiou' else 'a'} {name}"
