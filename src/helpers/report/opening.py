"""The brief's opening: the bottom line, the source note and the key points with the source's
own figures; and the words for the time view (the window, the question about time the brief
answers).
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from helpers import paths
from helpers.report import formatting as fmt
from helpers.report.attribution import (
    assessment_item,
    distinct_statements,
    ordered_assessments,
    unstated,
)
from helpers.report.citations import Citations
from helpers.report.selection import Selection
from helpers.report.sourcing import CREDIBILITY, RELIABILITY, Sourcing
from helpers.report.words import (
    CITE_LIMIT,
    STATUS_WORDS,
    actor_name,
    actor_names,
    kind_words,
    lower_first,
    render,
    reporter,
    truthy,
    when,
)

#: Most key points, and most figures under "By the numbers".
KEY_POINTS = 5


KEY_FIGURES = 6


#: Short theme names for the key points' run-in heads.
THEME_HEADS = {
    "defence": "Defence",
    "energy": "Energy",
    "economy": "Trade",
    "regional": "Region",
}


def _stake(selection: Selection, exclude: set[str]) -> pd.Series | None:
    """The assessment that says most about the partner in hand: one naming it as subject or
    object first, on the brief's themes first."""
    frame = unstated(selection, selection.assessments, exclude)
    frame = frame[frame["focus"] == "partner"]
    if frame.empty:
        return None
    partner = selection.partner
    direct = frame["subject_id"].astype(object).eq(partner) | frame["object_id"].astype(object).eq(
        partner
    )
    on_theme = frame["theme"].isin(selection.params.selected_themes)
    for mask in (direct & on_theme, on_theme, direct, frame["focus"] == "partner"):
        if mask.any():
            return ordered_assessments(frame[mask]).iloc[0]
    return None


def opening_rows(selection: Selection) -> list[pd.Series]:
    """The thesis and the partner's stake: the rows the bottom line states."""
    rows = [row for _, row in selection.thesis.head(1).iterrows()]
    stake = _stake(selection, {str(r["assessment_id"]) for r in rows})
    if stake is not None:
        rows.append(stake)
    elif not rows:
        ordered = ordered_assessments(selection.on_themes("assessments"))
        rows = [row for _, row in ordered.head(1).iterrows()]
    return rows


def bottom_line(selection: Selection, cites: Citations, sourcing: Sourcing) -> Markup:
    """One or two sentences with the source's thesis and the partner's stake, then what the
    brief rests on, so that a reader of this paragraph alone is not misled."""
    view = selection.view
    later = selection.dataset.sources[
        ~selection.dataset.sources["source_id"].isin(selection.sources["source_id"])
    ]
    if selection.sources.empty:
        first = later.sort_values("published").iloc[0] if not later.empty else None
        return render(
            "bottom_line",
            items=[],
            none_known=True,
            known_by=fmt.day(view.known_by),
            later=None
            if first is None
            else {
                "kind": kind_words(first["kind"]),
                "published": fmt.day(first["published"]),
                "count": len(later),
            },
            partner=selection.params.partner,
            rests="",
            window="",
        )
    rows = opening_rows(selection)
    items = []
    for i, row in enumerate(rows):
        item = assessment_item(selection, cites, row)
        if i == 0:
            source = selection.sources[selection.sources["source_id"] == row["source_id"]].iloc[0]
            item["says"] = (
                f"According to {'a' if sourcing.single else 'one'} "
                f"{kind_words(source['kind'])} of {fmt.day(source['published'])}"
            )
            if not sourcing.single:
                item["says"] += f" ({source['label']})"
            item["says"] += ","
        else:
            item["says"] = "It also " + item["says"].split(" ", 2)[-1]
        items.append(item)
    return render(
        "bottom_line",
        items=items,
        none_known=False,
        known_by=fmt.day(view.known_by),
        later=None,
        partner=selection.params.partner,
        rests=_rests_sentence(sourcing),
        window=window_words(view) if view.windowed else "",
    )


def window_words(view) -> str:
    """The window of events as a phrase: 'from 5 November 2023 to 20 November 2023', 'up to
    15 October 2023', 'from 1 October 2023 on'."""
    if view.start and view.end < view.known_by:
        return f"from {fmt.day(view.start)} to {fmt.day(view.end)}"
    if view.start:
        return f"from {fmt.day(view.start)} on"
    return f"up to {fmt.day(view.end)}"


def _rests_sentence(sourcing: Sourcing) -> str:
    """'The brief rests on that report alone, ...: confidence is low.'"""
    if not sourcing.sources:
        return ""
    if sourcing.single:
        source = sourcing.sources[0]
        names = "" if source.names_sources else "names none of its own sources and which "
        return (
            f"The brief rests on that {source.kind_words} alone, which {names}"
            f"nothing else in the data confirms, so confidence in it is "
            f"{sourcing.confidence}."
        )
    return f"The brief rests on {sourcing.reason}, so confidence in it is {sourcing.confidence}."


def source_note(selection: Selection, sourcing: Sourcing) -> Markup:
    """What the brief rests on, in plain words, with the grades and the confidence they allow."""
    view = selection.view
    if not sourcing.sources:
        return render("source_note", sources=[], sourcing=sourcing, view=_view_words(selection))
    sources = [
        {
            "label": s.label,
            "kind": s.kind_words,
            "title": s.title,
            "published": fmt.day(s.published),
            "outlet": s.outlet or "",
            "secondary": s.origin == "secondary",
            "names_sources": s.names_sources,
            "grade": s.grade,
            "reliability": RELIABILITY.get(s.reliability, s.reliability),
            "credibility": CREDIBILITY.get(s.credibility, s.credibility),
            "note": s.grading_note or "",
        }
        for s in sourcing.sources
    ]
    del view
    return render(
        "source_note",
        sources=sources,
        sourcing=sourcing,
        count=fmt.count(len(sources), "source"),
        independent=fmt.number_word(sourcing.independent),
        view=_view_words(selection),
        unchecked=unchecked_texts(selection, {s.source_id for s in sourcing.sources}),
    )


def unchecked_texts(selection: Selection, source_ids: set[str]) -> list[str]:
    """The source texts (file names) the brief cites but that cannot be found on this machine
    (:func:`helpers.paths.find_source_file`): its quotations were not checked against them."""
    rows = selection.sources[selection.sources["source_id"].astype(str).isin(source_ids)]
    return sorted(
        str(name)
        for name in rows["file"]
        if isinstance(name, str) and name and paths.find_source_file(name) is None
    )


def _view_words(selection: Selection) -> str:
    """Which question about time the brief answers, as a sentence."""
    view = selection.view
    known = fmt.day(view.known_by)
    if view.hindsight:
        first = f"from {fmt.day(view.start)} " if view.start else ""
        return (
            f"Hindsight view: the events {first}up to {fmt.day(view.end)}, as sources published "
            f"by {known} describe them. Nobody could have known this on {fmt.day(view.end)}."
        )
    if view.start:
        return (
            f"The events from {fmt.day(view.start)} to {fmt.day(view.end)}, as known from "
            f"sources published by {known}."
        )
    return f"What was known by {known}: only sources published by then count."


def key_points(
    selection: Selection,
    cites: Citations,
    *,
    stated: set[str],
    limit: int | None = None,
    figured: set[tuple[str, str]] | None = None,
) -> tuple[Markup, set[str]]:
    """Key points, one sentence each: the source's main judgment on each theme, attributed
    (at least three, at most :data:`KEY_POINTS`; by default one per theme), then the figures
    it gives. Returns the HTML and the assessments it stated."""
    themes = selection.params.selected_themes
    if limit is None:
        limit = min(KEY_POINTS, max(3, len(themes)))
    frame = unstated(selection, selection.on_themes("assessments"), stated)
    by_theme = {
        t: distinct_statements(ordered_assessments(frame[frame["theme"] == t])) for t in themes
    }
    # Theme by theme, the best first; then the next best of each, until the limit.
    picked: list[tuple[str, pd.DataFrame]] = []
    depth = 0
    while len(picked) < limit and any(len(groups) > depth for groups in by_theme.values()):
        for theme in themes:
            if len(by_theme[theme]) > depth and len(picked) < limit:
                picked.append((theme, by_theme[theme][depth]))
        depth += 1
    points = []
    for i, (theme, group) in enumerate(picked):
        item = assessment_item(selection, cites, group.iloc[0])
        # Attributed after the statement, in turn two ways, so that no list reads as one
        # refrain; a view the source argues says so.
        if item["says"].endswith("says") and i % 2:
            item["says"] = f"according to {reporter(selection, str(group.iloc[0]['source_id']))}"
        item["cite"] = cites.markers("assessments", group, limit=CITE_LIMIT)
        # A run-in head tells themes apart; a one-theme brief needs none.
        head = THEME_HEADS.get(theme, theme.title()) if len(themes) > 1 else ""
        points.append(item | {"head": head})
    said = {str(i) for _, g in picked for i in g["assessment_id"]}
    figures, more = _figures(selection, cites)
    if figured is not None:
        figured |= {f["key"] for f in figures}
    html = render(
        "key_points",
        points=points,
        figures=figures,
        more=fmt.count(more, "more figure") if more else "",
    )
    return html, said


def _figures(selection: Selection, cites: Citations) -> tuple[list[dict], int]:
    """The source's own figures (never a total the brief computes), the partner's first."""
    names = actor_names(selection)
    events = selection.on_themes("events")
    events = events[events["value"].notna()]
    supplies = selection.on_themes("supplies")
    supplies = supplies[supplies["quantity"].notna()]
    projects = selection.on_themes("projects")
    projects = projects[projects["capacity"].notna()]
    figures: list[dict] = []
    for row in events.head(KEY_FIGURES).to_dict("records"):
        figures.append(
            {
                "focus": row["focus"],
                "value": fmt.money(row["value"], row["currency"]),
                "label": lower_first(str(row["title"]), names.values()),
                "when": when(row, selection),
                "cite": cites.marker("events", row),
                "key": ("events", str(row["event_id"])),
            }
        )
    for row in supplies.head(KEY_FIGURES).to_dict("records"):
        supplier = actor_name(selection, row["supplier_id"])
        recipient = actor_name(selection, row["recipient_id"])
        how = (
            f"procured by {recipient}" + (f" from {supplier}" if supplier else "")
            if row["modality"] == "procurement"
            else f"supplied by {supplier} to {recipient}"
        )
        figures.append(
            {
                "focus": row["focus"],
                "value": fmt.quantity(
                    row["quantity"], row["quantity_unit"], row["quantity_qualifier"]
                ),
                "label": f"of {row['item']} {how}",
                "when": when(row, selection),
                "cite": cites.marker("supplies", row),
                "key": ("supplies", str(row["supply_id"])),
            }
        )
    for row in projects.head(KEY_FIGURES).to_dict("records"):
        status = STATUS_WORDS.get(str(row["status"]), str(row["status"]))
        figures.append(
            {
                "focus": row["focus"],
                "value": fmt.capacity(row["capacity"], row["capacity_unit"]),
                "label": f"{row['name']}, {status} with {actor_name(selection, row['partner_id'])}",
                "when": "date unknown" if truthy(row.get("date_unknown")) else "",
                "cite": cites.marker("projects", row),
                "key": ("projects", str(row["project_id"])),
            }
        )
    order = {"partner": 0, "other": 1, "home": 2}
    figures.sort(key=lambda f: order.get(f["focus"], 3))
    total = len(events) + len(supplies) + len(projects)
    return figures[:KEY_FIGURES], max(0, total - KEY_FIGURES)
