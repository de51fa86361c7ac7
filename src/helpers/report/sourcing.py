"""What a brief rests on: its sources, their Admiralty grades, and the confidence they allow.

The sources table grades each source on the Admiralty (NATO) code: the reliability of the
source (A to F) and the credibility of its information where nothing else confirms it (1 to 6).
From the sources a brief cites, :func:`assess` derives a plain statement of the evidence base and
an ICD 203 confidence level about that base, not about the events:

* **high**: at least three independent sources, one of them usually reliable (A or B), with
  information confirmed (1) or probably true (2);
* **moderate**: at least two independent sources, one of them at least fairly reliable (A to C);
* **low**: anything less, and always a single source, however confident its tone.

Two sources are independent unless one repeats or summarises the other (``derived_from``).
The rule is deliberately conservative: software carries the analyst's grades, it does not
raise them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from helpers.data.grading import CONFIDENCE_LEVELS as _LEVELS
from helpers.data.grading import confidence_level, independent_sources
from helpers.report.formatting import number_word

#: Admiralty reliability grades, in words.
RELIABILITY = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
#: Admiralty credibility grades, in words.
CREDIBILITY = {
    "1": "confirmed by other sources",
    "2": "probably true",
    "3": "possibly true",
    "4": "doubtful",
    "5": "improbable",
    "6": "truth cannot be judged",
}
#: How a source of each kind is named in running text.
KIND_WORDS = {
    "news_article": "news report",
    "report": "report",
    "statement": "statement",
    "dataset": "dataset",
}
CONFIDENCE_LEVELS = _LEVELS  # one list, in the data layer (helpers.data.grading)


@dataclass(frozen=True)
class Source:
    """One source as the brief describes it to a reader."""

    source_id: str
    label: str
    title: str
    kind: str
    published: dt.date
    outlet: str | None
    origin: str
    names_sources: bool
    reliability: str
    credibility: str
    derived_from: str | None
    grading_note: str | None

    @property
    def grade(self) -> str:
        """The Admiralty grade, reliability then credibility: ``"F3"``."""
        return f"{self.reliability}{self.credibility}"

    @property
    def kind_words(self) -> str:
        return KIND_WORDS.get(self.kind, self.kind.replace("_", " "))


@dataclass(frozen=True)
class Sourcing:
    """The evidence base of one brief."""

    sources: tuple[Source, ...]
    #: Sources that do not repeat another cited source.
    independent: int
    confidence: str | None
    #: Why the confidence is what it is, as a clause ("one uncorroborated secondary report").
    reason: str

    @property
    def single(self) -> bool:
        return len(self.sources) == 1

    @property
    def corroborated(self) -> bool:
        return self.independent >= 2


def _text(value) -> str | None:
    if value is None or pd.isna(value) or not str(value).strip():
        return None
    return str(value).strip()


def source_rows(sources: pd.DataFrame, ids: set[str] | None = None) -> tuple[Source, ...]:
    """The rows of ``sources`` (those in ``ids``, if given) as :class:`Source` objects."""
    out = []
    for row in sources.to_dict("records"):
        if ids is not None and str(row["source_id"]) not in ids:
            continue
        out.append(
            Source(
                source_id=str(row["source_id"]),
                label=str(row["label"]),
                title=str(row["title"]),
                kind=str(row["kind"]),
                published=pd.Timestamp(row["published"]).date(),
                outlet=_text(row.get("outlet")),
                origin=str(row["origin"]),
                names_sources=bool(row["names_sources"]),
                reliability=str(row["reliability"]),
                credibility=str(row["credibility"]),
                derived_from=_text(row.get("derived_from")),
                grading_note=_text(row.get("grading_note")),
            )
        )
    return tuple(sorted(out, key=lambda s: (s.published, s.source_id)))


def assess(sources: pd.DataFrame, cited: set[str]) -> Sourcing:
    """The evidence base of a brief that cites the sources ``cited`` (source ids)."""
    rows = source_rows(sources, cited)
    # A source repeating another cited source (directly or down a chain) adds nothing.
    independent = independent_sources({s.source_id: s.derived_from for s in rows})
    if not rows:
        return Sourcing((), 0, None, "no source")
    best_reliability = min(s.reliability for s in rows)
    best_credibility = min(s.credibility for s in rows)
    many = number_word(independent)
    level = confidence_level(independent, best_reliability, best_credibility)
    if level == "high":
        reason = f"{many} independent sources, one of them usually reliable"
    elif level == "moderate":
        reason = f"{many} independent sources, one of them at least fairly reliable"
    else:
        if len(rows) == 1:
            origin = "secondary " if rows[0].origin == "secondary" else ""
            reason = f"one uncorroborated {origin}{rows[0].kind_words}"
        elif independent == 1:
            reason = f"{number_word(len(rows))} sources that repeat one another"
        else:
            reason = (
                f"{number_word(len(rows))} sources whose reliability is low or cannot be judged"
            )
    return Sourcing(rows, independent, level, reason)
