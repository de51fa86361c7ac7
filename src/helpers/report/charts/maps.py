"""A locator map of the places the brief names, on a Natural Earth basemap.

:func:`locator_map` draws the places of ``places.csv`` on coastlines and country borders
shipped with the package (``helpers/geodata/basemap.json``, a public-domain Natural Earth
subset made by ``scripts/make_basemap.py``; nothing is downloaded). It follows the house
chart contract of :mod:`helpers.report.charts`: an axes-level function that draws only on the
Axes it is given, changes no global state and returns the Axes, with a title that states a
finding computed from the rows, a source line, and alt text from the same facts
(:func:`describe_locator_map`). What all charts share it takes from
:mod:`helpers.report.charts.base`.

What is drawn, and why:

* Places with a point location get a marker: a filled circle for a gazetteer point or a place
  shown at its city, an open circle for a region's centre (an approximate point).
* Places at the same coordinates share one marker and one label ("Sittwe (city, port, naval
  base)").
* Countries are not points: their names are map labels at their centroid.
* Places far outside the map (Moscow) keep their place: an arrow at the map's edge points
  along the great circle towards them, labelled with the distance, computed.
* Places with no point location are listed under the map.

Labels are placed when the figure is drawn, once its layout has fixed the map's scale: each
label tries candidate spots around its anchor and takes the first whose box, in display
coordinates, overlaps no other label, marker or arrow and stays inside the frame. A label that
finds no room is left off the drawing (the alt text names every place).
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import artist as martist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.ticker import NullLocator
from matplotlib.transforms import Bbox

from helpers import paths
from helpers.errors import ParameterError
from helpers.report import formatting as fmt
from helpers.report.charts.base import (
    TEXT_DARK,
    axes_height,
    axes_inches,
    draw_footer,
    draw_nothing,
    draw_title,
    font_sizes,
    plain_words,
    plot_texts_out_of_layout,
    records,
    resolve_ax,
    source_line,
    unsqueezed_width,
)
from helpers.report.theme import MUTED

__all__ = ["GEODATA_DIR", "HEIGHT", "describe_locator_map", "locator_map"]

#: The package's geodata folder (``helpers.paths`` owns it).
GEODATA_DIR = paths.GEODATA_DIR
#: Figure height in inches that suits the map on a brief's 6.6-inch-wide page.
HEIGHT = 3.7

#: Longest label drawn, in characters; longer names end in an ellipsis (the alt text keeps
#: them whole).
MAX_LABEL = 40

_PLACE_COLUMNS = ("place_id", "name", "latitude", "longitude", "coordinate_basis")
#: Bases drawn as a filled circle, best first; any other basis is an open (approximate) one.
_POINT_BASES = ("gazetteer", "located_at_city")
_BASIS_RANK = {"gazetteer": 0, "located_at_city": 1, "region_centroid": 2, "country_centroid": 3}
_EARTH_RADIUS_KM = 6371.0
_COMPASS = (
    "north",
    "north-east",
    "east",
    "south-east",
    "south",
    "south-west",
    "west",
    "north-west",
)

# Muted newspaper-locator colours: grey land on a pale sea, white borders, the home country
# a shade darker (grey, so it reads in greyscale too), dark marks and text, grey country names
# (theme.MUTED).
_SEA = "#EAF0F4"
_LAND = "#E2E0DB"
_HOME = "#CFCBC2"
_BORDER = "#FFFFFF"
_COAST = "#A9B6C0"
_INK = TEXT_DARK
_FRAME = "#B8B8B8"

_MARKER_PT = 5.5  # marker size in points; highlighted places get _BIG_PT
_BIG_PT = 7.5
_ARROW_PT = 26.0  # length of an edge arrow
_EDGE_PT = 5.0  # inset of arrow heads and labels from the frame
_GAP_PT = 3.5  # between a marker and its label


# ---------------------------------------------------------------------------------------------
# Basemap
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Country:
    id: str
    name: str
    iso_a3: str | None
    path: MplPath
    extent: tuple[float, float, float, float]


@dataclass(frozen=True)
class _Basemap:
    bbox: tuple[float, float, float, float]
    countries: tuple[_Country, ...]
    borders: tuple[np.ndarray, ...]
    coast: tuple[np.ndarray, ...]
    source: dict


def _xy(flat: Sequence[float]) -> np.ndarray:
    points = np.asarray(flat, dtype=float).reshape(-1, 2)
    points.flags.writeable = False  # shared by every map this process draws
    return points


@functools.cache
def _basemap() -> _Basemap:
    """The shipped Natural Earth subset, read once per process."""
    data = json.loads((GEODATA_DIR / "basemap.json").read_text(encoding="utf-8"))
    countries = []
    for country in data["countries"]:
        rings = [_xy(ring) for ring in country["rings"]]
        path = MplPath.make_compound_path(*(MplPath(ring, closed=False) for ring in rings))
        stacked = np.concatenate(rings)
        countries.append(
            _Country(
                id=country["id"],
                name=country["name"],
                iso_a3=country["iso_a3"],
                path=path,
                extent=(*stacked.min(axis=0), *stacked.max(axis=0)),
            )
        )
    return _Basemap(
        bbox=tuple(float(v) for v in data["bbox"]),
        countries=tuple(countries),
        borders=tuple(_xy(line) for line in data["borders"]),
        coast=tuple(_xy(line) for line in data["coast"]),
        source=dict(data["source"]),
    )


# ---------------------------------------------------------------------------------------------
# Facts: what the map and its alt text say
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    id: str
    name: str
    kind: str | None
    country: str | None
    basis: str


@dataclass(frozen=True)
class _Group:
    """One mark on the map: the places at one point (or one country's name)."""

    places: tuple[_Place, ...]
    lat: float
    lon: float
    basis: str
    label: str
    highlight: bool
    km: float | None = None
    bearing: float | None = None

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.places]

    @property
    def approximate(self) -> bool:
        return self.basis not in _POINT_BASES


@dataclass(frozen=True)
class _Reference:
    """Where edge arrows measure from: the home country's centroid, else the points' middle."""

    phrase: str
    lat: float
    lon: float


@dataclass(frozen=True)
class _MapFacts:
    title: str
    n_total: int
    points: tuple[_Group, ...]
    far: tuple[_Group, ...]
    countries: tuple[_Group, ...]
    unmapped: tuple[_Place, ...]
    home: str | None
    reference: _Reference | None
    bases: tuple[str, ...]


def _short(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: drawn text stays bounded."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


def _bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from the first point to the second, degrees from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360


def _anchor(places: Sequence[_Place]) -> _Place:
    """The place a shared point is named after: the gazetteer point, else a city."""
    return min(
        enumerate(places),
        key=lambda ip: (_BASIS_RANK.get(ip[1].basis, 9), ip[1].kind != "city", ip[0]),
    )[1]


#: Most names a label, note or alt-text list spells out; the rest are counted, so that a
#: large dataset draws and describes its map in the time a small one takes.
_MOST_NAMES = 8


def _listed(names: Sequence[str], joiner: str = ", ", most: int = _MOST_NAMES) -> str:
    """``names`` joined, the first ``most`` of them, and a count of the rest."""
    names = list(dict.fromkeys(names))
    if len(names) <= most:
        return joiner.join(names)
    return f"{joiner.join(names[:most])} and {len(names) - most:,} more"


def _ids(group_ids: Sequence[str]) -> str:
    """A bounded id list for an artist's gid."""
    return ",".join(group_ids[:_MOST_NAMES]) + (",…" if len(group_ids) > _MOST_NAMES else "")


def _in_order(places: Sequence[_Place]) -> list[_Place]:
    anchor = _anchor(places)
    return [anchor, *(p for p in places if p is not anchor)]


def _group_label(places: Sequence[_Place]) -> str:
    """One label for the places at one point: "Sittwe (city, port, naval base)"."""
    if len(places) == 1:
        return places[0].name
    if len(places) > 4:
        return f"{_short(_anchor(places).name)} ({len(places):,} places)"
    ordered = _in_order(places)
    anchor = ordered[0]
    kinds = [plain_words(p.kind) for p in ordered]
    distinct = all(kinds) and len(set(kinds)) == len(kinds)
    if distinct and all(p.name.startswith(anchor.name) for p in ordered):
        return f"{anchor.name} ({', '.join(kinds)})"
    return " / ".join(p.name for p in ordered)


def _members(places: Sequence[_Place]) -> str:
    """The places at one point for a sentence: "the city, its port and its naval base"."""
    ordered = _in_order(places)
    anchor = ordered[0]
    bits = []
    for place in ordered:
        kind = plain_words(place.kind)
        if place is anchor:
            bits.append(f"the {kind}" if kind else _short(place.name))
        elif kind and place.name.startswith(anchor.name):
            bits.append(f"its {kind}")
        else:
            bits.append(_short(place.name))
    return fmt.join(bits)


def _validate_highlight(rows: list[dict], highlight: Any) -> tuple[str, ...]:
    wanted = [highlight] if isinstance(highlight, str) else list(highlight or [])
    known = {str(r["place_id"]) for r in rows}
    unknown = [h for h in wanted if str(h) not in known]
    if unknown:
        raise ParameterError(
            f"highlight={unknown[0]!r} is not a place id in places; use one of: "
            f"{', '.join(sorted(known)) or '(none)'}"
        )
    return tuple(str(h) for h in wanted)


def _in_box(lat: float, lon: float, box: tuple[float, float, float, float]) -> bool:
    west, south, east, north = box
    return west <= lon <= east and south <= lat <= north


def _map_facts(places: pd.DataFrame | None, highlight: Any) -> _MapFacts:
    rows = records(places, "places", _PLACE_COLUMNS)
    wanted = _validate_highlight(rows, highlight)
    box = _basemap().bbox
    located, country_rows, unmapped = _sorted_places(rows)
    # The home country is the one most places belong to; edge arrows measure from its
    # centroid, and the map shades it a little darker.
    counts = Counter(p for p in (_str_country(r) for r in rows) if p)
    home = counts.most_common(1)[0][0] if counts else None
    groups = _point_groups(located, wanted)
    countries = _country_groups(country_rows, wanted)
    inside = [g for g in groups if _in_box(g.lat, g.lon, box)]
    reference = _reference(home, country_rows, inside, box)
    far = _far_groups(groups, countries, reference, box)
    countries_in = [c for c in countries if _in_box(c.lat, c.lon, box)]
    drawn = {p.basis for p in _all_places(inside, countries_in)}
    bases = tuple(sorted(drawn, key=lambda b: (_BASIS_RANK.get(b, 9), b)))
    title = _title_text(len(rows), inside, far, countries_in, unmapped)
    return _MapFacts(
        title=fmt.sentence_case(title),
        n_total=len(rows),
        points=tuple(inside),
        far=tuple(far),
        countries=tuple(countries_in),
        unmapped=tuple(unmapped),
        home=home,
        reference=reference,
        bases=bases,
    )


#: A country's row with its centroid: the place, latitude, longitude.
_AtCentroid = tuple[_Place, float, float]


def _sorted_places(
    rows: list[dict],
) -> tuple[dict[tuple[float, float], list[_Place]], list[_AtCentroid], list[_Place]]:
    """The places at each point (rounded coordinates), the countries, and the unlocated."""
    located: dict[tuple[float, float], list[_Place]] = {}
    country_rows: list[_AtCentroid] = []
    unmapped: list[_Place] = []
    for r in rows:
        place = _Place(
            id=str(r["place_id"]),
            name=str(r["name"]),
            kind=None if r.get("kind") is None else str(r["kind"]),
            country=None if r.get("country_id") is None else str(r["country_id"]),
            basis=str(r["coordinate_basis"]),
        )
        if r["latitude"] is None or r["longitude"] is None:
            unmapped.append(place)
        elif place.kind == "country" or place.basis == "country_centroid":
            country_rows.append((place, float(r["latitude"]), float(r["longitude"])))
        else:
            key = (round(float(r["latitude"]), 4), round(float(r["longitude"]), 4))
            located.setdefault(key, []).append(place)
    return located, country_rows, unmapped


def _point_groups(
    located: dict[tuple[float, float], list[_Place]], wanted: tuple[str, ...]
) -> list[_Group]:
    """One mark per point, named after its best-located place."""
    groups: list[_Group] = []
    for (lat, lon), members in located.items():
        best = min(members, key=lambda p: _BASIS_RANK.get(p.basis, 9))
        groups.append(
            _Group(
                places=tuple(members),
                lat=lat,
                lon=lon,
                basis=best.basis,
                label=_group_label(members),
                highlight=any(p.id in wanted for p in members),
            )
        )
    return groups


def _country_groups(country_rows: list[_AtCentroid], wanted: tuple[str, ...]) -> list[_Group]:
    """Countries at one centroid (a country and the same country named again) get one name."""
    at_centroid: dict[tuple[float, float], list[_Place]] = {}
    for p, lat, lon in country_rows:
        at_centroid.setdefault((round(lat, 4), round(lon, 4)), []).append(p)
    return [
        _Group(tuple(ps), lat, lon, ps[0].basis, ps[0].name, any(p.id in wanted for p in ps))
        for (lat, lon), ps in at_centroid.items()
    ]


def _reference(
    home: str | None,
    country_rows: list[_AtCentroid],
    inside: list[_Group],
    box: tuple[float, float, float, float],
) -> _Reference:
    """The home country's centroid, else the middle of the places on the map, else its own."""
    for place, lat, lon in country_rows:
        if home is not None and home in (place.id, place.country):
            return _Reference(f"the centre of {_short(place.name)}", lat, lon)
    if inside:
        return _Reference(
            "the middle of the places on the map",
            float(np.mean([g.lat for g in inside])),
            float(np.mean([g.lon for g in inside])),
        )
    return _Reference("the middle of the map", (box[1] + box[3]) / 2, (box[0] + box[2]) / 2)


def _far_groups(
    groups: list[_Group],
    countries: list[_Group],
    reference: _Reference,
    box: tuple[float, float, float, float],
) -> list[_Group]:
    """The marks beyond the basemap, with the bearing (and distance) an edge arrow gives."""
    far = []
    for g, is_country in [*((g, False) for g in groups), *((c, True) for c in countries)]:
        if _in_box(g.lat, g.lon, box):
            continue
        km = _distance_km(reference.lat, reference.lon, g.lat, g.lon)
        far.append(
            _Group(
                g.places,
                g.lat,
                g.lon,
                g.basis,
                g.label,
                g.highlight,
                # A country's centroid is no place to measure to: its arrow gives no distance.
                km=None if is_country else round(km, -2),
                bearing=_bearing(reference.lat, reference.lon, g.lat, g.lon),
            )
        )
    return far


def _str_country(row: dict) -> str | None:
    value = row.get("country_id")
    return None if value is None else str(value)


def _all_places(*groups: Sequence[_Group]) -> list[_Place]:
    return [p for gs in groups for g in gs for p in g.places]


def _title_text(
    n: int,
    inside: Sequence[_Group],
    far: Sequence[_Group],
    countries: Sequence[_Group],
    unmapped: Sequence[_Place],
) -> str:
    """The finding: places that share a point, else where the places are."""
    if n == 0:
        return "No places recorded"
    shared = max(inside, key=lambda g: len(g.places), default=None)
    if shared is not None and len(shared.places) > 1:
        k = len(shared.places)
        where = _short(_anchor(shared.places).name)
        text = f"{fmt.number_word(k)} of the {n:,} places the report names are at {where}"
        # Name the members when there are few; a long list belongs in the alt text.
        return text + (f": {_members(shared.places)}" if k <= 4 else "")
    on_map = sum(len(g.places) for g in inside) + len(countries)
    beyond = sum(len(g.places) for g in far)
    if n == 1:
        where = "is on this map" if on_map else "lies beyond this map" if beyond else None
        return f"The one place the report names {where or 'has no point location'}"
    if on_map == 0 and beyond == 0:
        return f"None of the {n:,} places the report names has a point location"
    count = f"{on_map:,}" if on_map else "None"
    verb = "is" if on_map == 1 else "are"
    text = f"{count} of the {n:,} places the report names {verb} on this map"
    tail = []
    if beyond:
        tail.append(f"{beyond:,} {'lies' if beyond == 1 else 'lie'} beyond it")
    if unmapped:
        tail.append(
            f"{len(unmapped):,} {'has' if len(unmapped) == 1 else 'have'} no point location"
        )
    return text + ("; " + fmt.join(tail) if tail else "")


# ---------------------------------------------------------------------------------------------
# Notes under the map
# ---------------------------------------------------------------------------------------------


def _basis_note(facts: _MapFacts) -> str:
    """How each point was chosen, for the bases drawn, and what the edge arrows measure."""
    places = _all_places(facts.points, facts.countries)
    bits = []
    if any(p.basis == "gazetteer" for p in places):
        bits.append("filled circles: gazetteer points")
    at_city = [plain_words(p.kind) or "place" for p in places if p.basis == "located_at_city"]
    if at_city:
        kinds = list(dict.fromkeys(at_city))
        bits.append(f"{fmt.join(kinds)} at {'its' if len(at_city) == 1 else 'their'} city")
    if any(p.basis == "region_centroid" for p in places):
        bits.append("open circles: centre of a region")
    others = [b for b in facts.bases if b not in _BASIS_RANK]
    if others:
        bits.append(f"open circles: {', '.join(plain_words(b) for b in others)}")
    if facts.countries:
        bits.append("country names at the centroid")
    text = "Coordinates are approximate and not from the source"
    text += f" ({'; '.join(bits)})." if bits else "."
    if facts.far and facts.reference is not None:
        arrows = "Arrow" if len(facts.far) == 1 else "Arrows"
        if any(g.km is not None for g in facts.far):
            text += (
                f" {arrows}: great-circle direction and distance, to the nearest 100 km, "
                f"from {facts.reference.phrase}."
            )
        else:
            text += f" {arrows}: great-circle direction from {facts.reference.phrase}."
    return text


def _footer_lines(
    facts: _MapFacts, places: pd.DataFrame | None, sources: pd.DataFrame | None
) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    if facts.points or facts.countries or facts.far:
        lines.append(("note", _basis_note(facts)))
    if facts.unmapped:
        names = _listed([_short(p.name) for p in facts.unmapped])
        lines.append(("unmapped", f"No point location: {names}."))
    source = source_line(places, "places", sources)
    lines.append(("source", f"{source}; basemap: Natural Earth (public domain)"))
    return lines


# ---------------------------------------------------------------------------------------------
# The chart
# ---------------------------------------------------------------------------------------------


def locator_map(
    places: pd.DataFrame,
    *,
    ax: Axes | None = None,
    highlight: str | Sequence[str] | None = None,
    sources: pd.DataFrame | None = None,
) -> Axes:
    """Draw a locator map of the places named, on Natural Earth coastlines and borders.

    Equirectangular, with one degree of latitude ``1 / cos(mid-latitude)`` times as tall as
    one of longitude, fitted to the places inside the basemap's region (60–125° E, 0–45° N).
    Places at one point share a marker and a label; countries are named at their centroid;
    places beyond the region get an arrow at the map's edge with their great-circle distance;
    places with no coordinates are listed under the map. Use a figure about
    :data:`HEIGHT` inches tall on a 6.6-inch-wide page.

    Parameters
    ----------
    places
        Rows of ``places.csv``: ``place_id``, ``name``, ``latitude``, ``longitude``,
        ``coordinate_basis``, and ``kind``, ``country_id``, ``source_id``, ``line`` where
        present.
    ax
        Axes to draw on; default the current Axes.
    highlight
        A place id, or several, to draw larger with bold labels.
    sources
        The ``sources`` table, for the source line.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ParameterError
        If a ``highlight`` id is not a place id.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(6.6, HEIGHT), layout="constrained")
    >>> locator_map(dataset.places, ax=fig.add_subplot(), sources=dataset.sources)  # doctest: +SKIP
    """
    ax = resolve_ax(ax)
    facts = _map_facts(places, highlight)
    footer = _footer_lines(facts, places, sources)
    # Text wider than this would make the layout narrow the map to fit it; base._measure
    # reads about 3% under what Agg draws, hence the margin.
    text_width = 0.96 * unsqueezed_width(ax, axes_inches(ax)[0])
    if not (facts.points or facts.countries or facts.far):
        message = (
            "Nothing recorded: the data has no places"
            if facts.n_total == 0
            else "No place has a point location"
        )
        draw_nothing(ax, message)
    else:
        _draw_map(ax, facts, [text for _, text in footer])
    plot_texts_out_of_layout(ax)
    draw_title(ax, facts.title, text_width)
    draw_footer(ax, footer, inches=text_width)
    return ax


@dataclass(frozen=True)
class _View:
    """What the map must show: ``wanted`` (places, home country, room for labels) if it can,
    ``places`` at least, all inside ``box`` (the basemap). Each is west, south, east, north."""

    wanted: tuple[float, float, float, float]
    places: tuple[float, float, float, float]
    box: tuple[float, float, float, float]


def _view(facts: _MapFacts) -> _View:
    base = _basemap()
    lons = [g.lon for g in (*facts.points, *facts.countries)]
    lats = [g.lat for g in (*facts.points, *facts.countries)]
    if not lons:
        return _View(base.bbox, base.bbox, base.bbox)
    places = _padded(lons, lats)
    # The whole home country too: it is what the reader locates the rest against.
    for country in base.countries:
        if country.id == facts.home:
            lons += [country.extent[0], country.extent[2]]
            lats += [country.extent[1], country.extent[3]]
    return _View(_padded(lons, lats), places, base.bbox)


def _fit(view: _View, ratio: float) -> tuple[float, float, float, float]:
    """West, south, east, north: ``view.wanted`` widened to ``ratio`` (width / height of the
    Axes), with one degree of latitude ``1 / cos(mid-latitude)`` as tall as one of longitude.

    When that needs more longitude than the basemap has, the map keeps its full width and
    gives up latitude, first from the home country, never from the places.
    """
    box = view.box
    lo_x, lo_y, hi_x, hi_y = view.wanted
    for _ in range(8):  # the aspect moves with the middle latitude; this settles it
        aspect = 1 / math.cos(math.radians((lo_y + hi_y) / 2))
        span_x, span_y = hi_x - lo_x, hi_y - lo_y
        if span_x / (span_y * aspect) < ratio:
            grow = (ratio * span_y * aspect - span_x) / 2
            lo_x, hi_x = lo_x - grow, hi_x + grow
        else:
            grow = (span_x / (ratio * aspect) - span_y) / 2
            lo_y, hi_y = lo_y - grow, hi_y + grow
        if hi_x - lo_x > box[2] - box[0]:
            low, high = view.places[1], view.places[3]
            lo_x, hi_x = box[0], box[2]
            span_y = max((hi_x - lo_x) / (ratio * aspect), high - low)
            middle = min(max((lo_y + hi_y) / 2, high - span_y / 2), low + span_y / 2)
            lo_y, hi_y = middle - span_y / 2, middle + span_y / 2
        lo_y, hi_y = _inside(lo_y, hi_y, box[1], box[3])
    lo_x, hi_x = _inside(lo_x, hi_x, box[0], box[2])
    return lo_x, lo_y, hi_x, hi_y


def _padded(lons: list[float], lats: list[float]) -> tuple[float, float, float, float]:
    """The bounds of some points with room around them for labels (at least 12° x 8°)."""
    cx, cy = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    half_x = max(max(lons) - min(lons), 12.0) / 2 * 1.06 + 2.0
    half_y = max(max(lats) - min(lats), 8.0) / 2 * 1.06 + 1.5
    return cx - half_x, cy - half_y, cx + half_x, cy + half_y


def _inside(lo: float, hi: float, floor: float, ceiling: float) -> tuple[float, float]:
    """Shift ``[lo, hi]`` into ``[floor, ceiling]``; clip it if it is wider."""
    if hi - lo >= ceiling - floor:
        return floor, ceiling
    shift = max(floor - lo, 0.0) - max(hi - ceiling, 0.0)
    return lo + shift, hi + shift


def _draw_map(ax: Axes, facts: _MapFacts, footer: list[str]) -> None:
    view = _view(facts)
    # The Axes' shape is only known once the figure is laid out: fit the view to an
    # estimate of it now (so the map is right before it is drawn), and again, exactly, when
    # it is drawn (_Placer). The aspect stays "auto": matplotlib's fixed aspect would
    # either shrink the Axes under the layout or widen the limits on every layout pass.
    ratio = axes_inches(ax)[0] / axes_height(ax, facts.title, footer, x_axis=False)
    west, south, east, north = _fit(view, ratio)
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_facecolor(_SEA)
    ax.xaxis.set_major_locator(NullLocator())
    ax.yaxis.set_major_locator(NullLocator())
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(_FRAME)
        spine.set_linewidth(0.6)
    _draw_basemap(ax, facts.home, (west, south, east, north))
    markers, labels = _draw_points(ax, facts.points)
    labels += _draw_country_names(ax, facts.countries)
    arrows, arrow_labels = _draw_edge_arrows(ax, facts.far)
    labels += arrow_labels
    reference = facts.reference
    origin = (reference.lon, reference.lat) if reference is not None else None
    ax.add_artist(_Placer(view, markers, labels, arrows, origin))


def _draw_basemap(ax: Axes, home: str | None, view: tuple[float, float, float, float]) -> None:
    """Land, coastlines and borders: what may come into ``view`` once it is fitted exactly.

    The rest stays out of the SVG.
    """
    base = _basemap()
    west, south, east, north = view
    margin_x, margin_y = (east - west) / 5, (north - south) / 5
    near = (west - margin_x, south - margin_y, east + margin_x, north + margin_y)
    for country in base.countries:
        x0, y0, x1, y1 = country.extent
        if x1 < near[0] or x0 > near[2] or y1 < near[1] or y0 > near[3]:
            continue
        shaded = home is not None and country.id == home
        ax.add_artist(
            PathPatch(
                country.path,
                facecolor=_HOME if shaded else _LAND,
                edgecolor="none",
                linewidth=0,
                zorder=1,
                gid=f"land:{country.iso_a3 or country.id}",
            )
        )
    ax.add_collection(
        LineCollection(
            _in_view(base.coast, near), colors=_COAST, linewidths=0.45, zorder=1.5, gid="coast"
        ),
        autolim=False,
    )
    ax.add_collection(
        LineCollection(
            _in_view(base.borders, near),
            colors=_BORDER,
            linewidths=0.8,
            zorder=1.6,
            gid="borders",
        ),
        autolim=False,
    )


def _draw_points(ax: Axes, points: Sequence[_Group]) -> tuple[list[_Marker], list[_Label]]:
    """A marker per point, and its label (placed at draw time) with a hidden leader line."""
    size_pt = font_sizes()["annotation"]
    markers: list[_Marker] = []
    labels: list[_Label] = []
    for group in points:
        big = group.highlight
        size = _BIG_PT if big else _MARKER_PT
        ax.plot(
            [group.lon],
            [group.lat],
            marker="o",
            ms=size,
            mfc="white" if group.approximate else _INK,
            mec=_INK,
            mew=1.1 if group.approximate else 0.7,
            ls="none",
            zorder=5,
            gid="place:" + _ids(group.ids),
        )
        markers.append(_Marker(group.lon, group.lat, size / 2 + 0.8))
        text = _text(ax, group, _short(group.label), "place-label", size_pt)
        text.set_fontweight("bold" if big else "normal")
        leader = Line2D([], [], color=MUTED, linewidth=0.5, zorder=4, gid="leader")
        leader.set_visible(False)
        leader.set_in_layout(False)
        ax.add_line(leader)
        labels.append(_Label(text, "point", len(markers) - 1, leader=leader, rank=(not big, 2)))
    return markers, labels


def _draw_country_names(ax: Axes, countries: Sequence[_Group]) -> list[_Label]:
    """Country names, spaced out in capitals, at their centroids."""
    labels: list[_Label] = []
    for group in countries:
        spaced = "\u2009".join(_short(group.label).upper())
        text = _text(ax, group, spaced, "country-label", font_sizes()["note"])
        text.set_color(_INK if group.highlight else MUTED)
        text.set_fontweight("bold" if group.highlight else "normal")
        labels.append(
            _Label(text, "country", None, xy=(group.lon, group.lat), rank=(not group.highlight, 4))
        )
    return labels


def _draw_edge_arrows(ax: Axes, far: Sequence[_Group]) -> tuple[list[_Arrow], list[_Label]]:
    """An arrow per place beyond the map, with its name and distance (placed at draw time)."""
    arrows: list[_Arrow] = []
    labels: list[_Label] = []
    for group in far:
        name = _short(group.label)
        caption = name if group.km is None else f"{name}\n{group.km:,.0f} km"
        arrow = FancyArrowPatch(
            (0, 0),
            (0, 0),
            transform=ax.transAxes,
            arrowstyle="-|>",
            mutation_scale=8,
            linewidth=1.0,
            color=_INK,
            zorder=6,
            gid="arrow:" + _ids(group.ids),
        )
        arrow.set_in_layout(False)  # placed at draw time, inside the frame
        ax.add_artist(arrow)
        text = _text(ax, group, caption, "arrow-label", font_sizes()["annotation"])
        text.set_fontweight("bold" if group.highlight else "normal")
        arrows.append(_Arrow(arrow, group.bearing or 0.0))
        labels.append(_Label(text, "arrow", len(arrows) - 1, rank=(not group.highlight, 1)))
    return arrows, labels


def _in_view(lines: Sequence[np.ndarray], view: tuple[float, ...]) -> list[np.ndarray]:
    west, south, east, north = view
    return [
        line
        for line in lines
        if line[:, 0].max() >= west
        and line[:, 0].min() <= east
        and line[:, 1].max() >= south
        and line[:, 1].min() <= north
    ]


def _text(ax: Axes, group: _Group, text: str, gid: str, size: float) -> Text:
    drawn = ax.text(
        group.lon,
        group.lat,
        text,
        ha="left",
        va="bottom",
        fontsize=size,
        color=_INK,
        linespacing=1.1,
        parse_math=False,
        zorder=7,
        gid=gid,
        clip_on=False,
    )
    drawn.set_visible(False)  # shown once the placer finds it room
    return drawn


# ---------------------------------------------------------------------------------------------
# Label placement at draw time
# ---------------------------------------------------------------------------------------------


@dataclass
class _Marker:
    lon: float
    lat: float
    radius_pt: float


@dataclass
class _Label:
    text: Text
    kind: str  # "point", "country" or "arrow"
    anchor: int | None  # index of its marker or arrow
    xy: tuple[float, float] = (0.0, 0.0)  # a country name's centroid (lon, lat)
    leader: Line2D | None = None
    rank: tuple = ()
    align: str = "left"


@dataclass
class _Arrow:
    patch: FancyArrowPatch
    bearing: float
    tail: tuple[float, float] = (0.0, 0.0)
    positions: tuple = ()


class _Placer(martist.Artist):
    """Places the map's labels and edge arrows when the figure is drawn.

    Drawn first among the Axes' artists (lowest zorder), it reads the final transforms, so
    labels keep their distance from markers whatever the figure's size, layout or dpi. It
    draws nothing itself. Positions are only set when they change, so a redraw does not mark
    the figure stale again.
    """

    def __init__(
        self,
        view: _View,
        markers: list[_Marker],
        labels: list[_Label],
        arrows: list[_Arrow],
        origin: tuple[float, float] | None,
    ) -> None:
        super().__init__()
        self.view = view
        self.markers, self.labels, self.arrows, self.origin = markers, labels, arrows, origin
        self.set_zorder(-100)
        self.set_in_layout(False)

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        return Bbox.null()

    @martist.allow_rasterization
    def draw(self, renderer: Any) -> None:
        ax = self.axes
        west, south, east, north = _fit(self.view, ax.bbox.width / max(ax.bbox.height, 1.0))
        if ax.get_xlim() != (west, east):
            ax.set_xlim(west, east)
        if ax.get_ylim() != (south, north):
            ax.set_ylim(south, north)
        pt = renderer.points_to_pixels(1.0)
        frame = ax.bbox
        inner = (frame.x0 + 3 * pt, frame.y0 + 3 * pt, frame.x1 - 3 * pt, frame.y1 - 3 * pt)
        obstacles = _Boxes()
        centres = ax.transData.transform([(m.lon, m.lat) for m in self.markers] or np.zeros((0, 2)))
        for (x, y), marker in zip(centres, self.markers, strict=True):
            r = marker.radius_pt * pt
            obstacles.add((x - r, y - r, x + r, y + r))
        self._place_arrows(ax, pt, obstacles)

        for label in sorted(self.labels, key=lambda lab: lab.rank):
            text = label.text
            _set(text, "visible", True)
            box = text.get_window_extent(renderer)
            w, h = box.width, box.height
            at = ax.transData.transform(text.get_position())
            offset = (box.x0 - at[0], box.y0 - at[1])
            pad = 0.5 * pt
            chosen = None
            for x0, y0, leader in self._candidates(label, centres, pt, w, h):
                cand = (x0 - pad, y0 - pad, x0 + w + pad, y0 + h + pad)
                if (
                    cand[0] >= inner[0]
                    and cand[1] >= inner[1]
                    and cand[2] <= inner[2]
                    and cand[3] <= inner[3]
                    and not obstacles.hits(cand)
                ):
                    chosen = (x0, y0, leader)
                    obstacles.add(cand)
                    break
            if chosen is None:
                _set(text, "visible", False)
                if label.leader is not None:
                    _set(label.leader, "visible", False)
                continue
            x0, y0, leader = chosen
            position = tuple(ax.transData.inverted().transform((x0 - offset[0], y0 - offset[1])))
            if tuple(text.get_position()) != position:
                text.set_position(position)
            if label.kind == "arrow":
                align = "right" if x0 + w / 2 < self.arrows[label.anchor].tail[0] else "left"
                if align != label.align:
                    text.set_multialignment(align)
                    label.align = align
            if label.leader is not None:
                self._leader(ax, label, centres, pt, (x0, y0, x0 + w, y0 + h), leader)

    def _place_arrows(self, ax: Axes, pt: float, obstacles: _Boxes) -> None:
        frame = ax.bbox
        edge = _EDGE_PT * pt
        lo_x, lo_y, hi_x, hi_y = frame.x0 + edge, frame.y0 + edge, frame.x1 - edge, frame.y1 - edge
        if self.origin is not None:
            ox, oy = ax.transData.transform(self.origin)
        else:
            ox, oy = frame.x0 + frame.width / 2, frame.y0 + frame.height / 2
        if not (lo_x < ox < hi_x and lo_y < oy < hi_y):
            ox, oy = frame.x0 + frame.width / 2, frame.y0 + frame.height / 2
        heads: list[tuple[float, float]] = []
        to_axes = ax.transAxes.inverted()
        for arrow in self.arrows:
            angle = math.radians(arrow.bearing)
            # Fan arrows out that would land on one another.
            for turn in (0, 6, -6, 12, -12, 18, -18):
                a = angle + math.radians(turn)
                dx, dy = math.sin(a), math.cos(a)
                reach = min(
                    (hi_x - ox) / dx if dx > 1e-9 else math.inf,
                    (lo_x - ox) / dx if dx < -1e-9 else math.inf,
                    (hi_y - oy) / dy if dy > 1e-9 else math.inf,
                    (lo_y - oy) / dy if dy < -1e-9 else math.inf,
                )
                head = (ox + reach * dx, oy + reach * dy)
                if all(math.dist(head, h) > 14 * pt for h in heads):
                    break
            heads.append(head)
            length = min(_ARROW_PT * pt, max(reach, 1.0))
            tail = (head[0] - length * dx, head[1] - length * dy)
            arrow.tail = tail
            a_tail, a_head = to_axes.transform([tail, head])
            positions = (tuple(a_tail), tuple(a_head))
            if arrow.positions != positions:
                arrow.patch.set_positions(*positions)
                arrow.positions = positions
            pad = 1 * pt
            obstacles.add(
                (
                    min(tail[0], head[0]) - pad,
                    min(tail[1], head[1]) - pad,
                    max(tail[0], head[0]) + pad,
                    max(tail[1], head[1]) + pad,
                )
            )

    def _candidates(
        self, label: _Label, centres: np.ndarray, pt: float, w: float, h: float
    ) -> list[tuple[float, float, bool]]:
        """Spots for a label's lower-left corner, best first, and whether each needs a
        leader line back to its marker."""
        if label.kind == "point":
            x, y = centres[label.anchor]
            r = self.markers[label.anchor].radius_pt * pt
            outward = self._outward(x, y, w, h)
            out = []
            for ring, extra in enumerate((0.0, 0.9 * h, 1.8 * h, 3.0 * h)):
                spots = _around(x, y, r + _GAP_PT * pt + extra, w, h)
                out += [(*c, ring > 1) for c in sorted(spots, key=outward)]
            return out
        if label.kind == "arrow":
            x, y = self.arrows[label.anchor].tail
            out = []
            for extra in (3 * pt, 0.9 * h, 1.8 * h):
                out += [(*c, False) for c in _around(x, y, extra, w, h)]
            return out
        # Country names: at the centroid, else nudged around it.
        x, y = self.axes.transData.transform(label.xy)
        out = [(x - w / 2, y - h / 2, False)]
        for extra in (0.6 * h, 1.2 * h, 2.0 * h):
            out += [(*c, False) for c in _around(x, y, extra, w, h, centred=True)]
        return out

    def _outward(self, x: float, y: float, w: float, h: float) -> Any:
        """Sort key that puts a point's label on the side away from the home country's
        centre, where it crowds the middle of the map least (and a coastal city's label
        tends to fall on the sea); the usual right, left, diagonal order breaks ties."""
        if self.origin is None:
            return lambda spot: 0.0
        ox, oy = self.axes.transData.transform(self.origin)
        dx, dy = x - ox, y - oy
        norm = math.hypot(dx, dy)
        if norm < 1e-6:
            return lambda spot: 0.0

        def key(spot: tuple[float, float]) -> float:
            sx, sy = spot[0] + w / 2 - x, spot[1] + h / 2 - y
            cosine = (sx * dx + sy * dy) / (norm * (math.hypot(sx, sy) or 1.0))
            return -round(cosine * 2) / 2

        return key

    def _leader(
        self,
        ax: Axes,
        label: _Label,
        centres: np.ndarray,
        pt: float,
        box: tuple[float, float, float, float],
        show: bool,
    ) -> None:
        leader = label.leader
        assert leader is not None
        if not show:
            _set(leader, "visible", False)
            return
        x, y = centres[label.anchor]
        r = self.markers[label.anchor].radius_pt * pt
        bx = min(max(x, box[0]), box[2])
        by = min(max(y, box[1]), box[3])
        d = math.hypot(bx - x, by - y) or 1.0
        start = (x + (bx - x) * r / d, y + (by - y) * r / d)
        xs, ys = ax.transData.inverted().transform([start, (bx, by)]).T
        if list(leader.get_xdata()) != list(xs) or list(leader.get_ydata()) != list(ys):
            leader.set_data(xs, ys)
        _set(leader, "visible", True)


def _around(
    x: float, y: float, gap: float, w: float, h: float, *, centred: bool = False
) -> list[tuple[float, float]]:
    """Lower-left corners of a ``w`` x ``h`` box ``gap`` away from ``(x, y)``: right, left,
    the four diagonals, above, below (centred labels try above and below first)."""
    d = gap * 0.75
    sides = [
        (x + gap, y - h / 2),
        (x - gap - w, y - h / 2),
        (x + d, y + d),
        (x + d, y - d - h),
        (x - d - w, y + d),
        (x - d - w, y - d - h),
        (x - w / 2, y + gap),
        (x - w / 2, y - gap - h),
    ]
    return sides[6:] + sides[:6] if centred else sides


class _Boxes:
    """Rectangles placed so far (display coordinates), tested in one numpy pass."""

    def __init__(self) -> None:
        self.boxes = np.empty((16, 4))
        self.n = 0

    def add(self, box: tuple[float, float, float, float]) -> None:
        if self.n == len(self.boxes):
            self.boxes = np.concatenate([self.boxes, np.empty_like(self.boxes)])
        self.boxes[self.n] = box
        self.n += 1

    def hits(self, box: tuple[float, float, float, float]) -> bool:
        b = self.boxes[: self.n]
        return bool(
            np.any(
                (box[0] < b[:, 2]) & (b[:, 0] < box[2]) & (box[1] < b[:, 3]) & (b[:, 1] < box[3])
            )
        )


def _set(artist: Any, prop: str, value: Any) -> None:
    """Set a property only when it changes, so placing labels leaves a drawn figure clean."""
    if getattr(artist, f"get_{prop}")() != value:
        getattr(artist, f"set_{prop}")(value)


# ---------------------------------------------------------------------------------------------
# Alt text
# ---------------------------------------------------------------------------------------------


def _coordinates(lat: float, lon: float) -> str:
    return f"{abs(lat):g}°{'N' if lat >= 0 else 'S'} {abs(lon):g}°{'E' if lon >= 0 else 'W'}"


def _basis_words(group: _Group) -> str:
    words = {
        "gazetteer": "gazetteer point",
        "located_at_city": "shown at its city",
        "region_centroid": "centre of the region, approximate",
        "country_centroid": "country centroid",
    }
    bases = list(dict.fromkeys(p.basis for p in group.places))
    return "; ".join(words.get(b, plain_words(b)) for b in bases)


def describe_locator_map(
    places: pd.DataFrame,
    *,
    highlight: str | Sequence[str] | None = None,
    sources: pd.DataFrame | None = None,
) -> str:
    """Alt text for :func:`locator_map`, from the same rows and arguments.

    Names are given in full (the drawing shortens long ones), with coordinates, how each
    point was chosen, the distance and direction of places beyond the map, and the places
    with no point location.

    Parameters
    ----------
    places, highlight, sources
        As for :func:`locator_map`.

    Returns
    -------
    str
    """
    facts = _map_facts(places, highlight)
    if facts.n_total == 0:
        return "Locator map: nothing recorded; the data has no places."
    parts = [
        f"Locator map of {facts.n_total:,} {'place' if facts.n_total == 1 else 'places'} the "
        f"report names, on a Natural Earth basemap. {facts.title}."
    ]
    if facts.points:
        listed = [
            f"{_listed([p.name for p in g.places], ' / ')} at {_coordinates(g.lat, g.lon)} "
            f"({_basis_words(g)})"
            for g in facts.points
        ]
        parts.append("On the map: " + _listed(listed, "; ") + ".")
    if facts.countries:
        names = _listed([g.label for g in facts.countries])
        parts.append(f"Country names at their centroid: {names}.")
    if facts.far and facts.reference is not None:
        listed = []
        for g in facts.far:
            names = _listed([p.name for p in g.places], " / ")
            way = _COMPASS[round((g.bearing or 0.0) / 45) % 8]
            if g.km is None:
                listed.append(f"{names}, to the {way}")
            else:
                listed.append(f"{names}, {g.km:,.0f} km to the {way}")
        parts.append(
            f"Beyond the map, with an arrow at its edge, measured from {facts.reference.phrase}: "
            + "; ".join(listed)
            + "."
        )
    if facts.unmapped:
        parts.append("No point location: " + _listed([p.name for p in facts.unmapped]) + ".")
    if facts.points or facts.countries or facts.far:
        parts.append("Coordinates are approximate and not from the source.")
    return " ".join(parts)
