"""Citations: notes per quoted fragment, in reading order, with the data trail kept apart."""

from __future__ import annotations

import re

from helpers.report.citations import Citations


def rows(frame, column, *ids):
    return frame[frame[column].isin(ids)]


def test_notes_are_numbered_in_reading_order_and_shared_by_rows_quoting_the_same_words(dataset):
    cites = Citations(dataset.sources)
    oil = rows(dataset.supplies, "supply_id", "su-oil")
    procurement = rows(dataset.events, "event_id", "ev-oil-procurement")
    visit = rows(dataset.events, "event_id", "ev-naval-visit")
    assert cites.numbers("supplies", oil) == [1]
    assert cites.numbers("events", visit) == [2]
    assert cites.numbers("events", procurement) == [1]  # same fragment as the oil
    assert len(cites) == 2
    (first, second) = cites.trail()
    assert first["rows"] == [
        {"table": "supplies", "id": "su-oil"},
        {"table": "events", "id": "ev-oil-procurement"},
    ]
    assert (first["source_id"], first["line"]) == ("art-2024-03-02", 13)
    assert second["note"] == 2


def test_a_reader_note_gives_the_sources_label_and_paragraph(dataset):
    cites = Citations(dataset.sources)
    cites.number("events", rows(dataset.events, "event_id", "ev-kan-zaw-visit").iloc[0])
    (note,) = cites.notes()
    assert (note["label"], note["where"]) == ("Report", "para. 2")  # line 7: the 2nd paragraph
    assert str(note["quote"]) == "“who visited Moscow with an ambitious agenda”"


def test_without_listed_paragraphs_a_note_gives_the_line(dataset):
    plain = dataset.sources.assign(paragraph_lines=None)
    cites = Citations(plain)
    cites.number("events", rows(dataset.events, "event_id", "ev-kan-zaw-visit").iloc[0])
    assert cites.notes()[0]["where"] == "line 7"


def test_markers_compress_runs_and_link_each_end(dataset):
    cites = Citations(dataset.sources)
    for event_id in ("ev-kan-zaw-visit", "ev-naval-visit", "ev-maritime-exercise", "ev-escalation"):
        cites.number("events", rows(dataset.events, "event_id", event_id).iloc[0])
    text = str(cites.sup([4, 1, 2, 3, 2]))
    assert re.sub(r"<[^>]+>", "", text) == "[1–4]"
    assert re.findall(r'href="#src-(\d+)"', text) == ["1", "4"]
    assert re.sub(r"<[^>]+>", "", str(cites.sup([1, 3, 4]))) == "[1, 3–4]"
    assert str(cites.sup([])) == ""


def test_a_relative_date_in_a_quote_is_read_on_the_sources_date(dataset):
    cites = Citations(dataset.sources)
    cites.number("events", rows(dataset.events, "event_id", "ev-escalation").iloc[0])
    assert cites.notes()[0]["dates"] == "October 2023"
