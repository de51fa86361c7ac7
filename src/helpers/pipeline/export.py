"""The house nbconvert exporters: an executed report notebook to an HTML or PDF brief.

Two exporters, registered under nbconvert's ``nbconvert.exporters`` entry point so that
``jupyter nbconvert --to brief_html`` and ``--to brief_pdf`` work:

* :class:`BriefHTMLExporter` writes one self-contained HTML file from the ``brief`` template
  folder (``src/helpers/templates/brief``): no code, no prompts, no cells tagged
  ``parameters`` / ``injected-parameters`` / ``remove-cell``, no stdout/stderr, every image a
  ``data:`` URI and no reference to any network host. A notebook holding an error output is
  refused with :class:`~helpers.errors.RenderError`: it means the run failed.
* :class:`BriefPDFExporter` renders that HTML with WeasyPrint on A4 or Letter paper, with a
  running title, "As of <date>" and "Page X of Y" in the margins. The PDF is tagged PDF/UA-1
  by default (:data:`DEFAULT_PDF_VARIANT`): a structure tree (the title an H1, sections H2,
  lists, tables with header cells, figures with their alternative text), the document's
  language, its title shown in the viewer's title bar, and bookmarks from the headings.

The render pipeline calls the plain functions :func:`render_html` and :func:`render_pdf` in
its own process; nothing here starts a kernel, a browser or a subprocess.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import PurePath
from typing import Any

import nbformat
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode, default
from traitlets.config import Config

from helpers import paths
from helpers.common import DEFAULT_PDF_VARIANT, PDF_VARIANTS, check_pdf_variant
from helpers.errors import ParameterError, RenderError
from helpers.params import OUTPUT_METADATA_KEY, TITLE_BLOCK_KEY
from helpers.pipeline.execute import CUT_KEY
from helpers.pipeline.sanitize import clean_html
from helpers.signals import interrupts
from helpers.text import reader_text

__all__ = [
    "DEFAULT_PDF_VARIANT",
    "MISSING_ALT",
    "PAPER_SIZES",
    "PDF_VARIANTS",
    "REMOVED_CELL_TAGS",
    "BriefHTMLExporter",
    "BriefOutputsPreprocessor",
    "BriefPDFExporter",
    "check_pdf_variant",
    "external_references",
    "finish_warm_up",
    "render_html",
    "render_pdf",
    "warm_up",
    "warm_up_pdf_in_background",
]

#: Cells carrying any of these tags are dropped from the brief, outputs and all.
REMOVED_CELL_TAGS = frozenset(
    {"parameters", "injected-parameters", "remove-cell", "remove_cell"},
)
#: Paper names accepted by :func:`render_pdf` (case-insensitive) and their CSS page size.
PAPER_SIZES = {"a4": "A4", "letter": "letter"}
#: The alternative text nbconvert gives an image that has none: a tagged PDF and the HTML
#: then describe the figure with it, so ``brief render`` warns (helpers' charts carry their own).
MISSING_ALT = "No description has been provided for this image"
#: Variants that may carry attached files (PDF/A-3 allows any; PDF/UA says nothing against).
_ATTACHING = frozenset({"pdf/a-3u", "pdf/a-3a"})

#: The template folder name under :data:`helpers.paths.TEMPLATES_DIR`.
TEMPLATE_NAME = "brief"

# Keys shown in the masthead itself, so not repeated in its table of parameters.
_MASTHEAD_KEYS = frozenset({"title", "subtitle", "as_of"})


def _title_block_of(output: Any) -> dict[str, Any] | None:
    """The title block an output carries (``helpers.report.brief.leave_title_block``)."""
    carried = (output.get("metadata") or {}).get(OUTPUT_METADATA_KEY)
    block = carried.get(TITLE_BLOCK_KEY) if isinstance(carried, dict) else None
    return block if isinstance(block, dict) else None


def title_block(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The title block the notebook's own cells left (the last one, if a cell ran twice);
    empty for a notebook that left none."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            found = _title_block_of(output) or found
    return found


class BriefOutputsPreprocessor(Preprocessor):
    """Drop stream outputs and the title block's line, then code cells left with nothing
    to show.

    A brief shows what the helpers displayed, never what the code printed (progress lines,
    library warnings on stderr). The title block is shown as the masthead, not as a line.
    With inputs excluded, a code cell without outputs would leave an empty wrapper, so it
    goes too. Registered in the template's ``conf.json``.
    """

    def preprocess(self, nb, resources):
        """Filter ``nb.cells`` in place; see the class docstring."""
        kept = []
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [
                    o
                    for o in cell.get("outputs", [])
                    if o.output_type != "stream" and not _title_block_of(o)
                ]
                if not cell.outputs:
                    continue
            kept.append(cell)
        nb.cells = kept
        return nb, resources


class BriefHTMLExporter(HTMLExporter):
    """Export an executed report notebook as a self-contained HTML brief.

    Hides code through configuration, not by editing the notebook: ``exclude_input`` and the
    prompt exclusions are on, and nbconvert's ``TagRemovePreprocessor`` is enabled with
    :data:`REMOVED_CELL_TAGS`. Every setting stays overridable through the usual traitlets
    config (``--BriefHTMLExporter.exclude_input=False`` and so on).

    The masthead takes its title, subtitle, as-of date and generation time from
    ``nb.metadata["brief"]``, then from papermill's parameters
    (``nb.metadata["papermill"]["parameters"]``), then from the notebook's file name; the
    papermill parameters are listed under it. Every such value is HTML-escaped.

    Raises
    ------
    RenderError
        If a cell holds an ``error`` output (the run failed), or if the rendered page would
        load anything that is not a ``data:`` URI.
    """

    export_from_notebook = "Brief (HTML)"

    @default("template_name")
    def _template_name_default(self):
        return TEMPLATE_NAME

    @default("extra_template_basedirs")
    def _extra_template_basedirs_default(self):
        return [str(paths.TEMPLATES_DIR)]

    @default("exclude_input")
    def _exclude_input_default(self):
        return True

    @default("exclude_input_prompt")
    def _exclude_input_prompt_default(self):
        return True

    @default("exclude_output_prompt")
    def _exclude_output_prompt_default(self):
        return True

    @default("exclude_anchor_links")
    def _exclude_anchor_links_default(self):
        return True

    @default("embed_images")
    def _embed_images_default(self):
        # Markdown images become data: URIs, so the HTML file is all there is to ship.
        return True

    @property
    def default_config(self):
        """nbconvert's HTML defaults, plus tag removal and a display priority without JS."""
        c = Config(
            {
                "TagRemovePreprocessor": {
                    "enabled": True,
                    "remove_cell_tags": set(REMOVED_CELL_TAGS),
                    "remove_all_outputs_tags": {"remove-output", "remove_output"},
                    "remove_input_tags": {"remove-input", "remove_input"},
                },
                # No JavaScript, widgets, LaTeX (needs MathJax) or Mermaid (needs a CDN):
                # an output offering one of those falls back to its next representation.
                "NbConvertBase": {
                    "display_data_priority": [
                        "text/html",
                        "text/markdown",
                        "image/svg+xml",
                        "image/png",
                        "image/jpeg",
                        "text/plain",
                    ]
                },
            }
        )
        base = super().default_config.copy()
        base.merge(c)
        return base

    def default_filters(self):
        """nbconvert's filters, and ``brief_clean``: :func:`.sanitize.clean_html`."""
        yield from super().default_filters()
        yield ("brief_clean", clean_html)

    def from_notebook_node(self, nb, resources=None, **kw):
        """Render ``nb`` to HTML; see the class docstring for what is kept and refused."""
        _refuse_error_outputs(nb, _notebook_label(resources))
        resources = dict(resources or {})
        resources["brief_header"] = _masthead(nb, resources, self.language_code)
        html, resources = super().from_notebook_node(nb, resources=resources, **kw)
        refs = external_references(html)
        if refs:
            shown = ", ".join(refs[:5]) + (" ..." if len(refs) > 5 else "")
            raise RenderError(
                f"{_notebook_label(resources)}: the brief would load {len(refs)} resource(s) "
                f"from outside the file ({shown}); embed images as data: URIs "
                "(helpers' figures do) and remove external links to scripts or stylesheets"
            )
        return html, resources


class BriefPDFExporter(BriefHTMLExporter):
    """Export an executed report notebook as a PDF brief, through WeasyPrint.

    The paper is the ``paper`` trait if set, else the one in the notebook's title block,
    else its papermill parameter ``paper`` ("A4" or "Letter"), else A4.
    :meth:`from_notebook_node` returns the PDF bytes.
    """

    export_from_notebook = "Brief (PDF)"
    output_mimetype = "application/pdf"

    paper = Unicode(
        None,
        allow_none=True,
        help="Paper size, 'A4' or 'Letter'; overrides the notebook's 'paper' parameter.",
    ).tag(config=True)

    pdf_variant = Unicode(
        DEFAULT_PDF_VARIANT,
        help="The PDF's variant: " + ", ".join(PDF_VARIANTS) + " (default: tagged PDF/UA-1).",
    ).tag(config=True)

    @default("file_extension")
    def _file_extension_default(self):
        return ".pdf"

    @default("template_extension")
    def _template_extension_default(self):
        return ".html.j2"

    def from_notebook_node(self, nb, resources=None, **kw):
        """Render ``nb`` to PDF bytes; ``resources["output_extension"]`` becomes ``.pdf``."""
        html, resources = super().from_notebook_node(nb, resources=resources, **kw)
        params = nb.metadata.get("papermill", {}).get("parameters", {})
        paper = self.paper or title_block(nb).get("paper") or params.get("paper") or "A4"
        pdf = render_pdf(html, paper=paper, variant=self.pdf_variant)
        resources["output_extension"] = ".pdf"
        return pdf, resources


# ---- Plain functions for the pipeline -------------------------------------------------------

_local = threading.local()


def render_html(nb: nbformat.NotebookNode, *, resources: dict | None = None) -> str:
    """Render an executed notebook to the house HTML brief.

    Parameters
    ----------
    nb
        The executed notebook; it is not modified.
    resources
        nbconvert resources; ``resources["metadata"]["name"]`` (the notebook's file stem) is
        the title of last resort and names the notebook in error messages.

    Returns
    -------
    str
        A complete, self-contained HTML document.

    Raises
    ------
    RenderError
        If the notebook holds an error output or the page would load an external resource.
    """
    # One exporter per thread: the Jinja environment is compiled once and reused, and
    # nbconvert exporters keep per-call state, so threads must not share one.
    exporter = getattr(_local, "html_exporter", None)
    if exporter is None:
        exporter = _local.html_exporter = BriefHTMLExporter()
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return html


def render_pdf(
    html: str,
    *,
    paper: str = "A4",
    base_url: str | None = None,
    variant: str = DEFAULT_PDF_VARIANT,
    attachments: dict[str, bytes] | None = None,
) -> bytes:
    """Render a house HTML brief to PDF with WeasyPrint, fetching nothing from the network.

    Parameters
    ----------
    html
        The document, as :func:`render_html` returns it.
    paper
        ``"A4"`` or ``"Letter"`` (any case).
    base_url
        Base for relative URLs (links and anchors). Only ``data:`` URIs are ever fetched;
        any other URL, relative or absolute, stops the render.
    variant
        One of :data:`PDF_VARIANTS`: by default tagged PDF/UA-1, whose structure tree,
        language, title and bookmarks come from the HTML (``<html lang>``, ``<title>``,
        headings, lists, tables, ``alt``). A figure without alternative text is then an
        error, not a silent gap.
    attachments
        File name -> bytes, embedded in the PDF as associated files by the archival
        variants (``pdf/a-3u``, ``pdf/a-3a``); ignored by the others.

    Returns
    -------
    bytes
        The PDF, fonts embedded.

    Raises
    ------
    ParameterError
        If ``paper`` is not A4 or Letter.
    RenderError
        If the HTML refers to an external resource, or WeasyPrint fails or cannot load an
        image or stylesheet.
    """
    finish_warm_up()
    return _render_pdf(
        html,
        paper=paper,
        base_url=base_url,
        variant=check_pdf_variant(variant),
        attachments=attachments,
    )


def _pdf_options(variant: str, attachments: dict[str, bytes] | None) -> dict[str, Any]:
    """WeasyPrint's ``write_pdf`` options for a variant (see :data:`PDF_VARIANTS`)."""
    if variant == "none":
        return {}
    options: dict[str, Any] = {"pdf_variant": variant}
    if variant.startswith("pdf/ua"):
        options["pdf_tags"] = True
    if attachments and variant in _ATTACHING:
        import weasyprint  # noqa: PLC0415

        options["attachments"] = [
            weasyprint.Attachment(string=data, name=name, description=name)
            for name, data in attachments.items()
        ]
    return options


def _render_pdf(
    html: str,
    *,
    paper: str,
    base_url: str | None,
    variant: str = DEFAULT_PDF_VARIANT,
    attachments: dict[str, bytes] | None = None,
) -> bytes:
    size = PAPER_SIZES.get(str(paper).strip().lower())
    if size is None:
        raise ParameterError(f"paper: expected 'A4' or 'Letter', got {paper!r}")
    refs = external_references(html)
    if refs:
        raise RenderError(
            f"cannot render the PDF: the HTML refers to {len(refs)} external resource(s) "
            f"({', '.join(refs[:5])}); embed them as data: URIs"
        )

    import weasyprint  # noqa: PLC0415 - lazily: it costs time, and only PDF renders need it
    from weasyprint.urls import FatalURLFetchingError  # noqa: PLC0415

    fetcher = _local_only_fetcher()
    errors = _ErrorCollector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(errors)
    stops = interrupts()
    try:
        page = weasyprint.CSS(string=f"@page {{ size: {size}; }}", url_fetcher=fetcher)
        document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        pdf = document.write_pdf(stylesheets=[page], **_pdf_options(variant, attachments))
    except FatalURLFetchingError as exc:
        refused = ", ".join(fetcher.refused) or str(exc)
        raise RenderError(
            f"cannot render the PDF: it would fetch {refused}; briefs must be self-contained "
            "(embed images and styles as data: URIs)"
        ) from exc
    except Exception as exc:
        _stopped_since(stops)
        raise RenderError(
            f"WeasyPrint failed to render the PDF: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        logger.removeHandler(errors)
    _stopped_since(stops)
    # The house HTML always names its language; HTML that does not (given to render_pdf by
    # hand) still gets a tagged PDF, with an empty /Lang: said, not refused.
    missing_lang = [m for m in errors.messages if 'Missing required "lang"' in m]
    if missing_lang:
        logging.getLogger(__name__).warning(
            "the HTML names no language (<html lang>): the tagged PDF's /Lang is empty"
        )
        errors.messages = [m for m in errors.messages if m not in missing_lang]
    if errors.messages:
        if any("no required alt" in m for m in errors.messages):
            raise RenderError(
                f"the {variant} PDF needs alternative text on every image, and "
                f"{sum('no required alt' in m for m in errors.messages)} have none: give each "
                "figure an alt text (helpers' charts carry one in their output's metadata), or "
                "choose --pdf-variant none for an untagged PDF"
            )
        raise RenderError(
            "WeasyPrint rendered the PDF with errors, so parts of the brief would be missing: "
            + "; ".join(errors.messages)
        )
    return pdf


def _stopped_since(count: int) -> None:
    """Raise the ``KeyboardInterrupt`` WeasyPrint swallowed, if the run was told to stop
    while it rendered: an interruption is an interruption (exit 130), not a failed PDF."""
    if interrupts() != count:
        raise KeyboardInterrupt("interrupted while the PDF was rendered")


def warm_up() -> None:
    """Do now what the first HTML render in this thread does: load and compile the template.

    Renders a one-paragraph brief to HTML and drops it. The next render in this thread skips
    that work, about 0.4 s; nothing else is kept. It saves no work, it moves it: worth it only
    when this process would otherwise wait. For the PDF's share (about 0.7 s), see
    :func:`warm_up_pdf_in_background`.
    """
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("Warm-up: **bold**, *italic* and plain text.")]
    )
    render_html(nb, resources={"metadata": {"name": "warm-up"}})


_warming: threading.Thread | None = None


def warm_up_pdf_in_background() -> None:
    """Warm WeasyPrint (fonts, stylesheets) in a thread, once per process.

    For a process that is about to wait for a kernel: the thread uses the core the kernel
    leaves idle. :func:`render_pdf` waits for it before it starts, so the two never overlap.
    """
    global _warming
    if _warming is not None:
        return

    def warm() -> None:
        with contextlib.suppress(Exception):  # the real render reports any problem
            _render_pdf(
                '<html lang="en"><head><title>Warm-up</title></head><body><h1>Warm-up</h1>'
                "<p>Plain, <b>bold</b>, <i>italic</i>.</p></body></html>",
                paper="A4",
                base_url=None,
            )

    _warming = threading.Thread(target=warm, name="brief-pdf-warm-up", daemon=True)
    _warming.start()


def finish_warm_up() -> None:
    """Wait for a :func:`warm_up_pdf_in_background` thread, if one is running."""
    if _warming is not None:
        _warming.join()


# ---- Checks ---------------------------------------------------------------------------------

# Attributes that make a browser (or WeasyPrint) fetch their value.
_FETCHED_ATTRS = frozenset({"src", "poster", "background", "data", "action", "formaction"})
# Tags whose href is fetched rather than followed (<a>/<area> hrefs are only followed).
_HREF_FETCHED_TAGS = frozenset({"link", "image", "use", "feimage", "script"})
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]*)\1\s*\)", re.IGNORECASE)
_SRCSET_URL = re.compile(r"[\s,]*(\S*)")
_CSS_IMPORT = re.compile(r"@import\s+(?:url\()?\s*['\"]?([^'\")\s;]+)", re.IGNORECASE)


def _srcset_urls(value: str) -> list[str]:
    """The URLs of a srcset; data: URIs hold commas, so split as the HTML spec does."""
    urls, pos = [], 0
    while pos < len(value):
        match = _SRCSET_URL.match(value, pos)
        url = match.group(1)
        pos = match.end()
        if not url:
            break
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptors up to the next comma
            comma = value.find(",", pos)
            pos = len(value) if comma < 0 else comma + 1
        if url:
            urls.append(url)
    return urls


def _embedded(url: str) -> bool:
    url = url.strip()
    return url.startswith("#") or url[:5].lower() == "data:"


class _ReferenceFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def _css(self, where: str, text: str) -> None:
        for _, url in _CSS_URL.findall(text):
            if not _embedded(url):
                self.found.append(f"{where} url({url})")
        for url in _CSS_IMPORT.findall(text):
            if not _embedded(url):
                self.found.append(f"{where} @import {url}")

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            name = name.lower()
            if name in _FETCHED_ATTRS or (
                name in {"href", "xlink:href"} and tag in _HREF_FETCHED_TAGS
            ):
                if not _embedded(value):
                    self.found.append(f"<{tag} {name}={value[:80]!r}>")
            elif name in {"srcset", "imagesrcset"}:
                for url in _srcset_urls(value):
                    if not _embedded(url):
                        self.found.append(f"<{tag} {name}={url[:80]!r}>")
            elif name == "style":
                self._css(f"<{tag} style>", value)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in_style = False

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css("<style>", data)


def external_references(html: str) -> list[str]:
    """List what in ``html`` would be fetched from outside the document.

    Fetched means loaded by the page: ``src``/``srcset``/``poster``/``data`` attributes,
    ``<link href>``, SVG ``<image>``/``<use>`` hrefs, CSS ``url()`` and ``@import``. A value is
    fine if it is a ``data:`` URI or a ``#fragment``. Links a reader may follow (``<a href>``)
    are not fetched and not listed.

    Parameters
    ----------
    html
        An HTML document or fragment.

    Returns
    -------
    list of str
        One description per offending reference, e.g. ``"<script src='https://...'>"``;
        empty when the document is self-contained.
    """
    finder = _ReferenceFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def _refuse_error_outputs(nb: nbformat.NotebookNode, label: str) -> None:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                cell_id = cell.get("id")
                where = f"cell {index}" + (f" (id {cell_id})" if cell_id else "")
                raise RenderError(
                    f"{label}: {where} holds an error output, "
                    f"{output.get('ename', 'Error')}: {output.get('evalue', '')}; "
                    "the run failed, so there is no brief to render. Fix the cause and run "
                    "the notebook again."
                )


# ---- Masthead -------------------------------------------------------------------------------


def _notebook_label(resources: dict | None) -> str:
    name = ((resources or {}).get("metadata") or {}).get("name")
    return f"notebook {name!r}" if name else "notebook"


def _when(value: Any) -> str:
    """Papermill's ISO timestamps (naive, in UTC) shortened to the minute."""
    if value in (None, ""):
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return reader_text(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _time_view(value: str) -> str:
    """The helpers' time view as it is ("Known by 2 March 2024", "Events to ..."); a bare
    ISO date (a papermill parameter) says what it means: "Known by 2 March 2024"."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return value
    return f"Known by {day.day} {day:%B %Y}"


def _label(key: str) -> str:
    text = str(key).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def _masthead(nb: nbformat.NotebookNode, resources: dict, language: str) -> dict[str, Any]:
    """The values the template's masthead and colophon show; the template escapes them.

    Each comes from the title block the notebook's cells left (:func:`title_block`), then
    from ``nb.metadata["brief"]``, then from papermill's parameters, then from the file name.
    """
    brief = {**(nb.metadata.get("brief") or {}), **title_block(nb)}
    papermill = nb.metadata.get("papermill") or {}
    params = papermill.get("parameters") or {}
    name = (resources.get("metadata") or {}).get("name") or ""
    input_path = papermill.get("input_path") or ""
    source = PurePath(input_path).name if input_path else (f"{name}.ipynb" if name else "")

    def pick(key: str) -> str:
        value = brief.get(key)
        if value in (None, ""):
            value = params.get(key)
        return "" if value in (None, "") else reader_text(value)

    return {
        "title": pick("title") or name or "Brief",
        "subtitle": pick("subtitle"),
        "as_of": _time_view(pick("as_of")),
        "as_of_iso": pick("as_of_iso") or pick("as_of"),
        # The helpers' own stamp verbatim; else papermill's end time, shortened.
        "generated": reader_text(brief["generated"])
        if brief.get("generated")
        else _when(papermill.get("end_time")),
        "source": source,
        "cut": [_cut_words(item) for item in brief.get(CUT_KEY) or [] if isinstance(item, dict)],
        "language": brief.get("language") or language,
        # The helpers' own scope rows when given; else every parameter but the masthead's.
        "parameters": [(str(k), reader_text(v)) for k, v in brief["scope"]]
        if brief.get("scope")
        else [(_label(k), reader_text(v)) for k, v in params.items() if k not in _MASTHEAD_KEYS],
    }


def _cut_words(item: dict[str, Any]) -> str:
    """``cell 4 produced 200.0 MB of output; the notebook keeps the first 10.0 MB``."""

    def mb(value: Any) -> str:
        return f"{int(value or 0) / 1_000_000:.1f} MB"

    return (
        f"cell {int(item.get('cell') or 0)} produced {mb(item.get('bytes'))} of output; "
        f"the notebook keeps the first {mb(item.get('kept'))}"
    )


# ---- WeasyPrint plumbing --------------------------------------------------------------------


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:300])


def _local_only_fetcher():
    """A WeasyPrint URL fetcher that serves data: URIs and refuses everything else."""
    from weasyprint.urls import URLFetcher  # noqa: PLC0415

    class DataOnlyFetcher(URLFetcher):
        def __init__(self) -> None:
            # fail_on_errors: a refusal stops the render instead of leaving a logged hole.
            super().__init__(allowed_protocols={"data"}, fail_on_errors=True)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url[:5].lower() == "data:":
                return super().fetch(url, headers)
            self.refused.append(url[:120])
            raise RenderError(
                f"refusing to fetch {url[:120]!r}: briefs are rendered offline and only "
                "data: URIs may be loaded"
            )

    return DataOnlyFetcher()
