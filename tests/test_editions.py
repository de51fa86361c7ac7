"""Editions: the ledger, comparing two, and finding the previous edition of a series.

Plain values only (no kernel): the end-to-end scenarios, through ``brief batch``, are in
``test_editions_e2e.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.errors import UsageError
from helpers.ledger import (
    FIRST,
    LEDGER_VERSION,
    WITHDRAWN,
    Edition,
    EditionSummary,
    EditionUnreadable,
    as_text,
    compare,
    counts_words,
    fact,
    read_edition,
)
from helpers.pipeline.manifest import file_entry
from helpers.pipeline.publish import publish_run
from helpers.pipeline.series import (
    diff,
    previous_edition,
    series_key,
)

EVENT = {
    "event_id": "ev-a",
    "title": "Naval visit",
    "actor_id": "junta",
    "counterpart_id": "russia",
    "place_id": None,
    "date_start": "2023-10-01",
    "date_end": "2023-10-31",
    "date_precision": "month",
    "ongoing": False,
    "value": float("nan"),
    "currency": None,
    "modality": "reported",
    "source_id": "art",
    "line": 13,
    "evidence": "the visit in October",
}


def edition(date: str, facts: list[dict], *, set_aside=None, sources=None, **kw) -> Edition:
    ledger = {
        "ledger_version": LEDGER_VERSION,
        "date": date,
        "as_of": "2024-03-02",
        "facts": facts,
        "sources": sources
        or [{"id": "art", "label": "Report", "title": "", "published": "2024-03-02"}],
        "set_aside": set_aside or [],
    }
    return Edition.of(ledger, **kw)


def test_a_fact_hashes_what_the_reader_sees_and_nothing_else():
    one = fact("events", EVENT, "ev-a")
    assert one["label"] == "Naval visit"
    assert one["shown"]["date"] == "2023-10-01 · 2023-10-31"
    assert one["shown"]["figure"] == ""  # NaN and None are nothing
    assert one["shown"]["source"] == "art, line 13: the visit in October"
    # A column the reader never sees does not change the hash ...
    assert fact("events", {**EVENT, "theme": "other"}, "ev-a")["hash"] == one["hash"]
    # ... each value the reader sees does.
    for column, value in [
        ("title", "Naval visits"),
        ("date_start", "2023-11-01"),
        ("date_precision", "day"),
        ("value", 35e6),
        ("modality", "planned"),
        ("evidence", "the visit"),
        ("line", 14),
    ]:
        assert fact("events", {**EVENT, column: value}, "ev-a")["hash"] != one["hash"], column


def test_new_changed_dropped_and_withdrawn_are_told_apart():
    old_a = fact("events", EVENT, "ev-a")
    old_b = fact("events", {**EVENT, "title": "Exercise"}, "ev-b")
    old_c = fact("events", {**EVENT, "title": "Agreement"}, "ev-c")
    new_a = fact("events", {**EVENT, "title": "Naval visit to Vladivostok"}, "ev-a")
    new_d = fact("events", {**EVENT, "title": "Port talks"}, "ev-d")
    before = edition("2023-09-30", [old_a, old_b, old_c])
    after = edition(
        "2024-03-02",
        [new_a, new_d],
        set_aside=[{"table": "events", "id": "ev-b", "reason": "outside the window"}],
        sources=[
            {"id": "art", "label": "Report"},
            {"id": "art2", "label": "Second report", "title": "T", "published": "2024-04-01"},
        ],
    )
    changes = compare(before, after)
    assert [c.id for c in changes.new] == ["ev-d"]
    assert [c.id for c in changes.changed] == ["ev-a"]
    assert changes.changed[0].fields == (
        ("statement", "Naval visit", "Naval visit to Vladivostok"),
    )
    assert {c.id: c.reason for c in changes.dropped} == {
        "ev-b": "outside the window",
        "ev-c": WITHDRAWN,
    }
    assert [c.id for c in changes.corrections] == ["ev-a", "ev-c"]
    assert [s["id"] for s in changes.new_sources] == ["art2"]
    assert changes.counts() == {"new": 1, "changed": 1, "dropped": 2, "new_sources": 1}
    text = as_text(changes)
    assert "+ events/ev-d: Port talks" in text
    assert "statement: Naval visit -> Naval visit to Vladivostok" in text
    assert "- events/ev-c: Agreement (withdrawn from the data)" in text
    assert json.loads(json.dumps(changes.as_json()))["counts"]["new"] == 1


def test_the_same_ledger_is_no_change():
    one = edition("2024-03-02", [fact("events", EVENT, "ev-a")])
    changes = compare(one, one)
    assert changes.empty
    assert "Nothing new, changed or withdrawn" in as_text(changes)


COUNTS = {"new": 4, "changed": 1, "dropped": 0, "new_sources": 2}


@pytest.mark.parametrize(
    ("counts", "sources", "words"),
    [
        (COUNTS, "always", "4 new, 1 changed, 0 no longer shown, 2 new source(s)"),
        (
            {**COUNTS, "new_sources": 0},
            "always",
            "4 new, 1 changed, 0 no longer shown, 0 new source(s)",
        ),
        (COUNTS, "if any", "4 new, 1 changed, 0 no longer shown, 2 new source(s)"),
        ({**COUNTS, "new_sources": 0}, "if any", "4 new, 1 changed, 0 no longer shown"),
        (COUNTS, "counted", "4 new, 1 changed, 0 no longer shown, 2 new sources"),
        (
            {**COUNTS, "new_sources": 1},
            "counted",
            "4 new, 1 changed, 0 no longer shown, 1 new source",
        ),
        (COUNTS, "never", "4 new, 1 changed, 0 no longer shown"),
    ],
)
def test_the_counts_of_a_comparison_are_worded_in_one_place(counts, sources, words):
    assert counts_words(counts, sources=sources) == words


def test_the_counts_say_what_the_new_facts_are_and_refuse_an_unknown_way_with_sources():
    detail = " (3 learned, 1 brought into view by the window)"
    assert counts_words(COUNTS, sources="never", new_detail=detail) == (
        "4 new (3 learned, 1 brought into view by the window), 1 changed, 0 no longer shown"
    )
    with pytest.raises(ValueError, match="choose from always, if any, counted, never"):
        counts_words(COUNTS, sources="sometimes")


def test_brief_diff_counts_every_kind_and_the_new_sources():
    before = edition("2024-03-02", [fact("events", EVENT, "ev-a")])
    after = edition(
        "2024-04-01",
        [fact("events", EVENT, "ev-a"), fact("events", {**EVENT, "title": "Port talks"}, "ev-d")],
    )
    assert as_text(compare(before, after)).splitlines()[1] == (
        "  1 new, 0 changed, 0 no longer shown, 0 new source(s)"
    )


@pytest.mark.parametrize(
    "summary",
    [
        {"since": FIRST, "changes": None},
        {"since": None, "changes": None},
        {"since": {"run": "brief/sept", "date": "2023-09-30"}, "changes": None},
        {
            "since": {"run": "brief/sept", "date": "2023-09-30"},
            "changes": COUNTS,
            "made_from_changed": [],
        },
        {
            "since": {"run": "brief/sept", "date": "2023-09-30"},
            "changes": COUNTS,
            "made_from_changed": ["actors", "code"],
        },
    ],
)
def test_an_edition_summary_reads_back_what_it_wrote(summary):
    read = EditionSummary.from_json(json.loads(json.dumps(summary)))
    assert json.dumps(read.to_json()) == json.dumps(summary)
    assert read.first == (summary["since"] == FIRST)
    assert read.previous == (summary["since"] if isinstance(summary["since"], dict) else None)


@pytest.mark.parametrize(
    "edition", [None, {}, {"since": 3, "changes": [1], "made_from_changed": "x"}]
)
def test_an_edition_summary_of_nothing_or_of_the_wrong_types_is_empty(edition):
    assert EditionSummary.from_json(edition) == EditionSummary()


def test_the_manifest_records_the_comparison_as_an_edition_summary(tmp_path):
    params = {"partner": "Russia", "as_of": "2024-03-02", "end": None}
    sept = {**params, "end": "2023-09-30"}
    manifest(tmp_path, "brief", "sept", sept, edition=ledger("2023-09-30"))
    found = previous_edition(tmp_path, "brief", "march", params)
    now = ledger("2024-03-02", [fact("events", EVENT, "ev-a")])
    record = found.record(now)
    assert list(record) == ["since", "changes", "made_from_changed"]
    assert record["since"]["run"] == "brief/sept"
    assert record["changes"] == {"new": 1, "changed": 0, "dropped": 0, "new_sources": 0}
    assert EditionSummary.from_json(record) == found.summary(now)
    first = previous_edition(tmp_path, "brief", "june", {**params, "end": "2023-06-30"})
    assert first.record(now) == {"since": FIRST, "changes": None}


def manifest(tmp: Path, notebook: str, run: str, parameters: dict, **extra) -> Path:
    """A run published as brief publishes one (a run link to a version folder): a plain
    folder is not a run (test_hostile_inputs.py)."""
    stage = tmp / ".tmp" / f"{notebook}-{run}"
    stage.mkdir(parents=True)
    (stage / f"{notebook}.html").write_text("<p>brief</p>")
    body = {
        "manifest_version": 2,
        "notebook": notebook,
        "run": run,
        "parameters": parameters,
        "created_at": extra.pop("created_at", "2026-12-01T10:00:00Z"),
        "outputs": {f"{notebook}.html": file_entry(stage / f"{notebook}.html")},
        **extra,
    }
    (stage / "manifest.json").write_text(json.dumps(body))
    return publish_run(stage, tmp, notebook, run)


def ledger(date: str, facts=()) -> dict:
    return edition(date, list(facts)).ledger()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "does not exist"),
        ("{not json", "not valid JSON"),
        ('{"manifest_version": 1, "parameters": {}}', "from before editions"),
        ('{"edition": {"ledger_version": 99, "facts": []}}', "ledger of version 99"),
        (
            f'{{"edition": {{"ledger_version": {LEDGER_VERSION}, "facts": [{{"id": 1}}]}}}}',
            "malformed",
        ),
        ("[1, 2]", "not a manifest"),
    ],
)
def test_an_unreadable_previous_edition_says_why(tmp_path, content, why):
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(EditionUnreadable, match=why):
        read_edition(path)


def test_a_series_is_its_notebook_and_parameters_but_the_edition_fields():
    base = {"partner": "Russia", "as_of": "2024-03-02", "end": None}
    assert series_key("brief", base) == series_key(
        "brief", {**base, "as_of": "2024-01-01", "end": "2023-09-30", "since": "x"}
    )
    assert series_key("brief", base) != series_key("brief", {**base, "partner": "China"})
    assert series_key("brief", base) != series_key("defence", base)


def test_the_previous_edition_is_the_latest_published_that_ends_no_later(tmp_path):
    params = {"partner": "Russia", "as_of": "2024-03-02", "end": None}
    sept = {**params, "end": "2023-09-30"}
    manifest(tmp_path, "brief", "sept", sept, edition=ledger("2023-09-30"))
    manifest(
        tmp_path,
        "brief",
        "china",
        {**params, "partner": "China"},
        edition=ledger("2024-03-02"),
        created_at="2026-12-01T11:00:00Z",
    )
    # The March edition follows September's (China's is another series).
    found = previous_edition(tmp_path, "brief", "march", params)
    assert found.edition is not None and found.edition.date == "2023-09-30"
    assert found.since == str(tmp_path / "brief" / "sept" / "manifest.json")
    # Rendering September again compares it with itself, as published.
    assert previous_edition(tmp_path, "brief", "sept", sept).edition.date == "2023-09-30"
    # An edition of June has nothing before it: the first of its series.
    assert (
        previous_edition(tmp_path, "brief", "june", {**params, "end": "2023-06-30"}).since == FIRST
    )
    # The March edition, once published, is what a later re-render of March follows.
    manifest(
        tmp_path,
        "brief",
        "march",
        params,
        edition=ledger("2024-03-02"),
        created_at="2026-12-01T12:00:00Z",
    )
    assert previous_edition(tmp_path, "brief", "march", params).edition.date == "2024-03-02"
    # --since DATE picks that edition; --since RUN that run.
    assert (
        previous_edition(tmp_path, "brief", "march", params, since="2023-09-30").edition.date
        == "2023-09-30"
    )
    again = previous_edition(tmp_path, "brief", "x", params, since=str(tmp_path / "brief" / "sept"))
    assert again.edition.date == "2023-09-30"


def test_an_old_or_corrupt_previous_edition_warns_and_does_not_compare(tmp_path):
    params = {"partner": "Russia", "as_of": "2024-03-02", "end": None}
    folder = manifest(tmp_path, "brief", "default", params)  # version 1: no ledger
    found = previous_edition(tmp_path, "brief", "default", params)
    assert found.since is None and found.edition is None
    assert "from before editions" in found.warning
    (folder / "manifest.json").write_text("{corrupt")
    found = previous_edition(tmp_path, "brief", "default", params)
    assert found.since is None and "not valid JSON" in found.warning
    # A missing previous edition (deleted) is no previous edition: the first of the series.
    (folder / "manifest.json").unlink()
    assert previous_edition(tmp_path, "brief", "default", params).since == FIRST


def test_since_that_names_nothing_is_a_usage_error_and_a_date_without_edition_warns(tmp_path):
    params = {"partner": "Russia", "as_of": "2024-03-02", "end": None}
    with pytest.raises(UsageError, match="no such run folder"):
        previous_edition(tmp_path, "brief", "default", params, since=str(tmp_path / "nope"))
    found = previous_edition(tmp_path, "brief", "default", params, since="2020-01-01")
    assert found.since is None and "no edition of this series ends on that day" in found.warning


def test_diff_compares_two_runs_and_refuses_what_it_cannot_read(tmp_path):
    params = {"partner": "Russia", "as_of": "2024-03-02", "end": None}
    a = manifest(tmp_path, "brief", "a", params, edition=ledger("2023-09-30"))
    b = manifest(
        tmp_path,
        "brief",
        "b",
        params,
        edition=ledger("2024-03-02", [fact("events", EVENT, "ev-a")]),
    )
    changes = diff(a, b / "manifest.json")
    assert [c.id for c in changes.new] == ["ev-a"]
    with pytest.raises(UsageError, match="cannot compare"):
        diff(a, tmp_path / "missing")


def test_an_edition_standing_on_too_many_facts_keeps_their_count_and_is_not_compared(tmp_path):
    # At 1000x the shipped data, listing 42,000 facts made the notebook 47 MB and the brief
    # five times slower (benchmarks/README.md): the ledger then keeps only the count.
    from helpers.ledger import LEDGER_LIMIT

    big = Edition(date="2024-03-02", as_of="2024-03-02", facts={}, too_large=LEDGER_LIMIT + 1)
    ledger = big.ledger()
    assert ledger["facts"] == [] and ledger["too_large"] == LEDGER_LIMIT + 1
    params = {"partner": "Russia", "as_of": "2024-03-02", "end": None}
    manifest(tmp_path, "brief", "default", params, edition=ledger)
    found = previous_edition(tmp_path, "brief", "default", params)
    assert found.edition is None and "2,001 facts, more than the 2,000" in found.warning


# -- the box, on the kernel side (issues 20 and 23) ------------------------------------------


def _box_against(previous_of, **params):
    """The box of the main brief compared with ``previous_of(current)``."""
    import dataclasses as dc

    import helpers
    from helpers.ledger import compare
    from helpers.params import BriefParams
    from helpers.report import since as report_editions
    from helpers.report.citations import Citations
    from helpers.report.selection import select

    dataset = helpers.load()
    selection = select(dataset, BriefParams.model_validate(params))
    current = report_editions.current(selection)
    previous = dc.replace(previous_of(current), created_at="2026-12-01T10:00:00Z")
    changes = compare(previous, current)
    return str(
        report_editions.box(selection, Citations(dataset.sources), previous, changes, current)
    )


def test_the_box_says_a_table_beside_the_facts_changed_though_no_fact_did():
    # An actor renamed changes what the reader sees; no fact's hash covers it (issue 23).
    from helpers.data.package import file_digests

    def same_facts_other_actors(current):
        digests = file_digests(None)
        made_from = {t: digests[f"{t}.csv"] for t in ("sources", "places")}
        return Edition(
            current.date,
            current.as_of,
            dict(current.facts),
            made_from=made_from | {"actors": "0" * 64},
        )

    html = _box_against(same_facts_other_actors)
    assert "names and offices of the actors" in html
    assert "nothing new, changed or withdrawn" not in html


def test_the_box_lists_no_more_than_max_rows_of_anything():
    def nothing_known(current):
        return Edition(current.date, current.as_of, {})

    html = _box_against(nothing_known, max_rows=2)
    listed = html.split('<p class="since-kind">New</p>')[1].split("</ul>")[0]
    assert listed.count("<li>") == 3 and "<li>and 34 more</li>" in listed
    # A name keeps its capital in the box ("Myanmar's shifting alliances").
    assert "argues that Myanmar&#39;s shifting" in html
