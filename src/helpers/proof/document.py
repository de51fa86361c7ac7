"""What a rule reads from one rendered brief: its HTML by part, its PDF by page and line, its
charts, its data trail, and what its parameters say it should leave out.

A :class:`Document` is built from a run folder (:meth:`Document.from_run`: the ``.html``, the
``.pdf``, ``manifest.json``) and the loaded dataset, or by hand in a test
(:meth:`Document.from_html`). The PDF is read with poppler's ``pdftotext -bbox-layout``:
it gives every line with its box on its page, which is what the layout rules need (a page's
body lines, what stands at a page's foot, where a table's rows fall), and it extracts text as
copy-and-paste and screen readers do, which is what the letter-spacing rule must see.
WeasyPrint's own layout would be exact too, but only by laying the brief out a second time.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup, Tag

from helpers.errors import UsageError

#: The page margins of the print stylesheet (templates/brief/static/print.css), in points:
#: lines above the top one or below the bottom one are the running header and footer.
TOP_MARGIN_PT = 20 / 25.4 * 72
BOTTOM_MARGIN_PT = 21 / 25.4 * 72

#: The parts of a brief, by the CSS class of their section (or element), for messages.
PART_NAMES = {
    "bluf": "bottom line",
    "key": "key points",
    "timeline": "timeline",
    "defence": "defence section",
    "energy": "energy section",
    "economy": "economy section",
    "regional": "regional section",
    "actors": "powers table",
    "places": "places",
    "judgments": "analyst judgments",
    "gaps": "gaps and limits",
    "sources": "sources",
    "annex": "annex",
}
THEME_SECTIONS = ("defence", "energy", "economy", "regional")


@dataclass(frozen=True)
class Text:
    """One block of a brief's text (a paragraph, list item, table cell, caption, alt text)."""

    part: str
    text: str
    #: Note numbers cited in it, in order.
    notes: tuple[int, ...] = ()
    #: The element's tag and class, for messages (``li.event``).
    element: str = ""
    #: The text without its code (``<code>``), which the quotes rule reads.
    prose: str = ""


@dataclass(frozen=True)
class Line:
    """One line of PDF text with its box (points, origin top left)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Page:
    """One PDF page: its size, and its lines in reading order."""

    number: int
    width: float
    height: float
    lines: tuple[Line, ...]

    @property
    def body(self) -> tuple[Line, ...]:
        """The lines between the running header and footer."""
        return tuple(
            line
            for line in self.lines
            if line.y0 >= TOP_MARGIN_PT - 1 and line.y1 <= self.height - BOTTOM_MARGIN_PT + 1
        )

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class Table:
    """A table of the brief: its caption and each body row's first cell."""

    caption: str
    header: str
    rows: tuple[str, ...]


@dataclass
class Chart:
    """One chart of the brief, as an SVG, and (after :mod:`helpers.proof.charts` measured it)
    the boxes of its labels and marks."""

    index: int
    caption: str
    svg: str
    #: Filled by :func:`helpers.proof.charts.measure`: dicts with kind ("text" or "mark"),
    #: text, x0, y0, x1, y1, fill (r, g, b) and group.
    boxes: list[dict[str, Any]] | None = None


@dataclass
class Expected:
    """What the data and the time view say about a brief, computed in-process from
    :func:`helpers.report.selection.select` (see :func:`helpers.proof.expect.expected`)."""

    #: Per kind (events, projects, supplies, judgments, places): ids of rows the parameters
    #: drop.
    dropped: dict[str, set[str]] = field(default_factory=dict)
    #: ``table:id`` of rows outside the view: set aside by the window, the knowledge cut or the
    #: undated switch, linked to such an event, or judgments resting only on such rows.
    outside: set[str] = field(default_factory=set)
    #: For rows outside the view that a chart could draw: ``table:id`` -> the label it would
    #: carry (an event's title, a project's name, a supply's item).
    outside_labels: dict[str, str] = field(default_factory=dict)
    #: ``table:id`` of rows the brief may show only flagged "date unknown".
    date_unknown: set[str] = field(default_factory=set)
    #: Per theme: rows of the brief on that theme that involve the partner.
    partner_rows: dict[str, int] = field(default_factory=dict)
    #: Sources the brief may use.
    sources: int = 1
    #: Words the sources use (every evidence fragment, lower case).
    evidence: str = ""
    #: Themes with anything to show.
    themes_with_rows: set[str] = field(default_factory=set)


@dataclass
class Document:
    """One rendered brief, as the rules read it."""

    brief_id: str
    notebook: str
    parameters: dict[str, Any]
    html: str
    title: str = ""
    subtitle: str = ""
    time_view: str = ""
    scope: dict[str, str] = field(default_factory=dict)
    #: CSS classes of the sections shown in the body, in order.
    sections: tuple[str, ...] = ()
    headings: tuple[tuple[str, str], ...] = ()
    texts: tuple[Text, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: list[Chart] = field(default_factory=list)
    #: The "What this brief leaves out" items.
    leaves_out: tuple[str, ...] = ()
    #: The data trail: note number -> [(table, id)].
    trail: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    #: The edition's ledger: ``table:id`` of every fact shown.
    ledger: set[str] = field(default_factory=set)
    pages: tuple[Page, ...] = ()
    expected: Expected = field(default_factory=Expected)
    pdf_path: Path | None = None
    run_dir: Path | None = None

    # -- building ----------------------------------------------------------------------
    @classmethod
    def from_html(
        cls,
        html: str,
        *,
        brief_id: str = "test",
        notebook: str = "brief",
        parameters: dict[str, Any] | None = None,
        pdf: Path | None = None,
        manifest: dict[str, Any] | None = None,
        expected: Expected | None = None,
    ) -> Document:
        """Parse a brief's HTML (and optionally its PDF and manifest)."""
        doc = cls(
            brief_id=brief_id,
            notebook=notebook,
            parameters=dict(parameters or {}),
            html=html,
            expected=expected or Expected(),
            pdf_path=pdf,
        )
        _parse_html(doc, BeautifulSoup(html, "html.parser"))
        if manifest:
            doc.trail = {
                int(note["note"]): [(r["table"], r["id"]) for r in note.get("rows", [])]
                for note in manifest.get("citations", [])
            }
            doc.ledger = {
                f"{fact['table']}:{fact['id']}"
                for fact in (manifest.get("edition") or {}).get("facts", [])
            }
        if pdf is not None:
            doc.pages = read_pdf(pdf)
        return doc

    @classmethod
    def from_run(cls, run_dir: Path, *, brief_id: str, expected: Expected) -> Document:
        """A published run folder: its manifest, HTML and PDF."""
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        outputs = manifest.get("outputs", {})
        html_name = next((n for n in outputs if n.endswith(".html")), None)
        pdf_name = next((n for n in outputs if n.endswith(".pdf")), None)
        if html_name is None:
            raise UsageError(f"{run_dir}: the proof needs the HTML of each brief")
        doc = cls.from_html(
            (run_dir / html_name).read_text(encoding="utf-8"),
            brief_id=brief_id,
            notebook=manifest.get("notebook", ""),
            parameters=manifest.get("parameters", {}),
            pdf=run_dir / pdf_name if pdf_name else None,
            manifest=manifest,
            expected=expected,
        )
        doc.run_dir = run_dir
        return doc

    # -- reading -----------------------------------------------------------------------
    def body_texts(self, *, annex: bool = False) -> Iterator[Text]:
        """The texts of the brief, the annex's only with ``annex``."""
        for text in self.texts:
            if annex or text.part != "annex":
                yield text

    def page_of(self, text: str) -> int | None:
        """The PDF page holding (the start of) ``text``, if the PDF holds it."""
        wanted = _squash(text)[:60]
        if not wanted:
            return None
        for page in self.pages:
            if wanted in _squash(page.text):
                return page.number
        # A text that runs onto the next page: its first words.
        head = _squash(" ".join(text.split()[:6]))
        for page in self.pages:
            if head and head in _squash(page.text):
                return page.number
        return None

    @property
    def pdf_text(self) -> str:
        return "\n".join(page.text for page in self.pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _text(tag: Tag) -> str:
    return re.sub(r"\s+", " ", tag.get_text(" ", strip=True)).strip()


def _bare_text(tag: Tag, *, code: bool = True) -> str:
    """A block's text without its note markers ("[3]"): the words a reader reads; without
    its ``<code>`` too unless ``code``."""
    bare = copy.copy(tag)
    for sup in bare.select("sup.cite" if code else "sup.cite, code"):
        sup.decompose()
    return re.sub(r"\s+([.,;:])", r"\1", _text(bare))


def _notes(tag: Tag) -> tuple[int, ...]:
    """The notes a block cites, in order: "[8–10, 17]" is 8, 9, 10, 17."""
    found: list[int] = []
    for sup in tag.select("sup.cite"):
        for first, last in re.findall(r"(\d+)(?:\s*[–-]\s*(\d+))?", sup.get_text("", strip=True)):
            found.extend(range(int(first), int(last or first) + 1))
    return tuple(found)


def _part(tag: Tag) -> str:
    """The part of the brief a tag is in, by its nearest section's (or aside's) class."""
    for parent in [tag, *tag.parents]:
        if not isinstance(parent, Tag):
            continue
        classes = parent.get("class") or []
        if parent.name == "section":
            for css in classes:
                if css in PART_NAMES:
                    return css
        if parent.name == "aside":
            return classes[0] if classes else "aside"
        if parent.name == "header":
            return "masthead"
        if parent.name == "footer":
            return "colophon"
    return "body"


#: The elements whose text is one block for the rules.
_BLOCKS = "p, li, td, th, dt, dd, figcaption, caption"


def _parse_masthead(doc: Document, soup: BeautifulSoup) -> None:
    head = soup.select_one("header.brief-masthead")
    if head is None:
        return
    doc.title = _text(head.select_one(".brief-title") or head)
    sub = head.select_one(".brief-subtitle")
    doc.subtitle = _text(sub) if sub else ""
    when = head.select_one(".brief-asof")
    doc.time_view = _text(when) if when else ""
    for param in head.select(".brief-param"):
        name = param.select_one(".brief-param-name")
        if name is not None:
            doc.scope[_text(name).rstrip(":")] = _text(param)[len(_text(name)) :].strip()


def _parse_html(doc: Document, soup: BeautifulSoup) -> None:
    _parse_masthead(doc, soup)
    sections, headings = [], []
    for section in soup.select("article section.brief-section"):
        classes = [c for c in section.get("class", []) if c != "brief-section"]
        css = classes[0] if classes else ""
        sections.append(css)
        heading = section.find(re.compile("^h[1-6]$"))
        if heading is not None:
            headings.append((css, _text(heading)))
    doc.sections = tuple(sections)
    doc.headings = tuple(headings)
    texts = []
    for tag in soup.select(_BLOCKS):
        # Innermost blocks only: an <li> holding a <p> is read through its <p>.
        if tag.find(["p", "li", "td", "dd"]):
            continue
        text = _bare_text(tag)
        if text:
            css = ".".join([tag.name, *(tag.get("class") or [])])
            texts.append(Text(_part(tag), text, _notes(tag), css, _bare_text(tag, code=False)))
    for title in ("h1", "h2", "h3"):
        for tag in soup.select(title):
            texts.append(Text(_part(tag), _text(tag), (), title, _text(tag)))
    for img in soup.select("img[alt]"):
        alt = str(img.get("alt"))
        texts.append(Text(_part(img), alt, (), "img.alt", alt))
    doc.texts = tuple(texts)
    doc.tables = tuple(
        Table(
            caption=_text(table.caption) if table.caption else "",
            header=_text(table.thead) if table.thead else "",
            rows=tuple(_text(tr.find(["th", "td"])) for tr in table.select("tbody > tr")),
        )
        for table in soup.select("article table")
        if _part(table) != "annex"
    )
    charts = []
    for index, img in enumerate(soup.select("figure img")):
        src = str(img.get("src", ""))
        if src.startswith("data:image/svg+xml;base64,"):
            svg = base64.b64decode(src.split(",", 1)[1]).decode("utf-8")
            caption = img.find_next_sibling("figcaption")
            charts.append(Chart(index + 1, _text(caption) if caption else "", svg))
    doc.charts = charts
    leaves: list[str] = []
    for head_p in soup.select("section.gaps p.gaps-head"):
        if "leaves out" in _text(head_p).lower():
            following = head_p.find_next_sibling()
            if following is not None:
                items = following.select("li") or [following]
                leaves.extend(_text(li) for li in items)
    doc.leaves_out = tuple(leaves)


# -- the PDF ---------------------------------------------------------------------------


def read_pdf(path: Path) -> tuple[Page, ...]:
    """Every page's lines with their boxes, from ``pdftotext -bbox-layout`` (poppler)."""
    tool = shutil.which("pdftotext")
    if tool is None:
        raise UsageError(
            "the proof reads PDFs with poppler's pdftotext: install poppler-utils "
            "(scripts/system-deps.sh test)"
        )
    out = subprocess.run(
        [tool, "-bbox-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_bbox_layout(out)


def parse_bbox_layout(xhtml: str) -> tuple[Page, ...]:
    """Pages and lines from the XHTML ``pdftotext -bbox-layout`` writes."""
    soup = BeautifulSoup(xhtml, "html.parser")
    pages = []
    for number, page in enumerate(soup.find_all("page"), 1):
        lines = []
        for line in page.find_all("line"):
            words = [w.get_text() for w in line.find_all("word")]
            lines.append(
                Line(
                    " ".join(words),
                    float(line["xmin"]),
                    float(line["ymin"]),
                    float(line["xmax"]),
                    float(line["ymax"]),
                )
            )
        pages.append(
            Page(number, float(page["width"]), float(page["height"]), tuple(_reading(lines)))
        )
    return tuple(pages)


def _reading(lines: Sequence[Line]) -> list[Line]:
    """Lines top to bottom (poppler gives them by flow; a page of one column reads so)."""
    return sorted(lines, key=lambda line: (round(line.y0, 1), line.x0))
