"""The title block from what the brief holds: title, subtitle, time view and scope.

A title promises; the brief must keep the promise. So the default title and subtitle are
built from the rows the brief shows for its partner and themes, never from the notebook's
name alone: a defence brief on a partner the report records no defence ties with says so in
its title ("Myanmar's junta and China: the report records no defence cooperation"); the scope
line lists only the sections the brief shows; a brief that knows no source is a short notice
and its title block says so. An analyst's own title is kept as written, with a note when it
names a power the brief holds nothing on, or asks a question the brief does not answer.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers.params import BaseParams
from helpers.report import formatting as fmt
from helpers.report import grammar
from helpers.report.selection import Selection
from helpers.report.sourcing import Sourcing
from helpers.report.typography import curly

#: Section names as the scope line prints them, by theme.
SECTION_NAMES = {
    "defence": "defence",
    "energy": "energy and infrastructure",
    "economy": "trade",
    "regional": "the region",
}
#: The title's topic for a theme the partner has rows on.
TITLE_TOPICS = {
    "defence": "defence cooperation",
    "energy": "energy and infrastructure",
    "economy": "economic ties",
    "regional": "the region",
}
#: What a title says the report does not record, by theme.
NOTHING_ON = {
    "defence": "no defence cooperation",
    "energy": "no energy or infrastructure project",
    "economy": "no economic dealings",
    "regional": "no part in the region",
}
#: Event kinds as a defence subtitle lists them, in order.
DEFENCE_KINDS = {
    "visit": "visits",
    "agreement": "agreements",
    "exercise": "exercises",
}
#: What the subtitle calls each theme's section.
SUBTITLE_WORDS = {
    "defence": ("defence",),
    "energy": ("energy", "infrastructure"),
    "economy": ("trade",),
    "regional": ("the region",),
}
#: Project sectors that are energy; the others are infrastructure.
ENERGY_SECTORS = frozenset({"thermal_power", "nuclear_power", "refinery", "hydropower", "pipeline"})


#: The tables of reported facts (not the source's views): what a title may promise.
FACT_TABLES = ("events", "supplies", "relations")


def theme_rows(
    selection: Selection,
    theme: str,
    tables: tuple[str, ...] = ("events", "supplies", "assessments", "relations"),
) -> pd.DataFrame:
    """The ``focus`` of every row a theme's section stands on (events, supplies, projects,
    assessments and ties on that theme; only ``tables`` and projects)."""
    frames = [selection.on_themes(table, (theme,))[["focus"]] for table in tables]
    if theme == "energy":
        frames.append(selection.projects[["focus"]])
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames) if frames else pd.DataFrame({"focus": []})


def partner_themes(selection: Selection, themes: tuple[str, ...]) -> list[str]:
    """The themes among ``themes`` on which the brief reports a fact involving the partner
    (an event, supply, project or tie: the source's views alone promise no topic)."""
    return [
        t for t in themes if (theme_rows(selection, t, FACT_TABLES)["focus"] == "partner").any()
    ]


def _reporter(sourcing: Sourcing) -> str:
    if not sourcing.sources:
        return "no source"
    if sourcing.single:
        return f"one {sourcing.sources[0].kind_words}"
    return grammar.counted(len(sourcing.sources), "source")


def default_title(params: BaseParams, selection: Selection, shown: list[str]) -> str:
    """The title when the analyst gives none: the partner, and a finding when the brief holds
    nothing on the partner in the notebook's themes."""
    partner = params.partner
    if selection.sources.empty:
        return f"Myanmar's junta and {partner}"
    themes = params.selected_themes
    involved = partner_themes(selection, tuple(shown))
    if params.notebook == "brief":
        return f"Myanmar's junta and {partner}"
    if not involved:
        nothing = grammar.listing([NOTHING_ON[t] for t in themes])
        return f"Myanmar's junta and {partner}: the report records {nothing}"
    topics = [
        word
        for t in involved
        for word in (_energy_words(selection) if t == "energy" else [TITLE_TOPICS[t]])
    ]
    topic = grammar.listing(topics)
    return f"{fmt.sentence_case(topic)}: Myanmar's junta and {partner}"


def _energy_words(selection: Selection) -> list[str]:
    """['energy'], ['infrastructure'] or both, by the sectors of the partner's projects."""
    projects = selection.projects[selection.projects["focus"] == "partner"]
    sectors = set(projects["sector"].astype(str))
    words = [
        word
        for word, present in (
            ("energy", bool(sectors & ENERGY_SECTORS)),
            ("infrastructure", bool(sectors - ENERGY_SECTORS)),
        )
        if present
    ]
    return words or ["energy", "infrastructure"]


def subtitle(params: BaseParams, selection: Selection, sourcing: Sourcing, shown: list[str]) -> str:
    """What the brief covers and what it rests on, from its content."""
    if selection.sources.empty:
        return f"No source in the data had been published by {fmt.day(params.as_of)}"
    reporter = _reporter(sourcing)
    verb = "describes" if len(sourcing.sources) == 1 else "describe"
    if params.notebook == "defence":
        events = selection.on_themes("events", ("defence",))
        kinds = [word for kind, word in DEFENCE_KINDS.items() if (events["kind"] == kind).any()]
        if not selection.on_themes("supplies", ("defence",)).empty:
            kinds.append("supplies")
        conflict = events["kind"].isin(["escalation", "conflict"]).any()
        what = grammar.listing(kinds) or "Defence ties"
        tail = ", and the conflict behind them" if conflict and kinds else ""
        return f"{fmt.sentence_case(what)}{tail}, as {reporter} {verb} them"
    topics = [word for t in shown for word in SUBTITLE_WORDS[t]]
    if not topics:
        return f"What {reporter} {verb}"
    them = grammar.agree(len(topics), "it")
    return f"{fmt.sentence_case(grammar.listing(topics))}, as {reporter} {verb} {them}"


def _title_notes(params: BaseParams, selection: Selection, shown: list[str]) -> list[str]:
    """Notes on an analyst's own title: a power it names on which the brief holds nothing,
    and a question it asks that the brief does not answer."""
    title = params.title or ""
    notes = []
    names = selection.dataset.actor_names()
    actors = selection.dataset.actors
    states = actors.loc[actors["kind"] == "state", "actor_id"].astype(str)
    for actor_id in states:
        name = names.get(actor_id, actor_id)
        if actor_id == "myanmar" or name.lower() not in title.lower():
            continue
        held = any(
            (frame["powers"].map(lambda ids, a=actor_id: a in ids)).any()
            for frame in (
                selection.on_themes("events"),
                selection.on_themes("supplies"),
                selection.on_themes("assessments"),
                selection.on_themes("relations"),
            )
            if not frame.empty
        )
        if not held:
            notes.append(f"the title names {name}, on which this brief's sections hold nothing")
    if title.rstrip().endswith("?"):
        notes.append(
            "the title asks a question; the brief reports what its sources say and does not "
            "answer it"
        )
    return notes


def masthead(
    params: BaseParams, selection: Selection, sourcing: Sourcing, shown: list[str]
) -> dict[str, Any]:
    """The title block's values: title, subtitle, time view and scope, from the content.

    Parameters
    ----------
    params, selection, sourcing
        The brief's parameters, selection and evidence base.
    shown
        The themes whose sections the brief shows, in order.
    """
    base = params.masthead()
    scope = [["Focus", params.partner]]
    if selection.sources.empty:
        scope.append(["Sections", "none: no source known by then"])
    else:
        scope.append(
            ["Sections", ", ".join(SECTION_NAMES[t] for t in shown) or "none on these themes"]
        )
        scope.append(["Undated events", "shown" if params.include_undated else "left out"])
    for note in _title_notes(params, selection, shown):
        scope.append(["Note", fmt.sentence_case(note)])
    return {
        **base,
        "title": curly(params.title or default_title(params, selection, shown)),
        "subtitle": curly(subtitle(params, selection, sourcing, shown)),
        "scope": [[label, curly(value)] for label, value in scope],
    }
