"""myanmar-brief: cited data on Myanmar's junta between China and Russia, and its briefs.

The names a notebook or a user needs: :func:`load` and :func:`validate` for the data,
:func:`open_brief` for a report notebook's sections, :func:`render` for HTML and PDF briefs.
Heavy modules (charts, rendering) load on first use, so ``brief --help`` stays quick.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

# jsonschema (under nbformat, papermill, nbconvert and frictionless) imports the optional
# rfc3987_syntax package when it is installed (jupyter-events brings it), which compiles
# 39 Lark grammars: 2.5 s at every start, measured here, for the "iri" string formats that
# no schema of ours or of Jupyter's notebooks uses. Marking it absent makes jsonschema skip
# those two format checks, as it does on any machine without the package.
if "rfc3987_syntax" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]

__version__ = "0.1.0"

_LAZY = {
    "Dataset": "helpers.data.dataset",
    "load": "helpers.data.dataset",
    "validate": "helpers.data.validation",
    "BriefError": "helpers.errors",
    "open_brief": "helpers.report.brief",
    "Brief": "helpers.report.brief",
    "render": "helpers.pipeline.render",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names, loaded or not: what ``dir(helpers)`` and tab completion in a
    notebook show (PEP 562)."""
    return sorted({*__all__, "__version__"})
