"""Pay once, in the zygote, what every forked kernel would pay on its first brief.

A kernel forked from the zygote (:mod:`helpers.kernels.zygote`) starts with the zygote's
imports but none of the work a process does the first time it makes a brief: matplotlib
finding a font for each set of font properties (its ``findfont`` cache), measuring the
timeline's and the footers' words (:mod:`helpers.report.charts.base`), the basemap read, the
first calls into pandas and the date locators. :func:`make_sample_brief` makes the main
brief from the package's own data once, in the zygote, and throws it away; every kernel
forked afterwards starts with those caches filled, and its first brief's timeline takes
about a fifth less (``benchmarks/README.md``, "`brief serve`").

What it leaves is the zygote's rule for its warm entries (:data:`helpers.kernels.zygote.
DEFAULT_WARM_MODULES`): no thread, no open file, no figure. The figures are plain
``Figure`` objects (no pyplot), dropped with the brief; the fonts matplotlib opened are closed
(its font cache emptied, as matplotlib does itself in a forked child). What stays are caches
of pure functions: a kernel makes the same brief, byte for byte, with or without them
(``tests/kernels``).
"""

from __future__ import annotations

import gc
import sys

__all__ = ["SAMPLE_SECTIONS", "make_sample_brief", "open_fonts"]

#: The main brief's sections, in its notebook's order: every chart family it draws.
SAMPLE_SECTIONS: tuple[str, ...] = (
    "since_last_edition",
    "bottom_line",
    "source_note",
    "key_points",
    "timeline",
    "defence",
    "energy",
    "economy",
    "regional",
    "judgments",
    "gaps",
    "sources",
)


def make_sample_brief() -> bool:
    """Make the main brief at its defaults from the package's data, and discard it.

    Returns
    -------
    bool
        True if it was made. A failure (the package's data broken, say) is printed to
        stderr (the zygote's log) and returns False: it only means the kernels start colder,
        and the brief's own run reports the problem where its user sees it.
    """
    try:
        _make_and_drop()
    except Exception as exc:  # never the zygote's failure: the kernels are only colder
        print(f"helpers.report.first_use: no sample brief: {exc!r}", file=sys.stderr)
        return False
    finally:
        _close_fonts()
    return True


def open_fonts() -> None:
    """Open the fonts the charts use, in their four faces, as a process's first chart does.

    matplotlib opens its fonts again in every forked process (it empties its font cache in
    the child), so a kernel forked from the zygote pays for it on its first chart, about
    0.1 s; a kernel started ahead (:mod:`helpers.pipeline.kernel_ahead`) pays it before
    its run. Nothing is left but matplotlib's cache of open fonts and what they loaded: the
    figure is a plain ``Figure``, and the house theme is undone.
    """
    import io  # noqa: PLC0415

    from matplotlib.figure import Figure  # noqa: PLC0415

    from helpers.report import theme  # noqa: PLC0415

    with theme.house_style():
        fig = Figure(figsize=(3, 2), layout="constrained")
        ax = fig.add_subplot()
        ax.set_title("Ag 2024", fontweight="bold")
        ax.set_xlabel("Ag 2024")
        ax.text(0.1, 0.5, "Ag 2024", style="italic")
        ax.text(0.1, 0.2, "Ag 2024", style="italic", fontweight="bold")
        fig.savefig(io.BytesIO(), format="svg")


def _make_and_drop() -> None:
    from helpers.params import from_namespace  # noqa: PLC0415
    from helpers.report.brief import Brief  # noqa: PLC0415

    brief = Brief(from_namespace("brief", {}, strict=True))
    for name in SAMPLE_SECTIONS:
        str(getattr(brief, name)())  # its HTML, as a kernel's display of it makes


def _close_fonts() -> None:
    """Drop the brief's figures and close the font files matplotlib opened for them."""
    from matplotlib import font_manager  # noqa: PLC0415

    gc.collect()  # the figures and their renderers, which hold fonts
    font_manager._get_font.cache_clear()
    gc.collect()
