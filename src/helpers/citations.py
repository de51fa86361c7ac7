"""Citation markers and the sources list they point into.

Every factual sentence of a brief cites the rows it came from. :class:`Citations` numbers each
cited row on first use, so the markers run [1], [2], ... in reading order, and renders the
sources section: for each number, the source, its date, the line and the verbatim fragment,
and the table and row id in ``data/`` that hold the fact.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from markupsafe import Markup, escape

from . import formatting

ID_COLUMNS = {
    "sources": "source_id",
    "actors": "actor_id",
    "places": "place_id",
    "events": "event_id",
    "projects": "project_id",
    "supplies": "supply_id",
    "assessments": "assessment_id",
    "relations": "relation_id",
}


@dataclass(frozen=True)
class Citation:
    """One cited row: where the fact lives in ``data/`` and where it stands in the source."""

    number: int
    table: str
    row_id: str
    source_id: str
    source_title: str
    published: str
    line: int
    evidence: str


class Citations:
    """A brief's citation registry; one per brief, shared by all its sections."""

    def __init__(self, sources: pd.DataFrame) -> None:
        self._sources = sources.set_index("source_id")
        self._by_key: dict[tuple[str, str], Citation] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self):
        return iter(sorted(self._by_key.values(), key=lambda c: c.number))

    def number(self, table: str, row: pd.Series) -> int:
        """The citation number of ``row`` of ``table``, assigning the next one on first use."""
        row_id = str(row[ID_COLUMNS[table]])
        key = (table, row_id)
        if key not in self._by_key:
            source_id = str(row["source_id"])
            source = self._sources.loc[source_id]
            self._by_key[key] = Citation(
                number=len(self._by_key) + 1,
                table=table,
                row_id=row_id,
                source_id=source_id,
                source_title=str(source["title"]),
                published=formatting.day(source["published"]),
                line=int(row["line"]),
                evidence=str(row["evidence"]),
            )
        return self._by_key[key].number

    def marker(self, table: str, row: pd.Series) -> Markup:
        """The superscript link ``[n]`` for a row, pointing at its entry in the sources list."""
        n = self.number(table, row)
        return Markup('<sup class="cite"><a href="#src-{0}">[{0}]</a></sup>').format(n)

    def markers(self, table: str, rows: pd.DataFrame, *, limit: int | None = None) -> Markup:
        """Markers for several rows, in order, without repeats.

        With ``limit``, only the first ``limit`` rows are cited and the rest counted
        (``[4],[5],[6] +12 rows``): a statement that many rows make alike stays one sentence
        with a few markers, and the sources list holds only the rows it cites.
        """
        rest = 0
        if limit is not None and len(rows) > limit:
            rows, rest = rows.head(limit), len(rows) - limit
        numbers = sorted({self.number(table, row) for _, row in rows.iterrows()})
        inner = Markup(",").join(Markup('<a href="#src-{0}">[{0}]</a>').format(n) for n in numbers)
        if rest:
            title = f"{rest:,} more rows of {table}.csv say the same; the brief cites the first"
            inner += Markup(' <span class="cite-more" title="{}">+{}</span>').format(
                title, formatting.count(rest, "row")
            )
        return Markup('<sup class="cite">{}</sup>').format(inner) if numbers else Markup("")

    def rows(self) -> list[dict[str, object]]:
        """The citations as plain dicts, for templates and tests."""
        return [c.__dict__ | {"anchor": f"src-{c.number}"} for c in self]


def quote(text: str) -> Markup:
    """An evidence fragment in typographic quotes, escaped."""
    return Markup("“{}”").format(escape(text))
