"""Plain text: a value as the command line spells it (:func:`cli_text`) and as a reader sees
it (:func:`reader_text`), and the characters no text of a brief may hold (:data:`NOT_TEXT`).
Nothing here imports another module of the package.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["NOT_TEXT", "cli_text", "reader_text"]

#: Characters no text of a brief may hold, in a parameter or in the data: C0 controls but tab,
#: newline and carriage return (NUL, ESC, the vertical tab word processors insert), DEL, the
#: C1 controls, the line and paragraph separators U+2028 and U+2029, and the bidirectional
#: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which make text print
#: other than it is stored. A title refuses tab and newline too (:mod:`helpers.params`).
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def cli_text(value: Any) -> str:
    """A JSON-safe value as ``-p NAME VALUE`` spells it, and as the parameter schemas read it
    back: ``true``/``false``, lists comma-separated, ``None`` as ``None``."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(cli_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def reader_text(value: Any, *, missing: str = "—") -> str:
    """A value as a reader sees it in a masthead or an index: ``yes``/``no``, lists with
    commas, mappings as ``key: value`` pairs, ``missing`` for nothing."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(reader_text(v, missing=missing) for v in value) or missing
    if isinstance(value, dict):
        pairs = (f"{k}: {reader_text(v, missing=missing)}" for k, v in value.items())
        return "; ".join(pairs) or missing
    return str(value)
