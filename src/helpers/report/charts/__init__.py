"""The brief's charts: seaborn-style axes-level functions, and alt text from the same data.

One module per plot family, as seaborn keeps them, and their shared machinery apart:

* :mod:`~helpers.report.charts.base`: what every chart uses (reading rows, font sizes and
  text measurement, wrapping, titles, legends, the lines under the axes, the source line);
* :mod:`~helpers.report.charts.timelines`: the timeline of events;
* :mod:`~helpers.report.charts.projects`: project capacities;
* :mod:`~helpers.report.charts.supplies`: defence supplies;
* :mod:`~helpers.report.charts.maps`: the locator map;
* this module: the registry of charts by kind, :func:`describe` and :func:`figure`, and the
  public names of the modules above.

Every chart function has the shape ``name(frame(s), *, ax=None, **kwargs) -> Axes``: it draws
only on ``ax`` (or :func:`matplotlib.pyplot.gca`), changes no global state (no rcParams, no new
figures) and returns the Axes. Each chart carries

* a title that states a finding computed from the rows (never typed in),
* labelled axes with units (the locator map has no axes to label),
* a source line under the axes naming the source and lines its rows cite,
* the colour-blind-safe colours of :mod:`helpers.report.theme`, paired with a second channel
  (marker, line style, fill) wherever the colours carry meaning.

Each chart has a companion ``describe_<name>(...)`` taking the same arguments and returning
alt text: what the chart shows, with the values. Both are built from one private "facts" step,
so the title and the alt text cannot disagree. :func:`describe` dispatches by kind and
:func:`figure` is the figure-level wrapper that owns a new figure.

Text taken from the data is drawn literally: mathtext is switched off for it
(``parse_math=False``), so ``"A $35 million agreement"`` prints a dollar sign instead of
switching to maths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.errors import ParameterError
from helpers.report.charts.base import source_line
from helpers.report.charts.maps import HEIGHT, describe_locator_map, locator_map
from helpers.report.charts.projects import describe_project_capacities, project_capacities
from helpers.report.charts.supplies import defence_supplies, describe_defence_supplies
from helpers.report.charts.timelines import (
    describe_timeline,
    fit_timeline,
    timeline,
    timeline_height,
)

__all__ = [
    "CHARTS",
    "HEIGHT",
    "defence_supplies",
    "describe",
    "describe_defence_supplies",
    "describe_locator_map",
    "describe_project_capacities",
    "describe_timeline",
    "figure",
    "fit_timeline",
    "locator_map",
    "project_capacities",
    "source_line",
    "timeline",
    "timeline_height",
]


#: kind -> (chart function, alt-text function, default height in inches).
CHARTS: dict[str, tuple[Callable[..., Axes], Callable[..., str], float]] = {
    "timeline": (timeline, describe_timeline, 4.5),
    "project_capacities": (project_capacities, describe_project_capacities, 3.4),
    "defence_supplies": (defence_supplies, describe_defence_supplies, 3.0),
}


def _chart(kind: str) -> tuple[Callable[..., Axes], Callable[..., str], float]:
    try:
        return CHARTS[kind]
    except KeyError:
        raise ParameterError(
            f"chart kind {kind!r} is unknown; use one of: {', '.join(CHARTS)}"
        ) from None


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
    _, describer, _ = _chart(kind)
    kwargs.pop("ax", None)
    return describer(*args, **kwargs)


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
    draw, _, default_height = _chart(kind)
    fig = Figure(figsize=(width, height or default_height), layout="constrained")
    ax = fig.add_subplot()
    draw(*args, ax=ax, **kwargs)
    return fig
