"""The timeline's facts: what its title, drawing and alt text say, computed once.

The events read from their rows (:class:`Event`), each one's extent on the date axis as
precisely as the source dates it (:func:`event_extent`), the source date ongoing bars stop at,
and which events are shown when there are more than the chart holds (:func:`timeline_facts`;
for a large frame, narrowed down with pandas first). Nothing here draws.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from helpers.errors import ParameterError
from helpers.report import formatting as fmt
from helpers.report.charts.base import (
    as_flag,
    as_timestamp,
    count_of,
    optional_str,
    records,
)

__all__ = [
    "Event",
    "Extent",
    "TimelineFacts",
    "default_undated_heading",
    "event_extent",
    "timeline_facts",
]

_DAY = pd.Timedelta(days=1)

_EVENT_COLUMNS = (
    "event_id",
    "title",
    "theme",
    "date_start",
    "date_end",
    "date_precision",
    "ongoing",
)


@dataclass(frozen=True)
class Event:
    event_id: str
    title: str
    theme: str
    precision: str
    ongoing: bool
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    actor_id: str | None
    counterpart_id: str | None


@dataclass(frozen=True)
class Extent:
    start: pd.Timestamp
    stop: pd.Timestamp  # exclusive
    first_month_stop: pd.Timestamp | None  # month precision: end of the month it started in
    open_ended: bool  # ongoing with no end: runs to the source date and beyond
    single_day: bool


@dataclass(frozen=True)
class TimelineFacts:
    title: str
    n_total: int
    n_dated: int
    n_undated: int
    dated: list[Event]  # shown, chronological
    undated: list[Event]  # shown, input order
    as_of: pd.Timestamp | None
    note: str | None


def _events(events: pd.DataFrame | None) -> list[Event]:
    rows = records(events, "events", _EVENT_COLUMNS)
    out = []
    for row in rows:
        start = as_timestamp(row["date_start"])
        precision = optional_str(row["date_precision"]) or (
            "day" if start is not None else "undated"
        )
        if start is None:
            precision = "undated"
        out.append(
            Event(
                event_id=str(row["event_id"]),
                title=str(row["title"]),
                theme=optional_str(row["theme"]) or "",
                precision=precision,
                ongoing=as_flag(row["ongoing"]),
                start=start,
                end=as_timestamp(row["date_end"]),
                actor_id=optional_str(row.get("actor_id")),
                counterpart_id=optional_str(row.get("counterpart_id")),
            )
        )
    return out


def _resolve_as_of(
    as_of: Any, items: list[Event], events: pd.DataFrame | None, sources: pd.DataFrame | None
) -> pd.Timestamp | None:
    if as_of is not None:
        return pd.Timestamp(as_of).normalize()
    if sources is not None and not sources.empty and "published" in sources.columns:
        published = sources
        if events is not None and "source_id" in events.columns:
            cited = set(events["source_id"].dropna().astype(str))
            if cited & set(sources["source_id"].astype(str)):
                published = sources[sources["source_id"].astype(str).isin(cited)]
        latest = pd.to_datetime(published["published"]).max()
        if not pd.isna(latest):
            return pd.Timestamp(latest).normalize()
    known = [d for e in items for d in (e.start, e.end) if d is not None]
    return max(known) if known else None


def event_extent(event: Event, as_of: pd.Timestamp | None) -> Extent:
    assert event.start is not None
    first_month_stop = None
    if event.precision == "month":
        period = event.start.to_period("M")
        start = period.start_time
        first_month_stop = period.end_time.normalize() + _DAY
        minimum_stop = first_month_stop
    else:
        start = event.start
        minimum_stop = start + _DAY
    if event.end is not None:
        stop = max(event.end + _DAY, minimum_stop)
        open_ended = False
    elif event.ongoing:
        stop = max(as_of, minimum_stop) if as_of is not None else minimum_stop
        open_ended = True
    else:
        stop = minimum_stop
        open_ended = False
    single_day = event.precision in ("day", "period") and stop - start == _DAY
    return Extent(start, stop, first_month_stop, open_ended, single_day)


#: Above this many events per event shown, the timeline narrows the rows down with pandas
#: before looking at them one by one (see :func:`_candidate_events`).
_TRIM_FACTOR = 4


def _candidate_events(
    events: pd.DataFrame | None, as_of: Any, sources: pd.DataFrame | None, max_events: int
) -> tuple[pd.DataFrame, pd.Timestamp | None, tuple[int, int, int]] | None:
    """For a large frame, the rows :func:`timeline_facts` can show, with the whole's counts.

    What it keeps, in the frame's order: the ``max_events`` dated rows that end last (as
    :func:`event_extent` computes the end; among equal ends the first, as a stable sort does) and
    the first ``max_events`` undated rows. Those are all the chart can show, so the facts are
    those of the whole frame; only the counts, returned as ``(total, dated, undated)``, need
    the whole. ``None`` (look at every row) for a small frame, or columns that are not typed
    as :func:`helpers.data.load` types them.
    """
    if events is None or len(events) <= _TRIM_FACTOR * max_events:
        return None
    if any(c not in events.columns for c in _EVENT_COLUMNS):
        return None
    typed = all(
        pd.api.types.is_datetime64_dtype(events[c]) for c in ("date_start", "date_end")
    ) and pd.api.types.is_bool_dtype(events["ongoing"])
    if not typed:
        return None
    start = events["date_start"].dt.normalize()
    end = events["date_end"].dt.normalize()
    dated = start.notna()
    as_of_ts = _resolve_as_of(as_of, [], events, sources)
    if as_of_ts is None:
        known = pd.concat([start, end]).max()
        as_of_ts = None if pd.isna(known) else pd.Timestamp(known)
    precision = events["date_precision"].astype(object)
    minimum = (start + pd.offsets.MonthBegin(1)).where(precision == "month", start + _DAY)
    stop = minimum.where(end.isna(), np.maximum(end + _DAY, minimum))
    ongoing = events["ongoing"].fillna(False).astype(bool) & end.isna()
    if as_of_ts is not None:
        stop = stop.where(~ongoing, minimum.clip(lower=as_of_ts))
    keep = ~dated & (~dated).cumsum().le(max_events)
    if dated.sum() > max_events:
        # A stable sort keeps the first rows among equal ends: so do we.
        threshold = stop[dated].nlargest(max_events).iloc[-1]
        above = dated & (stop > threshold)
        at = dated & (stop == threshold)
        keep |= above | (at & at.cumsum().le(max_events - int(above.sum())))
    else:
        keep |= dated
    counts = (len(events), int(dated.sum()), int((~dated).sum()))
    return events[keep], as_of_ts, counts


def timeline_facts(
    events: pd.DataFrame | None,
    as_of: Any,
    sources: pd.DataFrame | None,
    max_events: int,
) -> TimelineFacts:
    if max_events < 1:
        raise ParameterError(f"max_events={max_events!r}: give a whole number of at least 1")
    trimmed = _candidate_events(events, as_of, sources, max_events)
    if trimmed is None:
        items = _events(events)
        as_of_ts = _resolve_as_of(as_of, items, events, sources)
        dated = [e for e in items if e.start is not None]
        undated = [e for e in items if e.start is None]
        n_total, n_dated, n_undated = len(items), len(dated), len(undated)
    else:
        frame, as_of_ts, (n_total, n_dated, n_undated) = trimmed
        items = _events(frame)
        dated = [e for e in items if e.start is not None]
        undated = [e for e in items if e.start is None]

    # Many rows: keep the most recent dated events, then undated ones, up to max_events.
    note = None
    shown_dated, shown_undated = dated, undated
    if n_total > max_events:

        def recency(e: Event) -> pd.Timestamp:
            return event_extent(e, as_of_ts).stop

        shown_dated = sorted(dated, key=recency, reverse=True)[:max_events]
        shown_undated = undated[: max_events - len(shown_dated)]
        which = "the most recent" if shown_dated else "in data order"
        note = f"Showing {max_events:,} of {n_total:,} events ({which})."
        if n_undated > len(shown_undated):
            note += f" {n_undated - len(shown_undated):,} undated events not shown."

    # The finding, about the events drawn: the month in which the most of them began.
    shown = " shown" if note else ""
    starts = Counter(e.start.to_period("M") for e in shown_dated)
    if not items:
        title = "No events recorded"
    elif not shown_dated:
        bound = f" (no later than {fmt.day(as_of_ts)})" if as_of_ts is not None else ""
        title = f"None of the {count_of(len(shown_undated), 'event')}{shown} is dated{bound}"
    else:
        month, top = max(starts.items(), key=lambda kv: (kv[1], kv[0]))
        n = count_of(len(shown_dated), "dated event")
        if top >= 2:
            title = f"{top} of {n}{shown} began in {fmt.month(month.start_time)}"
        else:
            first = min(e.start for e in shown_dated)
            last = max(e.start for e in shown_dated)
            span = fmt.month(first)
            if first.to_period("M") != last.to_period("M"):
                span += f" to {fmt.month(last)}"
            title = f"{n}{shown}, {span}"
        if shown_undated:
            more = len(shown_undated)
            title += f"; {more:,} more {'is' if more == 1 else 'are'} undated"
    shown_dated = sorted(shown_dated, key=lambda e: (e.start, event_extent(e, as_of_ts).stop))
    return TimelineFacts(
        title=fmt.sentence_case(title),
        n_total=n_total,
        n_dated=n_dated,
        n_undated=n_undated,
        dated=shown_dated,
        undated=shown_undated,
        as_of=as_of_ts,
        note=note,
    )


def default_undated_heading(as_of: pd.Timestamp | None) -> str:
    if as_of is None:
        return "Undated (no later than the source's date)"
    return f"Undated (no later than {fmt.short_day(as_of)})"
