"""One style of quotation marks: curly, everywhere a reader sees text.

The data, the source's fragments and the templates bring straight quotes (``'`` and ``"``);
a brief prints curly ones (’ ‘ “ ”), in its text, headings, masthead, charts and alternative
text alike. Only text is changed: never a tag, an attribute name or a value inside a tag.

>>> curly("Myanmar's junta; the 'including' list; \\"a quote\\"")
'Myanmar’s junta; the ‘including’ list; “a quote”'
"""

from __future__ import annotations

import re

#: A tag, a comment or a CDATA section: left as it is.
_TAG = re.compile(r"(<!\[CDATA\[.*?\]\]>|<!--.*?-->|<[^>]*>)", re.S)
#: Where an opening quote can stand: at the start, or after a space or an opening bracket.
_OPENS = re.compile(r"(^|[\s(\[{\u2014\u2013/-])'(?=\S)")
_OPENS_DOUBLE = re.compile(r'(^|[\s(\[{\u2014\u2013/-])"(?=\S)')


def curly(text: str) -> str:
    """``text`` (plain, no markup) with curly quotes and apostrophes."""
    if "'" not in text and '"' not in text:
        return text
    text = _OPENS.sub("\\1\u2018", text)
    text = text.replace("'", "\u2019")
    text = _OPENS_DOUBLE.sub("\\1\u201c", text)
    return text.replace('"', "\u201d")


#: HTML's escaped forms of the two straight quotes, as Jinja and markupsafe write them.
_ENTITIES = (("&#39;", "'"), ("&#x27;", "'"), ("&#34;", '"'), ("&quot;", '"'), ("&apos;", "'"))


def curly_markup(html: str) -> str:
    """HTML or SVG with curly quotes in its text nodes; tags and attributes untouched.

    Escaped straight quotes in text (``&#39;``, ``&#34;``) are curled too; a curly quote
    needs no escaping.
    """
    parts = _TAG.split(html)
    for i in range(0, len(parts), 2):
        text = parts[i]
        if not text:
            continue
        for entity, char in _ENTITIES:
            text = text.replace(entity, char)
        parts[i] = curly(text)
    return "".join(parts)
