"""Narrative: text from data through templates; every number traceable; parameters matter."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
from markupsafe import Markup

from helpers import narrative
from helpers import params as P
from helpers.citations import Citations
from helpers.selection import select

SECTIONS = ("defence", "energy", "economy", "regional")


def full_text(dataset, **raw) -> tuple[str, Citations]:
    sel = select(dataset, P.check(P.BriefParams, raw))
    cites = Citations(dataset.sources)
    parts = [narrative.key_judgments(sel, cites), narrative.timeline_summary(sel)]
    for theme in SECTIONS:
        parts += [narrative.theme_events(sel, cites, theme), narrative.supplies(sel, cites, theme)]
    parts.append(narrative.projects(sel, cites))
    parts.append(narrative.sources(cites))
    return "\n".join(str(p) for p in parts), cites


def plain(html: str) -> str:
    text = re.sub(r'<sup class="cite">.*?</sup>', "", html)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"&#\d+;|&\w+;", " ", text)


def numbers_from_data(dataset, *dates) -> set[str]:
    """Every number a sentence may state: values, their millions, date parts, sums, counts."""
    allowed: set[str] = set()
    for frame in dataset.tables().values():
        for column in frame.columns:
            series = frame[column].dropna()
            if series.dtype.kind in "fi" or str(series.dtype) in ("Float64", "Int64"):
                for value in series:
                    allowed |= {f"{value:g}", f"{value / 1e6:g}", f"{int(value):,}"}
            if series.dtype.kind == "M":
                for value in series:
                    allowed |= {str(value.year), str(value.day)}
            if column == "evidence" or column == "statement" or column == "title":
                allowed |= set(re.findall(r"\d[\d,.]*", " ".join(series)))
    for date in dates:
        allowed |= {str(date.year), str(date.day)}
    capacity = dataset.projects.groupby("partner_id")["capacity"].sum()
    allowed |= {f"{v:g}" for v in capacity}
    allowed |= {str(n) for n in range(0, 1 + max(len(f) for f in dataset.tables().values()))}
    return allowed


def test_every_number_in_the_narrative_is_found_in_the_data(dataset):
    for raw in ({}, {"as_of": "2023-09-30"}, {"partner": "China"}, {"partner": "India"}):
        html, _ = full_text(dataset, **raw)
        params = P.check(P.BriefParams, raw)
        allowed = numbers_from_data(dataset, params.as_of, dataset.source_date)
        source_part = html.split('<ol class="brief-sources">')[0]
        for number in re.findall(r"\d[\d,.]*\d|\d", plain(source_part)):
            assert number.rstrip(".,") in allowed, (raw, number)


def test_numbers_read_as_a_reader_expects(dataset):
    html, _ = full_text(dataset)
    for expected in (
        "660 MW",
        "330 MW",
        "990 MW",
        "US$35 million",
        "more than 8 million barrels",
        "March–June 2023",
        "October 2023",
        "November 2023",
    ):
        assert expected in html, expected


def test_each_factual_sentence_carries_a_marker_that_resolves_in_the_sources(dataset):
    html, cites = full_text(dataset)
    markers = set(re.findall(r'href="#src-(\d+)"', html))
    anchors = set(re.findall(r'id="src-(\d+)"', html))
    assert markers and markers == anchors
    for li in re.findall(r'<ul class="key-judgments">(.*?)</ul>', html, re.S)[0].split("<li>")[1:]:
        assert 'class="cite"' in li
    assert len(cites) == len(anchors)


def test_sources_show_line_and_verbatim_fragment(dataset):
    html, cites = full_text(dataset)
    first = next(iter(cites))
    assert f"l. {first.line}: “" in html and "News article" in html
    assert f"“{first.evidence}”".replace("'", "&#39;") in html


def test_as_of_before_october_brief_knows_nothing_of_the_naval_visit(dataset):
    before, _ = full_text(dataset, as_of="2023-09-30")
    after, _ = full_text(dataset)
    assert "Sittwe Naval Base" in after
    assert "Sittwe Naval Base" not in before
    assert "US$35 million" not in before
    assert "more than 8 million barrels" in before


def test_partner_china_says_what_the_data_says_about_china(dataset):
    html, _ = full_text(dataset, partner="China")
    assert "reduce its reliance on China" in html
    assert "US$35 million" not in html and "660 MW" not in html


def test_empty_selection_gives_a_nothing_recorded_passage(dataset):
    sel = select(dataset, P.check(P.BriefParams, {"partner": "China", "as_of": "2023-01-01"}))
    text = str(narrative.nothing(sel, "defence cooperation"))
    assert "Nothing recorded" in text and "China" in text and "1 January 2023" in text
    assert "not yet known" in text


def test_data_values_are_escaped_where_they_become_markup(dataset):
    hostile = "<script>alert(1)</script>"
    events = dataset.events.copy()
    events.loc[events["event_id"] == "ev-naval-visit", "title"] = hostile
    tampered = dataclasses.replace(dataset, events=events)
    sel = select(tampered, P.check(P.BriefParams, {}))
    html = str(narrative.theme_events(sel, Citations(dataset.sources), "defence"))
    assert hostile not in html and "&lt;script&gt;" in html
    assert isinstance(
        narrative.render("nothing", topic="x", partner="y", as_of="z", window="", held=""), Markup
    )


def test_undated_events_are_listed_as_undated(dataset):
    html, _ = full_text(dataset)
    assert '<span class="when">Undated</span> — Investment minister Kan Zaw visits Moscow' in html
    assert "known only to precede 2 March 2024" in html  # said once, in the timeline summary
    assert not pd.isna(dataset.source_date)


def test_lists_stop_at_max_rows_and_say_how_many_more_the_data_records(dataset):
    import dataclasses

    def many(frame: pd.DataFrame, times: int) -> pd.DataFrame:
        parts = [frame]
        for k in range(1, times):
            part = frame.copy()
            part[frame.columns[0]] = part[frame.columns[0]].astype(str) + f"-x{k}"
            parts.append(part.astype(frame.dtypes.to_dict()))
        return pd.concat(parts, ignore_index=True)

    big = dataclasses.replace(
        dataset,
        events=many(dataset.events, 20),
        supplies=many(dataset.supplies, 20),
        assessments=many(dataset.assessments, 20),
    )
    sel = select(big, P.check(P.BriefParams, {"max_rows": "5"}))
    cites = Citations(big.sources)
    judgments = str(narrative.key_judgments(sel, cites))
    assert judgments.count("<strong>") - 1 <= 5 + 1  # "By the numbers", 5 figures, a total
    assert re.search(r"The data records [\d,]+ more figures not listed here\.", judgments)
    defence = str(narrative.theme_events(sel, cites, "defence"))
    assert defence.count("<li>") == 5
    assert re.search(r"The data records [\d,]+ more events not listed here\.", defence)
    # Twenty rows making one statement word for word: one sentence, three markers, a count.
    lead = defence.split("</p>")[0]
    statements = re.findall(r"(?:<p>|</sup> )([^<]+?)<sup", lead)
    assert statements and len(statements) == len(set(statements))
    assert lead.count('href="#src-') == 3 * len(statements)
    assert lead.count("+17 rows") == len(statements)
    assert "more assessments" not in defence  # every row is stated, if not every row cited
    supplies = str(narrative.supplies(sel, cites, "defence"))
    assert supplies.count("naval equipment") == 1
    assert supplies.count("Sukhoi fighter jets") == 1
    # Each item named once, cited by its first row; the rows repeating them are counted.
    assert "+17 rows" in supplies and "+38 rows" in supplies
    economy = str(narrative.supplies(sel, cites, "economy"))
    assert economy.count("8 million barrels") == 1
    assert "(20 records, March 2023 – June 2023)" in economy
    assert len(cites) < 60  # every citation stands for a row the brief shows
    # Each fragment is quoted once in the sources list; later rows on it point back to it.
    listing = str(narrative.sources(cites))
    fragments = {(c.source_id, c.line, c.evidence) for c in cites}
    assert listing.count("“") == len(fragments) < len(cites)
    assert listing.count('class="same-as"') == len(cites) - len(fragments)
    assert set(re.findall(r'id="src-(\d+)"', listing)) == {str(c.number) for c in cites}


def test_markers_cite_the_first_rows_and_count_the_rest(dataset):
    cites = Citations(dataset.sources)
    rows = dataset.assessments.head(5)
    text = str(cites.markers("assessments", rows, limit=2))
    assert text.count('href="#src-') == 2
    assert "+three rows" in text
    assert len(cites) == 2  # the uncited rows are not in the sources list
    assert "+" not in str(cites.markers("assessments", rows.head(2), limit=2))
