"""What of a notebook's own HTML a brief publishes: an allowlist, applied with nh3.

A brief's HTML outputs come from the helpers (narrative, tables, figures, citations), but a
notebook may display any HTML, and its markdown cells may hold raw HTML. The house exporters
(:mod:`helpers.pipeline.export`) pass every HTML output and every rendered markdown cell
through :func:`clean_html`: the tags and attributes the briefs use, and the harmless
formatting ones, are kept as they are; scripts, styles, frames, forms, event handlers and
``javascript:`` links go, content and all where it is code. Images may be embedded
``data:`` URIs of image types only. The Content-Security-Policy in the brief's ``<head>``,
which forbids scripts, stays as the second guard.

nh3 is the binding to ammonia, a sanitiser built on a full HTML5 parser: what it keeps is
what a browser would parse, not what a regular expression guessed.
"""

from __future__ import annotations

import re

import nh3

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "clean_html"]

#: nh3's own safe set (formatting, lists, tables, figures), plus the sectioning the briefs use.
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS | {"section", "main"})

_EVERYWHERE = {"class", "id", "title", "lang", "dir", "role", "aria-label", "aria-hidden"}
#: The attributes kept, by tag (``"*"``: on every tag).
ALLOWED_ATTRIBUTES = {
    "*": _EVERYWHERE,
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"scope", "colspan", "rowspan", "headers"},
    "td": {"colspan", "rowspan", "headers"},
    "li": {"value"},
    "ol": {"start", "reversed", "type"},
    "time": {"datetime"},
    "abbr": {"title"},
    "col": {"span"},
    "colgroup": {"span"},
}

# Embedded images only: a data: URI anywhere else (a link, say) could carry a page.
_IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)


def _attribute(tag: str, name: str, value: str) -> str | None:
    if value[:5].lower() == "data:" and not (tag == "img" and name == "src"):
        return None
    if tag == "img" and name == "src" and value[:5].lower() == "data:":
        return value if _IMAGE_DATA.match(value) else None
    return value


def clean_html(html: str) -> str:
    """``html`` with only the allowed tags, attributes and URLs (see the module)."""
    return nh3.clean(
        str(html),
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style", "svg", "math", "template", "iframe", "object"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute,
        url_schemes={"http", "https", "mailto", "data"},
        link_rel=None,  # the briefs' own links are anchors within the page
        strip_comments=True,
    )
