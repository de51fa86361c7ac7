"""What the data and the time view say about one brief, computed in-process (no kernel) from
:func:`helpers.report.selection.select`: which rows its parameters drop, by kind; which rows
lie outside its view; which it may show only flagged "date unknown"; what it holds on the
partner, theme by theme. The rules compare the rendered brief with this.
"""

from __future__ import annotations

import pandas as pd

from helpers.data.dataset import Dataset
from helpers.params import BaseParams
from helpers.proof.document import Expected
from helpers.report.citations import ID_COLUMNS
from helpers.report.selection import Selection, rests_on, select

#: The kinds "what this brief leaves out" must name, and the tables behind each.
KINDS: dict[str, tuple[str, ...]] = {
    "events": ("events",),
    "projects": ("projects",),
    "supplies": ("supplies",),
    "judgments": ("assessments", "judgments"),
    "places": (),
}
#: The reasons that put a row outside the view (as opposed to off the brief's themes).
OUT_OF_VIEW = (
    "published after the cut",
    "outside the window",
    "possibly outside the window",
    "undated, left out",
    # A judgment resting only on rows the view drops goes with them (the selection sets it
    # aside itself since issue 20).
    "evidence not in the brief",
)


def _ids(frame: pd.DataFrame, table: str) -> set[str]:
    if frame is None or frame.empty:
        return set()
    return {str(v) for v in frame[ID_COLUMNS[table]]}


def _places(frame: pd.DataFrame) -> set[str]:
    if frame is None or frame.empty or "place_id" not in frame:
        return set()
    return {str(v) for v in frame["place_id"].dropna()}


def _on_themes(frame: pd.DataFrame, table: str, themes) -> pd.DataFrame:
    """The rows of ``frame`` on ``themes`` (projects follow energy; places every theme)."""
    if frame is None or frame.empty:
        return frame
    if "theme" in frame:
        keep = frame["theme"].isin(themes)
        if "thesis" in frame:
            keep |= frame["thesis"].fillna(False).astype(bool)
        return frame[keep]
    if table == "projects" and "energy" not in themes:
        return frame.head(0)
    return frame


def expected(dataset: Dataset, params: BaseParams, selection: Selection | None = None) -> Expected:
    """The :class:`~helpers.proof.document.Expected` of a brief with ``params``."""
    sel = selection if selection is not None else select(dataset, params)
    themes = params.selected_themes
    dropped: dict[str, set[str]] = {kind: set() for kind in KINDS}
    out_places: set[str] = set()
    fixed = "themes" not in type(params).model_fields
    for reason, tables in sel.left_out.items():
        if reason == "other themes" and fixed:
            continue  # a notebook's fixed themes are its scope, not a parameter's cut
        for table, rows in tables.items():
            if fixed:
                # Rows off a fixed notebook's themes are outside its scope whatever else
                # sets them aside: only what the parameters drop on its themes counts.
                rows = _on_themes(rows, table, themes)
            for kind, names in KINDS.items():
                if table in names:
                    dropped[kind] |= _ids(rows, table)
            out_places |= _places(rows)
    shown_places = set()
    for table in ("events", "projects"):
        shown_places |= _places(sel.on_themes(table))
    dropped["places"] = out_places - shown_places
    dropped = {kind: ids for kind, ids in dropped.items() if ids}

    outside = {
        f"{table}:{row_id}"
        for reason in OUT_OF_VIEW
        for table, rows in sel.left_out.get(reason, {}).items()
        for row_id in _ids(rows, table)
    }
    outside |= _linked_outside(sel, outside)
    outside |= _judgments_outside(sel, outside)
    date_unknown = {
        f"{table}:{row_id}"
        for table in ("events", "projects", "supplies")
        if "date_unknown" in getattr(sel, table)
        for row_id in _ids(getattr(sel, table)[getattr(sel, table)["date_unknown"]], table)
    }
    partner_rows = {}
    for theme in ("defence", "energy", "economy", "regional"):
        count = 0
        for table in ("events", "projects", "supplies"):
            frame = sel.on_themes(table, (theme,))
            if "focus" in frame:
                count += int((frame["focus"] == "partner").sum())
        partner_rows[theme] = count
    themes_with_rows = {
        theme
        for theme in themes
        if any(
            not sel.on_themes(table, (theme,)).empty
            for table in ("events", "projects", "supplies", "assessments")
        )
    }
    evidence = " ".join(
        str(v).lower()
        for table in ("events", "projects", "supplies", "assessments", "relations")
        for v in getattr(dataset, table)["evidence"].dropna()
    )
    labels = {}
    for table, column in (("events", "title"), ("projects", "name"), ("supplies", "item")):
        frame = getattr(dataset, table)
        for row_id, label in zip(frame[ID_COLUMNS[table]], frame[column], strict=True):
            if f"{table}:{row_id}" in outside and isinstance(label, str):
                labels[f"{table}:{row_id}"] = label
    return Expected(
        dropped=dropped,
        outside=outside,
        outside_labels=labels,
        date_unknown=date_unknown - outside,
        partner_rows=partner_rows,
        sources=len(sel.sources),
        evidence=evidence,
        themes_with_rows=themes_with_rows,
    )


def _linked_outside(sel: Selection, outside: set[str]) -> set[str]:
    """Rows kept (undated) whose linked event is outside the view: a fact tied to an event
    follows that event."""
    found = set()
    events_out = {key.split(":", 1)[1] for key in outside if key.startswith("events:")}
    changed = True
    while changed:
        changed = False
        for table in ("events", "projects", "supplies"):
            frame = getattr(sel, table)
            if frame.empty or "related_event_id" not in frame:
                continue
            for row_id, related in zip(
                frame[ID_COLUMNS[table]].astype(str),
                frame["related_event_id"].astype(object),
                strict=True,
            ):
                key = f"{table}:{row_id}"
                if related is not None and not pd.isna(related) and str(related) in events_out:
                    if key not in found:
                        found.add(key)
                        changed = True
                    if table == "events" and row_id not in events_out:
                        events_out.add(row_id)
                        changed = True
    return found


def _judgments_outside(sel: Selection, outside: set[str]) -> set[str]:
    """Assessments kept only because of rows outside the view (every row they rest on is
    outside, or not in the brief)."""
    ids_out = {key.split(":", 1)[1] for key in outside}
    found = set()
    for table in ("assessments", "judgments"):
        frame = getattr(sel, table)
        for _, row in frame.iterrows():
            parts = rests_on(row)
            if parts and all(part in ids_out for part in parts):
                found.add(f"{table}:{row[ID_COLUMNS[table]]}")
    return found
