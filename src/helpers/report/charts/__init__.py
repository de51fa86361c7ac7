"""The brief's charts: seaborn-style axes-level functions, and alt text from the same data.

One plotter per plot family, as seaborn keeps them (a :class:`~.base.Plotter` holds a chart's
rows and options once, computes its facts once, and draws and describes from them), and their
shared machinery apart:

* :mod:`~helpers.report.charts.base`: what every chart uses (the :class:`~.base.Plotter` base,
  reading rows, font sizes and text measurement, wrapping, titles, legends, the lines under
  the axes, the source line); its names are public within this package;
* :mod:`~helpers.report.charts.timelines`: the timeline of events, with its facts
  (:mod:`~helpers.report.charts.timeline_facts`) and its layout and fitted height
  (:mod:`~helpers.report.charts.timeline_layout`) apart;
* :mod:`~helpers.report.charts.projects`: project capacities;
* :mod:`~helpers.report.charts.supplies`: defence supplies;
* :mod:`~helpers.report.charts.maps`: the locator map, with its basemap and projection
  (:mod:`~helpers.report.charts.map_geometry`) and its label placement
  (:mod:`~helpers.report.charts.map_labels`) apart;
* this module: the registry of charts by kind (:data:`CHARTS`), :func:`plotter`,
  :func:`describe` and :func:`figure`, and the user-facing names of the modules above.

Every chart function has the shape ``name(frame(s), *, ax=None, **kwargs) -> Axes``: it draws
only on ``ax`` (or :func:`matplotlib.pyplot.gca`), changes no global state (no rcParams, no new
figures) and returns the Axes. Each chart carries

* a title that states a finding computed from the rows (never typed in),
* labelled axes with units (the locator map has no axes to label),
* a source line under the axes naming the source and lines its rows cite,
* the colour-blind-safe colours of :mod:`helpers.report.theme`, paired with a second channel
  (marker, line style, fill) wherever the colours carry meaning.

Each chart has a companion ``describe_<name>(...)`` taking the same arguments and returning
alt text: what the chart shows, with the values. Both make the chart's plotter, whose facts
the title and the alt text are built from, so they cannot disagree; a caller that wants both
makes one plotter (:func:`plotter`) and computes the facts once. :func:`describe` dispatches
by kind through :data:`CHARTS` and :func:`figure` is the figure-level wrapper that owns a new
figure.

Text taken from the data is drawn literally: mathtext is switched off for it
(``parse_math=False``), so ``"A $35 million agreement"`` prints a dollar sign instead of
switching to maths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.errors import ParameterError
from helpers.report.charts.base import Plotter, source_line
from helpers.report.charts.maps import HEIGHT, LocatorMapPlotter, describe_locator_map, locator_map
from helpers.report.charts.projects import (
    ProjectCapacitiesPlotter,
    describe_project_capacities,
    project_capacities,
)
from helpers.report.charts.supplies import (
    DefenceSuppliesPlotter,
    defence_supplies,
    describe_defence_supplies,
)
from helpers.report.charts.timelines import (
    TimelinePlotter,
    describe_timeline,
    fit_timeline,
    timeline,
    timeline_height,
)

__all__ = [
    "CHARTS",
    "HEIGHT",
    "Chart",
    "DefenceSuppliesPlotter",
    "LocatorMapPlotter",
    "Plotter",
    "ProjectCapacitiesPlotter",
    "TimelinePlotter",
    "defence_supplies",
    "describe",
    "describe_defence_supplies",
    "describe_locator_map",
    "describe_project_capacities",
    "describe_timeline",
    "figure",
    "fit_timeline",
    "locator_map",
    "plotter",
    "project_capacities",
    "source_line",
    "timeline",
    "timeline_height",
]


class Chart(NamedTuple):
    """A kind of chart in :data:`CHARTS`; indexable as ``(draw, describe, height)`` too."""

    #: The axes-level function: ``draw(frame, *, ax=None, **options) -> Axes``.
    draw: Callable[..., Axes]
    #: Its alt text, from the same arguments (``ax`` aside).
    describe: Callable[..., str]
    #: Default figure height in inches.
    height: float
    #: The plotter both make: ``plotter(frame, **options)``.
    plotter: type[Plotter]


#: kind -> its :class:`Chart`: chart function, alt-text function, default height in inches,
#: plotter.
CHARTS: dict[str, Chart] = {
    "timeline": Chart(timeline, describe_timeline, 4.5, TimelinePlotter),
    "project_capacities": Chart(
        project_capacities, describe_project_capacities, 3.4, ProjectCapacitiesPlotter
    ),
    "defence_supplies": Chart(
        defence_supplies, describe_defence_supplies, 3.0, DefenceSuppliesPlotter
    ),
}


def _chart(kind: str) -> Chart:
    try:
        return CHARTS[kind]
    except KeyError:
        raise ParameterError(
            f"chart kind {kind!r} is unknown; use one of: {', '.join(CHARTS)}"
        ) from None


def plotter(kind: str, *args: Any, **kwargs: Any) -> Plotter:
    """The plotter of a chart named by kind, its facts computed once for drawing and alt text.

    ``chart = plotter("timeline", ds.events, sources=ds.sources)``, then ``chart.plot(ax)``
    and ``chart.describe()`` (the timeline's also ``chart.fit(ax)``).

    Parameters
    ----------
    kind
        A key of :data:`CHARTS`.
    *args, **kwargs
        What the chart function takes, minus ``ax``.

    Returns
    -------
    Plotter

    Raises
    ------
    ParameterError
        If ``kind`` is not a key of :data:`CHARTS`.
    """
    kwargs.pop("ax", None)
    return _chart(kind).plotter(*args, **kwargs)


def describe(kind: str, *args: Any, **kwargs: Any) -> str:
    """Alt text for a chart named by kind: ``describe("timeline", ds.events, ...)``.

    Parameters
    ----------
    kind
        A key of :data:`CHARTS`.
    *args, **kwargs
        What the chart function takes, minus ``ax``.

    Returns
    -------
    str
    """
    chart = _chart(kind)
    kwargs.pop("ax", None)
    return chart.describe(*args, **kwargs)


def figure(
    kind: str, *args: Any, width: float = 6.5, height: float | None = None, **kwargs: Any
) -> Figure:
    """Draw one chart on a new figure of a brief's size and return the figure.

    The figure is made with :class:`matplotlib.figure.Figure`, not pyplot, so it is not
    registered anywhere global; Jupyter displays it when it is the cell's value. Its layout
    is ``constrained`` so the title, legend and source line fit.

    Parameters
    ----------
    kind
        A key of :data:`CHARTS`: ``"timeline"``, ``"project_capacities"``,
        or ``"defence_supplies"``. The locator map is :func:`locator_map`.
    *args, **kwargs
        Passed to the chart function.
    width, height
        Size in inches; the default height depends on the chart.

    Returns
    -------
    matplotlib.figure.Figure
    """
    chart = _chart(kind)
    fig = Figure(figsize=(width, height or chart.height), layout="constrained")
    ax = fig.add_subplot()
    chart.draw(*args, ax=ax, **kwargs)
    return fig
