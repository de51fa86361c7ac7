"""Sourcing: the evidence base of a brief and the confidence it allows (ICD 203, Admiralty)."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.report.sourcing import assess


def sources(*rows: dict) -> pd.DataFrame:
    base = {
        "title": "A source",
        "published": pd.Timestamp("2024-03-02"),
        "file": "a.txt",
        "kind": "news_article",
        "label": "Report",
        "outlet": None,
        "origin": "secondary",
        "names_sources": False,
        "reliability": "F",
        "credibility": "3",
        "derived_from": None,
        "grading_note": None,
    }
    return pd.DataFrame([base | row for row in rows])


def test_the_shipped_source_alone_gives_low_confidence(dataset):
    sourcing = assess(dataset.sources, {"art-2024-03-02"})
    assert sourcing.confidence == "low" and sourcing.single and not sourcing.corroborated
    assert sourcing.reason == "one uncorroborated secondary news report"
    (source,) = sourcing.sources
    assert source.grade == "F3" and source.kind_words == "news report"
    assert source.outlet is None and not source.names_sources


def test_a_single_source_is_low_confidence_however_well_graded():
    one = sources({"source_id": "a", "reliability": "A", "credibility": "1", "origin": "primary"})
    sourcing = assess(one, {"a"})
    assert sourcing.confidence == "low"
    assert sourcing.reason == "one uncorroborated news report"


@pytest.mark.parametrize(
    ("grades", "level"),
    [
        ([("C", "3"), ("D", "3")], "moderate"),
        ([("F", "3"), ("F", "3")], "low"),  # two sources, neither judged reliable
        ([("B", "2"), ("C", "3"), ("C", "3")], "high"),
        ([("B", "3"), ("C", "3"), ("C", "3")], "moderate"),  # nothing confirmed or probable
    ],
)
def test_confidence_grows_with_independent_and_reliable_sources(grades, level):
    rows = [
        {"source_id": f"s{i}", "label": f"S{i}", "reliability": r, "credibility": c}
        for i, (r, c) in enumerate(grades)
    ]
    sourcing = assess(sources(*rows), {r["source_id"] for r in rows})
    assert sourcing.confidence == level
    assert sourcing.independent == len(rows)


def test_a_source_that_repeats_another_adds_no_independence():
    rows = sources(
        {"source_id": "wire", "reliability": "B", "credibility": "2"},
        {
            "source_id": "copy",
            "label": "Copy",
            "reliability": "B",
            "credibility": "2",
            "derived_from": "wire",
        },
        {
            "source_id": "copy2",
            "label": "Copy 2",
            "reliability": "B",
            "credibility": "2",
            "derived_from": "copy",
        },
    )
    sourcing = assess(rows, {"wire", "copy", "copy2"})
    assert sourcing.independent == 1
    assert sourcing.confidence == "low"
    assert sourcing.reason == "three sources that repeat one another"
    # Uncited sources do not count.
    assert assess(rows, {"wire"}).independent == 1
    assert assess(rows, set()).confidence is None
