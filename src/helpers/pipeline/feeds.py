"""Atom feeds (RFC 4287) of an output folder: ``<out>/feed.xml`` and one per series.

A feed reader learns from them that a new edition exists. ``feed.xml`` holds an entry per
published edition in the folder, newest first, at most :data:`FEED_LIMIT`; each series (a
notebook with its parameters but the edition's dates, :mod:`helpers.pipeline.series`) has
its own feed under ``<out>/_feeds/``, named by the notebook and the series' key. They are
rewritten with the index, after each job of ``brief render`` and ``brief batch``, from what
the folder holds, through a temporary file and a rename (:func:`~.publish.write_atomic`).

Each entry has a stable id (the same edition keeps it across rewrites; a new edition of the
same run gets a new one), the brief's title and the edition's date, ``updated`` (when the
edition was made), links to its HTML and PDF, and as its summary the brief's bottom line
and its "Since the edition of ..." line, read back from the published HTML
(:func:`edition_summary`, which the mail of :mod:`helpers.pipeline.mail` uses too). Links
are relative to the feed's own file, or absolute under ``base_url`` when one is given.
"""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urljoin
from xml.etree import ElementTree as ET

from helpers.common import utc_now
from helpers.errors import RenderError
from helpers.pipeline.index import listed_runs
from helpers.pipeline.publish import check_no_links, write_atomic
from helpers.pipeline.series import edition_date, series_key, series_parameters
from helpers.text import reader_text

__all__ = [
    "FEEDS_DIR",
    "FEED_LIMIT",
    "FEED_NAME",
    "Edition",
    "edition_summary",
    "published_editions",
    "series_feed_name",
    "series_title",
    "update_feeds",
    "write_feeds",
]

#: The folder feed's file name in the output folder.
FEED_NAME = "feed.xml"
#: The folder of the per-series feeds (``_``: not a notebook's folder, as ``_failed``).
FEEDS_DIR = "_feeds"
#: Most entries a feed holds: the newest editions.
FEED_LIMIT = 50

_ATOM = "http://www.w3.org/2005/Atom"
#: uuid5 namespace of every id the feeds give (a fixed, random one).
_NAMESPACE = uuid.UUID("5b0f6d1e-7d8c-4c55-9d35-3f1a2d6b9e21")
_SPACES = re.compile(r"\s+")


# -- what an edition says --------------------------------------------------------------------


class _Lines(HTMLParser):
    """The text of the brief's title, bottom line (``p.bluf``) and since line
    (``p.since-line`` or ``p.since-head``), footnote markers left out."""

    _WANTED: ClassVar[dict[str, str]] = {
        "bluf": "bottom_line",
        "since-line": "since",
        "since-head": "since",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self._key: str | None = None
        self._depth = 0
        self._skip = 0
        self._in_title = False
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "title":
            self._in_title, self._text = True, []
        if self._key is not None:
            self._depth += tag == "p"
            self._skip += tag == "sup"
            return
        key = next((k for c, k in self._WANTED.items() if c in classes), None)
        if tag == "p" and key is not None and key not in self.found:
            self._key, self._depth, self._skip, self._text = key, 1, 0, []

    def handle_endtag(self, tag):
        if tag == "title" and self._in_title:
            self._in_title = False
            self.found.setdefault("title", _SPACES.sub(" ", "".join(self._text)).strip())
        if self._key is None:
            return
        if tag == "sup":
            self._skip = max(0, self._skip - 1)
        if tag == "p":
            self._depth -= 1
            if self._depth == 0:
                self.found[self._key] = _SPACES.sub(" ", "".join(self._text)).strip()
                self._key = None

    def handle_data(self, data):
        if self._in_title or (self._key is not None and not self._skip):
            self._text.append(data)


@dataclass(frozen=True)
class Edition:
    """A published edition, as a feed or a mail tells of it.

    Attributes
    ----------
    id
        Stable: the same edition (notebook, run, when it was made) always gets this id.
    notebook, run
        Where it is: ``<out>/<notebook>/<run>/``.
    title
        The brief's title (its HTML's ``<title>``; else the notebook's name).
    date
        The last day the edition covers (``end``, else ``as_of``).
    updated
        When it was made (the manifest's ``created_at``).
    series, series_title
        The series' key and its name as the index shows it (``brief: partner = China``).
    bottom_line, since
        The brief's bottom line and its "Since the edition of ..." (or "First edition.")
        line, as plain text; empty for a run published without HTML.
    files
        Format (``html``, ``pdf``) -> the file's path relative to the output folder.
    changes
        The manifest's counts of new, changed and dropped facts; ``None`` for a first
        edition or a brief that keeps no ledger.
    """

    id: str
    notebook: str
    run: str
    title: str
    date: str
    updated: str
    series: str
    series_title: str
    bottom_line: str = ""
    since: str = ""
    files: dict[str, str] = field(default_factory=dict)
    changes: dict[str, int] | None = None

    @property
    def has_news(self) -> bool:
        """Whether the edition has something its previous one had not: a first edition, a
        brief without a ledger, or any new, changed or dropped fact or new source."""
        return self.changes is None or any(self.changes.values())

    @property
    def headline(self) -> str:
        """``Myanmar's junta and Russia, edition of 2 March 2024``."""
        return f"{self.title}, edition of {_long_date(self.date)}"

    @property
    def summary(self) -> str:
        """The bottom line, then the since line."""
        return " ".join(part for part in (self.bottom_line, self.since) if part)


def _long_date(iso: str) -> str:
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {day:%B %Y}"


def series_title(notebook: str, manifest: dict[str, Any]) -> str:
    """``brief: partner = China``, or ``brief: defaults``: a series by what sets it apart
    (as ``index.html`` names it, and as the project file's ``recipients`` may)."""
    overrides = series_parameters(manifest.get("overrides") or {})
    if not overrides:
        return f"{notebook}: defaults"
    return f"{notebook}: " + ", ".join(
        f"{k} = {reader_text(v, missing='None')}" for k, v in sorted(overrides.items())
    )


def edition_summary(out_dir: Path, row: dict[str, Any]) -> Edition:
    """The :class:`Edition` a published run of :func:`~.publish.list_runs` is."""
    manifest = row["manifest"] or {}
    notebook, run = row["notebook"], row["run"]
    parameters = manifest.get("parameters") or {}
    files = {fmt: row["href"][fmt] for fmt in ("html", "pdf") if fmt in (row.get("href") or {})}
    found = _page_lines(Path(out_dir) / files["html"]) if "html" in files else {}
    updated = str(manifest.get("created_at") or "")
    edition = manifest.get("edition") or {}
    changes = edition.get("changes") if isinstance(edition.get("since"), dict) else None
    return Edition(
        id=uuid.uuid5(_NAMESPACE, f"edition\0{notebook}\0{run}\0{updated}").urn,
        notebook=notebook,
        run=run,
        title=found.get("title") or notebook,
        date=edition_date(parameters),
        updated=updated,
        series=series_key(notebook, parameters),
        series_title=series_title(notebook, manifest),
        bottom_line=found.get("bottom_line", ""),
        since=found.get("since", ""),
        files=files,
        changes=dict(changes) if isinstance(changes, dict) else None,
    )


def _page_lines(path: Path) -> dict[str, str]:
    """The lines of a published brief the feeds quote (:class:`_Lines`); ``{}`` if unreadable.

    Read once per process for each version of the file: a published run's files never
    change, and the feeds are written again after every job of a batch and every render of
    ``brief serve``, each time from every edition in the folder.
    """
    try:
        status = path.stat()
    except OSError:
        return {}
    return dict(_read_page_lines(str(path), status.st_mtime_ns, status.st_size, status.st_ino))


@functools.lru_cache(maxsize=4096)
def _read_page_lines(
    path: str, mtime_ns: int, size: int, inode: int
) -> tuple[tuple[str, str], ...]:
    parser = _Lines()
    with contextlib.suppress(OSError):
        parser.feed(Path(path).read_text(encoding="utf-8"))
    return tuple(parser.found.items())


def published_editions(out_dir: Path) -> list[Edition]:
    """Every published run of the output folder as an :class:`Edition`, newest first."""
    rows = [row for row in listed_runs(out_dir) if row["status"] == "ok" and row["manifest"]]
    editions = [edition_summary(out_dir, row) for row in rows]
    return sorted(editions, key=lambda e: (e.updated, e.notebook, e.run), reverse=True)


# -- the feeds -------------------------------------------------------------------------------


def series_feed_name(edition: Edition) -> str:
    """``_feeds/brief-3f2a9c1b07d4e5f6.xml``: the series feed's path in the output folder."""
    return f"{FEEDS_DIR}/{edition.notebook}-{edition.series}.xml"


def _href(target: str, feed_path: str, base_url: str | None) -> str:
    """A link from the feed at ``feed_path`` to ``target`` (both relative to the output
    folder): absolute under ``base_url``, else relative to the feed's folder."""
    if base_url:
        return urljoin(base_url if base_url.endswith("/") else base_url + "/", quote(target))
    up = "../" * feed_path.count("/")
    return up + quote(target)


def _atom(
    editions: list[Edition],
    *,
    feed_id: str,
    title: str,
    feed_path: str,
    base_url: str | None,
) -> bytes:
    ET.register_namespace("", _ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{_ATOM}}}feed")
    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    # A feed's updated is its newest entry's: rewriting an unchanged feed changes nothing.
    sub(feed, "updated", editions[0].updated if editions else utc_now(millis=False))
    sub(feed, "link", rel="self", href=_href(feed_path, feed_path, base_url))
    sub(
        feed,
        "link",
        rel="alternate",
        type="text/html",
        href=_href("index.html", feed_path, base_url),
    )
    author = sub(feed, "author")
    sub(author, "name", "myanmar-brief")
    sub(feed, "generator", "myanmar-brief")
    for edition in editions[:FEED_LIMIT]:
        entry = sub(feed, "entry")
        sub(entry, "id", edition.id)
        sub(entry, "title", edition.headline)
        sub(entry, "updated", edition.updated)
        for fmt, mime in (("html", "text/html"), ("pdf", "application/pdf")):
            if fmt in edition.files:
                rel = "alternate" if fmt == "html" or "html" not in edition.files else "related"
                sub(
                    entry,
                    "link",
                    rel=rel,
                    type=mime,
                    title=f"{edition.title} ({fmt.upper()})",
                    href=_href(edition.files[fmt], feed_path, base_url),
                )
        sub(entry, "category", term=edition.series_title)
        sub(entry, "summary", edition.summary or edition.headline, type="text")
    ET.indent(feed)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8") + b"\n"


def write_feeds(out_dir: Path, *, base_url: str | None = None) -> list[Path]:
    """Write ``<out>/feed.xml`` and a feed per series under ``<out>/_feeds/``, atomically.

    Parameters
    ----------
    out_dir
        The output folder.
    base_url
        Where the folder is served (``https://briefs.example.org/``): links are absolute
        under it. ``None``: links relative to each feed's file, so the folder can be served
        anywhere as it is.

    Returns
    -------
    list of Path
        The feeds written: the folder's first. A series feed whose series is no longer in
        the folder is removed.

    Raises
    ------
    RenderError
        ``feed.xml`` or ``_feeds`` is a symbolic link: nothing is written through it.
    """
    out_dir = Path(out_dir).resolve()
    # No link on the way: a feed is written, and a stale one deleted, inside --out only.
    check_no_links(out_dir, out_dir / FEED_NAME)
    check_no_links(out_dir, out_dir / FEEDS_DIR / "feed.xml")
    editions = published_editions(out_dir)
    key = base_url or "relative"
    written = [
        write_atomic(
            out_dir / FEED_NAME,
            _atom(
                editions,
                feed_id=uuid.uuid5(_NAMESPACE, f"feed\0{key}").urn,
                title="Myanmar briefs: every edition",
                feed_path=FEED_NAME,
                base_url=base_url,
            ),
        )
    ]
    by_series: dict[str, list[Edition]] = {}
    for edition in editions:
        by_series.setdefault(series_feed_name(edition), []).append(edition)
    if by_series:
        (out_dir / FEEDS_DIR).mkdir(exist_ok=True)
    for name, items in by_series.items():
        written.append(
            write_atomic(
                out_dir / name,
                _atom(
                    items,
                    feed_id=uuid.uuid5(_NAMESPACE, f"series\0{items[0].series}\0{key}").urn,
                    title=f"Myanmar briefs: {items[0].series_title}",
                    feed_path=name,
                    base_url=base_url,
                ),
            )
        )
    folder = out_dir / FEEDS_DIR
    if folder.is_dir():
        for stale in folder.glob("*.xml"):
            if f"{FEEDS_DIR}/{stale.name}" not in by_series:
                stale.unlink(missing_ok=True)
    return written


def update_feeds(out_dir: Path, *, base_url: str | None = None) -> Exception | None:
    """Rewrite the feeds after a job; return a failure instead of raising it (as
    :func:`~.index.update_index`: the job itself is published by then)."""
    try:
        write_feeds(out_dir, base_url=base_url)
    except RenderError as exc:
        return exc
    except OSError as exc:
        error = RenderError(f"could not write the feeds in {out_dir}: {exc}")
        error.__cause__ = exc
        return error
    return None
