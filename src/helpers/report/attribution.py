"""The source's assessments as the brief states them: ordered (the partner's first, the most
telling kind first), attributed to the source, and qualified where they say more than the rows
they rest on ("the projects it names were under discussion").

ICD 203 keeps the source's interpretation apart from the facts: an assessment is always the
source's view, never the brief's finding.
"""

from __future__ import annotations

import pandas as pd

from helpers.report.citations import ID_COLUMNS, Citations
from helpers.report.selection import Selection, emphasis_order, rests_on
from helpers.report.words import STATUS_WORDS, says

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


def ordered_assessments(frame: pd.DataFrame) -> pd.DataFrame:
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


def unstated(selection: Selection, frame: pd.DataFrame, stated: set[str]) -> pd.DataFrame:
    """Rows of ``frame`` whose statement the brief has not made yet: rows saying word for word
    what a stated row said count as stated."""
    said = selection.assessments[selection.assessments["assessment_id"].astype(str).isin(stated)]
    texts = set(said["statement"].astype(str).str.strip())
    return frame[~frame["statement"].astype(str).str.strip().isin(texts)]


def assessment_item(selection: Selection, cites: Citations, row: pd.Series | dict) -> dict:
    """An assessment as a sentence: the source's view, attributed, its modality kept."""
    return {
        "says": says(selection, row),
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


def distinct_statements(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Groups of rows that make the same statement word for word, in order."""
    if frame.empty:
        return []
    key = frame["statement"].astype(str).str.strip()
    return [group for _, group in frame.groupby(key, sort=False)]
