"""The article's facts, as a checklist: each is in the data with its numbers and units exact.

Derived by reading ../shared/source/article-2024-03-02.txt line by line; the line of each
fact is checked too, so a fact moved to the wrong line fails here as well as in validation.
"""

from __future__ import annotations

import pandas as pd
import pytest

SOURCE_DATE = pd.Timestamp("2024-03-02")


def one(frame: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    rows = frame[mask.fillna(False).astype(bool)]
    assert len(rows) == 1, f"expected one row where {where}, found {len(rows)}"
    return rows.iloc[0]


def test_source_is_the_article_of_2_march_2024(dataset):
    source = one(dataset.sources, source_id="art-2024-03-02")
    assert source["published"] == SOURCE_DATE
    assert source["file"] == "article-2024-03-02.txt"


def test_source_is_graded_as_an_uncorroborated_secondary_report_naming_no_sources(dataset):
    """The file names no outlet and no author; the article cites nobody; nothing confirms it."""
    source = one(dataset.sources, source_id="art-2024-03-02")
    assert pd.isna(source["outlet"])
    assert source["origin"] == "secondary" and not bool(source["names_sources"])
    assert (source["reliability"], source["credibility"]) == ("F", "3")
    # Its body paragraphs stand on lines 1, 7, 13 and 17 (headings and furniture between).
    assert source["paragraph_lines"] == "1;7;13;17"


def test_the_thesis_is_reducing_reliance_on_china_through_ties_with_russia(dataset):
    thesis = one(dataset.assessments, thesis=True)
    assert (thesis["subject_id"], thesis["object_id"], thesis["context_id"]) == (
        "junta",
        "russia",
        "china",
    )
    assert thesis["line"] == 1 and thesis["modality"] == "intended"
    assert "reduce its reliance on China" in thesis["statement"]


@pytest.mark.parametrize(
    ("actor_id", "kind", "line"),
    [
        ("junta", "government", 1),
        ("russia", "state", 1),
        ("china", "state", 1),
        ("india", "state", 17),
        ("kan-zaw", "person", 7),
        ("sittwe-naval-chief", "person", 13),
        ("myanmar-army", "armed_forces", 17),
        ("arakan-army", "armed_group", 17),
        ("ethnic-factions", "armed_group", 13),
        ("international-community", "community", 17),
    ],
)
def test_actor_is_recorded(dataset, actor_id, kind, line):
    actor = one(dataset.actors, actor_id=actor_id)
    assert actor["kind"] == kind
    assert actor["line"] == line


def test_kan_zaw_holds_the_investment_and_foreign_economic_relations_office(dataset):
    actor = one(dataset.actors, actor_id="kan-zaw")
    assert actor["name"] == "Dr Kan Zaw"
    assert actor["office"] == "Minister for Investment and Foreign Economic Relations"


def test_kan_zaw_visited_moscow_undated(dataset):
    visit = one(dataset.events, event_id="ev-kan-zaw-visit")
    assert (visit["kind"], visit["actor_id"], visit["place_id"]) == ("visit", "kan-zaw", "moscow")
    assert visit["date_precision"] == "undated" and pd.isna(visit["date_start"])


@pytest.mark.parametrize(
    ("sector", "capacity"),
    [
        ("port", None),
        ("special_economic_zone", None),
        ("refinery", None),
        ("thermal_power", 660.0),
        ("nuclear_power", 330.0),
    ],
)
def test_project_discussed_with_russia(dataset, sector, capacity):
    projects = dataset.projects[dataset.projects["partner_id"] == "russia"]
    project = one(projects, sector=sector)
    assert project["status"] == "under_discussion"
    assert project["line"] == 7
    if capacity is None:
        assert pd.isna(project["capacity"])
    else:
        assert project["capacity"] == capacity
        assert project["capacity_unit"] == "MW"


def test_trade_settlement_in_national_currencies_was_discussed(dataset):
    talks = one(dataset.events, event_id="ev-currency-talks")
    assert talks["kind"] == "talks" and talks["theme"] == "economy" and talks["line"] == 7


def test_the_war_at_home_is_one_event_not_two(dataset):
    """'intensified conflict along its borders' (para. 1) and 'escalation of hostilities ...
    since last October' (para. 3) are one conflict: one row, dated, ongoing."""
    escalations = dataset.events[dataset.events["kind"] == "escalation"]
    assert list(escalations["event_id"]) == ["ev-escalation"]


def test_escalation_since_october_2023_is_ongoing(dataset):
    event = one(dataset.events, event_id="ev-escalation")
    assert event["date_start"] == pd.Timestamp("2023-10-01")
    assert event["date_precision"] == "month"
    assert bool(event["ongoing"]) and pd.isna(event["date_end"])


def test_naval_chief_visited_russia_in_october_2023(dataset):
    visit = one(dataset.events, event_id="ev-naval-visit")
    assert (visit["date_start"], visit["date_end"]) == (
        pd.Timestamp("2023-10-01"),
        pd.Timestamp("2023-10-31"),
    )
    assert visit["date_precision"] == "month" and visit["counterpart_id"] == "russia"


def test_the_agreement_is_not_called_a_defence_agreement(dataset):
    """The article says only 'A $35 million agreement'; what it covers is not said."""
    deal = one(dataset.events, kind="agreement")
    assert "defence" not in deal["title"].lower()


def test_35_million_us_dollar_agreement_signed_during_the_visit(dataset):
    deal = one(dataset.events, kind="agreement")
    assert deal["value"] == 35_000_000 and deal["currency"] == "USD"
    assert deal["related_event_id"] == "ev-naval-visit"
    assert deal["date_start"] == pd.Timestamp("2023-10-01") and deal["date_precision"] == "month"


def test_first_maritime_security_exercise_in_november_2023(dataset):
    exercise = one(dataset.events, kind="exercise")
    assert exercise["date_start"] == pd.Timestamp("2023-11-01")
    assert exercise["date_end"] == pd.Timestamp("2023-11-30")
    # The article names no other party; it links the exercise to the naval visit.
    assert pd.isna(exercise["counterpart_id"])
    assert exercise["related_event_id"] == "ev-naval-visit"


def test_naval_equipment_procured_undated_and_its_seller_unnamed(dataset):
    """'with the procurement of naval equipment': a procurement, with no supplier named."""
    supply = one(dataset.supplies, category="naval_equipment")
    assert pd.isna(supply["supplier_id"]) and supply["date_precision"] == "undated"
    assert supply["modality"] == "procurement"
    event = one(dataset.events, event_id="ev-naval-procurement")
    assert pd.isna(event["counterpart_id"]) and "Russian" not in event["title"]
    assert event["related_event_id"] == "ev-naval-visit"


@pytest.mark.parametrize("category", ["combat_aircraft", "rocket_artillery"])
def test_russia_supplies_fighter_jets_and_rocket_launchers_among_others(dataset, category):
    """'including Sukhoi fighter jets and rocket launchers': an open list."""
    supply = one(dataset.supplies, category=category)
    assert supply["supplier_id"] == "russia" and supply["line"] == 13
    assert bool(supply["including"])


def test_sukhoi_is_named(dataset):
    assert one(dataset.supplies, category="combat_aircraft")["item"] == "Sukhoi fighter jets"


def test_over_8_million_barrels_of_oil_march_to_june_2023_for_the_air_force(dataset):
    oil = one(dataset.supplies, category="oil")
    assert oil["quantity"] == 8_000_000
    assert oil["quantity_unit"] == "barrels"
    assert oil["quantity_qualifier"] == "more_than"
    assert (oil["date_start"], oil["date_end"]) == (
        pd.Timestamp("2023-03-01"),
        pd.Timestamp("2023-06-30"),
    )
    assert oil["date_precision"] == "period"
    assert oil["purpose"] == "to fuel its air force"


def test_russia_is_emerging_as_the_largest_supplier_of_military_hardware(dataset):
    judgment = one(dataset.assessments, kind="largest_supplier")
    assert (judgment["subject_id"], judgment["object_id"]) == ("russia", "myanmar")
    assert judgment["modality"] == "emerging" and "is emerging" in judgment["statement"]


def test_projects_are_an_open_list_under_discussion(dataset):
    """'discussions aimed at advancing projects including ...': at least these, none agreed."""
    projects = dataset.projects[dataset.projects["partner_id"] == "russia"]
    assert set(projects["status"]) == {"under_discussion"}
    assert projects["including"].all()


def test_embarking_on_projects_is_recorded_as_resting_on_the_discussed_projects(dataset):
    judgment = one(dataset.assessments, assessment_id="as-russian-projects")
    assert set(judgment["rests_on"].split(";")) >= {
        "pr-deep-sea-port",
        "pr-thermal-power",
        "pr-nuclear-power",
    }


@pytest.mark.parametrize(
    ("assessment_id", "subject", "obj", "line"),
    [
        ("as-thesis", "junta", "russia", 1),
        ("as-lessen-dependence", "myanmar", "china", 7),
        ("as-india-monitors", "india", "arakan-army", 17),
        ("as-balance-of-power", "myanmar", None, 17),
        ("as-international-watch", "international-community", "myanmar", 17),
    ],
)
def test_assessment_is_recorded(dataset, assessment_id, subject, obj, line):
    judgment = one(dataset.assessments, assessment_id=assessment_id)
    assert judgment["subject_id"] == subject and judgment["line"] == line
    assert (pd.isna(judgment["object_id"]) and obj is None) or judgment["object_id"] == obj


def test_india_developed_sittwe_port_for_its_northeast(dataset):
    port = one(dataset.projects, project_id="pr-sittwe-port")
    assert (port["partner_id"], port["status"], port["place_id"]) == (
        "india",
        "developed",
        "sittwe-port",
    )
    assert "northeastern region" in one(dataset.places, place_id="northeast-india")["evidence"]


def test_myanmar_army_and_arakan_army_contest_sittwe(dataset):
    relation = one(dataset.relations, relation_id="rel-army-arakan")
    assert (relation["actor_id"], relation["other_id"], relation["kind"]) == (
        "myanmar-army",
        "arakan-army",
        "opposes",
    )
    assert one(dataset.events, event_id="ev-sittwe-contest")["place_id"] == "sittwe"


def test_relative_dates_are_resolved_in_statements(dataset):
    """'since last October' in a report of March 2024 is October 2023, and says so."""
    for text in dataset.assessments["statement"]:
        assert "last " not in text and "this year" not in text, text
    acceleration = one(dataset.assessments, assessment_id="as-defence-acceleration")
    assert "October 2023" in acceleration["statement"]


def test_no_fact_is_dated_after_the_article(dataset):
    for frame in (dataset.events, dataset.supplies):
        assert (frame["date_start"].dropna() <= SOURCE_DATE).all()
        assert (frame["date_end"].dropna() <= SOURCE_DATE).all()


def test_places_for_the_map_have_coordinates_or_say_why_not(dataset):
    places = dataset.places
    with_point = places["coordinate_basis"] != "none"
    assert places.loc[with_point, ["latitude", "longitude"]].notna().all().all()
    assert places.loc[~with_point, ["latitude", "longitude"]].isna().all().all()
    assert set(places["place_id"]) >= {"moscow", "sittwe", "sittwe-port", "sittwe-naval-base"}
