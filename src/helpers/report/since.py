"""An edition's own ledger, the previous edition it is compared with, and the box that says
what changed.

:func:`current` turns a brief's :class:`~helpers.report.selection.Selection` into the ledger
of :mod:`helpers.ledger`: a fact for every row the brief stands on (each table's rows on the
brief's themes, and every source's thesis), and for every other row of the data the reason it
is not shown. :func:`previous` reads the edition a brief is compared with (the ``since``
parameter, which ``brief render`` fills in). :func:`box` words the comparison at the top of
the brief: the first edition says so; an edition with nothing new says so in one line;
otherwise new facts, corrections (a value that changed, a fact withdrawn from the data, as a
newsroom corrects), facts no longer shown and why, and new sources.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import pandas as pd
from markupsafe import Markup

from helpers.data.package import file_digests
from helpers.ledger import (
    FIRST,
    LABELS,
    LEDGER_LIMIT,
    SHOWN,
    WITHDRAWN,
    Change,
    Changes,
    Edition,
    EditionUnreadable,
    counts_words,
    day,
    fact,
    read_edition,
    too_large,
)
from helpers.report import words
from helpers.report.citations import ID_COLUMNS, Citations
from helpers.report.selection import Selection

#: Most new facts, and most facts no longer shown, the box lists by name; the rest are counted.
LISTED = 6
#: Why a row of the data is not shown, when the selection's rules did not set it aside (a
#: table whose theme the brief does not cover, say).
NOT_IN_SECTIONS = "not in this brief's sections"
#: What each kind of value is called in a correction.
VALUE_NAMES = {
    "statement": "the wording",
    "who": "who was involved",
    "date": "the date",
    "precision": "how precisely it is dated",
    "figure": "the figure",
    "modality": "how certain it is",
    "source": "the source passage",
}


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _ledger_columns(table: str, frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that a fact of ``table`` is made of (ledger.fact): records of
    every column cost three times as much."""
    wanted = (
        ID_COLUMNS[table],
        *(c for columns in SHOWN[table].values() for c in columns),
        "source_id",
        "line",
        "evidence",
        LABELS[table],
    )
    return [c for c in dict.fromkeys(wanted) if c in frame.columns]


def _shown_frames(selection: Selection) -> dict[str, pd.DataFrame]:
    """Per table, the rows the brief stands on: those on its themes, and every thesis."""
    frames = {table: selection.on_themes(table) for table in SHOWN}
    frames["assessments"] = pd.concat([frames["assessments"], selection.thesis]).drop_duplicates(
        subset="assessment_id"
    )
    return frames


def current(selection: Selection) -> Edition:
    """The ledger of the brief ``selection`` makes (only the count of its facts when there
    are more than :data:`~helpers.ledger.LEDGER_LIMIT`)."""
    frames = _shown_frames(selection)
    view = selection.view
    count = sum(len(frame) for frame in frames.values())
    if count > LEDGER_LIMIT:
        return Edition(
            date=view.end.isoformat(),
            as_of=view.known_by.isoformat(),
            facts={},
            too_large=count,
        )
    facts: dict[tuple[str, str], dict] = {}
    used: set[str] = set()
    for table, frame in frames.items():
        id_column = ID_COLUMNS[table]
        for row in _records(frame[_ledger_columns(table, frame)]):
            key = (table, str(row[id_column]))
            facts[key] = fact(table, row, key[1])
            if row.get("source_id") is not None:
                used.add(str(row["source_id"]))
    reasons: dict[tuple[str, str], str] = {}
    for reason, tables in selection.left_out.items():
        for table, rows in tables.items():
            for row_id in rows[ID_COLUMNS[table]].astype(str):
                reasons.setdefault((table, row_id), reason)
    set_aside = {}
    for table in SHOWN:
        for row_id in getattr(selection.dataset, table)[ID_COLUMNS[table]].astype(str):
            if (table, row_id) not in facts:
                set_aside[table, row_id] = reasons.get((table, row_id), NOT_IN_SECTIONS)
    sources = {
        str(row["source_id"]): {
            "id": str(row["source_id"]),
            "label": str(row.get("label") or row["source_id"]),
            "title": str(row.get("title") or ""),
            "published": str(row["published"])[:10],
        }
        for row in _records(selection.sources)
        if str(row["source_id"]) in used
    }
    return Edition(
        date=view.end.isoformat(),
        as_of=view.known_by.isoformat(),
        facts=facts,
        sources=sources,
        set_aside=set_aside,
    )


def previous(since: str | None) -> Edition | str | None:
    """The edition ``since`` names: an :class:`~helpers.ledger.Edition`, :data:`FIRST`, or
    None (no comparison). One that cannot be read gives a warning and None: the brief is then
    made without the box, never failed."""
    if since is None or not str(since).strip():
        return None
    if str(since).strip().lower() == FIRST:
        return FIRST
    try:
        return read_edition(since)
    except EditionUnreadable as exc:
        warnings.warn(
            f"the previous edition cannot be compared with: {exc}; the brief has no "
            "'Since the edition of' box",
            stacklevel=2,
        )
        return None


def compared(selection: Selection, since: str | None) -> tuple[Edition, Edition | str | None]:
    """This brief's edition, and what it is compared with (see :func:`previous`); nothing to
    compare with when this edition stands on too many facts to list."""
    edition = current(selection)
    if edition.too_large:
        if since is not None:
            warnings.warn(too_large("this brief", edition.too_large), stacklevel=2)
        return edition, None
    return edition, previous(since)


# -- the box -------------------------------------------------------------------------------


class _Rows:
    """The data's rows by table and id, each table indexed once, when first asked for."""

    def __init__(self, selection: Selection) -> None:
        self._selection = selection
        self._tables: dict[str, dict[str, dict]] = {}

    def get(self, table: str, row_id: str) -> dict | None:
        if table not in self._tables:
            frame = getattr(self._selection.dataset, table)
            ids = frame[ID_COLUMNS[table]].astype(str).tolist()
            self._tables[table] = dict(zip(ids, _records(frame), strict=True))
        return self._tables[table].get(row_id)


def _cite(rows: _Rows, cites: Citations, change: Change) -> Markup:
    row = rows.get(change.table, change.id)
    return cites.marker(change.table, row) if row is not None else Markup("")


def _listed(changes: Iterable[Change], limit: int = LISTED) -> tuple[list[Change], int]:
    changes = list(changes)
    return changes[:limit], max(0, len(changes) - limit)


def _label(change: Change) -> str:
    text = " ".join(change.label.split())
    return text[0].upper() + text[1:] if text else f"{change.table} {change.id}"


#: The order the box lists facts in: the judgments first (what a reader weighs), then what
#: happened.
TABLE_ORDER = ("assessments", "judgments", "events", "supplies", "projects", "relations")
#: Why a fact the previous edition held back may now be shown without anything being learned:
#: the view moved (a later window), not the knowledge.
VIEW_REASONS = frozenset(
    {
        "outside the window",
        "possibly outside the window",
        "undated, left out",
        "evidence not in the brief",
    }
)


#: Past this share of an edition's facts being new, marking each one marks nearly
#: everything: the box says it once instead.
BADGE_SHARE = 0.5


def badged(changes: Changes | None, edition: Edition) -> set[tuple[str, str]]:
    """The new facts to mark ``new`` where they appear: none when most of the brief is new
    (an all-new list badged item by item says nothing)."""
    if changes is None or not changes.new:
        return set()
    if len(changes.new) > BADGE_SHARE * max(1, len(edition.facts)):
        return set()
    return changes.keys("new")


def learned(changes: Changes) -> list[Change]:
    """The new facts that were learned (a new source, a row the previous edition's data did
    not hold), as against those a wider view brought in from what it already knew."""
    held = changes.since.set_aside
    return [c for c in changes.new if held.get((c.table, c.id)) not in VIEW_REASONS]


def one_per_fact(rows: _Rows, changes: Iterable[Change]) -> list[Change]:
    """New facts as a reader counts them: a supply or project hanging on a new event
    (``related_event_id``) is that event, told once."""
    changes = list(changes)
    new_events = {c.id for c in changes if c.table == "events"}
    kept = []
    for change in changes:
        row = rows.get(change.table, change.id) or {}
        related = row.get("related_event_id") if change.table != "events" else None
        if related is not None and not pd.isna(related) and str(related) in new_events:
            continue
        kept.append(change)
    return kept


def _order(rows: _Rows, changes: Iterable[Change]) -> list[Change]:
    """The source's views and the analyst's judgments first, then events by date (undated
    last), supplies, projects and ties."""

    def key(change: Change) -> tuple:
        row = rows.get(change.table, change.id) or {}
        start = row.get("date_start")
        dated = start is not None and not pd.isna(start)
        return (TABLE_ORDER.index(change.table), not dated, start if dated else 0, change.id)

    return sorted(changes, key=key)


def _item(selection: Selection, rows: _Rows, change: Change) -> str:
    """A fact as the box names it, attributed as the brief's text attributes it."""
    row = rows.get(change.table, change.id)
    if row is None:
        return _label(change)
    if change.table in ("events", "supplies"):
        when = words.date_head(row, selection)
        first = when.split(" ", 1)[0]
        when = when[:1].lower() + when[1:] if first in ("Since", "Undated", "Date") else when
        return f"{_label(change)} ({when})"
    if change.table == "assessments":
        return f"{words.says(selection, row)} that {words.lower_first(change.label)}"
    if change.table == "relations":
        return (
            f"{words.actor_name(selection, row['actor_id'])} {change.label} "
            f"{words.actor_name(selection, row['other_id'])}"
        )
    if change.table == "projects":
        shown = selection.projects[selection.projects["project_id"].astype(str) == change.id]
        unknown = not shown.empty and bool(shown["date_unknown"].fillna(False).astype(bool).any())
        return f"Project: {change.label}" + (" (date unknown)" if unknown else "")
    return f"Analyst judgment: {change.label}"


#: What a reader sees of each table a brief is made from besides its facts, when it changed.
TABLE_WORDS = {
    "sources": "the sources’ descriptions and grades",
    "actors": "the names and offices of the actors",
    "places": "the places’ names and positions",
}


def tables_changed(selection: Selection, since: Edition) -> list[str]:
    """The data tables printed beside the facts (sources, actors, places) that differ from
    those the previous edition was made from (its ledger's ``made_from``): a grade, a name or
    a position that changed changes what the reader sees, though no fact's hash does."""
    if not since.made_from:
        return []
    digests = file_digests(selection.dataset.data_dir)
    return [
        table
        for table in TABLE_WORDS
        if table in since.made_from and since.made_from[table] != digests.get(f"{table}.csv", "")
    ]


def _correction(change: Change, since: str, reporter: str) -> str:
    """'The edition of 30 September 2023 gave the figure as “660 MW”; the corrected record,
    citing the report, gives “1,320 MW”.' or, for a withdrawn fact, that it is withdrawn.

    The record is the data's, not a quotation: the row's wording is the analyst's summary of
    the source, which the marker after it cites."""
    if change.reason == WITHDRAWN:
        return (
            f"The edition of {since} reported “{' '.join(change.label.split())}”; the fact has "
            "been withdrawn from the data and is no longer shown."
        )
    parts = [
        f"{VALUE_NAMES.get(kind, kind)} as “{old or 'none'}”" for kind, old, _new in change.fields
    ]
    now = [f"“{new or 'none'}”" for _kind, _old, new in change.fields]
    return (
        f"The edition of {since} gave {'; '.join(parts)}; the corrected record, citing "
        f"{reporter}, gives {', '.join(now)}."
    )


def box(
    selection: Selection,
    cites: Citations,
    against: Edition | str | None,
    changes: Changes | None,
    current_edition: Edition | None = None,
) -> Markup:
    """The "Since the edition of ..." box; empty markup when there is nothing to compare."""
    if against is None:
        return Markup("")
    if against == FIRST or changes is None:
        return words.render("since", first=True)
    since = changes.since
    when = day(since.date)
    published = since.created_at[:16].replace("T", " ") + " UTC" if since.created_at else ""
    rows = _Rows(selection)
    # Every list the box makes is bounded, by max_rows too (a brief stays a brief).
    limit = min(LISTED, selection.params.max_rows)
    facts = one_per_fact(rows, _order(rows, changes.new))
    new, more_new = _listed(facts, limit)
    gone = [c for c in changes.dropped if not c.correction]
    gone_listed, more_gone = _listed(gone, limit)
    corrections, more_corrections = _listed(_order(rows, changes.corrections), limit)
    new_sources, more_sources = _listed(changes.new_sources, limit)
    also = tables_changed(selection, since)
    reporter = words.reporter(selection)
    fresh = {(c.table, c.id) for c in learned(changes)}
    n_learned = sum((c.table, c.id) in fresh for c in facts)
    counts = {**changes.counts(), "new": len(facts)}
    n_widened = len(facts) - n_learned
    if n_learned and n_widened:
        detail = f" ({n_learned} learned, {n_widened} brought into view by the window)"
    else:
        detail = " (brought into view by the window, nothing learned)" if n_widened else ""
    return words.render(
        "since",
        first=False,
        when=when,
        published=published,
        empty=changes.empty and not also,
        counts=counts,
        also=[TABLE_WORDS[t] for t in also],
        # Which of the two happened: something learned, or the view widened on the same
        # knowledge (or both).
        widened_only=bool(facts)
        and n_learned == 0
        and not changes.new_sources
        and not changes.changed,
        counted=counts_words(counts, sources="counted", new_detail=detail),
        window=day(selection.view.end.isoformat()),
        reporter=reporter,
        badged=bool(badged(changes, current_edition)) if current_edition else True,
        new=[{"label": _item(selection, rows, c), "cite": _cite(rows, cites, c)} for c in new],
        more_new=more_new,
        corrections=[
            {"text": _correction(c, when, reporter), "cite": _cite(rows, cites, c)}
            for c in corrections
        ],
        more_corrections=more_corrections,
        more_sources=more_sources,
        gone=[{"label": _label(c), "reason": c.reason} for c in gone_listed],
        more_gone=more_gone,
        sources=[
            {
                "label": s.get("label", s["id"]),
                "title": s.get("title", ""),
                "published": day(s.get("published", "")),
            }
            for s in new_sources
        ],
    )


def mark_new(
    frame: pd.DataFrame, table: str, new: set[tuple[str, str]], column: str
) -> pd.DataFrame:
    """``frame`` with `` (new)`` after ``column`` in the rows that are new: the marker charts
    carry (on the label and in the alt text)."""
    if frame.empty or not new:
        return frame
    ids = frame[ID_COLUMNS[table]].astype(str)
    fresh = ids.map(lambda i: (table, i) in new).astype(bool)
    if not fresh.any():
        return frame
    marked = frame[column].astype(object).where(~fresh, frame[column].astype(str) + " (new)")
    return frame.assign(**{column: marked})
