"""Selection: as_of, partner, window and themes decide what a brief may speak of."""

import pandas as pd

from helpers import params as P
from helpers.selection import select


def pick(dataset, **raw):
    return select(dataset, P.check(P.BriefParams, raw))


def test_defaults_keep_every_russia_row_and_the_war_as_context(dataset):
    sel = pick(dataset)
    assert {"ev-naval-visit", "ev-escalation", "ev-sittwe-contest"} <= set(sel.events["event_id"])
    assert "ev-sittwe-port" not in set(sel.events["event_id"])  # about India
    assert set(sel.projects["partner_id"]) == {"russia"}


def test_as_of_before_october_knows_nothing_of_the_naval_visit(dataset):
    sel = pick(dataset, as_of="2023-09-30")
    assert "ev-naval-visit" not in set(sel.events["event_id"])
    assert list(sel.events["event_id"]) == ["ev-oil-procurement"]
    assert sel.assessments.empty  # judgments are known from the article's date
    assert sel.held_back["events"]["not yet known"] > 0


def test_period_running_past_as_of_is_cut_there(dataset):
    sel = pick(dataset, as_of="2023-10-15")
    escalation = sel.events.set_index("event_id").loc["ev-escalation"]
    assert escalation["shown_end"] == pd.Timestamp("2023-10-15")
    assert bool(escalation["cut_at_as_of"])


def test_partner_china_keeps_what_the_data_says_about_china(dataset):
    sel = pick(dataset, partner="China")
    assert set(sel.assessments["assessment_id"]) >= {"as-reduce-china", "as-lessen-dependence"}
    assert sel.projects.empty and sel.supplies.empty
    assert "russia" not in set(sel.relations["other_id"]) | set(sel.relations["actor_id"])


def test_partner_india_keeps_sittwe_port(dataset):
    sel = pick(dataset, partner="India")
    assert list(sel.projects["project_id"]) == ["pr-sittwe-port"]
    assert "as-india-monitors" in set(sel.assessments["assessment_id"])


def test_window_keeps_dated_rows_that_overlap_it_and_undated_ones_on_request(dataset):
    sel = pick(dataset, start="2023-11-01", end="2023-11-30")
    dated = set(sel.dated_events["event_id"])
    assert dated == {"ev-escalation", "ev-maritime-exercise"}
    assert not sel.undated_events.empty
    sel = pick(dataset, start="2023-11-01", end="2023-11-30", include_undated=False)
    assert sel.undated_events.empty


def test_themes_filter_rows(dataset):
    sel = pick(dataset, themes="energy")
    assert set(sel.events["theme"]) == {"energy"}
    assert sel.supplies.empty
