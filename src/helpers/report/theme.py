"""The house look for every chart: one theme call, one colour-blind-safe palette.

Nothing here runs at import time, and a brief changes no global setting: it draws each chart
inside :func:`house_style`, which applies the theme for the drawing and leaves matplotlib's
rcParams as they were, so an analyst's own plot in the same kernel looks as it would without
the brief. :func:`set_theme` applies the same look for the whole session, for whoever wants
it. Chart functions in :mod:`helpers.report.charts` only read the colour constants below, so
they draw the same colours whether or not the theme was set.

The palette is Okabe & Ito's (2008) eight colours, which stay distinct for the common forms of
colour-vision deficiency. Charts that must also survive greyscale printing pair colour with a
second channel (line style, marker or hatch); see :mod:`helpers.report.charts`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import pandas as pd
import seaborn as sns
from matplotlib import font_manager

#: Okabe-Ito colours by name.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: The palette handed to seaborn, darkest first (yellow last: it is faint on white).
PALETTE: list[str] = [
    OKABE_ITO[name]
    for name in (
        "blue",
        "orange",
        "bluish_green",
        "vermillion",
        "reddish_purple",
        "sky_blue",
        "yellow",
    )
]

#: One colour per foreign partner or host, the same in every chart.
PARTNER_COLORS: dict[str, str] = {
    "russia": OKABE_ITO["blue"],
    "china": OKABE_ITO["vermillion"],
    "india": OKABE_ITO["bluish_green"],
    "myanmar": OKABE_ITO["orange"],
}

#: One colour per theme of the brief (``theme`` columns of events, supplies, relations).
THEME_COLORS: dict[str, str] = {
    "defence": OKABE_ITO["vermillion"],
    "energy": OKABE_ITO["orange"],
    "economy": OKABE_ITO["blue"],
    "regional": OKABE_ITO["bluish_green"],
}

#: One colour per project status (``projects.status``).
STATUS_COLORS: dict[str, str] = {
    "under_discussion": OKABE_ITO["sky_blue"],
    "agreed": OKABE_ITO["blue"],
    "under_construction": OKABE_ITO["orange"],
    "developed": OKABE_ITO["bluish_green"],
}

#: Grey for marks that carry no category: missing values, notes, reference lines.
MUTED = "#6E6E6E"
#: Light grey for bands and backgrounds.
LIGHT = "#EDEDED"

#: Fonts tried in order; the first one matplotlib can find is used. DejaVu Sans ships with
#: matplotlib, so the list never comes up empty.
FONTS: tuple[str, ...] = ("Noto Sans", "DejaVu Sans")

#: Sizes in points for a brief's figures (about 6.5 inches wide).
FONT_SIZES: dict[str, float] = {
    "title": 11.0,
    "label": 9.0,
    "tick": 8.0,
    "annotation": 8.0,
    "note": 7.0,
}


def color_for(key: Any, mapping: Mapping[str, str], fallback: str = MUTED) -> str:
    """Look a category up in one of the colour mappings, with a grey fallback.

    Parameters
    ----------
    key
        A category value (``"russia"``, ``"defence"`` ...); missing values give ``fallback``.
    mapping
        :data:`PARTNER_COLORS`, :data:`THEME_COLORS`, :data:`STATUS_COLORS` or similar.
    fallback
        Colour for keys the mapping does not name.

    Returns
    -------
    str
        A hex colour.
    """
    if key is None or pd.isna(key):
        return fallback
    return mapping.get(str(key), fallback)


def available_font() -> str:
    """The first family of :data:`FONTS` that matplotlib has installed."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in FONTS if name in installed), "DejaVu Sans")


def theme_rc() -> dict[str, Any]:
    """The matplotlib settings :func:`set_theme` applies on top of seaborn's ``white`` style.

    Returned as a dict so a caller can scope them: ``with sns.axes_style("white", theme_rc())``.

    Returns
    -------
    dict
        rcParams names and values.
    """
    return {
        # A list of families, so glyphs missing from the first (Noto Sans has no U+2212
        # minus sign) fall back to DejaVu Sans, which ships with matplotlib.
        "font.family": [available_font(), "DejaVu Sans"],
        "font.sans-serif": [available_font(), "DejaVu Sans"],
        "axes.titlesize": FONT_SIZES["title"],
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.titlepad": 8.0,
        "axes.labelsize": FONT_SIZES["label"],
        "axes.labelcolor": "#333333",
        "axes.edgecolor": "#4D4D4D",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.labelsize": FONT_SIZES["tick"],
        "ytick.labelsize": FONT_SIZES["tick"],
        "xtick.bottom": True,
        "ytick.left": True,
        "legend.fontsize": FONT_SIZES["annotation"],
        "legend.title_fontsize": FONT_SIZES["annotation"],
        "legend.frameon": False,
        "figure.dpi": 100,
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
        # Data text is drawn literally by the chart functions; keep TeX off everywhere.
        "text.usetex": False,
        "svg.fonttype": "none",
        "pdf.fonttype": 42,
    }


def set_theme(context: str = "paper", font_scale: float = 1.0) -> None:
    """Apply the house look: seaborn's white style, a readable sans font, the palette.

    Call once, in a notebook's setup cell. It changes matplotlib's global rcParams, which is
    why nothing calls it at import time and no chart function calls it at all.

    Parameters
    ----------
    context
        seaborn plotting context: ``"paper"`` (the default, for briefs), ``"notebook"``,
        ``"talk"`` or ``"poster"``.
    font_scale
        Multiplier applied to every font size of the context.

    Examples
    --------
    >>> from helpers.report.theme import set_theme
    >>> set_theme()
    """
    rc = theme_rc()
    if context != "paper" or font_scale != 1.0:
        # Let seaborn's context scale the sizes instead of pinning them.
        for key in (
            "axes.titlesize",
            "axes.labelsize",
            "xtick.labelsize",
            "ytick.labelsize",
            "legend.fontsize",
            "legend.title_fontsize",
        ):
            rc.pop(key)
    sns.set_theme(
        context=context,
        style="white",
        palette=PALETTE,
        font="sans-serif",
        font_scale=font_scale,
        rc=rc,
    )


@contextmanager
def house_style(context: str = "paper", font_scale: float = 1.0) -> Iterator[None]:
    """Apply :func:`set_theme` for the duration of a ``with`` block only.

    Every rcParam is back to its value before the block when it ends (as
    :func:`matplotlib.rc_context` restores them), so drawing a brief's chart changes nothing
    for the analyst's own plots in the same kernel.

    Parameters
    ----------
    context, font_scale
        As for :func:`set_theme`.

    Examples
    --------
    >>> from helpers.report.theme import house_style
    >>> with house_style():
    ...     pass  # draw here
    """
    with mpl.rc_context():
        set_theme(context, font_scale)
        yield
