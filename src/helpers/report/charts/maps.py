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

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, PathPatch
from matplotlib.text import Text
from matplotlib.ticker import NullLocator

from helpers.errors import ParameterError
from helpers.report import formatting as fmt
from helpers.report.charts.base import (
    TEXT_DARK,
    Plotter,
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
from helpers.report.charts.map_geometry import (
    GEODATA_DIR,
    View,
    basemap,
    fit_view,
    great_circle_bearing,
    great_circle_km,
    in_box,
    lines_in_view,
    padded_bounds,
)
from helpers.report.charts.map_labels import Arrow, Label, Marker, Placer
from helpers.report.theme import MUTED

__all__ = ["GEODATA_DIR", "HEIGHT", "LocatorMapPlotter", "describe_locator_map", "locator_map"]

#: Figure height in inches that suits the map on a brief's 6.6-inch-wide page.
HEIGHT = 3.7

#: Longest label drawn, in characters; longer names end in an ellipsis (the alt text keeps
#: them whole).
MAX_LABEL = 40

_PLACE_COLUMNS = ("place_id", "name", "latitude", "longitude", "coordinate_basis")
#: Bases drawn as a filled circle, best first; any other basis is an open (approximate) one.
_POINT_BASES = ("gazetteer", "located_at_city")
_BASIS_RANK = {"gazetteer": 0, "located_at_city": 1, "region_centroid": 2, "country_centroid": 3}
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


def _map_facts(places: pd.DataFrame | None, highlight: Any) -> _MapFacts:
    rows = records(places, "places", _PLACE_COLUMNS)
    wanted = _validate_highlight(rows, highlight)
    box = basemap().bbox
    located, country_rows, unmapped = _sorted_places(rows)
    # The home country is the one most places belong to; edge arrows measure from its
    # centroid, and the map shades it a little darker.
    counts = Counter(p for p in (_str_country(r) for r in rows) if p)
    home = counts.most_common(1)[0][0] if counts else None
    groups = _point_groups(located, wanted)
    countries = _country_groups(country_rows, wanted)
    inside = [g for g in groups if in_box(g.lat, g.lon, box)]
    reference = _reference(home, country_rows, inside, box)
    far = _far_groups(groups, countries, reference, box)
    countries_in = [c for c in countries if in_box(c.lat, c.lon, box)]
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
        if in_box(g.lat, g.lon, box):
            continue
        km = great_circle_km(reference.lat, reference.lon, g.lat, g.lon)
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
                bearing=great_circle_bearing(reference.lat, reference.lon, g.lat, g.lon),
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
    return LocatorMapPlotter(places, highlight=highlight, sources=sources).plot(ax)


class LocatorMapPlotter(Plotter):
    """The locator map of one set of places: its options held once, its facts computed once.

    Parameters are those of :func:`locator_map` (``ax`` aside). :meth:`plot` draws,
    :meth:`describe` is the alt text, both from :attr:`facts`.
    """

    def __init__(
        self,
        places: pd.DataFrame,
        *,
        highlight: str | Sequence[str] | None = None,
        sources: pd.DataFrame | None = None,
    ) -> None:
        self.places = places
        self.highlight = highlight
        self.sources = sources
        self.facts: _MapFacts = _map_facts(places, highlight)

    def describe(self) -> str:
        """Names in full (the drawing shortens long ones), with coordinates, how each point
        was chosen, the distance and direction of places beyond the map, and the places with
        no point location."""
        return _describe(self.facts)

    def plot(self, ax: Axes | None = None) -> Axes:
        ax = resolve_ax(ax)
        facts = self.facts
        footer = _footer_lines(facts, self.places, self.sources)
        # Text wider than this would make the layout narrow the map to fit it; base.measure
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


def _view(facts: _MapFacts) -> View:
    base = basemap()
    lons = [g.lon for g in (*facts.points, *facts.countries)]
    lats = [g.lat for g in (*facts.points, *facts.countries)]
    if not lons:
        return View(base.bbox, base.bbox, base.bbox)
    places = padded_bounds(lons, lats)
    # The whole home country too: it is what the reader locates the rest against.
    for country in base.countries:
        if country.id == facts.home:
            lons += [country.extent[0], country.extent[2]]
            lats += [country.extent[1], country.extent[3]]
    return View(padded_bounds(lons, lats), places, base.bbox)


def _draw_map(ax: Axes, facts: _MapFacts, footer: list[str]) -> None:
    view = _view(facts)
    # The Axes' shape is only known once the figure is laid out: fit the view to an
    # estimate of it now (so the map is right before it is drawn), and again, exactly, when
    # it is drawn (Placer). The aspect stays "auto": matplotlib's fixed aspect would
    # either shrink the Axes under the layout or widen the limits on every layout pass.
    ratio = axes_inches(ax)[0] / axes_height(ax, facts.title, footer, x_axis=False)
    west, south, east, north = fit_view(view, ratio)
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
    ax.add_artist(Placer(view, markers, labels, arrows, origin))


def _draw_basemap(ax: Axes, home: str | None, view: tuple[float, float, float, float]) -> None:
    """Land, coastlines and borders: what may come into ``view`` once it is fitted exactly.

    The rest stays out of the SVG.
    """
    base = basemap()
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
            lines_in_view(base.coast, near), colors=_COAST, linewidths=0.45, zorder=1.5, gid="coast"
        ),
        autolim=False,
    )
    ax.add_collection(
        LineCollection(
            lines_in_view(base.borders, near),
            colors=_BORDER,
            linewidths=0.8,
            zorder=1.6,
            gid="borders",
        ),
        autolim=False,
    )


def _draw_points(ax: Axes, points: Sequence[_Group]) -> tuple[list[Marker], list[Label]]:
    """A marker per point, and its label (placed at draw time) with a hidden leader line."""
    size_pt = font_sizes()["annotation"]
    markers: list[Marker] = []
    labels: list[Label] = []
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
        markers.append(Marker(group.lon, group.lat, size / 2 + 0.8))
        text = _text(ax, group, _short(group.label), "place-label", size_pt)
        text.set_fontweight("bold" if big else "normal")
        leader = Line2D([], [], color=MUTED, linewidth=0.5, zorder=4, gid="leader")
        leader.set_visible(False)
        leader.set_in_layout(False)
        ax.add_line(leader)
        labels.append(Label(text, "point", len(markers) - 1, leader=leader, rank=(not big, 2)))
    return markers, labels


def _draw_country_names(ax: Axes, countries: Sequence[_Group]) -> list[Label]:
    """Country names, spaced out in capitals, at their centroids."""
    labels: list[Label] = []
    for group in countries:
        spaced = "\u2009".join(_short(group.label).upper())
        text = _text(ax, group, spaced, "country-label", font_sizes()["note"])
        text.set_color(_INK if group.highlight else MUTED)
        text.set_fontweight("bold" if group.highlight else "normal")
        labels.append(
            Label(text, "country", None, xy=(group.lon, group.lat), rank=(not group.highlight, 4))
        )
    return labels


def _draw_edge_arrows(ax: Axes, far: Sequence[_Group]) -> tuple[list[Arrow], list[Label]]:
    """An arrow per place beyond the map, with its name and distance (placed at draw time)."""
    arrows: list[Arrow] = []
    labels: list[Label] = []
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
        arrows.append(Arrow(arrow, group.bearing or 0.0))
        labels.append(Label(text, "arrow", len(arrows) - 1, rank=(not group.highlight, 1)))
    return arrows, labels


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
    return LocatorMapPlotter(places, highlight=highlight, sources=sources).describe()


def _describe(facts: _MapFacts) -> str:
    """The alt text from the map's facts (see :func:`describe_locator_map`)."""
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
