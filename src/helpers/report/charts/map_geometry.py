"""The locator map's geometry: the shipped basemap, great circles, and the projection's view.

The Natural Earth subset shipped with the package (``helpers/geodata/basemap.json``, a
public-domain subset made by ``scripts/make_basemap.py``; nothing is downloaded), read once per
process (:func:`basemap`); great-circle distance and bearing (:func:`great_circle_km`,
:func:`great_circle_bearing`); and the equirectangular view: what the map must show
(:class:`View`, :func:`padded_bounds`) and the limits that fit it to the Axes' shape, with one
degree of latitude ``1 / cos(mid-latitude)`` as tall as one of longitude (:func:`fit_view`).
Nothing here draws.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.path import Path as MplPath

from helpers import paths

__all__ = [
    "GEODATA_DIR",
    "Basemap",
    "Country",
    "View",
    "basemap",
    "fit_view",
    "great_circle_bearing",
    "great_circle_km",
    "in_box",
    "lines_in_view",
    "padded_bounds",
]

#: The package's geodata folder (``helpers.paths`` owns it).
GEODATA_DIR = paths.GEODATA_DIR

_EARTH_RADIUS_KM = 6371.0


# ---------------------------------------------------------------------------------------------
# Basemap
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Country:
    id: str
    name: str
    iso_a3: str | None
    path: MplPath
    extent: tuple[float, float, float, float]


@dataclass(frozen=True)
class Basemap:
    bbox: tuple[float, float, float, float]
    countries: tuple[Country, ...]
    borders: tuple[np.ndarray, ...]
    coast: tuple[np.ndarray, ...]
    source: dict


def _xy(flat: Sequence[float]) -> np.ndarray:
    points = np.asarray(flat, dtype=float).reshape(-1, 2)
    points.flags.writeable = False  # shared by every map this process draws
    return points


@functools.cache
def basemap() -> Basemap:
    """The shipped Natural Earth subset, read once per process."""
    data = json.loads((GEODATA_DIR / "basemap.json").read_text(encoding="utf-8"))
    countries = []
    for country in data["countries"]:
        rings = [_xy(ring) for ring in country["rings"]]
        path = MplPath.make_compound_path(*(MplPath(ring, closed=False) for ring in rings))
        stacked = np.concatenate(rings)
        countries.append(
            Country(
                id=country["id"],
                name=country["name"],
                iso_a3=country["iso_a3"],
                path=path,
                extent=(*stacked.min(axis=0), *stacked.max(axis=0)),
            )
        )
    return Basemap(
        bbox=tuple(float(v) for v in data["bbox"]),
        countries=tuple(countries),
        borders=tuple(_xy(line) for line in data["borders"]),
        coast=tuple(_xy(line) for line in data["coast"]),
        source=dict(data["source"]),
    )


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


def great_circle_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from the first point to the second, degrees from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360


def in_box(lat: float, lon: float, box: tuple[float, float, float, float]) -> bool:
    west, south, east, north = box
    return west <= lon <= east and south <= lat <= north


@dataclass(frozen=True)
class View:
    """What the map must show: ``wanted`` (places, home country, room for labels) if it can,
    ``places`` at least, all inside ``box`` (the basemap). Each is west, south, east, north."""

    wanted: tuple[float, float, float, float]
    places: tuple[float, float, float, float]
    box: tuple[float, float, float, float]


def fit_view(view: View, ratio: float) -> tuple[float, float, float, float]:
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


def padded_bounds(lons: list[float], lats: list[float]) -> tuple[float, float, float, float]:
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


def lines_in_view(lines: Sequence[np.ndarray], view: tuple[float, ...]) -> list[np.ndarray]:
    west, south, east, north = view
    return [
        line
        for line in lines
        if line[:, 0].max() >= west
        and line[:, 0].min() <= east
        and line[:, 1].max() >= south
        and line[:, 1].min() <= north
    ]
