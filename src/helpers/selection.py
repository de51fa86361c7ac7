"""Apply a brief's parameters to the dataset: what it knows, about whom, in which window.

The rules, in order:

* **Known by ``as_of``.** A dated row is known once it has begun (``date_start <= as_of``); a
  row the source does not date, an assessment or a relation is known from its source's date.
  Periods still running at ``as_of`` are cut there (``shown_end``).
* **About the partner.** A row is kept when one of its actors is the partner, or when none of
  its actors is a foreign state (the war inside Myanmar is context for every partner).
* **In the window.** Dated rows must overlap ``[start, end]``; undated rows cannot be placed in
  a window and are kept when ``include_undated`` is true.
* **On the themes** the notebook covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .data import Dataset
from .params import BaseParams

#: For each table, the columns that name actors.
ACTOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("actor_id", "counterpart_id"),
    "projects": ("partner_id", "host_id"),
    "supplies": ("supplier_id", "recipient_id"),
    "assessments": ("subject_id", "object_id"),
    "relations": ("actor_id", "other_id"),
}
HOME = "myanmar"


@dataclass(frozen=True)
class Selection:
    """The rows a brief may speak of, and how many were held back by each rule."""

    params: BaseParams
    dataset: Dataset
    events: pd.DataFrame
    projects: pd.DataFrame
    supplies: pd.DataFrame
    assessments: pd.DataFrame
    relations: pd.DataFrame
    held_back: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def dated_events(self) -> pd.DataFrame:
        return self.events[self.events["date_precision"] != "undated"]

    @property
    def undated_events(self) -> pd.DataFrame:
        return self.events[self.events["date_precision"] == "undated"]

    def is_empty(self) -> bool:
        return all(
            frame.empty for frame in (self.events, self.projects, self.supplies, self.assessments)
        )


def foreign_states(dataset: Dataset) -> set[str]:
    """Actor ids of states other than Myanmar."""
    actors = dataset.actors
    return set(actors.loc[(actors["kind"] == "state") & (actors["actor_id"] != HOME), "actor_id"])


def _involves(frame: pd.DataFrame, columns: tuple[str, ...], ids: set[str]) -> pd.Series:
    mask = pd.Series(False, index=frame.index)
    for column in columns:
        mask |= frame[column].isin(ids).fillna(False).astype(bool)
    return mask


def _known_from(frame: pd.DataFrame, dataset: Dataset) -> pd.Series:
    published = frame["source_id"].map(
        dict(zip(dataset.sources["source_id"], dataset.sources["published"], strict=True))
    )
    if "date_start" in frame:
        return frame["date_start"].fillna(published)
    return published


def select(dataset: Dataset, params: BaseParams) -> Selection:
    """Return the rows of ``dataset`` that a brief with ``params`` may use."""
    as_of = pd.Timestamp(params.as_of)
    start = pd.Timestamp(params.start) if params.start else None
    end = pd.Timestamp(params.window_end)
    partner = params.partner_id
    others = foreign_states(dataset) - {partner}
    themes = set(params.selected_themes)
    out: dict[str, pd.DataFrame] = {}
    held: dict[str, dict[str, int]] = {}
    for name, columns in ACTOR_COLUMNS.items():
        frame = dataset.tables()[name].copy()
        counts = {}
        known = _known_from(frame, dataset) <= as_of
        counts["not yet known"] = int((~known).sum())
        about = _involves(frame, columns, {partner}) | ~_involves(frame, columns, others)
        counts["about another partner"] = int((known & ~about).sum())
        keep = known & about
        if "theme" in frame:
            on_theme = frame["theme"].isin(themes)
            counts["other themes"] = int((keep & ~on_theme).sum())
            keep &= on_theme
        if "date_start" in frame:
            dated = frame["date_start"].notna()
            shown_end = frame["date_end"].fillna(as_of).clip(upper=as_of)
            lower = start if start is not None else pd.Timestamp.min
            in_window = dated & (frame["date_start"] <= end) & (shown_end >= lower)
            keep_dated = keep & dated & in_window
            keep_undated = keep & ~dated & params.include_undated
            counts["outside the window"] = int((keep & dated & ~in_window).sum())
            counts["undated, excluded"] = (
                int((keep & ~dated).sum()) if not params.include_undated else 0
            )
            keep = keep_dated | keep_undated
            frame["shown_end"] = shown_end.where(dated)
            frame["cut_at_as_of"] = dated & (frame["date_end"].isna() | (frame["date_end"] > as_of))
        out[name] = frame[keep].reset_index(drop=True)
        held[name] = {reason: n for reason, n in counts.items() if n}
    return Selection(params=params, dataset=dataset, held_back=held, **out)
