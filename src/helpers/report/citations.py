"""Citation markers, the reader's notes they point to, and the data trail behind each note.

Every factual sentence of a brief cites the rows it came from. :class:`Citations` gives each
distinct quoted fragment (source, line, fragment) a note number on first use, so the markers
run 1, 2, ... in reading order and rows that quote the same words share one note. The reader
sees short notes ("Report, para. 3: 'A $35 million agreement ...'"); the table and row id of
every fact behind a note are kept apart, for the annex of the HTML brief and the manifest
(:meth:`Citations.trail`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup, escape

from helpers.report import formatting

ID_COLUMNS = {
    "sources": "source_id",
    "actors": "actor_id",
    "places": "place_id",
    "events": "event_id",
    "projects": "project_id",
    "supplies": "supply_id",
    "assessments": "assessment_id",
    "relations": "relation_id",
    "judgments": "judgment_id",
}
#: The columns a note is made of, besides the row's id (see :meth:`Citations.number`).
NOTE_COLUMNS = ("source_id", "line", "evidence")


@dataclass
class Note:
    """One quoted fragment of a source, and every row of ``data/`` that cites it."""

    number: int
    source_id: str
    label: str
    line: int
    paragraph: int | None
    evidence: str
    rows: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        """'para. 3', or 'line 13' when the source lists no paragraphs."""
        return f"para. {self.paragraph}" if self.paragraph else f"line {self.line}"


class Citations:
    """A brief's citation registry; one per brief, shared by all its sections.

    ``fresh`` names the rows that are new since the previous edition (``(table, id)``): a
    marker citing one of them is followed by a small "new" mark.
    """

    def __init__(self, sources: pd.DataFrame, fresh: Iterable[tuple[str, str]] = ()) -> None:
        self._fresh = frozenset(fresh)
        self._fresh_notes: set[int] = set()
        self._labels: dict[str, str] = {}
        self._published: dict[str, object] = {}
        self._paragraphs: dict[str, dict[int, int]] = {}
        for row in sources.to_dict("records"):
            source_id = str(row["source_id"])
            self._labels[source_id] = str(row.get("label") or source_id)
            self._published[source_id] = row.get("published")
            listed = row.get("paragraph_lines")
            if listed is not None and not pd.isna(listed) and str(listed).strip():
                lines = [int(n) for n in str(listed).split(";")]
                self._paragraphs[source_id] = {line: i + 1 for i, line in enumerate(lines)}
        self._notes: dict[tuple[str, int, str], Note] = {}
        self._by_row: dict[tuple[str, str], Note] = {}
        # Every row cited, in order, repeats included: what a section cited (cited_since).
        self._cited: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self._notes)

    def __iter__(self):
        return iter(sorted(self._notes.values(), key=lambda n: n.number))

    @property
    def sources(self) -> set[str]:
        """Ids of the sources cited so far."""
        return {note.source_id for note in self._notes.values()}

    @property
    def mark(self) -> int:
        """How many citations were made so far: pass it to :meth:`cited_since` later."""
        return len(self._cited)

    def cited_since(self, mark: int) -> list[tuple[str, str]]:
        """The rows cited since ``mark`` (``(table, row id)``, in order, repeats included):
        what one section of the brief cites."""
        return self._cited[mark:]

    def number(self, table: str, row: pd.Series | dict) -> int:
        """The note number of ``row`` of ``table``, assigning the next one on first use."""
        row_id = str(row[ID_COLUMNS[table]])
        self._cited.append((table, row_id))
        known = self._by_row.get((table, row_id))
        if known is not None:
            return known.number
        source_id = str(row["source_id"])
        line = int(row["line"])
        evidence = str(row["evidence"])
        key = (source_id, line, " ".join(evidence.split()))
        note = self._notes.get(key)
        if note is None:
            note = Note(
                number=len(self._notes) + 1,
                source_id=source_id,
                label=self._labels.get(source_id, source_id),
                line=line,
                paragraph=self._paragraphs.get(source_id, {}).get(line),
                evidence=evidence,
            )
            self._notes[key] = note
        note.rows.append((table, row_id))
        self._by_row[table, row_id] = note
        if (table, row_id) in self._fresh:
            self._fresh_notes.add(note.number)
        return note.number

    def numbers(self, table: str, rows: pd.DataFrame, *, limit: int | None = None) -> list[int]:
        """Note numbers of ``rows`` (the first ``limit`` of them, if given), in order."""
        if limit is not None:
            rows = rows.head(limit)
        # Only the columns a note is made of: a row of every column cost ten times as much.
        rows = rows[list(dict.fromkeys((ID_COLUMNS[table], *NOTE_COLUMNS)))]
        return [self.number(table, row) for row in rows.to_dict("records")]

    def marker(self, table: str, row: pd.Series | dict) -> Markup:
        """The superscript marker for one row."""
        return self.sup([self.number(table, row)])

    def markers(self, table: str, rows: pd.DataFrame, *, limit: int | None = None) -> Markup:
        """One marker for several rows of a table, without repeats.

        With ``limit``, only the first ``limit`` rows are cited and the rest counted (``3, 4
        +12 alike``): a statement that many rows make alike stays one sentence with a few
        notes, and the notes hold only the rows cited.
        """
        rest = max(0, len(rows) - limit) if limit is not None else 0
        return self.sup(self.numbers(table, rows, limit=limit), alike=rest)

    def cite(self, *groups: tuple[str, pd.DataFrame]) -> Markup:
        """One marker for rows of several tables: ``cite(("events", a), ("supplies", b))``."""
        numbers: list[int] = []
        for table, rows in groups:
            numbers += self.numbers(table, rows)
        return self.sup(numbers)

    def sup(self, numbers: list[int], *, alike: int = 0) -> Markup:
        """``[3–5, 8]`` as a superscript, each number linking to its note; '' for none."""
        runs: list[list[int]] = []
        for n in sorted(set(numbers)):
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        if not runs:
            return Markup("")
        link = Markup('<a href="#src-{0}">{0}</a>').format
        parts = [
            link(run[0]) if len(run) == 1 else link(run[0]) + Markup("–") + link(run[-1])
            for run in runs
        ]
        inner = Markup(", ").join(parts)
        if alike:
            title = f"{alike:,} more records say the same; the brief cites the first"
            inner += Markup(' <span class="cite-more" title="{}">+{} alike</span>').format(
                title, f"{alike:,}"
            )
        marker = Markup('<sup class="cite">[{}]</sup>').format(inner)
        if self._fresh_notes.intersection(numbers):
            marker += NEW_MARK
        return marker

    def notes(self) -> list[dict[str, object]]:
        """The notes as plain dicts, for templates and tests."""
        return [
            {
                "number": n.number,
                "anchor": f"src-{n.number}",
                "label": n.label,
                "where": n.where,
                "line": n.line,
                "source_id": n.source_id,
                "quote": quote(n.evidence),
                "evidence": n.evidence,
                # A relative date in the quote ("last October") with the date it means.
                "dates": "; ".join(
                    formatting.relative_dates(n.evidence, self._published[n.source_id])
                )
                if self._published.get(n.source_id) is not None
                else "",
                "rows": list(n.rows),
            }
            for n in self
        ]

    def trail(self) -> list[dict[str, object]]:
        """Each note's source, line, fragment and data rows: the annex and the manifest."""
        return [
            {
                "note": n.number,
                "source_id": n.source_id,
                "line": n.line,
                "evidence": n.evidence,
                "rows": [{"table": table, "id": row_id} for table, row_id in n.rows],
            }
            for n in self
        ]


#: What follows a marker that cites a row new since the previous edition.
NEW_MARK = Markup(
    '<span class="new-mark" title="New since the previous edition of this brief">new</span>'
)


def quote(text: str) -> Markup:
    """An evidence fragment in typographic quotes, escaped."""
    return Markup("“{}”").format(escape(text))
