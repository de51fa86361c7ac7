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

The words are built by job, one module each, and this module gathers what the
:class:`~helpers.report.brief.Brief` calls: ``words`` (the templates and the shared
vocabulary), ``attribution`` (the source's assessments, attributed and qualified), ``opening``
(bottom line, source note, key points), ``timeline_summary``, ``theme_sections`` (events,
supplies, projects), ``powers`` (the table of the powers) and ``omissions`` (gaps and the
omission ledger). The analyst's judgments, the notes and the annex are worded here.
"""

from __future__ import annotations

from markupsafe import Markup

from helpers.report import formatting as fmt
from helpers.report.citations import ID_COLUMNS, Citations, quote
from helpers.report.omissions import gaps, omissions
from helpers.report.opening import (
    KEY_FIGURES,
    KEY_POINTS,
    bottom_line,
    key_points,
    opening_rows,
    source_note,
    unchecked_texts,
    window_words,
)
from helpers.report.powers import actor_table
from helpers.report.selection import Selection, rests_on
from helpers.report.sourcing import Sourcing, source_rows
from helpers.report.theme_sections import projects_text, supplies_text, theme_section, told_events
from helpers.report.timeline_summary import timeline_summary
from helpers.report.words import (
    CITE_LIMIT,
    THEME_TITLES,
    THEME_TOPICS,
    render,
    reporter,
    text_of,
    when,
)

#: A notes list longer than this runs over more than a page; printed, it takes one column
#: (see print.css: WeasyPrint takes seconds to balance two columns of a hundred entries).
LONG_SOURCES_LIST = 40


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
                "likelihood": text_of(row["likelihood"]),
                "confidence": str(row["confidence"]),
                "cite": cites.cite(*[(t, r) for t, r in groups if not r.empty]),
                "basis": fmt.count(sum(len(r) for _, r in groups), "fact"),
                "analyst": text_of(row["analyst"]),
                "made": fmt.day(row["made"]),
                "watch": text_of(row["watch"]),
            }
        )
    return render("judgments", items=items)


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
    "CITE_LIMIT",
    "KEY_FIGURES",
    "KEY_POINTS",
    "THEME_TITLES",
    "THEME_TOPICS",
    "actor_table",
    "annex",
    "bottom_line",
    "gaps",
    "judgments",
    "key_points",
    "omissions",
    "opening_rows",
    "projects_text",
    "quote",
    "render",
    "reporter",
    "source_note",
    "sources",
    "supplies_text",
    "theme_section",
    "timeline_summary",
    "told_events",
    "unchecked_texts",
    "when",
    "window_words",
]
