"""Numbers and dates as a reader expects them: 660 MW, US$35 million, March–June 2023.

Every function takes values straight from the typed DataFrames (pandas NA included) and
returns plain text; escaping for HTML happens later, where the text becomes markup.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

import pandas as pd

CURRENCY_PREFIX = {"USD": "US$", "RUB": "RUB ", "CNY": "CNY ", "INR": "INR ", "MMK": "MMK "}
QUALIFIER = {"exact": "", "more_than": "more than ", "less_than": "less than ", "about": "about "}
SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"))
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or other non-scalar is a value
        return False


def number(value: float) -> str:
    """A quantity in words a reader scans: 8000000 -> '8 million', 660 -> '660', 1250 -> '1,250'."""
    for size, word in SCALES:
        if abs(value) >= size:
            scaled = value / size
            text = f"{scaled:,.1f}".removesuffix(".0")
            return f"{text} {word}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def number_word(n: int) -> str:
    """'five', '12', '1,250': words below ten (AP style)."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """'one project', 'two projects', '12 projects' (AP style: words below ten)."""
    return f"{number_word(n)} {singular if n == 1 else (plural or singular + 's')}"


def money(value, currency) -> str:
    """'US$35 million'; '' when the value is missing."""
    if _missing(value):
        return ""
    prefix = CURRENCY_PREFIX.get(str(currency), f"{currency} ")
    return f"{prefix}{number(float(value))}"


def quantity(value, unit, qualifier=None) -> str:
    """'more than 8 million barrels'; '' when the quantity is missing."""
    if _missing(value):
        return ""
    lead = QUALIFIER.get(str(qualifier), "") if not _missing(qualifier) else ""
    unit_text = "" if _missing(unit) or str(unit) == "units" else f" {unit}"
    return f"{lead}{number(float(value))}{unit_text}"


def capacity(value, unit) -> str:
    """'660 MW'; '' when no capacity is stated."""
    if _missing(value):
        return ""
    return f"{number(float(value))} {unit}"


def day(date) -> str:
    """'2 March 2024'."""
    date = pd.Timestamp(date)
    return f"{date.day} {calendar.month_name[date.month]} {date.year}"


def short_day(date) -> str:
    """'2 Mar 2024': for a chart's labels, where 'day()' is too wide."""
    date = pd.Timestamp(date)
    return f"{date.day} {date:%b %Y}"


def month(date) -> str:
    """'October 2023'."""
    date = pd.Timestamp(date)
    return f"{calendar.month_name[date.month]} {date.year}"


def _whole_months(start: pd.Timestamp, end: pd.Timestamp) -> bool:
    return start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]


def when(start, end, precision, *, ongoing: bool = False, known_by=None) -> str:
    """A date phrase that keeps the source's precision.

    ``month`` -> 'October 2023' (or 'since October 2023' when ongoing); ``period`` ->
    'March–June 2023'; ``day`` -> '2 March 2024'; ``undated`` -> 'undated, reported by
    2 March 2024'.
    """
    precision = str(precision)
    if precision == "undated" or _missing(start):
        return f"undated, reported by {day(known_by)}" if not _missing(known_by) else "undated"
    start = pd.Timestamp(start)
    if ongoing and _missing(end):
        return f"since {month(start) if precision != 'day' else day(start)}"
    if precision == "day":
        return day(start)
    if precision == "month":
        return month(start)
    end = pd.Timestamp(end)
    if _whole_months(start, end):
        if start.year == end.year:
            if start.month == end.month:
                return month(start)
            return f"{calendar.month_name[start.month]}–{calendar.month_name[end.month]} {end.year}"
        return f"{month(start)} – {month(end)}"
    return f"{day(start)} – {day(end)}"


_MONTHS = "|".join(calendar.month_name[1:])
_RELATIVE = re.compile(
    rf"\b(?:(last|this|next|in)\s+({_MONTHS})\b(?!,?\s+\d{{4}})|(last|this|next)\s+year\b)"
)


def relative_dates(text: str, reference) -> list[str]:
    """The dates that relative phrases in ``text`` mean, read on ``reference`` (the source's
    date): 'since last October' on 2 March 2024 -> ['October 2023']; 'in November' (no year)
    -> the last November on or before it; 'last year' -> ['2023']."""
    ref = pd.Timestamp(reference)
    out = []
    for match in _RELATIVE.finditer(text):
        which, name, year_word = match.group(1), match.group(2), match.group(3)
        if year_word:
            out.append(str(ref.year + {"last": -1, "this": 0, "next": 1}[year_word]))
            continue
        number = list(calendar.month_name).index(name)
        if which == "next":
            year = ref.year if number > ref.month else ref.year + 1
        elif which == "last":
            year = ref.year if number < ref.month else ref.year - 1
        else:  # "this" or "in": the latest such month on or before the reference
            year = ref.year if number <= ref.month else ref.year - 1
        out.append(f"{name} {year}")
    return out


def as_date(value) -> dt.date:
    """A date from a date, a Timestamp or an ISO string."""
    return pd.Timestamp(value).date()


def join(items: list[str], conjunction: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' (no Oxford comma, as in British house styles)."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def sentence_case(text: str) -> str:
    """Upper-case the first letter only: 'undated, reported by 2 March 2024' -> 'Undated, ...'."""
    return text[:1].upper() + text[1:]
