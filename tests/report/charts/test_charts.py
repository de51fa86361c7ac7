"""Tests for helpers.report.charts: assert on what was drawn, as seaborn's tests do."""

from __future__ import annotations

import io

import matplotlib as mpl
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from helpers.errors import DataValidationError, ParameterError
from helpers.params import BriefParams, check
from helpers.report import charts, theme
from helpers.report.charts import timeline_facts as timeline_module
from helpers.report.selection import select
from helpers.report.theme import PARTNER_COLORS, STATUS_COLORS

SOURCE_TITLE = "Report of 2 March 2024"


# -- helpers --------------------------------------------------------------------------------


def new_ax(width: float = 6.5, height: float = 4.5):
    """A fresh Axes on an Agg canvas, laid out like the brief's figures."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def frame_like(template: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """A frame with the template's columns and dtypes (categoricals, nullable types)."""
    frame = pd.DataFrame(rows, columns=template.columns)
    return frame.astype(template.dtypes.to_dict())


def event(event_id: str, **values) -> dict:
    row = {
        "event_id": event_id,
        "kind": "visit",
        "title": f"Event {event_id}",
        "theme": "defence",
        "actor_id": "junta",
        "counterpart_id": "russia",
        "date_start": None,
        "date_end": None,
        "date_precision": "undated",
        "ongoing": False,
        "source_id": "art-2024-03-02",
        "line": 13,
        "evidence": "evidence",
    }
    row.update(values)
    return row


def title_of(ax) -> str:
    """The chart title as one line (it is wrapped to the figure's width)."""
    return ax.get_title(loc="left").replace("\n", " ")


def texts(ax, gid: str | None = None) -> list[Text]:
    found = [t for t in ax.findobj(Text) if t.get_text()]
    return [t for t in found if gid is None or t.get_gid() == gid]


def text_of(ax, gid: str) -> str:
    (only,) = texts(ax, gid)
    return only.get_text().replace("\n", " ")


def by_gid(ax, gid: str, kind=None) -> list:
    return [a for a in ax.findobj(kind) if a.get_gid() == gid]


def render(ax) -> bytes:
    buffer = io.BytesIO()
    ax.get_figure().savefig(buffer, format="png", dpi=60)
    return buffer.getvalue()


def day(text: str) -> float:
    return mdates.date2num(pd.Timestamp(text))


# -- source line ----------------------------------------------------------------------------


def test_source_line_names_the_source_its_lines_and_the_table(dataset):
    line = charts.source_line(dataset.projects, "projects", dataset.sources)
    # By the source's label, date and paragraphs, as the notes name it: no file or line.
    assert line == "Source: Report of 2 March 2024, paras 2 and 4"


def test_source_line_falls_back_to_the_source_id_without_a_sources_table(dataset):
    one = dataset.supplies.iloc[:1]
    assert charts.source_line(one, "supplies") == "Source: art-2024-03-02"


def test_source_line_for_no_rows_says_so(dataset):
    assert charts.source_line(dataset.events.iloc[0:0], "events") == "Source: none"


# -- timeline -------------------------------------------------------------------------------


def test_timeline_title_states_the_busiest_month_of_the_shipped_data(dataset):
    ax = charts.timeline(dataset.events, ax=new_ax(), sources=dataset.sources)
    assert title_of(ax) == "3 of 5 dated events began in October 2023; 6 more are undated"
    assert ax.get_xlabel() == "Date"
    assert text_of(ax, "source") == "Source: Report of 2 March 2024, paras 2, 3 and 4"


def test_timeline_title_says_one_undated_event_is_undated(dataset):
    rows = [
        event("a", date_start="2020-05-03", date_end="2020-05-03", date_precision="day"),
        event("u"),
    ]
    ax = charts.timeline(frame_like(dataset.events, rows), ax=new_ax(), as_of="2020-07-01")
    assert title_of(ax).endswith("; 1 more is undated")


def test_timeline_title_is_computed_from_the_rows(dataset):
    rows = [
        event("a", date_start="2020-05-03", date_end="2020-05-03", date_precision="day"),
        event("b", date_start="2020-05-20", date_end="2020-05-20", date_precision="day"),
        event("c", date_start="2020-06-01", date_end="2020-06-30", date_precision="month"),
    ]
    ax = charts.timeline(frame_like(dataset.events, rows), ax=new_ax(), as_of="2020-07-01")
    assert title_of(ax) == "2 of 3 dated events began in May 2020"


def test_timeline_draws_a_month_event_as_a_span_over_the_whole_month(dataset):
    rows = [event("m", date_start="2023-10-01", date_end="2023-10-31", date_precision="month")]
    ax = charts.timeline(frame_like(dataset.events, rows), ax=new_ax(), as_of="2024-03-02")
    (span,) = by_gid(ax, "event:m", Rectangle)
    assert span.get_x() == pytest.approx(day("2023-10-01"))
    assert span.get_x() + span.get_width() == pytest.approx(day("2023-11-01"))
    assert span.get_facecolor()[3] < 1  # lighter than a period: the day is unknown


def test_timeline_draws_a_period_from_its_first_to_its_last_day(dataset):
    ax = charts.timeline(dataset.events, ax=new_ax(), sources=dataset.sources)
    (bar,) = by_gid(ax, "event:ev-oil-procurement", Rectangle)
    assert bar.get_x() == pytest.approx(day("2023-03-01"))
    assert bar.get_x() + bar.get_width() == pytest.approx(day("2023-07-01"))  # through 30 June
    assert bar.get_facecolor()[3] == 1


def test_timeline_draws_a_day_event_as_a_point(dataset):
    rows = [event("d", date_start="2023-05-09", date_end="2023-05-09", date_precision="day")]
    ax = charts.timeline(frame_like(dataset.events, rows), ax=new_ax(), as_of="2024-03-02")
    (point,) = by_gid(ax, "event:d", Line2D)
    assert list(point.get_xdata()) == [pytest.approx(day("2023-05-09"))]
    assert point.get_marker() == "o"
    assert by_gid(ax, "event:d", Rectangle) == []


def test_timeline_ongoing_event_runs_to_the_source_date_then_fades(dataset):
    ax = charts.timeline(dataset.events, ax=new_ax(), sources=dataset.sources)
    patches = by_gid(ax, "event:ev-escalation", Rectangle)
    first_month, rest = sorted(patches, key=lambda p: p.get_x())
    assert first_month.get_x() == pytest.approx(day("2023-10-01"))
    assert first_month.get_x() + first_month.get_width() == pytest.approx(day("2023-11-01"))
    assert rest.get_x() + rest.get_width() == pytest.approx(day("2024-03-02"))
    fade = by_gid(ax, "ongoing:ev-escalation", Rectangle)
    alphas = [p.get_facecolor()[3] for p in sorted(fade, key=lambda p: p.get_x())]
    assert len(fade) > 1 and alphas == sorted(alphas, reverse=True)
    assert min(p.get_x() for p in fade) >= day("2024-03-02")
    assert text_of(ax, "ongoing-label:ev-escalation") == "ongoing"


def test_the_dated_line_says_what_its_date_is_and_the_lane_what_undated_means(dataset):
    """A hindsight brief's line is its cut, not a 'source date'; its undated entries may fall
    outside the window."""
    ax = charts.timeline(
        dataset.events,
        ax=new_ax(),
        sources=dataset.sources,
        as_of="2023-12-31",
        mark="Cut 31 Dec 2023 (report of 2 Mar 2024)",
        undated_heading="Date unknown (may fall outside the window)",
    )
    assert text_of(ax, "as-of") == "Cut 31 Dec 2023 (report of 2 Mar 2024)"
    assert text_of(ax, "undated-heading") == "Date unknown (may fall outside the window)"
    # Ongoing bars stop at the cut.
    patches = by_gid(ax, "event:ev-escalation", Rectangle)
    assert max(p.get_x() + p.get_width() for p in patches) == pytest.approx(day("2023-12-31"))
    alt = charts.describe_timeline(
        dataset.events,
        sources=dataset.sources,
        as_of="2023-12-31",
        mark="Cut 31 Dec 2023 (report of 2 Mar 2024)",
        undated_heading="Date unknown (may fall outside the window)",
    )
    assert "A dotted line marks: Cut 31 Dec 2023 (report of 2 Mar 2024)." in alt
    assert "Date unknown (may fall outside the window), not placed on the date axis" in alt


def test_the_date_axis_starts_no_later_than_the_windows_start(dataset):
    events = dataset.events[dataset.events["event_id"] == "ev-maritime-exercise"]
    ax = charts.timeline(events, ax=new_ax(), as_of="2023-11-30", start="2023-06-01")
    assert ax.get_xlim()[0] < day("2023-06-01")
    plain = charts.timeline(events, ax=new_ax(), as_of="2023-11-30")
    assert plain.get_xlim()[0] > day("2023-10-01")


def test_undated_events_are_listed_in_their_lane_and_placed_at_no_date(dataset):
    ax = charts.timeline(dataset.events, ax=new_ax(), sources=dataset.sources)
    undated = dataset.events[dataset.events["date_precision"] == "undated"]
    assert text_of(ax, "undated-heading") == "Undated (no later than 2 Mar 2024)"
    lane = ax.get_yaxis_transform()  # x in axes fractions, y in points down the rows
    for row in undated.itertuples():
        assert by_gid(ax, f"event:{row.event_id}") == []
        drawn = by_gid(ax, f"undated:{row.event_id}")
        assert {type(a) for a in drawn} == {Line2D, Text}
        assert all(a.get_transform() == lane for a in drawn)
        label = next(a for a in drawn if isinstance(a, Text))
        # Entries wrap at spaces to fit the lane's columns; the whole title is drawn.
        assert label.get_text().replace("\n", " ").startswith(row.title)


def test_undated_events_do_not_stretch_the_date_axis(dataset):
    dated = dataset.events[dataset.events["date_precision"] != "undated"]
    with_undated = charts.timeline(dataset.events, ax=new_ax(), sources=dataset.sources)
    without = charts.timeline(dated, ax=new_ax(), sources=dataset.sources)
    assert with_undated.get_xlim() == pytest.approx(without.get_xlim())


def test_timeline_with_no_events_says_nothing_recorded(dataset):
    ax = charts.timeline(dataset.events.iloc[0:0], ax=new_ax())
    assert "Nothing recorded" in text_of(ax, "empty")
    assert title_of(ax) == "No events recorded"
    assert ax.get_xlabel() == "Date"
    assert not [p for p in ax.patches if str(p.get_gid()).startswith("event:")]
    render(ax)


def test_timeline_with_many_events_keeps_the_most_recent_and_says_so(dataset):
    dates = pd.date_range("2020-01-01", periods=1200, freq="D")
    rows = [
        event(f"e{i}", date_start=d, date_end=d, date_precision="day") for i, d in enumerate(dates)
    ]
    ax = charts.timeline(frame_like(dataset.events, rows), ax=new_ax(), as_of=dates[-1])
    drawn = {a.get_gid() for a in ax.get_lines() if str(a.get_gid()).startswith("event:")}
    assert drawn == {f"event:e{i}" for i in range(1185, 1200)}
    assert text_of(ax, "note") == "Showing 15 of 1,200 events (the most recent)."
    # The title's finding is about the events drawn: 31 March 2023, then 1-14 April.
    assert title_of(ax) == "14 of 15 dated events shown began in April 2023"
    render(ax)


def test_timeline_max_events_sets_how_many_rows_are_drawn(dataset):
    ax = charts.timeline(dataset.events, ax=new_ax(), sources=dataset.sources, max_events=4)
    dated = {str(a.get_gid()) for a in ax.findobj() if str(a.get_gid()).startswith("event:")}
    undated = {str(a.get_gid()) for a in ax.findobj() if str(a.get_gid()).startswith("undated:")}
    assert len(dated) + len(undated) == 4
    assert text_of(ax, "note").startswith("Showing 4 of 11 events")


def test_timeline_rejects_a_max_events_below_one(dataset):
    with pytest.raises(ParameterError, match="max_events"):
        charts.timeline(dataset.events, ax=new_ax(), max_events=0)


def test_timeline_without_needed_columns_names_them(dataset):
    with pytest.raises(DataValidationError, match="date_precision"):
        charts.timeline(dataset.events.drop(columns=["date_precision"]), ax=new_ax())


@pytest.fixture(params=["house", "matplotlib"])
def chart_style(request):
    """The brief's theme (Noto Sans, 8 pt labels), then matplotlib's defaults (DejaVu, 10 pt)."""
    with mpl.rc_context():
        if request.param == "house":
            theme.set_theme()
        else:
            mpl.rcdefaults()
        yield request.param


def main_brief_events(dataset) -> pd.DataFrame:
    """The events the main brief's timeline draws (partner Russia): 5 dated, 6 undated."""
    params = check(BriefParams, {})
    events = select(dataset, params).events
    return events[events["theme"].isin(params.selected_themes)]


def timeline_events(which: str, dataset) -> pd.DataFrame:
    if which == "brief":
        return main_brief_events(dataset)
    return dataset.events[dataset.events["theme"] == "defence"]


def drawn_at_its_height(events, dataset, width: float = 6.6):
    """The timeline on a figure as tall as timeline_height says, drawn; and that height."""
    kwargs = {"as_of": "2024-03-02", "sources": dataset.sources}
    height = charts.timeline_height(events, width=width, **kwargs)
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    ax = charts.timeline(events, ax=fig.add_subplot(), **kwargs)
    fig.canvas.draw()
    return ax, height


def visible_texts(ax) -> list[Text]:
    """Every text drawn on the figure: title, ticks in view, labels, legend, source line."""
    lo, hi = sorted(ax.get_xlim())
    ticks = set(ax.xaxis.get_ticklabels(which="both"))
    found = []
    for text in ax.get_figure().findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        if text in ticks and not lo <= text.get_position()[0] <= hi:
            continue
        found.append(text)
    return found


def owner(artist) -> str | None:
    """The event a drawn artist belongs to ("row-label:ev-x" -> "ev-x"), if any."""
    gid = str(artist.get_gid())
    prefixes = ("event:", "ongoing:", "undated:", "row-label:", "ongoing-label:")
    return gid.split(":", 1)[1] if gid.startswith(prefixes) else None


def overlap(a, b) -> bool:
    return min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.y1, b.y1) > max(a.y0, b.y0)


@pytest.mark.parametrize("which", ["brief", "defence"])
def test_timeline_at_its_height_draws_no_label_over_another_or_over_other_rows(
    which, chart_style, dataset
):
    events = timeline_events(which, dataset)
    ax, _ = drawn_at_its_height(events, dataset)
    renderer = ax.get_figure().canvas.get_renderer()
    labels = visible_texts(ax)
    boxes = [(t, t.get_window_extent(renderer)) for t in labels]
    # Title, ticks, row labels, lane, legend, source line: the defence timeline has 20.
    assert len(boxes) >= 20
    for i, (text, box) in enumerate(boxes):
        for other, other_box in boxes[i + 1 :]:
            assert not overlap(box, other_box), (text.get_text(), other.get_text())
    marks = [
        a for a in ax.findobj(lambda a: isinstance(a, (Rectangle, Line2D))) if owner(a) is not None
    ]
    assert marks
    for text, box in boxes:
        for mark in marks:
            if owner(mark) != owner(text):
                assert not overlap(box, mark.get_window_extent(renderer)), (
                    text.get_text(),
                    mark.get_gid(),
                )


@pytest.mark.parametrize("which", ["brief", "defence"])
def test_timeline_at_its_height_draws_every_title_whole_and_inside_the_figure(
    which, chart_style, dataset
):
    events = timeline_events(which, dataset)
    ax, _ = drawn_at_its_height(events, dataset)
    fig = ax.get_figure()
    renderer = fig.canvas.get_renderer()
    drawn = visible_texts(ax)
    for text in drawn:
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0 and box.y0 >= 0, text.get_text()
        assert box.x1 <= fig.bbox.x1 and box.y1 <= fig.bbox.y1, text.get_text()
        assert "…" not in text.get_text()
    written = {t.get_text().replace("\n", " ") for t in drawn}
    for row in events.itertuples():
        assert any(w.startswith(row.title) for w in written), row.title


def test_timeline_height_of_the_main_brief_fits_a_four_page_brief(dataset):
    events = main_brief_events(dataset)
    assert len(events) == 11 and int(events["date_start"].notna().sum()) == 5
    with mpl.rc_context():
        theme.set_theme()
        height = charts.timeline_height(
            events, max_events=15, width=6.6, as_of="2024-03-02", sources=dataset.sources
        )
    assert height <= 3.3


def test_timeline_height_adds_a_fixed_pitch_per_dated_row(dataset):
    # Day events a year apart: every label fits beside its point, on one line.
    rows = [
        event(f"d{i}", date_start=f"{2015 + i}-06-01", date_end=f"{2015 + i}-06-01")
        | {"date_precision": "day"}
        for i in range(8)
    ]
    frame = frame_like(dataset.events, rows)
    with mpl.rc_context():
        theme.set_theme()
        heights = [charts.timeline_height(frame.head(n), as_of="2024-01-01") for n in (4, 6, 8)]
    # Points, not a share of the figure: each pair of rows adds the same height.
    assert heights[1] - heights[0] == pytest.approx(heights[2] - heights[1], abs=0.011)
    assert heights[2] - heights[1] == pytest.approx(2 * 1.6 * 8 / 72, abs=0.011)


def test_timeline_height_draws_nothing_anywhere_else(dataset):
    figures = plt.get_fignums()
    with mpl.rc_context():
        before = dict(mpl.rcParams)
        charts.timeline_height(dataset.events, sources=dataset.sources)
        assert dict(mpl.rcParams) == before
    assert plt.get_fignums() == figures


def test_fitting_the_timeline_measures_it_without_drawing_it(chart_style, dataset):
    # The fitted height comes from one pass of the layout engine, which measures every artist
    # but draws none: the chart is drawn once, when it is saved (no draw before that).
    events = main_brief_events(dataset)
    fig = Figure(figsize=(6.6, 10.0), layout="constrained")
    FigureCanvasAgg(fig)
    draws = []
    fig.canvas.mpl_connect("draw_event", draws.append)
    charts.fit_timeline(events, ax=fig.add_subplot(), as_of="2024-03-02", sources=dataset.sources)
    assert draws == []
    assert fig.get_figheight() == charts.timeline_height(
        events, as_of="2024-03-02", sources=dataset.sources
    )


def test_timeline_height_of_no_events_leaves_room_for_the_message(dataset):
    empty = dataset.events.iloc[0:0]
    height = charts.timeline_height(empty)
    fig = Figure(figsize=(6.6, height), layout="constrained")
    FigureCanvasAgg(fig)
    ax = charts.timeline(empty, ax=fig.add_subplot())
    fig.canvas.draw()
    assert ax.get_position().height * height > 0.3
    assert "Nothing recorded" in text_of(ax, "empty")


def test_a_label_with_no_room_beside_its_bar_gets_a_line_above_it_never_over_the_bar(dataset):
    # The proof run found the label of the ongoing hostilities printed over its dark bar.
    events = dataset.events[dataset.events["theme"] == "defence"]
    with mpl.rc_context():
        theme.set_theme()
        ax, _ = drawn_at_its_height(events, dataset)
        renderer = ax.get_figure().canvas.get_renderer()
        (label,) = texts(ax, "row-label:ev-escalation")
        inner = label.get_window_extent(renderer)
        for bar in by_gid(ax, "event:ev-escalation", Rectangle):
            outer = bar.get_window_extent(renderer)
            assert inner.y0 >= outer.y1 or not inner.overlaps(outer)
        assert label.get_text() == "Hostilities between the junta and ethnic factions escalate"


def test_a_label_with_no_room_beside_or_inside_its_mark_gets_a_line_above_it(dataset):
    long_title = "A visit whose title is far too long to sit beside a point this late"
    rows = [
        event("early", date_start="2023-01-01", date_end="2023-12-31", date_precision="period"),
        event(
            "late",
            title=long_title,
            date_start="2023-07-02",
            date_end="2023-07-02",
            date_precision="day",
        ),
    ]
    frame = frame_like(dataset.events, rows)
    with mpl.rc_context():
        theme.set_theme()
        ax, _ = drawn_at_its_height(frame, dataset, width=4.0)
        renderer = ax.get_figure().canvas.get_renderer()
        (label,) = texts(ax, "row-label:late")
        (point,) = by_gid(ax, "event:late", Line2D)
        assert label.get_text().replace("\n", " ") == long_title  # wrapped, never shortened
        assert label.get_window_extent(renderer).y0 > point.get_window_extent(renderer).y1


def test_describe_timeline_gives_dates_as_precisely_as_the_source(dataset):
    text = charts.describe_timeline(
        dataset.events, actor_names=dataset.actor_names(), sources=dataset.sources
    )
    assert text.startswith("Timeline chart. 3 of 5 dated events began in October 2023")
    # Whole months stay whole months, as the source has them ("between March and June").
    assert (
        "Junta procures oil from Russia for its air force [Myanmar's junta with Russia]: "
        "March–June 2023" in text
    )
    # Names keep their running-text case mid-sentence.
    assert (
        "Hostilities between the junta and ethnic factions escalate "
        "[Myanmar's junta with ethnic factions and rebel groups]: "
        "since October 2023, ongoing at 2 March 2024"
    ) in text
    assert "Undated (no later than 2 Mar 2024), not placed on the date axis" in text
    assert "India has developed the Sittwe port" in text


@pytest.mark.parametrize(
    ("start", "end", "precision", "ongoing", "when"),
    [
        ("2023-10-01", "2023-11-30", "month", False, "October–November 2023"),
        ("2023-10-01", "2023-10-31", "month", False, "October 2023"),
        ("2023-05-09", "2023-05-09", "day", False, "9 May 2023"),
        ("2023-05-09", "2023-05-12", "day", False, "9 May 2023 – 12 May 2023"),
        ("2023-11-15", "2024-01-10", "period", False, "15 November 2023 – 10 January 2024"),
        ("2023-03-04", None, "period", True, "since 4 March 2023, ongoing at 2 March 2024"),
    ],
)
def test_describe_timeline_phrases_the_whole_extent_that_is_drawn(
    dataset, start, end, precision, ongoing, when
):
    rows = [
        event(
            "x",
            title="Talks",
            date_start=start,
            date_end=end,
            date_precision=precision,
            ongoing=ongoing,
        )
    ]
    text = charts.describe_timeline(frame_like(dataset.events, rows), as_of="2024-03-02")
    assert text.endswith(f"Dated events, earliest first: Talks: {when}.")


# -- project capacities ---------------------------------------------------------------------


def test_project_bars_are_the_stated_capacities(dataset):
    ax = charts.project_capacities(dataset.projects, ax=new_ax(), actor_names=dataset.actor_names())
    bars = by_gid(ax, "capacity", Rectangle)
    assert [b.get_width() for b in bars] == [660, 330]
    # Names are stored in running-text case; a label on its own starts with a capital.
    assert [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()] == [
        "Thermal power plant",
        "Nuclear power plant",
        "Deep-sea port",
        "Special economic zones (SEZs)",
        "Petroleum refinery",
        "Sittwe port",
    ]
    assert ax.get_xlabel() == "Capacity (MW)"
    assert ax.get_ylabel() == "Project"
    assert [t.get_text() for t in texts(ax, "capacity-label")] == [
        "660 MW · under discussion",
        "330 MW · under discussion",
    ]


def test_projects_without_a_capacity_are_marked_not_drawn_as_zero(dataset):
    ax = charts.project_capacities(dataset.projects, ax=new_ax())
    assert all(b.get_width() > 0 for b in ax.patches if b.get_gid() == "capacity")
    unstated = dataset.projects[dataset.projects["capacity"].isna()]
    for project_id in unstated["project_id"]:
        (marker,) = by_gid(ax, f"not-stated:{project_id}", Line2D)
        assert list(marker.get_xdata()) == [0]
        assert marker.get_markerfacecolor() == "white"
    notes = [t.get_text() for t in texts(ax, "not-stated-label")]
    assert len(notes) == len(unstated) == 4
    assert all(n.startswith("capacity not stated") for n in notes)


def test_project_title_states_the_largest_stated_capacity_never_a_computed_total(dataset):
    ax = charts.project_capacities(dataset.projects, ax=new_ax(), actor_names=dataset.actor_names())
    assert title_of(ax) == (
        "The largest stated capacity is the thermal power plant's 660 MW (under discussion); "
        "4 of 6 projects state no capacity"
    )
    assert "990" not in title_of(ax)  # the source gives no total; the chart makes none up
    changed = dataset.projects.copy()
    changed.loc[changed["project_id"] == "pr-sittwe-port", "capacity"] = 1200.0
    changed.loc[changed["project_id"] == "pr-sittwe-port", "capacity_unit"] = "MW"
    ax = charts.project_capacities(changed, ax=new_ax(), actor_names=dataset.actor_names())
    assert title_of(ax).startswith("The largest stated capacity is the Sittwe port's 1,200 MW")


def test_project_bars_take_the_partner_or_the_status_colour(dataset):
    ax = charts.project_capacities(dataset.projects, ax=new_ax())
    colours = {mpl.colors.to_hex(b.get_facecolor()) for b in by_gid(ax, "capacity")}
    assert colours == {PARTNER_COLORS["russia"].lower()}
    ax = charts.project_capacities(dataset.projects, ax=new_ax(), hue="status")
    colours = {mpl.colors.to_hex(b.get_facecolor()) for b in by_gid(ax, "capacity")}
    assert colours == {STATUS_COLORS["under_discussion"].lower()}
    assert ax.get_legend().get_title().get_text() == "Status"


def test_project_capacities_rejects_an_unknown_hue(dataset):
    with pytest.raises(ParameterError, match="hue"):
        charts.project_capacities(dataset.projects, ax=new_ax(), hue="sector")


def test_project_capacities_with_no_rows_says_nothing_recorded(dataset):
    ax = charts.project_capacities(dataset.projects.iloc[0:0], ax=new_ax())
    assert "Nothing recorded" in text_of(ax, "empty")
    assert title_of(ax) == "No projects recorded"
    assert by_gid(ax, "capacity") == []
    render(ax)


def test_many_projects_are_aggregated_by_sector(dataset):
    template = dataset.projects.iloc[0]
    rows = []
    for i in range(200):
        row = template.to_dict()
        row.update(
            project_id=f"p{i}",
            name=f"Project {i}",
            sector=["thermal_power", "nuclear_power", "port"][i % 3],
            capacity=10.0 if i % 3 != 2 else None,
            capacity_unit="MW" if i % 3 != 2 else None,
        )
        rows.append(row)
    ax = charts.project_capacities(frame_like(dataset.projects, rows), ax=new_ax())
    assert ax.get_ylabel() == "Sector"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Port",
        "Thermal power",
        "Nuclear power",
    ]
    widths = [b.get_width() for b in ax.patches if str(b.get_gid()).startswith("capacity:")]
    assert widths == [0.0, 670.0, 670.0]  # 67 projects of 10 MW each; ports state none
    assert text_of(ax, "note") == "Aggregated by sector: 200 projects in 3 sectors."
    render(ax)


def test_describe_project_capacities_lists_values_and_the_unstated(dataset):
    text = charts.describe_project_capacities(dataset.projects, actor_names=dataset.actor_names())
    assert (
        "With a stated capacity: "
        "thermal power plant (thermal power, under discussion, with Russia): 660 MW; "
        "nuclear power plant (nuclear power, under discussion, with Russia): 330 MW."
    ) in text
    assert "Capacity not stated: deep-sea port (port, under discussion, with Russia)" in text
    assert "Sittwe port (port, developed, with India)" in text


# -- defence supplies -----------------------------------------------------------------------


def test_supplies_write_each_quantity_in_its_own_unit(dataset):
    ax = charts.defence_supplies(dataset.supplies, ax=new_ax(), actor_names=dataset.actor_names())
    quantities = [t.get_text().replace("\n", " ") for t in texts(ax, "quantity")]
    assert quantities.count("quantity not stated") == 3
    assert "more than 8 million barrels · March–June 2023 · to fuel its air force" in quantities
    # No numeric axis mixes barrels with aircraft: the x axis is the supplier.
    assert ax.get_xlabel() == "Supplier"
    # The naval equipment's seller is not named: its own column, never Russia's.
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Russia", "Not named"]
    (dot,) = by_gid(ax, "supply:su-naval-equipment", Line2D)
    assert list(dot.get_xdata()) == [1]
    assert ax.get_ylabel() == "Item supplied"


def test_supplies_mark_a_stated_quantity_with_a_filled_dot(dataset):
    ax = charts.defence_supplies(dataset.supplies, ax=new_ax())
    (oil,) = by_gid(ax, "supply:su-oil", Line2D)
    (jets,) = by_gid(ax, "supply:su-sukhoi", Line2D)
    assert oil.get_markerfacecolor() != "white"
    assert jets.get_markerfacecolor() == "white"
    labels = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert labels == [
        "Naval equipment",
        "Sukhoi fighter jets (combat aircraft)",
        "Rocket launchers (rocket artillery)",
        "Oil",
    ]


def test_supplies_title_is_computed_from_the_rows(dataset):
    names = dataset.actor_names()
    ax = charts.defence_supplies(dataset.supplies, ax=new_ax(), actor_names=names)
    # The naval equipment's seller is not named: Russia is named for three of four items.
    assert title_of(ax) == (
        "Russia is named as the supplier of 3 of 4 items recorded; "
        "only one quantity is stated: more than 8 million barrels of oil"
    )
    changed = dataset.supplies.copy()
    changed.loc[changed["supply_id"] == "su-naval-equipment", "supplier_id"] = "russia"
    ax = charts.defence_supplies(changed, ax=new_ax(), actor_names=names)
    assert title_of(ax).startswith("Russia is named as the supplier of all 4 items recorded")
    changed.loc[changed["supply_id"] == "su-sukhoi", "supplier_id"] = "china"
    ax = charts.defence_supplies(changed, ax=new_ax(), actor_names=names)
    assert title_of(ax).startswith("Russia is named as the supplier of 3 of 4 items recorded")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Russia", "China"]


def test_supplies_with_no_rows_say_nothing_recorded(dataset):
    ax = charts.defence_supplies(dataset.supplies.iloc[0:0], ax=new_ax())
    assert "Nothing recorded" in text_of(ax, "empty")
    render(ax)


def test_many_supplies_are_counted_by_category(dataset):
    template = dataset.supplies.iloc[0].to_dict()
    rows = [
        {**template, "supply_id": f"s{i}", "category": ["oil", "combat_aircraft"][i % 2]}
        for i in range(30)
    ]
    ax = charts.defence_supplies(frame_like(dataset.supplies, rows), ax=new_ax())
    assert ax.get_ylabel() == "Category"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Combat aircraft", "Oil"]
    assert [t.get_text() for t in texts(ax, "quantity")] == [
        "15 items; quantity not stated",
        "15 items; quantity not stated",
    ]
    assert text_of(ax, "note") == "Aggregated by category: 30 supply rows."
    render(ax)


def test_describe_defence_supplies_gives_supplier_recipient_and_quantity(dataset):
    text = charts.describe_defence_supplies(dataset.supplies, actor_names=dataset.actor_names())
    assert (
        "; oil from Russia to Myanmar's junta: "
        "more than 8 million barrels, March–June 2023, to fuel its air force."
    ) in text
    assert (
        "Items: naval equipment from a supplier the source does not name to Myanmar's junta: "
        "quantity not stated; "
        "Sukhoi fighter jets (combat aircraft) from Russia to Myanmar: quantity not stated; "
    ) in text


def test_supplier_named_in_running_text_case_is_capitalised_only_where_it_stands_alone(dataset):
    supplies = dataset.supplies[dataset.supplies["supply_id"] == "su-rocket-launchers"].copy()
    supplies["supplier_id"] = "international-community"
    names = dataset.actor_names()
    ax = charts.defence_supplies(supplies, ax=new_ax(), actor_names=names)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["The international community"]
    assert title_of(ax).startswith(
        "The international community is named as the supplier of 1 of 1 item recorded"
    )
    text = charts.describe_defence_supplies(supplies, actor_names=names)
    assert "rocket launchers (rocket artillery) from the international community to Myanmar" in text


def test_a_count_without_a_unit_reads_as_a_number_of_items(dataset):
    supplies = dataset.supplies[dataset.supplies["supply_id"] == "su-rocket-launchers"].copy()
    supplies["quantity"] = 12.0
    supplies["quantity_qualifier"] = "about"
    ax = charts.defence_supplies(supplies, ax=new_ax())
    assert title_of(ax).endswith("only one quantity is stated: about 12 rocket launchers")
    assert [t.get_text() for t in texts(ax, "quantity")] == ["about 12"]


# -- large frames ---------------------------------------------------------------------------


def copies(frame: pd.DataFrame, times: int, columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """``frame`` and ``times - 1`` copies of it, with new ids (first column) and ``columns``."""
    parts = [frame]
    for k in range(1, times):
        part = frame.copy()
        for column in (frame.columns[0], *columns):
            part[column] = part[column].astype(str) + f"-x{k}"
        parts.append(part.astype(frame.dtypes.to_dict()))
    return pd.concat(parts, ignore_index=True)


def test_the_timeline_of_a_large_frame_shows_what_looking_at_every_row_would(dataset, monkeypatch):
    events = copies(dataset.events, 60)
    for as_of in (None, pd.Timestamp("2023-10-15")):
        for most in (1, 4, 15):
            quick = timeline_module.timeline_facts(events, as_of, dataset.sources, most)
            monkeypatch.setattr(timeline_module, "_TRIM_FACTOR", 10**9)  # every row, one by one
            slow = timeline_module.timeline_facts(events, as_of, dataset.sources, most)
            monkeypatch.undo()
            assert quick == slow
            assert quick.n_total == len(events)


def test_aggregated_project_capacities_are_described_by_sector_not_project(dataset):
    projects = copies(dataset.projects, 50)
    text = charts.describe_project_capacities(projects, max_rows=12)
    assert "By sector: Port: 100 projects;" in text
    assert "Thermal power: 50 projects, 33,000 MW stated for 50 of them" in text
    assert "Project" not in text and len(text) < 1000


# -- every chart ----------------------------------------------------------------------------

KINDS = ["timeline", "project_capacities", "defence_supplies"]


def chart_args(kind: str, dataset) -> tuple[tuple, dict]:
    names, sources = dataset.actor_names(), dataset.sources
    return {
        "timeline": ((dataset.events,), {"actor_names": names, "sources": sources}),
        "project_capacities": ((dataset.projects,), {"actor_names": names, "sources": sources}),
        "defence_supplies": ((dataset.supplies,), {"actor_names": names, "sources": sources}),
    }[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_chart_changes_no_global_state(kind, dataset):
    args, kwargs = chart_args(kind, dataset)
    with mpl.rc_context():
        mpl.rcdefaults()  # a known starting point, whatever ran before
        before = dict(mpl.rcParams)
        figures = plt.get_fignums()
        ax = new_ax()
        assert charts.CHARTS[kind][0](*args, ax=ax, **kwargs) is ax
        render(ax)
        assert dict(mpl.rcParams) == before
        assert plt.get_fignums() == figures


@pytest.mark.parametrize("kind", KINDS)
def test_chart_draws_on_the_current_axes_when_none_is_given(kind, dataset):
    args, kwargs = chart_args(kind, dataset)
    _, ax = plt.subplots()
    assert charts.CHARTS[kind][0](*args, **kwargs) is ax
    assert title_of(ax)


@pytest.mark.parametrize("kind", KINDS)
def test_chart_has_a_finding_title_a_source_line_and_literal_text(kind, dataset):
    args, kwargs = chart_args(kind, dataset)
    ax = charts.CHARTS[kind][0](*args, ax=new_ax(), **kwargs)
    assert title_of(ax)
    assert text_of(ax, "source").startswith(f"Source: {SOURCE_TITLE}")
    title = next(t for t in texts(ax) if t.get_text() == ax.get_title(loc="left"))
    assert not title.get_parse_math()
    assert all(not t.get_parse_math() for t in texts(ax) if t.get_gid())


@pytest.mark.parametrize("kind", KINDS)
def test_describe_dispatches_to_the_charts_own_alt_text(kind, dataset):
    args, kwargs = chart_args(kind, dataset)
    assert charts.describe(kind, *args, **kwargs) == charts.CHARTS[kind][1](*args, **kwargs)


def test_describe_rejects_an_unknown_kind():
    with pytest.raises(ParameterError, match="unknown"):
        charts.describe("pie")


@pytest.mark.parametrize("kind", KINDS)
def test_one_plotter_draws_and_describes_what_the_chart_functions_do(kind, dataset):
    args, kwargs = chart_args(kind, dataset)
    chart = charts.plotter(kind, *args, **kwargs)
    assert isinstance(chart, charts.CHARTS[kind].plotter)
    ax = new_ax()
    assert chart.plot(ax) is ax
    drawn = charts.CHARTS[kind].draw(*args, ax=new_ax(), **kwargs)
    assert title_of(ax) == title_of(drawn)
    assert text_of(ax, "source") == text_of(drawn, "source")
    # The title and the alt text come from the one set of facts the plotter computed.
    assert chart.describe() == charts.describe(kind, *args, **kwargs)
    assert f"{chart.facts.title}." in chart.describe()
    assert title_of(ax) == chart.facts.title


def test_plotter_rejects_an_unknown_kind():
    with pytest.raises(ParameterError, match="unknown"):
        charts.plotter("pie")


def test_a_plotter_checks_its_options_when_it_is_made_before_any_axes(dataset):
    figures = plt.get_fignums()
    with pytest.raises(ParameterError, match="hue"):
        charts.ProjectCapacitiesPlotter(dataset.projects, hue="size")
    with pytest.raises(ParameterError, match="max_events"):
        charts.TimelinePlotter(dataset.events, max_events=0)
    assert plt.get_fignums() == figures


def test_the_timeline_plotter_fits_its_figure_to_the_height_it_measures(dataset):
    chart = charts.plotter("timeline", dataset.events, sources=dataset.sources)
    ax = chart.fit(new_ax(width=6.6, height=10.0))
    assert ax.get_figure(root=True).get_figheight() == chart.height(width=6.6)
    assert chart.height(width=6.6) == charts.timeline_height(
        dataset.events, sources=dataset.sources
    )


def test_figure_owns_a_new_figure_of_the_briefs_size(dataset):
    figures = plt.get_fignums()
    fig = charts.figure("project_capacities", dataset.projects, width=6.5, height=3.2)
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == (6.5, 3.2)
    assert len(fig.axes) == 1 and title_of(fig.axes[0]).startswith("The largest stated")
    assert plt.get_fignums() == figures  # not registered with pyplot


DOLLAR = r"A $35 million agreement \input{x} and $\input{y}$"


def test_dollar_signs_and_tex_in_data_are_drawn_literally(dataset):
    rows = [
        event(
            "x",
            title=DOLLAR,
            date_start="2023-10-01",
            date_end="2023-10-31",
            date_precision="month",
        ),
        event("y", title=DOLLAR),
    ]
    ax = charts.timeline(frame_like(dataset.events, rows), ax=new_ax(), as_of="2024-03-02")
    drawn = [t for t in texts(ax) if DOLLAR in t.get_text().replace("\n", " ")]
    assert len(drawn) == 2  # the dated row's label and the undated lane's entry
    assert not any(t.get_parse_math() for t in drawn)
    render(ax)  # mathtext would fail on \input


def test_dollar_signs_in_titles_ticks_and_legends_are_literal(dataset):
    names = {"russia": DOLLAR}
    ax = charts.defence_supplies(dataset.supplies, ax=new_ax(), actor_names=names)
    assert title_of(ax).startswith(DOLLAR + " is named as the supplier")
    title = next(t for t in texts(ax) if t.get_text() == ax.get_title(loc="left"))
    assert not title.get_parse_math()
    projects = charts.project_capacities(dataset.projects, ax=new_ax(), actor_names=names)
    legend = [t for t in projects.get_legend().get_texts() if t.get_text() == DOLLAR]
    assert legend and not legend[0].get_parse_math()
    supplies = dataset.supplies.copy()
    supplies["item"] = supplies["item"].astype(object)
    supplies.loc[:, "item"] = DOLLAR
    supplies = supplies.astype(dataset.supplies.dtypes.to_dict())
    ax_supplies = charts.defence_supplies(supplies, ax=new_ax())
    ticks = [t for t in ax_supplies.get_yticklabels() if "$35 million" in t.get_text()]
    assert len(ticks) == 4 and not any(t.get_parse_math() for t in ticks)
    for drawn in (ax, projects, ax_supplies):
        render(drawn)


@pytest.mark.parametrize("which", ["brief", "defence"])
def test_fit_timeline_draws_once_what_timeline_draws_at_timeline_height(which, dataset):
    events = timeline_events(which, dataset)
    kwargs = {"as_of": "2024-03-02", "sources": dataset.sources}
    twice, height = drawn_at_its_height(events, dataset)
    once = Figure(figsize=(6.6, 10.0), layout="constrained")
    FigureCanvasAgg(once)
    ax = charts.fit_timeline(events, ax=once.add_subplot(), **kwargs)
    once.canvas.draw()
    assert once.get_figheight() == height

    def placed(ax) -> list[tuple[str, float, float]]:
        renderer = ax.get_figure().canvas.get_renderer()
        found = []
        for text in visible_texts(ax):
            box = text.get_window_extent(renderer)
            found.append((text.get_text(), box.x0, box.y0))
        return sorted(found)

    # Every row and label at the same height. Across, the constrained layout, started from
    # the measuring pass's positions, may settle the right margin a few points apart.
    drawn, expected = placed(ax), placed(twice)
    assert [t for t, _, _ in drawn] == [t for t, _, _ in expected]
    for (_, x, y), (_, x0, y0) in zip(drawn, expected, strict=True):
        assert abs(y - y0) < 0.5 and abs(x - x0) < 5
    figure = once.bbox
    renderer = once.canvas.get_renderer()
    for text in visible_texts(ax):
        box = text.get_window_extent(renderer)
        assert figure.x0 <= box.x0 and box.x1 <= figure.x1, text.get_text()
        assert figure.y0 <= box.y0 and box.y1 <= figure.y1, text.get_text()


@pytest.mark.parametrize(
    ("lo", "hi"),
    [("2021-02-01", "2024-03-02"), ("2023-11-20", "2024-03-02"), ("2024-02-25", "2024-03-02")],
)
def test_timeline_date_ticks_are_matplotlibs_worked_out_once_per_view(lo, hi):
    from helpers.report.charts.timeline_layout import _DateLocator

    def axis_with(locator):
        ax = Figure().add_subplot()
        ax.xaxis.set_major_locator(locator)
        ax.set_xlim(mdates.date2num(pd.Timestamp(lo)), mdates.date2num(pd.Timestamp(hi)))
        return ax

    memo = axis_with(_DateLocator(minticks=3, maxticks=8))
    plain = axis_with(mdates.AutoDateLocator(minticks=3, maxticks=8))
    ticks = memo.xaxis.get_major_locator()()
    assert list(ticks) == list(plain.xaxis.get_major_locator()())
    ticks[0] = -1.0  # a caller's copy: the next asker gets the ticks as they were
    assert list(memo.xaxis.get_major_locator()()) == list(plain.xaxis.get_major_locator()())
    # Another view, other ticks: worked out again.
    for ax in (memo, plain):
        ax.set_xlim(mdates.date2num(pd.Timestamp("2010-01-01")), mdates.date2num(pd.Timestamp(hi)))
    assert list(memo.xaxis.get_major_locator()()) == list(plain.xaxis.get_major_locator()())
