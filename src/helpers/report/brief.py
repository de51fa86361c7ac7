"""A brief as a notebook sees it: one object, one call per section.

A report notebook's validation cell opens a :class:`Brief` from its parameters; each later cell
calls one section method, which returns a :class:`Block`, an HTML fragment that Jupyter shows
through ``_repr_html_`` and nbconvert carries into the HTML and PDF briefs; the block also
carries the section's chart (``.figure``) and the rows it shows (``.rows``), for an analyst to
work on. Charts are drawn on their own :class:`matplotlib.figure.Figure` (not through pyplot,
so nothing is shown twice and no global figure state is touched), under the house theme for
the drawing only (:func:`helpers.report.theme.house_style`: matplotlib's rcParams are as they
were afterwards), and embedded as SVG data URIs with generated alt text.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib as mpl
import pandas as pd
from IPython import get_ipython
from IPython.display import display
from markupsafe import Markup
from matplotlib.figure import Figure

from helpers.data.dataset import Dataset, file_digests, load
from helpers.errors import ParameterError
from helpers.ledger import Edition, compare
from helpers.params import (
    OUTPUT_METADATA_KEY,
    SCHEMAS,
    TITLE_BLOCK_KEY,
    BaseParams,
    from_namespace,
)
from helpers.report import charts, masthead, narrative, parameters_cell, since, theme
from helpers.report import formatting as fmt
from helpers.report.charts import maps
from helpers.report.citations import ID_COLUMNS, Citations
from helpers.report.masthead import theme_rows
from helpers.report.selection import Selection, select
from helpers.report.sourcing import Sourcing, assess
from helpers.report.typography import curly, curly_markup

#: The tables whose rows make a theme's section (the powers table joins the region's).
FACTS = ("events", "supplies", "assessments")
SECTION_TABLES = {"regional": (*FACTS, "relations")}
FIGURE_WIDTH = 6.6  # inches: the text width of an A4 or Letter page with 2 cm margins
#: A chart earns its place with at least this many things to show; fewer make a sentence.
MIN_CHART_MARKS = 3


@dataclass(frozen=True)
class Block:
    """An HTML fragment that a notebook displays and the exporters keep.

    ``metadata``, when given, travels with the output in the executed notebook (the data
    trail of the sources section, which ``brief render`` copies into the manifest).

    A section method's block also carries what the section shows, for an analyst to work on
    (neither is displayed, nor kept in the executed notebook):

    ``figure``
        The :class:`~matplotlib.figure.Figure` of the section's chart or map (the last one
        drawn, when a section has two), or ``None``.
    ``rows``
        The data rows the section shows (those it cites, and those its chart draws), one
        DataFrame indexed by table and row id: ``block.rows.loc["events"]``; empty when it
        shows none. A section method's block gathers them when they are first asked for:
        a rendered brief never asks, and gathering them for every section cost a tenth of
        its cells' time.
    """

    html: Markup
    metadata: dict | None = None
    figure: Figure | None = field(default=None, repr=False, compare=False)
    # A factory, not a default: no class attribute, so a block whose rows are left to be
    # gathered (see shows()) finds them through __getattr__.
    rows: pd.DataFrame | None = field(default_factory=lambda: None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One style of quotation marks in everything a reader sees (report.typography).
        object.__setattr__(self, "html", Markup(curly_markup(str(self.html))))

    def __getattr__(self, name: str) -> Any:
        # Called only for a missing attribute: the rows of a section method's block, gathered
        # now, once, from what the section showed (its selection does not change).
        gather = self.__dict__.get("_gather_rows")
        if name != "rows" or gather is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        rows = gather()
        object.__setattr__(self, "rows", rows)
        return rows

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/html": str(self.html)}
        return (data, self.metadata) if self.metadata else data

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
    return draw_figure(draw, alt=alt, caption=caption, height=height)[0]


def draw_figure(
    draw: Callable[[Any], Any], *, alt: str, caption: str, height: float
) -> tuple[Markup, Figure]:
    """As :func:`figure_html`, and the Figure drawn."""
    fig = Figure(figsize=(FIGURE_WIDTH, height), layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    buffer = io.BytesIO()
    # A fixed hash salt and no date keep the SVG byte-identical for identical data.
    with mpl.rc_context({"svg.hashsalt": "myanmar-brief", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = curly_markup(buffer.getvalue().decode("utf-8"))
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    alt = curly(alt)
    html = Markup(
        '<figure class="brief-figure"><img src="data:image/svg+xml;base64,{data}" alt="{alt}">'
        "<figcaption>{caption}</figcaption></figure>"
    ).format(data=Markup(data), alt=alt, caption=caption)
    return html, fig


def section(heading: str, *parts: Markup, level: int = 2, css: str = "") -> Block:
    """Wrap a heading and its parts in a ``<section>``; headings are escaped."""
    body = Markup("\n").join(p for p in parts if p)
    return Block(
        Markup(
            '<section class="brief-section {css}"><h{level}>{heading}</h{level}>\n{body}</section>'
        ).format(css=css, level=level, heading=heading, body=body)
    )


def shows(method: Callable[..., Block]) -> Callable[..., Block]:
    """Make a section method's block carry what the section shows: the Figure it drew and
    the rows it cites or draws (:class:`Block`'s ``figure`` and ``rows``)."""

    @functools.wraps(method)
    def section_method(self: Brief, *args: Any, **kwargs: Any) -> Block:
        outer = self._drawn, self._shown
        self._drawn, self._shown = [], []
        mark = self.cites.mark
        try:
            block = method(self, *args, **kwargs)
            shown = [*self.cites.cited_since(mark), *self._shown_ids()]
            # Set on the frozen block as __post_init__ does: the HTML stays as it was made.
            object.__setattr__(block, "figure", self._drawn[-1] if self._drawn else None)
            # The rows are gathered when first asked for (Block.__getattr__).
            object.__delattr__(block, "rows")
            object.__setattr__(block, "_gather_rows", functools.partial(self._rows, shown))
        finally:
            self._drawn, self._shown = outer
        return block

    return section_method


class Brief:
    """The data, parameters, selection, sourcing and citations of one brief.

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
        # The edition this brief is, and the one it follows (params.since; brief render sets
        # it): what is new is marked wherever it is cited, and on the timeline.
        self.edition, self.previous = since.compared(self.selection, params.since)
        self.changes = (
            compare(self.previous, self.edition) if isinstance(self.previous, Edition) else None
        )
        self._new = since.badged(self.changes, self.edition)
        self.cites = Citations(self.dataset.sources, fresh=self._new)
        self.sourcing: Sourcing = assess(self.selection.sources, self._used_sources())
        # The sections the brief shows: the themes it holds rows on (the scope line and the
        # title promise no more).
        self.shown_themes: list[str] = (
            []
            if self.selection.is_empty()
            else [
                t
                for t in params.selected_themes
                if not theme_rows(self.selection, t, SECTION_TABLES.get(t, FACTS)).empty
            ]
        )
        # Figure numbers by first appearance: a cell run again keeps its figure's number.
        self._figures: dict[str, int] = {}
        # Assessments already said (in the bottom line, the key points) are not repeated.
        self._stated: set[str] = set()
        # Figures the key points give: the sections do not tell them again.
        self._figured: set[tuple[str, str]] = set()
        # What the section being built draws, and the rows it shows besides those it cites
        # (a chart's, the sources a note describes): each as (table, ids). See shows().
        self._drawn: list[Figure] = []
        self._shown: list[tuple[str, Iterable[str]]] = []

    def _show(self, table: str, frame: pd.DataFrame) -> None:
        """Count the rows of ``frame`` (of ``table``) among those the section shows."""
        self._shown.append((table, frame[ID_COLUMNS[table]].astype(str)))

    def _shown_ids(self) -> list[tuple[str, str]]:
        return [(table, row_id) for table, ids in self._shown for row_id in ids]

    def _rows(self, shown: list[tuple[str, str]]) -> pd.DataFrame:
        """The rows named by ``shown`` (``(table, row id)``), in order of first mention, as one
        DataFrame indexed by table and row id."""
        wanted: dict[str, dict[str, None]] = {}
        for table, row_id in shown:
            wanted.setdefault(table, {})[row_id] = None
        frames = {}
        for table, ids in wanted.items():
            frame = getattr(self.selection, table)
            keys = frame[ID_COLUMNS[table]].astype(str)
            found = frame[keys.isin(ids)]
            found.index = pd.Index(keys[keys.isin(ids)], name="row_id")
            frames[table] = found.loc[[i for i in ids if i in found.index]]
        if not frames:
            empty = pd.MultiIndex.from_arrays([[], []], names=["table", "row_id"])
            return pd.DataFrame(index=empty)
        return pd.concat(frames, names=["table", "row_id"])

    def _used_sources(self) -> set[str]:
        sel = self.selection
        frames = (sel.events, sel.projects, sel.supplies, sel.assessments, sel.relations)
        return {str(s) for frame in frames for s in frame["source_id"]}

    # -- helpers ------------------------------------------------------------------------
    def _caption(self, text: str) -> Markup:
        number = self._figures.setdefault(text, len(self._figures) + 1)
        return Markup("<strong>Figure {}.</strong> {}").format(number, text)

    def _chart(
        self,
        kind: str,
        *frames: Any,
        table: str,
        caption: str,
        height: float,
        fit: bool = False,
        **kwargs: Any,
    ) -> Markup:
        """Draw the chart of ``kind`` (a key of ``charts.CHARTS``) and describe it, both from
        one plotter made under the house theme; ``fit`` sets the figure's height to the rows
        (the timeline's ``fit``). Its first frame holds the rows of ``table`` it draws."""
        self._show(table, frames[0])
        kwargs.setdefault("sources", self.dataset.sources)
        with theme.house_style():
            chart = charts.plotter(kind, *frames, **kwargs)
            return self._figure(
                chart.fit if fit else chart.plot,
                chart.describe,
                caption=caption,
                height=height,
            )

    def _figure(
        self,
        draw: Callable[[Any], Any],
        describe: Callable[[], str],
        *,
        caption: str,
        height: float,
    ) -> Markup:
        """Describe and draw a chart under the house theme, for this drawing only; keep its
        Figure for the section's block."""
        with theme.house_style():
            alt = describe()
            html, fig = draw_figure(draw, alt=alt, caption=self._caption(caption), height=height)
        self._drawn.append(fig)
        return html

    @property
    def title(self) -> str:
        return self.masthead()["title"]

    def masthead(self) -> dict[str, Any]:
        """Title, subtitle, time view and scope, from what the brief holds."""
        return masthead.masthead(self.params, self.selection, self.sourcing, self.shown_themes)

    # -- the opening ------------------------------------------------------------------------
    @shows
    def since_last_edition(self) -> Block:
        """What changed since the previous edition: new facts, corrections, facts no longer
        shown, new sources. The first edition of a series says so; nothing at all when the
        brief is compared with no edition (``since`` is None)."""
        html = since.box(self.selection, self.cites, self.previous, self.changes, self.edition)
        if not html:
            return Block(Markup(""))
        return Block(Markup('<aside class="since-box">{}</aside>').format(html))

    @shows
    def bottom_line(self) -> Block:
        """The bottom line up front: the source's thesis, the partner's stake, and how much
        weight the whole can bear."""
        self._stated |= {str(r["assessment_id"]) for r in narrative.opening_rows(self.selection)}
        text = narrative.bottom_line(self.selection, self.cites, self.sourcing)
        return section("Bottom line", text, css="bluf")

    @shows
    def source_note(self) -> Block:
        """What the brief rests on: the sources, their grades, the confidence, the time view.
        Nothing for a brief that knows no source: its bottom line says so."""
        if self.selection.sources.empty:
            return Block(Markup(""))
        self._show("sources", self.selection.sources)
        return Block(
            Markup('<aside class="source-note">{}</aside>').format(
                narrative.source_note(self.selection, self.sourcing)
            )
        )

    @shows
    def key_points(self) -> Block:
        """Up to five key points, one sentence each and attributed; then the source's figures."""
        if self.selection.is_empty():
            return Block(Markup(""))
        html, said = narrative.key_points(
            self.selection, self.cites, stated=self._stated, figured=self._figured
        )
        self._stated |= said
        return section("Key points", html, css="key")

    @shows
    def timeline(self) -> Block:
        """The events over time, drawn with their date precision, and a summary.

        A chart only earns its place with :data:`MIN_CHART_MARKS` dated events or more; with
        fewer, the summary sentence says it all.
        """
        sel = self.selection
        events = sel.on_themes("events")
        if events.empty:
            return Block(Markup(""))
        parts = []
        if events["date_start"].notna().sum() >= MIN_CHART_MARKS:
            view = sel.view
            reported = fmt.short_day(sel.sources["published"].max())
            mark = f"Known by {fmt.short_day(view.known_by)}"
            if view.hindsight:
                mark = f"Cut {fmt.short_day(view.end)} (report of {reported})"
            elif view.end < view.known_by:
                mark = f"Window ends {fmt.short_day(view.end)}"
            undated = (
                "Date unknown (may fall outside the window)"
                if view.windowed
                else f"Undated (reported by {reported})"
            )
            # The chart first, the summary under it: a page break then falls after the chart.
            parts.append(
                self._chart(
                    "timeline",
                    since.mark_new(events, "events", self._new, "title"),
                    table="events",
                    actor_names=self.dataset.actor_names(),
                    as_of=view.end,
                    start=view.start,
                    mark=mark,
                    undated_heading=undated,
                    max_events=self.params.max_rows,
                    caption="Events by date and by how precisely the report dates them.",
                    # Drawn once, on a figure then made as tall as every row and label needs.
                    height=10.0,
                    fit=True,
                )
            )
        parts.append(narrative.timeline_summary(sel, events))
        return section("Timeline", *parts, css="timeline")

    # -- sections by theme -------------------------------------------------------------------
    def _theme(self, name: str, *extras: Callable[[], Markup]) -> Block:
        """A theme's section: its text, then each of ``extras`` (drawn after the text, so that
        notes keep their reading order)."""
        if name not in self.shown_themes:
            return Block(Markup(""))
        text, said = narrative.theme_section(
            self.selection,
            self.cites,
            name,
            stated=self._stated,
            figured=frozenset(self._figured),
        )
        self._stated |= said
        parts = [extra() for extra in extras]
        if not text and not any(parts):
            # The scope line lists this section: what the report judges on it was said above.
            text = narrative.render("said_above", topic=narrative.THEME_TOPICS[name])
        return section(narrative.THEME_TITLES[name], text, *parts, css=name)

    @shows
    def defence(self, *, chart: bool = True) -> Block:
        """Defence cooperation: the source's lead judgment, visits, agreements, exercises and
        supplies. ``chart=False`` leaves out the supplies chart (the main brief keeps to four
        pages); it is drawn only when it has :data:`MIN_CHART_MARKS` rows and states a
        quantity for at least one."""
        frame = self.selection.on_themes("supplies", ("defence",))
        extra = []
        if chart and len(frame) >= MIN_CHART_MARKS and frame["quantity"].notna().any():
            extra.append(
                lambda: self._chart(
                    "defence_supplies",
                    frame,
                    table="supplies",
                    actor_names=self.dataset.actor_names(),
                    max_rows=self.params.max_rows,
                    caption="Supplies by category and supplier.",
                    height=1.4 + 0.3 * min(len(frame), self.params.max_rows),
                )
            )
        return self._theme("defence", *extra)

    @shows
    def energy(self) -> Block:
        """Energy and infrastructure projects, worded by their status; a capacity chart only
        when :data:`MIN_CHART_MARKS` projects or more state a capacity."""
        projects = self.selection.on_themes("projects")
        extra = []
        if projects["capacity"].notna().sum() >= MIN_CHART_MARKS:
            extra.append(
                lambda: self._chart(
                    "project_capacities",
                    projects,
                    table="projects",
                    actor_names=self.dataset.actor_names(),
                    max_rows=self.params.max_rows,
                    caption="Projects by stated capacity.",
                    height=1.1 + 0.26 * min(len(projects), self.params.max_rows),
                )
            )
        return self._theme("energy", *extra)

    @shows
    def economy(self) -> Block:
        """Economic ties: trade settlement, currencies, oil."""
        return self._theme("economy")

    @shows
    def regional(self, *, table: bool = True, places: bool = False) -> Block:
        """Regional implications: India and Sittwe, China, the balance of power; where the
        three powers stand, as a table; optionally the locator map."""
        extra = []
        if table:
            extra.append(lambda: narrative.actor_table(self.selection, self.cites))
        if places:
            extra.append(self._places)
        return self._theme("regional", *extra)

    @shows
    def actors(self) -> Block:
        """Where the three powers stand, and the conflict at home, as the source describes them."""
        table = narrative.actor_table(self.selection, self.cites)
        return (
            section("The powers and the conflict at home", table, css="actors")
            if table
            else Block(Markup(""))
        )

    def _places(self) -> Markup:
        places = self.selection.places
        partner = self.params.partner_id
        highlight = partner if partner in set(places["place_id"]) else None
        self._show("places", places)
        return self._figure(
            lambda ax: maps.locator_map(
                places, ax=ax, highlight=highlight, sources=self.dataset.sources
            ),
            lambda: maps.describe_locator_map(
                places, highlight=highlight, sources=self.dataset.sources
            ),
            caption="Places the report names. Coordinates are approximate and not from the report.",
            height=maps.HEIGHT,
        )

    @shows
    def places(self) -> Block:
        """A locator map of the places the source names."""
        if self.selection.is_empty():
            return Block(Markup(""))
        return section("Places", self._places(), css="places")

    # -- the close --------------------------------------------------------------------------
    @shows
    def judgments(self) -> Block:
        """The analyst's own judgments, with their confidence; nothing when there are none."""
        text = narrative.judgments(self.selection, self.cites)
        return section("Analyst judgments", text, css="judgments") if text else Block(Markup(""))

    @shows
    def gaps(self) -> Block:
        """What the source does not say, what the brief leaves out, and what to watch."""
        text = narrative.gaps(self.selection, self.sourcing)
        return section("Gaps and limits", text, css="gaps") if text else Block(Markup(""))

    @shows
    def sources(self) -> Block:
        """The reader's notes, then (in the HTML only) the annex with the data trail."""
        metadata = {
            OUTPUT_METADATA_KEY: {"trail": self.cites.trail(), "edition": self.edition.ledger()}
        }
        if self.selection.sources.empty:
            # A notice, not a brief: no notes to list, but the ledger all the same.
            return Block(Markup(""), metadata=metadata)
        # The rows behind every note the section lists.
        self._shown += [(table, [row_id]) for note in self.cites for table, row_id in note.rows]
        notes = section(
            "Sources", narrative.sources(self.cites, self.selection, self.sourcing), css="sources"
        )
        annex = section(
            "Annex: the data behind each note",
            narrative.annex(self.cites, self.selection, file_digests(self.dataset.data_dir)),
            css="annex",
        )
        return Block(
            Markup("{}\n{}").format(notes.html, annex.html),
            # The data trail and the edition's ledger, which brief render copies into the
            # manifest (the next edition is compared with the ledger).
            metadata=metadata,
        )


def open_brief(schema: str, namespace: Mapping[str, Any], dataset: Dataset | None = None) -> Brief:
    """Validate a notebook's parameters (from its variables) and open its :class:`Brief`.

    Called by each report notebook's validation cell:
    ``brief = helpers.open_brief("brief", globals())``. As on the command line, a name in
    the parameters cell that the notebook does not take is an error, and so is a
    ``data_dir`` that is not a folder. In a kernel, the names checked are those its parameters
    cell (and papermill's injected one) set, found in the kernel's input history
    (:mod:`helpers.report.parameters_cell`): the analyst's own variables from other cells are
    no parameters, so the cell can be run again after some scratch work. Given any other
    mapping, every plain value in it is checked. In a kernel, it leaves the brief's title
    block in the executed notebook (:func:`leave_title_block`), so that every door to the
    house exporters gives the same brief.

    Raises
    ------
    ParameterError
        An unknown name, a bad value, or a ``data_dir`` that is not a folder.
    """
    if schema not in SCHEMAS:
        raise KeyError(f"unknown schema {schema!r}; known: {', '.join(SCHEMAS)}")
    fields = SCHEMAS[schema].model_fields
    names = parameters_cell.parameter_names(namespace, fields)
    if names is not None:
        namespace = {name: namespace[name] for name in {*names, *fields} if name in namespace}
    params = from_namespace(schema, namespace, strict=True)
    if params.data_dir and not Path(params.data_dir).expanduser().is_dir():
        raise ParameterError(
            f"data_dir = {params.data_dir!r} is not a folder (from {Path.cwd()}); set data_dir "
            "in the parameters cell to the folder that holds the data, or None for the "
            "package's own"
        )
    brief = Brief(params, dataset)
    leave_title_block(brief)
    return brief


def title_block(brief: Brief) -> dict[str, Any]:
    """What the house exporters show around the brief: the masthead (title, subtitle, time
    view, scope, from what the brief holds) and the paper of the PDF."""
    return {**brief.masthead(), "paper": brief.params.paper}


def leave_title_block(brief: Brief) -> None:
    """In a kernel, display one plain line naming the brief, carrying :func:`title_block` in
    its metadata: the executed notebook then holds everything the house exporters need,
    whichever tool ran it (``brief render``, papermill, JupyterLab). The exporters read it
    and show the line nowhere. Outside a kernel, nothing."""
    if get_ipython() is None:
        return
    block = title_block(brief)
    display(
        {"text/plain": f"{block['title']}: {block['as_of']}"},
        raw=True,
        metadata={OUTPUT_METADATA_KEY: {TITLE_BLOCK_KEY: block}},
    )
