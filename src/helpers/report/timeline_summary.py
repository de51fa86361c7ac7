"""The timeline's words: how many of the events the report dates, over which span, and what
the undated ones are (every count through :mod:`helpers.report.grammar`).
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from helpers.report import formatting as fmt
from helpers.report import grammar
from helpers.report.selection import Selection
from helpers.report.words import latest_published, render, when


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
    source_date = latest_published(selection)
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
