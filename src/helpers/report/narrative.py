"""Narrative from data: small dicts of facts, turned into sentences by Jinja templates.

Three layers are kept apart, as analytic writing standards ask (ICD 203):

* **reported information** (events, projects, supplies, figures) is attributed to its source
  ("the report says", "according to the report") and worded no stronger than the row's
  ``modality`` or ``status``: talks are talks, a procurement names no seller the source does
  not name, an open list ("including") is "at least";
* **the source's interpretation** (assessments) is printed as the source's view ("the report
  argues that ..."), never as a finding of the brief, and flagged where it says more than the
  rows it rests on ("the projects it names were under discussion");
* **analyst judgments** come only from the analyst's own table, with their confidence.

A total the brief computes is labelled as the brief's arithmetic. Each public function takes a
:class:`~helpers.report.selection.Selection` and the brief's
:class:`~helpers.report.citations.Citations` and returns escaped HTML (``markupsafe.Markup``);
templates live in ``templates/narrative/``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from helpers import paths
from helpers.report import formatting as fmt
from helpers.report import grammar
from helpers.report.citations import ID_COLUMNS, Citations, quote
from helpers.report.selection import Selection, emphasis_order, rests_on
from helpers.report.sourcing import CREDIBILITY, RELIABILITY, Sourcing, source_rows

#: Most notes one sentence cites for rows that state the same thing; the rest are counted
#: ("+12 alike"), so a brief stays as long on a large dataset as on a small one.
CITE_LIMIT = 3
#: Most ties the table of the powers spells out per power (and most names per tie).
TIES_PER_POWER = 4
#: Most key points, and most figures under "By the numbers".
KEY_POINTS = 5
KEY_FIGURES = 6
#: A notes list longer than this runs over more than a page; printed, it takes one column
#: (see print.css: WeasyPrint takes seconds to balance two columns of a hundred entries).
LONG_SOURCES_LIST = 40
#: Section headings by theme.
THEME_TITLES = {
    "defence": "Defence cooperation",
    "energy": "Energy and infrastructure projects",
    "economy": "Economic ties: trade, currencies and oil",
    "regional": "Regional implications",
}
#: What a theme is about, in running text.
THEME_TOPICS = {
    "defence": "defence cooperation",
    "energy": "energy or infrastructure projects",
    "economy": "trade, currencies or oil",
    "regional": "the region",
}
#: What a section says when the source has nothing on the partner in its theme.
NO_PARTNER = {
    "defence": "no defence cooperation between Myanmar and {partner}",
    "energy": "no energy or infrastructure project with {partner}",
    "economy": "no economic dealings between Myanmar and {partner}",
    "regional": "nothing on {partner}'s part in the region",
}
#: Short theme names for the key points' run-in heads.
THEME_HEADS = {
    "defence": "Defence",
    "energy": "Energy",
    "economy": "Trade",
    "regional": "Region",
}
#: Which assessments lead, most telling first.
JUDGMENT_ORDER = (
    "aim",
    "largest_supplier",
    "trend",
    "dependence",
    "intent",
    "implication",
    "monitoring",
)
#: How the brief introduces an assessment of each kind: the source's view, attributed.
ATTRIBUTION_VERBS = {"implication": "argues"}
STATUS_WORDS = {
    "under_discussion": "under discussion",
    "agreed": "agreed",
    "under_construction": "under construction",
    "developed": "developed",
}
#: Strength of what a row asserts, so that an assessment resting on weaker rows is flagged.
MODALITY_STRENGTH = {
    "reported": 3,
    "procurement": 3,
    "emerging": 2,
    "intended": 1,
    "under_discussion": 1,
    "possible": 0,
}
STATUS_STRENGTH = {"developed": 3, "under_construction": 3, "agreed": 2, "under_discussion": 1}
MODALITY_WORDS = {
    "under_discussion": "under discussion",
    "emerging": "still emerging",
    "intended": "only intended",
    "possible": "only possible",
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
    env.filters["capitalize_first"] = fmt.sentence_case
    return env


def render(template: str, **facts) -> Markup:
    """Render ``templates/narrative/<template>.html.j2`` with ``facts``."""
    return Markup(environment().get_template(f"{template}.html.j2").render(**facts).strip())


# -- small helpers ---------------------------------------------------------------------------


def _names(selection: Selection) -> dict[str, str]:
    return selection.dataset.actor_names()


def _name(selection: Selection, actor_id) -> str:
    if actor_id is None or pd.isna(actor_id):
        return ""
    return _names(selection).get(str(actor_id), str(actor_id))


def _text(value) -> str:
    return "" if value is None or pd.isna(value) else str(value)


def _flag(value) -> bool:
    return False if value is None or pd.isna(value) else bool(value)


def _source_date(selection: Selection) -> pd.Timestamp | None:
    published = selection.sources["published"]
    return None if published.empty else published.max()


def reporter(selection: Selection, source_id: str | None = None) -> str:
    """Who says it: 'the report' when the brief knows one source, else that source's label."""
    if source_id is None or len(selection.sources) <= 1:
        kind = selection.sources["kind"].astype(str).iloc[0] if len(selection.sources) else ""
        return "the report" if kind in ("news_article", "report", "") else f"the {kind}"
    labels = selection.dataset.source_labels()
    return labels.get(source_id, source_id)


def _says(selection: Selection, row: pd.Series | dict) -> str:
    """'The report says' / 'The report argues' for an assessment row, sentence-cased."""
    verb = ATTRIBUTION_VERBS.get(str(row["kind"]), "says")
    return fmt.sentence_case(f"{reporter(selection, str(row['source_id']))} {verb}")


def when(row: pd.Series | dict, selection: Selection) -> str:
    """The date phrase of an event or supply row, keeping its precision."""
    if _flag(row.get("date_unknown")):
        return "date unknown"
    return fmt.when(
        row["date_start"],
        row["date_end"],
        row["date_precision"],
        ongoing=_flag(row.get("ongoing", False)),
        known_by=_source_date(selection),
    )


def _date_head(row: pd.Series | dict, selection: Selection) -> str:
    """An event list's date: 'October 2023', 'Since October 2023', 'Undated', 'Date unknown'."""
    if _flag(row.get("date_unknown")):
        return "Date unknown"
    if pd.isna(row["date_start"]):
        return "Undated"
    return fmt.sentence_case(when(row, selection))


def _lower_first(text: str, names: Iterable[str] = ()) -> str:
    """'First maritime exercise' -> 'first maritime exercise', but keep names and acronyms."""
    first = text.split(" ", 1)[0]
    if not first or first[1:2].isupper() or any(n and text.startswith(n) for n in names):
        return text
    base = first.split("'", 1)[0].split("’", 1)[0]  # "Myanmar's" is a name too
    if base in ("India", "China", "Russia", "Myanmar", "Junta") or first[:1].isdigit():
        return text
    return text[:1].lower() + text[1:]


def _ordered_assessments(frame: pd.DataFrame) -> pd.DataFrame:
    """Assessments, the partner's first, then by kind (most telling first) and line."""
    order = {kind: i for i, kind in enumerate(JUDGMENT_ORDER)}
    frame = emphasis_order(frame)
    keys = frame.assign(
        _kind=frame["kind"].astype(str).map(order).fillna(len(order)),
        _line=frame["line"].astype(int),
        _pos=range(len(frame)),
    )
    focus = {"partner": 0, "other": 1, "home": 2}
    keys = keys.assign(_focus=keys["focus"].map(focus).fillna(3))
    return frame.loc[keys.sort_values(["_focus", "_kind", "_line", "_pos"]).index]


def _qualifier(selection: Selection, row: pd.Series | dict) -> str:
    """When an assessment states more than the rows it rests on: what those rows say."""
    ids = set(rests_on(row))
    if not ids:
        return ""
    strength = MODALITY_STRENGTH.get(str(row["modality"]), 3)
    projects = selection.projects[selection.projects["project_id"].astype(str).isin(ids)]
    if not projects.empty:
        weakest = min(STATUS_STRENGTH.get(str(s), 3) for s in projects["status"])
        strongest = max(STATUS_STRENGTH.get(str(s), 3) for s in projects["status"])
        if strongest < strength:
            status = str(projects["status"].iloc[0])
            noun = "project it names was" if len(projects) == 1 else "projects it names were"
            words = STATUS_WORDS.get(status, status.replace("_", " "))
            agreed = ", none reported as agreed" if weakest < STATUS_STRENGTH["agreed"] else ""
            return f"; the {noun} {words}{agreed}"
    rows = [
        frame[frame[ID_COLUMNS[table]].astype(str).isin(ids)]
        for table, frame in (("events", selection.events), ("supplies", selection.supplies))
    ]
    found = pd.concat([r[["modality"]] for r in rows if not r.empty] or [pd.DataFrame()])
    if found.empty:
        return ""
    strengths = [MODALITY_STRENGTH.get(str(m), 3) for m in found["modality"]]
    if max(strengths) < strength:
        weakest = str(found["modality"].iloc[strengths.index(min(strengths))])
        return f"; what it rests on is {MODALITY_WORDS.get(weakest, weakest)}"
    return ""


def _unstated(selection: Selection, frame: pd.DataFrame, stated: set[str]) -> pd.DataFrame:
    """Rows of ``frame`` whose statement the brief has not made yet: rows saying word for word
    what a stated row said count as stated."""
    said = selection.assessments[selection.assessments["assessment_id"].astype(str).isin(stated)]
    texts = set(said["statement"].astype(str).str.strip())
    return frame[~frame["statement"].astype(str).str.strip().isin(texts)]


def _assessment_item(selection: Selection, cites: Citations, row: pd.Series | dict) -> dict:
    """An assessment as a sentence: the source's view, attributed, its modality kept."""
    return {
        "says": _says(selection, row),
        "statement": str(row["statement"]).rstrip("."),
        "qualifier": _qualifier(selection, row) + _undated_flag(selection, row),
        "cite": cites.marker("assessments", row),
    }


def _undated_flag(selection: Selection, row: pd.Series | dict) -> str:
    """' (date unknown)' for a judgment in a windowed brief whose every shown basis is
    undated: it may rest on things outside the window, as the body flags them."""
    if not selection.view.windowed:
        return ""
    ids = set(rests_on(row))
    basis = [
        frame[frame[ID_COLUMNS[table]].astype(str).isin(ids)]
        for table, frame in (
            ("events", selection.events),
            ("supplies", selection.supplies),
            ("projects", selection.projects),
        )
    ]
    basis = [b for b in basis if not b.empty]
    if not basis:
        return ""
    flags = pd.concat([b["date_unknown"].fillna(False).astype(bool) for b in basis])
    return " (date unknown)" if flags.all() else ""


# -- opening: bottom line, source note, key points ---------------------------------------


def _stake(selection: Selection, exclude: set[str]) -> pd.Series | None:
    """The assessment that says most about the partner in hand: one naming it as subject or
    object first, on the brief's themes first."""
    frame = _unstated(selection, selection.assessments, exclude)
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
            return _ordered_assessments(frame[mask]).iloc[0]
    return None


def opening_rows(selection: Selection) -> list[pd.Series]:
    """The thesis and the partner's stake: the rows the bottom line states."""
    rows = [row for _, row in selection.thesis.head(1).iterrows()]
    stake = _stake(selection, {str(r["assessment_id"]) for r in rows})
    if stake is not None:
        rows.append(stake)
    elif not rows:
        ordered = _ordered_assessments(selection.on_themes("assessments"))
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
                "kind": _kind_words(first["kind"]),
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
        item = _assessment_item(selection, cites, row)
        if i == 0:
            source = selection.sources[selection.sources["source_id"] == row["source_id"]].iloc[0]
            item["says"] = (
                f"According to {'a' if sourcing.single else 'one'} "
                f"{_kind_words(source['kind'])} of {fmt.day(source['published'])}"
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


def _kind_words(kind) -> str:
    from helpers.report.sourcing import KIND_WORDS

    return KIND_WORDS.get(str(kind), str(kind).replace("_", " "))


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
    frame = _unstated(selection, selection.on_themes("assessments"), stated)
    by_theme = {
        t: _distinct_statements(_ordered_assessments(frame[frame["theme"] == t])) for t in themes
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
        item = _assessment_item(selection, cites, group.iloc[0])
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


def _distinct_statements(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Groups of rows that make the same statement word for word, in order."""
    if frame.empty:
        return []
    key = frame["statement"].astype(str).str.strip()
    return [group for _, group in frame.groupby(key, sort=False)]


def _figures(selection: Selection, cites: Citations) -> tuple[list[dict], int]:
    """The source's own figures (never a total the brief computes), the partner's first."""
    names = _names(selection)
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
                "label": _lower_first(str(row["title"]), names.values()),
                "when": when(row, selection),
                "cite": cites.marker("events", row),
                "key": ("events", str(row["event_id"])),
            }
        )
    for row in supplies.head(KEY_FIGURES).to_dict("records"):
        supplier = _name(selection, row["supplier_id"])
        recipient = _name(selection, row["recipient_id"])
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
                "label": f"{row['name']}, {status} with {_name(selection, row['partner_id'])}",
                "when": "date unknown" if _flag(row.get("date_unknown")) else "",
                "cite": cites.marker("projects", row),
                "key": ("projects", str(row["project_id"])),
            }
        )
    order = {"partner": 0, "other": 1, "home": 2}
    figures.sort(key=lambda f: order.get(f["focus"], 3))
    total = len(events) + len(supplies) + len(projects)
    return figures[:KEY_FIGURES], max(0, total - KEY_FIGURES)


# -- the timeline's words ------------------------------------------------------------------


def timeline_summary(selection: Selection, events: pd.DataFrame) -> Markup:
    """How many of the events are dated, over which span, and what the undated ones are.

    Every count goes through :mod:`helpers.report.grammar`: 'the report dates neither
    event', 'both events', 'all five events', 'one of the two events'."""
    dated = events[events["date_start"].notna()]
    n, d = len(events), len(dated)
    u = n - d
    span = _span(dated) if d else ""
    whole = f"{grammar.counted(n, 'event')} in this brief"
    if d == 0:
        sentence = (
            "The report does not date the one event in this brief"
            if n == 1
            else f"The report dates {grammar.of_all(0, n, 'event')} in this brief"
        )
    elif d == 1:
        only = f"{dated['title'].iloc[0]}, {when(dated.iloc[0], selection)}"
        sentence = (
            f"The report dates the one event in this brief: {only}"
            if n == 1
            else f"Of the {whole}, the report dates one: {only}"
        )
    elif d == n:
        sentence = f"The report dates {grammar.of_all(n, n, 'event')} in this brief, {span}"
    else:
        sentence = f"Of the {whole}, the report dates {fmt.number_word(d)}, {span}"
    source_date = _source_date(selection)
    clause = ""
    if u and selection.view.windowed:
        who = "it" if n == 1 else ("the other one" if u == 1 else f"the other {fmt.number_word(u)}")
        if d == 0:
            who = "it" if n == 1 else ("both" if n == 2 else "all of them")
        clause = f"{who} {grammar.agree(u, 'has')} no date and may fall outside the window"
    elif u and source_date is not None:
        known = f"known only to precede {fmt.day(source_date)}"
        if d == 0:
            clause = f"{'it is' if n == 1 else ('both are' if n == 2 else 'all are')} {known}"
        else:
            others = "the other event" if u == 1 else f"the other {grammar.counted(u, 'event')}"
            clause = f"it gives no date for {others}, {known}"
    return render(
        "timeline",
        dated_sentence=sentence,
        undated_clause=clause,
        cut=bool(dated["cut_at_end"].any()) if not dated.empty else False,
        end=fmt.day(selection.view.end),
    )


def _span(dated: pd.DataFrame) -> str:
    """'between March 2023 and 2 March 2024', or 'in October 2023' when the dated events all
    fall in one month (never 'between October 2023 and 31 October 2023')."""
    first_row = dated.loc[dated["date_start"].idxmin()]
    last_row = dated.loc[dated["shown_end"].idxmax()]
    start, stop = pd.Timestamp(first_row["date_start"]), pd.Timestamp(last_row["shown_end"])
    day_first = first_row["date_precision"] == "day"
    first = (fmt.day if day_first else fmt.month)(start)
    if (start.year, start.month) == (stop.year, stop.month) and not day_first:
        return f"in {first}"
    precise = last_row["date_precision"] == "day" or bool(last_row["cut_at_end"])
    last = (fmt.day if precise else fmt.month)(stop)
    if first == last:
        return f"on {first}" if day_first else f"in {first}"
    return f"between {first} and {last}"


# -- sections by theme ---------------------------------------------------------------------


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
    assessments = _unstated(selection, selection.on_themes("assessments", (theme,)), stated)
    groups = _distinct_statements(_ordered_assessments(assessments))
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
        item = _assessment_item(selection, cites, group.iloc[0])
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


def _related(selection: Selection, rows: pd.DataFrame) -> pd.DataFrame:
    """The events ``rows`` hang on (``related_event_id``), for their citations."""
    ids = set(rows["related_event_id"].dropna().astype(str))
    return selection.events[selection.events["event_id"].astype(str).isin(ids)]


def _no_partner_sentence(selection: Selection, theme: str, frames) -> str:
    powers: list[str] = []
    for frame in frames:
        for ids in frame["powers"]:
            for actor_id in sorted(ids):
                name = _name(selection, actor_id)
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
                "when": _date_head(row, selection),
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
    column = {name: [_text(v) for v in frame[name].astype(object)] for name in frame.columns}
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
            + cites.numbers("events", _related(selection, ordered.head(limit))),
            alike=max(0, len(ordered) - limit),
        )
        sentences.append(
            {
                # The first sentence names who says it; the next ones go on from it.
                "says": "It also says"
                if sentences
                else f"According to {reporter(selection, str(row['source_id']))},",
                "modality": str(row["modality"]),
                "including": _flag(row["including"]),
                "supplier": _name(selection, row["supplier_id"]),
                "recipient": _name(selection, row["recipient_id"]),
                "listing": fmt.join(items[:most]),
                "more_items": fmt.count(len(items) - most, "more item")
                if len(items) > most
                else "",
                "amount": fmt.quantity(
                    row["quantity"], row["quantity_unit"], row["quantity_qualifier"]
                ),
                "when": _supply_when(group, selection),
                "records": _records_phrase(group),
                "purpose": _text(row["purpose"]),
                "date_unknown": _flag(row.get("date_unknown")),
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
                "partner": _name(selection, partner),
                "host": _name(selection, group["host_id"].iloc[0]),
                "place": place,
                "listing": fmt.join(items),
                "cite": cites.sup(
                    cites.numbers("projects", shown)
                    + cites.numbers("events", _related(selection, shown))
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


# -- the three powers ----------------------------------------------------------------------


def actor_table(selection: Selection, cites: Citations) -> Markup:
    """Who stands where, as the source describes it: one row per foreign power (the partner
    first), then the war at home; each cell the source's ties in its own words."""
    relations = selection.relations
    if relations.empty:
        return Markup("")
    names = _names(selection)
    foreign = [selection.partner] + [
        actor_id
        for actor_id in dict.fromkeys(
            a for ids in relations["powers"] for a in sorted(ids) if a != selection.partner
        )
    ]
    rows = []
    used: set[int] = set()
    for power in [*foreign, None]:
        if power is None:
            mask = relations["focus"] == "home"
        else:
            mask = relations["powers"].map(lambda ids, p=power: p in ids)
        mask &= ~relations.index.isin(used)
        frame = relations[mask]
        used |= set(frame.index)
        sentences = []
        # The first ties only: grouping every synthetic actor's ties would cost seconds.
        keys = frame[["actor_id", "phrase"]].astype(str).drop_duplicates()
        for actor_id, phrase in keys.head(TIES_PER_POWER).itertuples(index=False):
            group = frame[
                (frame["actor_id"].astype(str) == actor_id)
                & (frame["phrase"].astype(str) == phrase)
            ]
            first = group.iloc[0]
            others = list(dict.fromkeys(names.get(str(o), str(o)) for o in group["other_id"]))
            if len(others) > TIES_PER_POWER:
                others = [
                    *others[:TIES_PER_POWER],
                    fmt.count(len(others) - TIES_PER_POWER, "other"),
                ]
            flag = " (date unknown)" if _tied_to_undated(selection, group) else ""
            sentences.append(
                {
                    "text": f"{names.get(str(first['actor_id']), first['actor_id'])} "
                    f"{first['phrase']} {fmt.join(others)}{flag}",
                    "cite": cites.markers("relations", group, limit=CITE_LIMIT),
                }
            )
        if power is not None and not sentences and power != selection.partner:
            continue
        rows.append(
            {
                "power": names.get(power, power) if power else "Inside Myanmar",
                "partner": power == selection.partner,
                "sentences": sentences,
                "more": fmt.count(len(keys) - TIES_PER_POWER, "more tie")
                if len(keys) > TIES_PER_POWER
                else "",
            }
        )
    return render("actor_table", rows=rows, says=fmt.sentence_case(reporter(selection)))


def _tied_to_undated(selection: Selection, relations: pd.DataFrame) -> bool:
    """True in a windowed brief when the ties quote the very words of a shown fact marked
    'date unknown': their note cites it, so they carry its flag."""
    if not selection.view.windowed or relations.empty:
        return False
    cited = ["source_id", "line", "evidence"]
    keys = set(relations[cited].astype(str).itertuples(index=False, name=None))
    for frame in (selection.events, selection.supplies, selection.projects):
        if frame.empty or "date_unknown" not in frame:
            continue
        undated = frame[frame["date_unknown"].fillna(False).astype(bool)]
        if keys & set(undated[cited].astype(str).itertuples(index=False, name=None)):
            return True
    return False


# -- analyst judgments, gaps, sources ------------------------------------------------------


def judgments(selection: Selection, cites: Citations) -> Markup:
    """The analyst's own judgments, each with its ICD 203 confidence and what it rests on."""
    frame = selection.judgments
    frame = frame[frame["theme"].isin(selection.params.selected_themes)]
    if frame.empty:
        return Markup("")
    tables = {
        "events": selection.events,
        "projects": selection.projects,
        "supplies": selection.supplies,
        "relations": selection.relations,
        "assessments": selection.assessments,
    }
    items = []
    for row in frame.to_dict("records"):
        ids = rests_on(row)
        groups = [
            (table, rows[rows[ID_COLUMNS[table]].astype(str).isin(ids)])
            for table, rows in tables.items()
        ]
        items.append(
            {
                "statement": str(row["statement"]),
                "likelihood": _text(row["likelihood"]),
                "confidence": str(row["confidence"]),
                "cite": cites.cite(*[(t, r) for t, r in groups if not r.empty]),
                "basis": fmt.count(sum(len(r) for _, r in groups), "fact"),
                "analyst": _text(row["analyst"]),
                "made": fmt.day(row["made"]),
                "watch": _text(row["watch"]),
            }
        )
    return render("judgments", items=items)


def gaps(selection: Selection, sourcing: Sourcing) -> Markup:
    """What the source does not say, and what this brief leaves out, in a reader's words."""
    names = _names(selection)
    events = selection.on_themes("events")
    silent = _silences(selection, names, events)
    left = _left_out_sentences(selection, names, events)
    watch = (
        [_text(w) for w in selection.judgments["watch"] if _text(w)]
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
        title = _lower_first(str(row["title"]), names.values())
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
                f"{_name(selection, group['partner_id'].iloc[0])} but none for the "
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


def _on_brief_themes(frame: pd.DataFrame, table: str, themes: Iterable[str]) -> pd.DataFrame:
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
    names = _names(selection)
    ledger = []
    for reason, lead in LEFT_OUT_LEADS.items():
        tables = selection.left_out.get(reason, {})
        counts = {}
        for table, noun in LEDGER_KINDS.items():
            rows = tables.get(table)
            if rows is not None:
                counts[noun] = len(_on_brief_themes(rows, table, themes))
        if not any(counts.values()):
            continue
        events = _on_brief_themes(tables.get("events", pd.DataFrame()), "events", themes)
        # By name only those that may yet fall inside the window; the others are counted
        # (a brief names nothing outside its view).
        if reason != "possibly outside the window":
            events = events.head(0)
        listed = [
            f"{_lower_first(str(r['title']), names.values())} ({_plain_when(r, selection)})"
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
    gone = _on_brief_themes(judged.get("assessments", pd.DataFrame()), "assessments", themes)
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

    named = places(_on_brief_themes(dataset.events, "events", others))
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
            rows = _on_brief_themes(getattr(dataset, table), table, (theme,))
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


def sources(cites: Citations, selection: Selection, sourcing: Sourcing) -> Markup:
    """The reader's notes every marker points to, under a line describing each source."""
    documents = [
        {
            "label": s.label,
            "kind": s.kind_words,
            "title": s.title,
            "published": fmt.day(s.published),
            "outlet": s.outlet or "",
            "grade": s.grade,
        }
        for s in sourcing.sources
    ]
    return render(
        "sources",
        notes=cites.notes(),
        documents=documents,
        long=LONG_SOURCES_LIST,
    )


def annex(cites: Citations, selection: Selection, hashes: dict[str, str]) -> Markup:
    """The data trail behind each note: files, rows and hashes (shown in the HTML only)."""
    files = {
        str(row["source_id"]): str(row["file"]) for row in selection.sources.to_dict("records")
    }
    notes = [
        note
        | {
            "file": files.get(str(note["source_id"]), ""),
            "rows_text": ", ".join(f"{table}.csv · {row_id}" for table, row_id in note["rows"]),
        }
        for note in cites.notes()
    ]
    graded = [
        {
            "label": s.label,
            "file": files.get(s.source_id, ""),
            "grade": s.grade,
            "note": s.grading_note,
        }
        for s in source_rows(selection.sources)
    ]
    return render(
        "annex",
        sources=graded,
        notes=notes,
        data_dir=selection.dataset.data_dir.name,
        fingerprint=selection.dataset.fingerprint,
        hashes=sorted(hashes.items()),
    )


__all__ = [
    "actor_table",
    "annex",
    "bottom_line",
    "gaps",
    "judgments",
    "key_points",
    "projects_text",
    "quote",
    "source_note",
    "sources",
    "supplies_text",
    "theme_section",
    "timeline_summary",
]
