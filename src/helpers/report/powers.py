"""Where the powers stand: the table of each foreign power's ties (the partner first) and the
conflict at home, in the source's own words.
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from helpers.report import formatting as fmt
from helpers.report.citations import Citations
from helpers.report.selection import Selection
from helpers.report.words import CITE_LIMIT, actor_names, render, reporter

#: Most ties the table of the powers spells out per power (and most names per tie).
TIES_PER_POWER = 4


def actor_table(selection: Selection, cites: Citations) -> Markup:
    """Who stands where, as the source describes it: one row per foreign power (the partner
    first), then the war at home; each cell the source's ties in its own words."""
    relations = selection.relations
    if relations.empty:
        return Markup("")
    names = actor_names(selection)
    foreign = [selection.partner] + [
        actor_id
        for actor_id in dict.fromkeys(
            a for ids in relations["powers"] for a in sorted(ids) if a != selection.partner
        )
    ]
    rows = []
    used: set[int] = set()
    for power in [*foreign, None]:
        if power is None:
            mask = relations["focus"] == "home"
        else:
            mask = relations["powers"].map(lambda ids, p=power: p in ids)
        mask &= ~relations.index.isin(used)
        frame = relations[mask]
        used |= set(frame.index)
        sentences = []
        # The first ties only: grouping every synthetic actor's ties would cost seconds.
        keys = frame[["actor_id", "phrase"]].astype(str).drop_duplicates()
        for actor_id, phrase in keys.head(TIES_PER_POWER).itertuples(index=False):
            group = frame[
                (frame["actor_id"].astype(str) == actor_id)
                & (frame["phrase"].astype(str) == phrase)
            ]
            first = group.iloc[0]
            others = list(dict.fromkeys(names.get(str(o), str(o)) for o in group["other_id"]))
            if len(others) > TIES_PER_POWER:
                others = [
                    *others[:TIES_PER_POWER],
                    fmt.count(len(others) - TIES_PER_POWER, "other"),
                ]
            flag = " (date unknown)" if _tied_to_undated(selection, group) else ""
            sentences.append(
                {
                    "text": f"{names.get(str(first['actor_id']), first['actor_id'])} "
                    f"{first['phrase']} {fmt.join(others)}{flag}",
                    "cite": cites.markers("relations", group, limit=CITE_LIMIT),
                }
            )
        if power is not None and not sentences and power != selection.partner:
            continue
        rows.append(
            {
                "power": names.get(power, power) if power else "Inside Myanmar",
                "partner": power == selection.partner,
                "sentences": sentences,
                "more": fmt.count(len(keys) - TIES_PER_POWER, "more tie")
                if len(keys) > TIES_PER_POWER
                else "",
            }
        )
    return render("actor_table", rows=rows, says=fmt.sentence_case(reporter(selection)))


def _tied_to_undated(selection: Selection, relations: pd.DataFrame) -> bool:
    """True in a windowed brief when the ties quote the very words of a shown fact marked
    'date unknown': their note cites it, so they carry its flag."""
    if not selection.view.windowed or relations.empty:
        return False
    cited = ["source_id", "line", "evidence"]
    keys = set(relations[cited].astype(str).itertuples(index=False, name=None))
    for frame in (selection.events, selection.supplies, selection.projects):
        if frame.empty or "date_unknown" not in frame:
            continue
        undated = frame[frame["date_unknown"].fillna(False).astype(bool)]
        if keys & set(undated[cited].astype(str).itertuples(index=False, name=None)):
            return True
    return False
