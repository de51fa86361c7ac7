"""Selection: what was known by as_of, which events fall in the window, and emphasis by partner."""

import numpy as np
import pandas as pd
import pytest

from helpers import params as P
from helpers.report.selection import select


def pick(dataset, schema=P.BriefParams, **raw):
    return select(dataset, P.check(schema, raw))


def ids(frame, column):
    return set(frame[column].astype(str))


def left(sel, reason, table, column):
    return ids(sel.left_out.get(reason, {}).get(table, pd.DataFrame({column: []})), column)


def test_the_partner_decides_emphasis_not_existence(dataset):
    russia, china = pick(dataset), pick(dataset, partner="China")
    # Every row is in both briefs; only the emphasis differs.
    for table, column in (("events", "event_id"), ("projects", "project_id")):
        assert ids(getattr(russia, table), column) == ids(getattr(china, table), column)
    events = russia.events.set_index("event_id")
    assert events.loc["ev-naval-visit", "focus"] == "partner"
    assert events.loc["ev-sittwe-port", "focus"] == "other"  # India's port: context
    assert events.loc["ev-sittwe-contest", "focus"] == "home"  # the war inside Myanmar
    assert china.events.set_index("event_id").loc["ev-naval-visit", "focus"] == "other"
    assert set(china.assessments.query("focus == 'partner'")["assessment_id"]) == {
        "as-thesis",
        "as-lessen-dependence",
        "as-border-conflict",  # the fighting along the borders with India and China
    }


def test_a_row_linked_to_an_event_with_the_partner_is_about_the_partner(dataset):
    """The naval equipment names no seller, but its procurement hangs on the visit to Russia."""
    sel = pick(dataset)
    supplies = sel.supplies.set_index("supply_id")
    assert pd.isna(dataset.supplies.set_index("supply_id").loc["su-naval-equipment", "supplier_id"])
    assert supplies.loc["su-naval-equipment", "focus"] == "partner"
    exercise = sel.events.set_index("event_id").loc["ev-maritime-exercise"]
    assert exercise["focus"] == "partner"


def test_as_of_counts_sources_by_their_publication_date(dataset):
    """The only source is of 2 March 2024: on 30 September 2023 nothing of it was known,
    not even the oil bought in March–June 2023."""
    sel = pick(dataset, as_of="2023-09-30")
    assert sel.sources.empty and sel.is_empty()
    assert sel.events.empty and sel.supplies.empty and sel.thesis.empty
    assert "ev-oil-procurement" in left(sel, "published after the cut", "events", "event_id")
    assert not sel.view.hindsight


def test_hindsight_view_shows_events_to_the_cut_as_the_later_report_tells_them(dataset):
    sel = pick(dataset, end="2023-09-30")
    assert sel.view.hindsight and sel.view.windowed
    dated = ids(sel.dated_events, "event_id")
    assert dated == {"ev-oil-procurement"}
    # October's visit, agreement and escalation, November's exercise: after the cut.
    assert {"ev-naval-visit", "ev-defence-agreement", "ev-maritime-exercise"} <= left(
        sel, "outside the window", "events", "event_id"
    )
    # The procurement linked to October's visit is no earlier than the visit: out too.
    assert "ev-naval-procurement" in left(sel, "outside the window", "events", "event_id")
    # Undated rows stay, marked as possibly outside the window.
    undated = sel.undated_events
    assert not undated.empty and undated["date_unknown"].all()


def test_a_judgment_goes_when_every_row_it_rests_on_is_out(dataset):
    sel = pick(dataset, end="2023-09-30")
    dropped = left(sel, "evidence not in the brief", "assessments", "assessment_id")
    assert {"as-defence-acceleration", "as-critical-support"} <= dropped
    kept = ids(sel.assessments, "assessment_id")
    assert "as-ties-stronger" in kept  # rests on the oil of March–June 2023
    assert "as-thesis" in kept  # the report's frame rests on no single row


@pytest.mark.parametrize(
    ("end", "in_window", "possibly_outside"),
    [
        # A cut inside October: October's events may have happened after it.
        # The undated procurement linked to the visit goes with it (a fact follows its event).
        (
            "2023-10-15",
            set(),
            {"ev-naval-visit", "ev-defence-agreement", "ev-escalation", "ev-naval-procurement"},
        ),
        # The last day of October: they certainly happened by then.
        ("2023-10-31", {"ev-naval-visit", "ev-defence-agreement", "ev-escalation"}, set()),
    ],
)
def test_a_month_event_counts_as_after_a_cut_inside_its_month(
    dataset, end, in_window, possibly_outside
):
    sel = pick(dataset, end=end)
    dated = ids(sel.dated_events, "event_id")
    assert in_window <= dated
    assert not (possibly_outside & dated)
    assert possibly_outside == left(sel, "possibly outside the window", "events", "event_id")


def test_a_period_event_counts_as_after_a_cut_inside_its_period(dataset):
    """Oil bought 'between March and June 2023': a cut on 15 May falls inside the period."""
    sel = pick(dataset, end="2023-05-15")
    assert "ev-oil-procurement" not in ids(sel.events, "event_id")
    assert "ev-oil-procurement" in left(sel, "possibly outside the window", "events", "event_id")
    assert "su-oil" in left(sel, "possibly outside the window", "supplies", "supply_id")
    assert "su-oil" not in ids(sel.supplies, "supply_id")


def test_an_ongoing_event_begun_before_the_cut_is_shown_up_to_the_cut(dataset):
    sel = pick(dataset, end="2023-12-31")
    escalation = sel.events.set_index("event_id").loc["ev-escalation"]
    assert escalation["shown_end"] == pd.Timestamp("2023-12-31")
    assert bool(escalation["cut_at_end"])


def test_window_start_inside_a_month_leaves_that_months_events_possibly_outside(dataset):
    sel = pick(dataset, start="2023-10-15")
    dated = ids(sel.dated_events, "event_id")
    assert "ev-maritime-exercise" in dated  # November: inside
    assert "ev-escalation" in dated  # still running in the window
    assert {"ev-naval-visit", "ev-defence-agreement"} <= left(
        sel, "possibly outside the window", "events", "event_id"
    )
    assert "ev-oil-procurement" in left(sel, "outside the window", "events", "event_id")


def test_undated_rows_can_be_left_out_and_projects_follow_their_talks(dataset):
    sel = pick(dataset, include_undated=False)
    assert sel.undated_events.empty
    assert sel.projects.empty  # the talks behind every project are undated
    assert "pr-deep-sea-port" in left(sel, "undated, left out", "projects", "project_id")


def test_the_thesis_opens_every_brief_whatever_its_themes(dataset):
    sel = pick(dataset, P.DefenceParams)
    assert list(sel.thesis["assessment_id"]) == ["as-thesis"]
    assert sel.thesis["theme"].iloc[0] == "regional"


def test_themes_decide_which_rows_sections_show_and_what_is_set_aside(dataset):
    sel = pick(dataset, themes="energy")
    assert set(sel.on_themes("events")["theme"]) == {"energy"}
    assert sel.on_themes("supplies").empty
    assert "ev-naval-visit" in left(sel, "other themes", "events", "event_id")
    sel = pick(dataset, themes="defence")
    assert sel.on_themes("projects").empty
    assert "pr-sez" in left(sel, "other themes", "projects", "project_id")


def test_on_themes_puts_the_partners_rows_first(dataset):
    frame = pick(dataset, partner="India").on_themes("events", ("regional",))
    assert frame["focus"].iloc[0] == "partner"
    assert frame["event_id"].iloc[0] == "ev-sittwe-port"


def test_on_themes_selects_once_and_gives_each_caller_a_frame_of_its_own(dataset):
    sel = pick(dataset)
    first, again = sel.on_themes("events"), sel.on_themes("events")
    # Selected once: the second call gives the same rows without taking them again.
    assert np.shares_memory(first["date_start"].to_numpy(), again["date_start"].to_numpy())
    assert first is not again
    # A caller's change stays in its own frame.
    title = again["title"].iloc[0]
    first.loc[first.index[0], "title"] = "changed"
    first["extra"] = 1
    later = sel.on_themes("events")
    assert later["title"].iloc[0] == title and "extra" not in later
    # Other themes are other selections.
    defence = sel.on_themes("events", ("defence",))
    assert set(defence["theme"]) == {"defence"}
