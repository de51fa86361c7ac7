"""Tests for helpers.report.charts.maps: assert on what was drawn, as seaborn's tests do."""

from __future__ import annotations

import io
import itertools
import json
import math
import random
import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, PathPatch

from helpers.errors import ParameterError
from helpers.report import theme
from helpers.report.charts import maps

SOURCE_TITLE = "Report of 2 March 2024"
LABEL_GIDS = ("place-label", "country-label", "arrow-label")
SITTWE = "place:sittwe,sittwe-port,sittwe-naval-base"


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _house_theme():
    """Draw as a brief does, under the house theme, whatever earlier tests left in rcParams:
    the map's fit depends on how much room its title and notes take."""
    with mpl.rc_context():
        mpl.rcdefaults()
        theme.set_theme()
        yield


def new_ax(width: float = 6.6, height: float = maps.HEIGHT):
    """A fresh Axes on an Agg canvas, laid out like the brief's figures."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig.add_subplot()


def drawn(ax):
    """Draw the figure (labels are placed at draw time) and hand the Axes back."""
    ax.get_figure(root=True).draw_without_rendering()
    return ax


def frame_like(template: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """A frame with the template's columns and dtypes (categoricals, nullable types)."""
    frame = pd.DataFrame(rows, columns=template.columns)
    return frame.astype(template.dtypes.to_dict())


def place(place_id: str, name: str, lat: float | None, lon: float | None, **values) -> dict:
    row = {
        "place_id": place_id,
        "name": name,
        "kind": "city",
        "country_id": "myanmar",
        "latitude": lat,
        "longitude": lon,
        "coordinate_basis": "gazetteer" if lat is not None else "none",
        "source_id": "art-2024-03-02",
        "line": 17,
        "evidence": "evidence",
    }
    row.update(values)
    return row


def title_of(ax) -> str:
    return ax.get_title(loc="left").replace("\n", " ")


def labels(ax, gid: str | None = None) -> list:
    """The map's labels that were drawn (visible), optionally of one kind."""
    return [
        t for t in ax.texts if t.get_visible() and t.get_gid() in ((gid,) if gid else LABEL_GIDS)
    ]


def text_of(ax, gid: str) -> str:
    (only,) = [t for t in ax.texts if t.get_gid() == gid]
    return only.get_text().replace("\n", " ")


def by_gid(ax, gid: str, kind=object) -> list:
    return [a for a in ax.findobj(lambda a: isinstance(a, kind)) if a.get_gid() == gid]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of radius 6371 km, written out independently."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def coordinates(dataset, place_id: str) -> tuple[float, float]:
    row = dataset.places.set_index("place_id").loc[place_id]
    return float(row["latitude"]), float(row["longitude"])


def overlapping_pairs(texts, renderer) -> list[tuple[str, str]]:
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    return [
        (a, b)
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2)
        if box_a.overlaps(box_b)
    ]


# -- basemap --------------------------------------------------------------------------------


def test_land_borders_and_coast_come_from_the_shipped_basemap(dataset):
    ax = maps.locator_map(dataset.places, ax=new_ax())
    land = [p for p in ax.findobj(PathPatch) if str(p.get_gid()).startswith("land:")]
    gids = {p.get_gid() for p in land}
    assert {"land:MMR", "land:IND", "land:CHN", "land:BGD", "land:THA"} <= gids
    (borders,) = by_gid(ax, "borders", LineCollection)
    (coast,) = by_gid(ax, "coast", LineCollection)
    assert len(borders.get_segments()) > 10 and len(coast.get_segments()) > 10
    # A map, not a scatter plot: no ticks, no axis labels.
    assert len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0
    assert ax.get_xlabel() == "" and ax.get_ylabel() == ""


def test_myanmar_is_shaded_a_little_darker_than_its_neighbours(dataset):
    ax = maps.locator_map(dataset.places, ax=new_ax())
    (myanmar,) = by_gid(ax, "land:MMR", PathPatch)
    (india,) = by_gid(ax, "land:IND", PathPatch)
    assert sum(myanmar.get_facecolor()[:3]) < sum(india.get_facecolor()[:3])
    assert myanmar.get_facecolor() != ax.get_facecolor()


def test_the_view_is_equirectangular_inside_the_basemap_and_fits_the_places(dataset):
    ax = drawn(maps.locator_map(dataset.places, ax=new_ax()))
    (west, east), (south, north) = ax.get_xlim(), ax.get_ylim()
    assert 60 <= west < east <= 125 and 0 <= south < north <= 45
    # On screen, a degree of latitude is 1 / cos(mid-latitude) times a degree of longitude.
    origin, one_east, one_north = ax.transData.transform([(90, 20), (91, 20), (90, 21)])
    shape = (one_north[1] - origin[1]) / (one_east[0] - origin[0])
    assert shape == pytest.approx(1 / math.cos(math.radians((south + north) / 2)))
    for place_id in ("sittwe", "northeast-india", "myanmar", "india", "china"):
        lat, lon = coordinates(dataset, place_id)
        assert west < lon < east and south < lat < north


# -- places ---------------------------------------------------------------------------------


def test_places_at_one_point_share_one_marker_and_one_label(dataset):
    ax = drawn(maps.locator_map(dataset.places, ax=new_ax()))
    (marker,) = by_gid(ax, SITTWE, Line2D)
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (92.9, 20.15)
    sittwe = [t.get_text() for t in labels(ax, "place-label") if "Sittwe" in t.get_text()]
    assert sittwe == ["Sittwe (city, port, naval base)"]


def test_countries_are_named_not_marked(dataset):
    ax = drawn(maps.locator_map(dataset.places, ax=new_ax()))
    markers = {str(line.get_gid()) for line in ax.get_lines() if line.get_marker() != "None"}
    assert markers == {SITTWE, "place:northeast-india"}
    names = {t.get_text().replace("\u2009", "") for t in labels(ax, "country-label")}
    assert names == {"MYANMAR", "INDIA", "CHINA"}


def test_a_region_centre_is_an_open_marker_and_a_gazetteer_point_a_filled_one(dataset):
    ax = maps.locator_map(dataset.places, ax=new_ax())
    (region,) = by_gid(ax, "place:northeast-india", Line2D)
    (city,) = by_gid(ax, SITTWE, Line2D)
    assert mpl.colors.to_hex(region.get_markerfacecolor()) == "#ffffff"
    assert mpl.colors.to_hex(city.get_markerfacecolor()) == mpl.colors.to_hex(
        city.get_markeredgecolor()
    )


def test_moscow_gets_an_edge_arrow_with_its_computed_distance(dataset):
    ax = drawn(maps.locator_map(dataset.places, ax=new_ax()))
    (arrow,) = by_gid(ax, "arrow:moscow", FancyArrowPatch)
    (label,) = labels(ax, "arrow-label")
    km = haversine_km(*coordinates(dataset, "myanmar"), *coordinates(dataset, "moscow"))
    assert label.get_text() == f"Moscow\n{round(km, -2):,.0f} km"
    # The head sits at the frame's edge and points north-west, towards Moscow.
    path = arrow.get_path().transformed(arrow.get_transform())
    vertices = path.vertices[path.codes != path.CLOSEPOLY]
    tip, tail = vertices[vertices[:, 1].argmax()], vertices[vertices[:, 1].argmin()]
    frame = ax.get_window_extent()
    assert min(abs(tip[0] - frame.x0), abs(frame.y1 - tip[1])) < 15
    assert tip[0] < tail[0] and tip[1] > tail[1]
    assert "the centre of Myanmar" in text_of(ax, "note")


def test_no_point_places_are_listed_under_the_map(dataset):
    ax = maps.locator_map(dataset.places, ax=new_ax(), sources=dataset.sources)
    assert text_of(ax, "unmapped") == "No point location: Russia, Myanmar's border areas."
    note = text_of(ax, "note")
    assert note.startswith("Coordinates are approximate and not from the source")
    assert "port and naval base at their city" in note
    source = text_of(ax, "source")
    assert source.startswith(f"Source: {SOURCE_TITLE}")
    assert source.endswith("basemap: Natural Earth (public domain)")


# -- labels ---------------------------------------------------------------------------------


def test_no_two_labels_overlap_and_none_covers_a_marker(dataset):
    ax = drawn(maps.locator_map(dataset.places, ax=new_ax(), sources=dataset.sources))
    renderer = ax.get_figure(root=True).canvas.get_renderer()
    drawn_labels = labels(ax)
    assert len(drawn_labels) == 6  # 2 places, 3 countries, Moscow
    assert overlapping_pairs(drawn_labels, renderer) == []
    for line in ax.get_lines():
        if str(line.get_gid()).startswith("place:"):
            x, y = ax.transData.transform((line.get_xdata()[0], line.get_ydata()[0]))
            for text in drawn_labels:
                assert not text.get_window_extent(renderer).contains(x, y), text.get_text()


def test_crowded_points_get_labels_that_do_not_overlap(dataset):
    rng = random.Random(7)
    extra = [
        place(f"town-{i}", f"Town number {i}", rng.uniform(16, 26), rng.uniform(92, 100))
        for i in range(60)
    ]
    places = pd.concat([dataset.places, frame_like(dataset.places, extra)], ignore_index=True)
    ax = drawn(maps.locator_map(places, ax=new_ax()))
    renderer = ax.get_figure(root=True).canvas.get_renderer()
    drawn_labels = labels(ax)
    assert len(labels(ax, "place-label")) >= 10  # crowded, yet many places are named
    assert overlapping_pairs(drawn_labels, renderer) == []
    frame = ax.get_window_extent(renderer)
    for text in drawn_labels:
        box = text.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1


def test_labels_do_not_overlap_at_another_size_and_dpi(dataset):
    ax = new_ax(width=5.0, height=3.6)
    ax.get_figure(root=True).set_dpi(200)
    drawn(maps.locator_map(dataset.places, ax=ax, highlight="sittwe"))
    renderer = ax.get_figure(root=True).canvas.get_renderer()
    assert overlapping_pairs(labels(ax), renderer) == []


def test_long_names_are_cut_on_the_map_but_whole_in_the_alt_text(dataset):
    long_name = "Kyaukphyu " + "deep-sea port " * 357  # about 5,000 characters
    extra = [place("long", long_name, 19.4, 93.55, kind="port")]
    places = pd.concat([dataset.places, frame_like(dataset.places, extra)], ignore_index=True)
    ax = drawn(maps.locator_map(places, ax=new_ax()))
    (label,) = [t for t in ax.texts if t.get_gid() == "place-label" and "Kyaukphyu" in t.get_text()]
    assert len(label.get_text()) <= maps.MAX_LABEL and label.get_text().endswith("…")
    assert long_name.strip() in maps.describe_locator_map(places)


def test_labels_stay_where_they_are_when_the_figure_is_drawn_again(dataset):
    ax = drawn(maps.locator_map(dataset.places, ax=new_ax()))
    first = [t.get_position() for t in ax.texts]
    drawn(ax)
    assert [t.get_position() for t in ax.texts] == [pytest.approx(p) for p in first]


# -- title, highlight, alt text ---------------------------------------------------------------


def test_title_states_that_three_places_are_at_sittwe(dataset):
    ax = maps.locator_map(dataset.places, ax=new_ax())
    assert title_of(ax) == (
        "Three of the 10 places the report names are at Sittwe: the city, its port and its "
        "naval base"
    )


def test_title_without_a_shared_point_says_where_the_places_are(dataset):
    places = dataset.places[~dataset.places["place_id"].isin(["sittwe-port", "sittwe-naval-base"])]
    ax = maps.locator_map(places, ax=new_ax())
    assert title_of(ax) == (
        "5 of the 8 places the report names are on this map; 1 lies beyond it and 2 have no "
        "point location"
    )


def test_highlighted_places_are_drawn_larger_and_bold(dataset):
    ax = drawn(maps.locator_map(dataset.places, ax=new_ax(), highlight=["sittwe", "china"]))
    (sittwe,) = by_gid(ax, SITTWE, Line2D)
    (region,) = by_gid(ax, "place:northeast-india", Line2D)
    assert sittwe.get_markersize() > region.get_markersize()
    bold = {t.get_text().replace("\u2009", "") for t in labels(ax) if t.get_fontweight() == "bold"}
    assert bold == {"Sittwe (city, port, naval base)", "CHINA"}


def test_an_unknown_highlight_is_rejected_naming_the_valid_ids(dataset):
    with pytest.raises(ParameterError, match=r"highlight='atlantis'.*moscow.*sittwe"):
        maps.locator_map(dataset.places, ax=new_ax(), highlight="atlantis")
    with pytest.raises(ParameterError, match="atlantis"):
        maps.describe_locator_map(dataset.places, highlight=["sittwe", "atlantis"])


def test_alt_text_gives_the_same_facts_in_full(dataset):
    text = maps.describe_locator_map(dataset.places, sources=dataset.sources)
    ax = maps.locator_map(dataset.places, ax=new_ax(), sources=dataset.sources)
    assert f"{title_of(ax)}." in text
    assert "Sittwe / Sittwe port / Sittwe Naval Base at 20.15°N 92.9°E" in text
    assert "India's northeastern region at 26°N 93°E (centre of the region, approximate)" in text
    assert "Country names at their centroid: Myanmar, China, India." in text
    assert "Moscow, 6,000 km to the north-west" in text
    assert "No point location: Russia, Myanmar's border areas." in text


def test_no_rows_say_nothing_recorded(dataset):
    ax = drawn(maps.locator_map(dataset.places.iloc[0:0], ax=new_ax()))
    assert "Nothing recorded" in text_of(ax, "empty")
    assert title_of(ax) == "No places recorded"
    assert maps.describe_locator_map(dataset.places.iloc[0:0]).startswith("Locator map: nothing")


# -- geodata --------------------------------------------------------------------------------


def test_geodata_carries_its_provenance_and_licence():
    path = maps.GEODATA_DIR / "basemap.json"
    assert path.stat().st_size < 200_000
    data = json.loads(path.read_text(encoding="utf-8"))
    source = data["source"]
    assert source["package"] == "r-cran-rnaturalearthdata" and source["version"]
    assert source["file"].endswith("Rdata.rdb") and source["object"] == "countries50"
    assert re.fullmatch(r"[0-9a-f]{64}", source["sha256"])
    assert "public domain" in data["licence"] and data["attribution"] == "Made with Natural Earth"
    assert data["regenerate"] == "python scripts/make_basemap.py"
    readme = (maps.GEODATA_DIR / "README.md").read_text(encoding="utf-8")
    for fact in (source["sha256"], source["version"], data["regenerate"], "public domain"):
        assert fact in readme


def test_geodata_is_clipped_to_its_box_and_rounded():
    data = json.loads((maps.GEODATA_DIR / "basemap.json").read_text(encoding="utf-8"))
    west, south, east, north = data["bbox"]
    codes = {c["iso_a3"] for c in data["countries"]}
    assert {"MMR", "IND", "CHN", "BGD", "THA"} <= codes and "RUS" not in codes
    flat = [v for c in data["countries"] for ring in c["rings"] for v in ring]
    flat += [v for line in data["borders"] + data["coast"] for v in line]
    assert all(round(v, 2) == v for v in flat)
    assert all(
        west <= x <= east and south <= y <= north
        for x, y in zip(flat[::2], flat[1::2], strict=True)
    )


# -- the chart contract ---------------------------------------------------------------------


def svg_bytes(dataset) -> bytes:
    fig = Figure(figsize=(6.6, maps.HEIGHT), layout="constrained")
    ax = fig.add_subplot()
    maps.locator_map(dataset.places, ax=ax, highlight="sittwe", sources=dataset.sources)
    buffer = io.BytesIO()
    with mpl.rc_context({"svg.hashsalt": "myanmar-brief", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def test_two_svg_renders_are_byte_identical(dataset):
    first = svg_bytes(dataset)
    assert first == svg_bytes(dataset)
    assert b"Sittwe (city, port, naval base)" in first


def test_the_map_changes_no_global_state(dataset):
    with mpl.rc_context():
        mpl.rcdefaults()
        before = dict(mpl.rcParams)
        figures = plt.get_fignums()
        ax = new_ax()
        assert maps.locator_map(dataset.places, ax=ax, sources=dataset.sources) is ax
        drawn(ax)
        assert dict(mpl.rcParams) == before
        assert plt.get_fignums() == figures


def test_the_map_draws_on_the_current_axes_when_none_is_given(dataset):
    _, ax = plt.subplots()
    assert maps.locator_map(dataset.places) is ax
    assert title_of(ax).startswith("Three of the 10 places")
    assert all(not t.get_parse_math() for t in ax.texts)


def test_one_map_plotter_draws_and_describes_what_the_functions_do(dataset):
    chart = maps.LocatorMapPlotter(dataset.places, highlight="russia", sources=dataset.sources)
    ax = drawn(chart.plot(new_ax()))
    by_function = drawn(
        maps.locator_map(dataset.places, ax=new_ax(), highlight="russia", sources=dataset.sources)
    )
    assert ax.get_title(loc="left") == by_function.get_title(loc="left")
    assert chart.describe() == maps.describe_locator_map(
        dataset.places, highlight="russia", sources=dataset.sources
    )
    assert f"{chart.facts.title}." in chart.describe()
