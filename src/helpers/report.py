"""A brief as a notebook sees it: one object, one call per section.

A report notebook's validation cell opens a :class:`Brief` from its parameters; each later cell
calls one section method, which returns a :class:`Block`, an HTML fragment that Jupyter shows
through ``_repr_html_`` and nbconvert carries into the HTML and PDF briefs. Charts are drawn on
their own :class:`matplotlib.figure.Figure` (not through pyplot, so nothing is shown twice and
no global figure state is touched) and embedded as SVG data URIs with generated alt text.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
from markupsafe import Markup
from matplotlib.figure import Figure

from . import charts, narrative, theme
from .citations import Citations
from .data import Dataset, load
from .params import SCHEMAS, BaseParams, from_namespace
from .selection import Selection, select

FIGURE_WIDTH = 6.6  # inches: the text width of an A4 or Letter page with 2 cm margins


@dataclass(frozen=True)
class Block:
    """An HTML fragment that a notebook displays and the exporters keep."""

    html: Markup

    def _repr_html_(self) -> str:
        return str(self.html)

    def __str__(self) -> str:
        return str(self.html)


def figure_html(draw: Callable[[Any], Any], *, alt: str, caption: str, height: float) -> Markup:
    """Draw a chart on a fresh Figure and embed it as an SVG ``<img>`` with alt text.

    Parameters
    ----------
    draw
        Called with the Axes to draw on; an axes-level chart function.
    alt
        Alt text, generated from the same data as the chart.
    caption
        Shown under the chart.
    height
        Figure height in inches.
    """
    fig = Figure(figsize=(FIGURE_WIDTH, height), layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    buffer = io.BytesIO()
    # A fixed hash salt and no date keep the SVG byte-identical for identical data.
    with mpl.rc_context({"svg.hashsalt": "myanmar-brief", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Markup(
        '<figure class="brief-figure"><img src="data:image/svg+xml;base64,{data}" alt="{alt}">'
        "<figcaption>{caption}</figcaption></figure>"
    ).format(data=Markup(data), alt=alt, caption=caption)


def section(heading: str, *parts: Markup, level: int = 2, css: str = "") -> Block:
    """Wrap a heading and its parts in a ``<section>``; headings are escaped."""
    body = Markup("\n").join(p for p in parts if p)
    return Block(
        Markup(
            '<section class="brief-section {css}"><h{level}>{heading}</h{level}>\n{body}</section>'
        ).format(css=css, level=level, heading=heading, body=body)
    )


class Brief:
    """The data, parameters, selection and citations of one brief.

    Parameters
    ----------
    params
        Validated parameters (one of the schemas in :mod:`helpers.params`).
    dataset
        The loaded data; default: loaded (and validated) from ``params.data_dir``.
    """

    def __init__(self, params: BaseParams, dataset: Dataset | None = None) -> None:
        self.params = params
        self.dataset = dataset if dataset is not None else load(params.data_dir)
        self.selection: Selection = select(self.dataset, params)
        self.cites = Citations(self.dataset.sources)
        self._figures = 0
        # Assessments said in the key judgments are not repeated in the sections below.
        self._stated: frozenset[str] = frozenset()
        theme.set_theme()

    # -- helpers ------------------------------------------------------------------------
    def _caption(self, text: str) -> Markup:
        self._figures += 1
        return Markup("<strong>Figure {}.</strong> {}").format(self._figures, text)

    def _chart(
        self,
        kind: str,
        *frames: Any,
        caption: str,
        height: float,
        draw: str | None = None,
        **kwargs: Any,
    ) -> Markup:
        """Draw ``charts.<kind>`` (or ``charts.<draw>``); describe it with
        ``charts.describe_<kind>`` (same arguments)."""
        kwargs.setdefault("sources", self.dataset.sources)
        chart = getattr(charts, draw or kind)
        describe = getattr(charts, f"describe_{kind}")
        return figure_html(
            lambda ax: chart(*frames, ax=ax, **kwargs),
            alt=describe(*frames, **kwargs),
            caption=self._caption(caption),
            height=height,
        )

    def _wants(self, name: str) -> bool:
        return name in self.params.selected_themes

    @property
    def title(self) -> str:
        return self.params.display_title

    # -- sections -----------------------------------------------------------------------
    def key_judgments(self) -> Block:
        """Key judgments first: the source's main assessments, then the headline figures."""
        self._stated = frozenset(narrative.key_judgment_rows(self.selection)["assessment_id"])
        return section(
            "Key judgments", narrative.key_judgments(self.selection, self.cites), css="key"
        )

    def timeline(self) -> Block:
        """The engagements over time, drawn with their date precision, and a summary."""
        events = self.selection.events[
            self.selection.events["theme"].isin(self.params.selected_themes)
        ]
        sel = self.selection
        names = self.dataset.actor_names()
        if events.empty:
            return section("Timeline", narrative.nothing(sel, "engagements"), css="timeline")
        # The chart first, the summary under it: a page break then falls after the chart.
        parts = [
            self._chart(
                "timeline",
                events,
                actor_names=names,
                as_of=self.params.as_of,
                max_events=self.params.max_rows,
                caption="Engagements by date precision. Data: data/events.csv.",
                # Drawn once, on a figure then made as tall as every row and label needs.
                height=10.0,
                draw="fit_timeline",
            ),
            narrative.timeline_summary(sel),
        ]
        return section("Timeline", *parts, css="timeline")

    def defence(self, *, chart: bool = True) -> Block:
        """Defence cooperation: assessments, visits, agreements, exercises and supplies.

        ``chart=False`` leaves out the supplies chart (the main brief keeps to four pages).
        """
        if not self._wants("defence"):
            return Block(Markup(""))
        sel = self.selection
        text = narrative.theme_events(sel, self.cites, "defence", stated=self._stated)
        supplies = narrative.supplies(sel, self.cites, "defence")
        frame = sel.supplies[sel.supplies["theme"] == "defence"]
        parts = [text, supplies]
        if chart and not frame.empty:
            parts.append(
                self._chart(
                    "defence_supplies",
                    frame,
                    actor_names=self.dataset.actor_names(),
                    max_rows=self.params.max_rows,
                    caption="Supplies by category and supplier. Data: data/supplies.csv.",
                    height=1.4 + 0.3 * min(len(frame), self.params.max_rows),
                )
            )
        if not any(parts):
            parts = [narrative.nothing(sel, narrative.THEME_TOPICS["defence"])]
        return section(narrative.THEME_TITLES["defence"], *parts, css="defence")

    def energy(self) -> Block:
        """Energy and infrastructure projects, with capacities where stated."""
        if not self._wants("energy"):
            return Block(Markup(""))
        sel = self.selection
        parts = [
            narrative.theme_events(sel, self.cites, "energy", stated=self._stated),
            narrative.projects(sel, self.cites),
        ]
        if not sel.projects.empty:
            parts.append(
                self._chart(
                    "project_capacities",
                    sel.projects,
                    actor_names=self.dataset.actor_names(),
                    max_rows=self.params.max_rows,
                    caption="Projects by sector, status and stated capacity. "
                    "Data: data/projects.csv.",
                    height=1.1 + 0.26 * min(len(sel.projects), self.params.max_rows),
                )
            )
        if not any(parts):
            parts = [narrative.nothing(sel, narrative.THEME_TOPICS["energy"])]
        return section(narrative.THEME_TITLES["energy"], *parts, css="energy")

    def economy(self) -> Block:
        """Economic ties: trade settlement, currencies, oil."""
        if not self._wants("economy"):
            return Block(Markup(""))
        sel = self.selection
        parts = [
            narrative.theme_events(sel, self.cites, "economy", stated=self._stated),
            narrative.supplies(sel, self.cites, "economy"),
        ]
        if not any(parts):
            parts = [narrative.nothing(sel, narrative.THEME_TOPICS["economy"])]
        return section(narrative.THEME_TITLES["economy"], *parts, css="economy")

    def regional(self, *, network: bool = True, places: bool = False) -> Block:
        """Regional implications: India and Sittwe, China, the balance of power; actor map."""
        if not self._wants("regional"):
            return Block(Markup(""))
        sel = self.selection
        parts = [narrative.theme_events(sel, self.cites, "regional", stated=self._stated)]
        if not any(parts):
            parts = [narrative.nothing(sel, narrative.THEME_TOPICS["regional"])]
        if network and not sel.relations.empty:
            parts.append(self._network())
        if places:
            parts.append(self._places())
        return section(narrative.THEME_TITLES["regional"], *parts, css="regional")

    def _network(self) -> Markup:
        sel = self.selection
        return self._chart(
            "actor_network",
            sel.relations,
            self.dataset.actors,
            focus=self.params.partner_id,
            max_nodes=self.params.max_rows,
            caption="Who works with whom, and who is at odds. Data: data/relations.csv.",
            height=2.7,
        )

    def _places(self) -> Markup:
        places = self.dataset.places
        partner = self.params.partner_id
        return self._chart(
            "places_map",
            places,
            highlight=partner if partner in set(places["place_id"]) else None,
            caption="Places named in the source. Coordinates are approximate, from a gazetteer. "
            "Data: data/places.csv.",
            height=3.6,
        )

    def actors(self) -> Block:
        """Who works with whom, who is at odds with whom: the actor map and its ties."""
        if self.selection.relations.empty:
            return section(
                "Actors", narrative.nothing(self.selection, "ties between actors"), css="actors"
            )
        return section("Actors", self._network(), css="actors")

    def places(self) -> Block:
        """A locator map of the places the source names."""
        return section("Places", self._places(), css="places")

    def sources(self) -> Block:
        """Every cited row: source, line and the verbatim fragment."""
        return section("Sources", narrative.sources(self.cites), css="sources")


def open_brief(schema: str, namespace: Mapping[str, Any], dataset: Dataset | None = None) -> Brief:
    """Validate a notebook's parameters (from its variables) and open its :class:`Brief`.

    Called by each report notebook's validation cell:
    ``brief = helpers.open_brief("brief", globals())``.
    """
    if schema not in SCHEMAS:
        raise KeyError(f"unknown schema {schema!r}; known: {', '.join(SCHEMAS)}")
    return Brief(from_namespace(schema, namespace), dataset)
