"""The locator map's labels and edge arrows, placed when the figure is drawn.

Once the layout has fixed the map's scale, :class:`Placer` (an artist drawn first among the
Axes' artists) fits the view to the Axes exactly, points each edge arrow along its great
circle, and gives each label the first candidate spot around its anchor whose box, in display
coordinates, overlaps no other label, marker or arrow and stays inside the frame. A label that
finds no room is left off the drawing (the alt text names every place). :class:`Marker`,
:class:`Label` and :class:`Arrow` are what the drawing hands it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import artist as martist
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from helpers.report.charts.map_geometry import (
    View,
    fit_view,
)

__all__ = ["Arrow", "Label", "Marker", "Placer"]

_ARROW_PT = 26.0  # length of an edge arrow
_EDGE_PT = 5.0  # inset of arrow heads and labels from the frame
_GAP_PT = 3.5  # between a marker and its label


# ---------------------------------------------------------------------------------------------
# Label placement at draw time
# ---------------------------------------------------------------------------------------------


@dataclass
class Marker:
    lon: float
    lat: float
    radius_pt: float


@dataclass
class Label:
    text: Text
    kind: str  # "point", "country" or "arrow"
    anchor: int | None  # index of its marker or arrow
    xy: tuple[float, float] = (0.0, 0.0)  # a country name's centroid (lon, lat)
    leader: Line2D | None = None
    rank: tuple = ()
    align: str = "left"


@dataclass
class Arrow:
    patch: FancyArrowPatch
    bearing: float
    tail: tuple[float, float] = (0.0, 0.0)
    positions: tuple = ()


class Placer(martist.Artist):
    """Places the map's labels and edge arrows when the figure is drawn.

    Drawn first among the Axes' artists (lowest zorder), it reads the final transforms, so
    labels keep their distance from markers whatever the figure's size, layout or dpi. It
    draws nothing itself. Positions are only set when they change, so a redraw does not mark
    the figure stale again.
    """

    def __init__(
        self,
        view: View,
        markers: list[Marker],
        labels: list[Label],
        arrows: list[Arrow],
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
        west, south, east, north = fit_view(self.view, ax.bbox.width / max(ax.bbox.height, 1.0))
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
            _show(text, True)
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
                _show(text, False)
                if label.leader is not None:
                    _show(label.leader, False)
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
        self, label: Label, centres: np.ndarray, pt: float, w: float, h: float
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
        label: Label,
        centres: np.ndarray,
        pt: float,
        box: tuple[float, float, float, float],
        show: bool,
    ) -> None:
        leader = label.leader
        assert leader is not None
        if not show:
            _show(leader, False)
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
        _show(leader, True)


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


def _show(artist: Any, visible: bool) -> None:
    """Show or hide an artist only when that changes, so placing labels leaves a drawn figure
    clean."""
    if artist.get_visible() != visible:
        artist.set_visible(visible)
