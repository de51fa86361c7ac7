"""Gaps and limits: what the source does not say, and the omission ledger, what this brief
leaves out and why (:attr:`helpers.report.selection.Selection.left_out`, worded and counted by
kind, each dropped row once).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from markupsafe import Markup

from helpers.report import formatting as fmt
from helpers.report import grammar
from helpers.report.selection import Selection
from helpers.report.sourcing import Sourcing
from helpers.report.words import (
    THEME_TOPICS,
    actor_name,
    actor_names,
    lower_first,
    render,
    text_of,
    when,
)


def gaps(selection: Selection, sourcing: Sourcing) -> Markup:
    """What the source does not say, and what this brief leaves out, in a reader's words."""
    names = actor_names(selection)
    events = selection.on_themes("events")
    silent = _silences(selection, names, events)
    left = _left_out_sentences(selection, names, events)
    watch = (
        [text_of(w) for w in selection.judgments["watch"] if text_of(w)]
        if not selection.judgments.empty
        else []
    )
    if selection.sources.empty:
        # A notice: what the cut leaves unknown, counted, and nothing else.
        silent, watch = [], []
    if not silent and not left and not watch:
        return Markup("")
    return render("gaps", silent=silent, left=left, watch=watch)


def _silences(selection: Selection, names: dict[str, str], events: pd.DataFrame) -> list[str]:
    """What the source does not say about the rows on the brief's themes.

    What the sources are (secondary, unnamed, unconfirmed) the source note says already.
    """
    supplies = selection.on_themes("supplies")
    projects = selection.on_themes("projects")
    silent: list[str] = []
    undated = events[events["date_start"].isna()]
    if not events.empty and not undated.empty:
        if len(undated) == len(events):
            silent.append(
                "It does not date the one event in this brief."
                if len(events) == 1
                else f"It dates {grammar.of_all(0, len(events), 'event')} in this brief."
            )
        else:
            which = grammar.of_all(len(undated), len(events), "event")
            silent.append(f"It gives no date for {which} in this brief.")
    no_quantity = supplies[supplies["quantity"].isna()]
    if not no_quantity.empty:
        items = list(dict.fromkeys(no_quantity["item"].astype(str)))
        silent.append(f"It gives no quantity for {fmt.join(items[:6], 'or')}.")
    no_supplier = supplies[supplies["supplier_id"].isna()]
    if not no_supplier.empty:
        items = list(dict.fromkeys(no_supplier["item"].astype(str)))
        silent.append(f"It does not say who supplied the {fmt.join(items[:6])}.")
    silent += _missing_capacities(selection, projects)
    open_lists = [
        noun
        for noun, frame in (("projects", projects), ("supplies", supplies))
        if not frame.empty and frame["including"].fillna(False).astype(bool).any()
    ]
    if open_lists:
        words = {"projects": "the projects discussed", "supplies": "the military hardware"}
        silent.append(
            f"It names {fmt.join([words[n] for n in open_lists])} as examples ('including'): "
            "there may be more."
        )
    unnamed = events[
        events["counterpart_id"].isna() & events["kind"].isin(["exercise", "agreement", "talks"])
    ]
    for row in unnamed.head(3).to_dict("records"):
        title = lower_first(str(row["title"]), names.values())
        silent.append(f"It does not name the other party to the {title}.")
    return silent


def _missing_capacities(selection: Selection, projects: pd.DataFrame) -> list[str]:
    """Capacities missing from a list that gives some: the reader may assume the rest."""
    sentences = []
    for _, group in projects.groupby(["partner_id", "status"], sort=False, observed=True):
        stated, missing = group[group["capacity"].notna()], group[group["capacity"].isna()]
        if not stated.empty and not missing.empty:
            items = list(dict.fromkeys(missing["name"].astype(str)))
            sentences.append(
                f"It gives capacities for {fmt.count(len(stated), 'project')} discussed with "
                f"{actor_name(selection, group['partner_id'].iloc[0])} but none for the "
                f"{fmt.join(items[:6], 'or')}."
            )
    return sentences


#: How "What this brief leaves out" words each reason the selection sets rows aside for.
LEFT_OUT_LEADS = {
    "published after the cut": "Published after {known_by}, so unknown to this brief",
    "outside the window": "Left out as dated outside the window",
    "possibly outside the window": (
        "Left out as possibly outside the window, dated only to a month or period that runs "
        "past its edge"
    ),
    "undated, left out": "Left out because the report does not date them and this brief "
    "shows only dated items",
}


#: The kinds of row a view can drop, in the order the ledger names them, with their nouns.
LEDGER_KINDS = {
    "events": "event",
    "supplies": "supply",
    "projects": "project",
    "relations": "tie between actors",
    "places": "place",
    "assessments": "judgment of the report",
}


#: The topic of each table without a theme column.
TABLE_THEMES = {"projects": "energy"}


def on_brief_themes(frame: pd.DataFrame, table: str, themes: Iterable[str]) -> pd.DataFrame:
    """The rows of ``frame`` on the brief's themes (places belong to every theme, and a
    source's thesis to every brief)."""
    themes = set(themes)
    if "theme" in frame:
        keep = frame["theme"].isin(themes)
        if table == "assessments" and "thesis" in frame:
            keep |= frame["thesis"].fillna(False).astype(bool)
        return frame[keep]
    if table in TABLE_THEMES:
        return frame if TABLE_THEMES[table] in themes else frame.head(0)
    return frame


def omissions(selection: Selection) -> list[dict]:
    """The omission ledger as the brief prints it: for each reason a view drops rows, how many
    of each kind (events, supplies, projects, ties, places) on the brief's themes, and the
    events by name. Every view that drops something fills it."""
    themes = selection.params.selected_themes
    names = actor_names(selection)
    ledger = []
    for reason, lead in LEFT_OUT_LEADS.items():
        tables = selection.left_out.get(reason, {})
        counts = {}
        for table, noun in LEDGER_KINDS.items():
            rows = tables.get(table)
            if rows is not None:
                counts[noun] = len(on_brief_themes(rows, table, themes))
        if not any(counts.values()):
            continue
        events = on_brief_themes(tables.get("events", pd.DataFrame()), "events", themes)
        # By name only those that may yet fall inside the window; the others are counted
        # (a brief names nothing outside its view).
        if reason != "possibly outside the window":
            events = events.head(0)
        listed = [
            f"{lower_first(str(r['title']), names.values())} ({_plain_when(r, selection)})"
            for r in events.head(3).to_dict("records")
        ]
        if len(events) > 3:
            listed.append(f"and {fmt.number_word(len(events) - 3)} more")
        ledger.append(
            {
                "reason": reason,
                "lead": lead.format(known_by=fmt.day(selection.view.known_by)),
                "counts": counts,
                "kinds": grammar.kinds(counts),
                "events": listed,
            }
        )
    return ledger


def _plain_when(row: dict, selection: Selection) -> str:
    """A set-aside row's own date phrase ('October 2023', 'undated'), never 'date unknown'."""
    return when({**row, "date_unknown": False}, selection)


def _left_out_sentences(
    selection: Selection, names: dict[str, str], events: pd.DataFrame
) -> list[str]:
    """What this brief leaves out of what the report says, and why: the omission ledger
    (:func:`omissions`), the judgments that go with what it drops, the undated items a window
    keeps, and the themes it does not cover."""
    themes = selection.params.selected_themes
    left: list[str] = []
    for entry in omissions(selection):
        named = f" — {'; '.join(entry['events'])}" if entry["events"] else ""
        left.append(f"{entry['lead']}: {entry['kinds']}{named}.")
    judged = selection.left_out.get("evidence not in the brief", {})
    gone = on_brief_themes(judged.get("assessments", pd.DataFrame()), "assessments", themes)
    analyst = judged.get("judgments", pd.DataFrame())
    parts = [
        grammar.counted(len(gone), "judgment") + " of the report" if len(gone) else "",
        grammar.counted(len(analyst), "analyst judgment") if len(analyst) else "",
    ]
    n = len(gone) + len(analyst)
    if n:
        left.append(
            f"Left out with them: {grammar.listing(parts)}, which "
            f"{grammar.agree(n, 'rests')} only on items left out here."
        )
    undated_shown = events[events["date_unknown"].fillna(False).astype(bool)]
    if selection.view.windowed and not undated_shown.empty:
        phrase, agree_n = grammar.subject_of_all(len(undated_shown), len(events), "event")
        left.append(
            f"{fmt.sentence_case(phrase)} {grammar.agree(agree_n, 'has')} no date and may fall "
            f"outside the window; {'it is' if agree_n == 1 else 'they are'} marked "
            "“date unknown”."
        )
    left += _other_themes(selection, themes)
    return left


def _places_of_other_themes(selection: Selection, others: list[str]) -> set[str]:
    """Places named only by rows on themes the brief does not cover (and not already left
    out with rows a time rule set aside)."""
    dataset = selection.dataset

    def places(frame: pd.DataFrame) -> set[str]:
        return {str(p) for p in frame["place_id"].dropna()} if "place_id" in frame else set()

    named = places(on_brief_themes(dataset.events, "events", others))
    if "energy" in others:
        named |= places(dataset.projects)
    shown = places(selection.on_themes("events")) | places(selection.on_themes("projects"))
    timed = {
        str(p)
        for reason, tables in selection.left_out.items()
        if reason != "other themes" and "places" in tables
        for p in tables["places"]["place_id"]
    }
    return named - shown - timed


def _other_themes(selection: Selection, themes: Iterable[str]) -> list[str]:
    """The report's items on themes this brief does not cover. The main brief, whose themes
    are a parameter, counts every row on them by kind (whatever else set it aside: each
    row is counted once in the ledger); a notebook of fixed themes names the topics only."""
    themes = tuple(themes)
    others = [t for t in ("defence", "energy", "economy", "regional") if t not in themes]
    dataset = selection.dataset
    counts = dict.fromkeys(LEDGER_KINDS.values(), 0)
    topics = []
    for theme in others:
        found = False
        for table, noun in LEDGER_KINDS.items():
            if table == "places":
                continue
            rows = on_brief_themes(getattr(dataset, table), table, (theme,))
            if table == "assessments":
                rows = rows[~rows["thesis"].fillna(False).astype(bool)]
            if table == "projects" and theme != "energy":
                continue
            counts[noun] += len(rows)
            found = found or not rows.empty
        if found:
            topics.append(THEME_TOPICS[theme])
    if not topics:
        return []
    counts["place"] = len(_places_of_other_themes(selection, others))
    if selection.params.notebook != "brief":
        return [
            f"The report’s items on {fmt.join(topics)} are outside this brief’s sections; the "
            "main brief covers them."
        ]
    return [
        f"Left out as outside this brief’s sections, on {fmt.join(topics)}: "
        f"{grammar.kinds(counts)}; a version of this brief with those sections covers them."
    ]
