"""Numbers and dates read as a reader expects."""

import pandas as pd
import pytest

from helpers.report import formatting as fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (8_000_000, "8 million"),
        (35_000_000, "35 million"),
        (1_500_000_000, "1.5 billion"),
        (660, "660"),
        (1250, "1,250"),
    ],
)
def test_number(value, text):
    assert fmt.number(value) == text


def test_money_quantity_capacity():
    assert fmt.money(35_000_000.0, "USD") == "US$35 million"
    assert fmt.quantity(8_000_000.0, "barrels", "more_than") == "more than 8 million barrels"
    assert fmt.capacity(660.0, "MW") == "660 MW"
    assert (
        fmt.money(pd.NA, "USD") == fmt.capacity(pd.NA, "MW") == fmt.quantity(pd.NA, "barrels") == ""
    )


@pytest.mark.parametrize(
    ("start", "end", "precision", "ongoing", "text"),
    [
        ("2023-03-01", "2023-06-30", "period", False, "March–June 2023"),
        ("2023-10-01", "2023-10-31", "month", False, "October 2023"),
        ("2023-10-01", None, "month", True, "since October 2023"),
        ("2024-03-02", "2024-03-02", "day", False, "2 March 2024"),
        ("2023-11-15", "2024-01-10", "period", False, "15 November 2023 – 10 January 2024"),
        ("2023-11-01", "2024-01-31", "period", False, "November 2023 – January 2024"),
    ],
)
def test_when_keeps_the_precision(start, end, precision, ongoing, text):
    end = pd.NaT if end is None else pd.Timestamp(end)
    assert fmt.when(pd.Timestamp(start), end, precision, ongoing=ongoing) == text


def test_undated_says_when_it_was_reported_not_a_made_up_day():
    assert fmt.when(pd.NaT, pd.NaT, "undated", known_by=pd.Timestamp("2024-03-02")) == (
        "undated, reported by 2 March 2024"
    )


def test_count_and_join():
    assert fmt.count(1, "project") == "one project"
    assert fmt.count(5, "project") == "five projects"
    assert fmt.count(12, "project") == "12 projects"
    assert fmt.join(["a", "b", "c"]) == "a, b and c"


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("since last October", ["October 2023"]),
        ("visit to Russia in October", ["October 2023"]),
        ("the first exercise in November", ["November 2023"]),
        ("in February", ["February 2024"]),
        ("last March", ["March 2023"]),
        ("next April", ["April 2024"]),
        ("in October 2022", []),  # a month with its year is not relative
        ("last year and this year", ["2023", "2024"]),
        ("between March and June 2023", []),
    ],
)
def test_relative_dates_are_read_on_the_sources_date(text, dates):
    assert fmt.relative_dates(text, "2024-03-02") == dates


def test_short_day_is_for_chart_labels():
    assert fmt.short_day("2024-03-02") == "2 Mar 2024"
