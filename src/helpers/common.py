"""Small things several sides of the package need and no one module owns, kept once: the
output formats and how to read them (the settings, a render request, a plan and the manifest
all take them), the PDF variants and how to read one (the settings and a render request),
the default cell timeout, UTC timestamps, and the private IPython folder for a user whose
home cannot be written. Nothing here imports pandas, matplotlib or any other
module of the package but :mod:`helpers.errors`.

Plain text is :mod:`helpers.text`'s; signals, the interrupt count and what a stop says,
:mod:`helpers.signals`'s; a path followed to its end, :func:`helpers.paths.resolved`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from helpers.errors import UsageError

#: Output formats ``brief render --to`` and a plan's ``formats`` accept.
FORMATS: tuple[str, ...] = ("html", "pdf")
#: Seconds any one cell may run before the run is stopped as failed.
DEFAULT_TIMEOUT = 600


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """``"html,pdf"`` or ``["PDF"]`` as a tuple of known formats, in order, without repeats.

    Raises
    ------
    UsageError
        Naming the unknown formats and the known ones.
    """
    if isinstance(formats, str):
        formats = formats.split(",")
    chosen = tuple(dict.fromkeys(str(f).strip().lower() for f in formats if str(f).strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise UsageError(
            f"unknown output format(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from: {', '.join(FORMATS)}"
        )
    return chosen


#: The PDF a brief is by default: tagged, PDF/UA-1 (ISO 14289-1), which screen readers need.
DEFAULT_PDF_VARIANT = "pdf/ua-1"
#: The variants ``--pdf-variant`` accepts (WeasyPrint's names), and what each is for. ``none``
#: is WeasyPrint's plain, untagged PDF.
PDF_VARIANTS = {
    "pdf/ua-1": "tagged, accessible (PDF/UA-1): the default",
    "pdf/ua-2": "tagged, accessible, PDF 2.0 (PDF/UA-2)",
    "pdf/a-3u": "archival (PDF/A-3u), the manifest and the cited data attached",
    "pdf/a-3a": "archival and tagged (PDF/A-3a), the manifest and the cited data attached",
    "none": "a plain PDF, untagged (not accessible)",
}


def check_pdf_variant(variant: str | None) -> str:
    """``variant`` in the form :func:`helpers.pipeline.export.render_pdf` takes (lower case;
    ``None``: the default).

    Raises
    ------
    UsageError
        For a variant not in :data:`PDF_VARIANTS`, naming the ones there are.
    """
    if variant is None:
        return DEFAULT_PDF_VARIANT
    name = str(variant).strip().lower()
    if name not in PDF_VARIANTS:
        known = "; ".join(f"{k} ({v})" for k, v in PDF_VARIANTS.items())
        raise UsageError(f"PDF variant {variant!r} is not one brief makes; choose from: {known}")
    return name


def utc_now(*, millis: bool = True) -> str:
    """The current UTC time as ISO 8601 with a ``Z``: ``2026-12-01T14:27:19.042Z``, or to the
    second with ``millis=False``."""
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{now.microsecond // 1000:03d}Z" if millis else f"{stamp}Z"


def utc_compact() -> str:
    """The current UTC time for a file name: ``20261201T142719Z``."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


#: The variable IPython (and jupyter_client's kernel search) takes its folder from.
IPYTHONDIR_ENV = "IPYTHONDIR"


@contextlib.contextmanager
def ipython_dir_if_homeless() -> Iterator[str | None]:
    """For a user whose home cannot be written (a service user, systemd's ``ProtectHome``),
    point ``$IPYTHONDIR`` at a private temporary folder until the block ends, removed after.

    Without it, every process that looks for Jupyter kernels (``brief`` itself, the batch's
    workers) warns ``IPython parent '/home/x' is not a writable location, using a temp
    directory`` on standard error, through ``--quiet`` into every cron mail, and leaves that
    temporary folder behind. Workers, the zygote and kernels inherit the variable. Yields the
    folder, or None when ``$IPYTHONDIR`` is set or the home is writable (nothing changes).
    """
    if os.environ.get(IPYTHONDIR_ENV) or _ipython_home_writable():
        yield None
        return
    folder = tempfile.mkdtemp(prefix="brief-ipython-")
    os.environ[IPYTHONDIR_ENV] = folder
    try:
        yield folder
    finally:
        if os.environ.get(IPYTHONDIR_ENV) == folder:
            del os.environ[IPYTHONDIR_ENV]
        shutil.rmtree(folder, ignore_errors=True)


def _ipython_home_writable() -> bool:
    """Whether IPython can use ``~/.ipython`` (as :func:`IPython.paths.get_ipython_dir`
    decides: the folder is writable, or it is missing and its parent is writable)."""
    folder = Path(os.path.expanduser("~")) / ".ipython"
    target = folder if folder.exists() else folder.parent
    return target.is_dir() and os.access(target, os.W_OK)
