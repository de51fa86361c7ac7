"""Tests for helpers.report.theme: the house look, applied only when asked."""

from __future__ import annotations

import importlib

import matplotlib as mpl
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers.report import theme


@pytest.fixture
def rc_restored():
    """Let a test call set_theme() without leaking rcParams into other tests."""
    with mpl.rc_context():
        yield


def test_importing_the_module_changes_no_rcparams():
    before = dict(mpl.rcParams)
    importlib.reload(theme)
    assert dict(mpl.rcParams) == before


def test_set_theme_applies_the_house_look(rc_restored):
    mpl.rcdefaults()
    theme.set_theme()
    colours = [mpl.colors.to_hex(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert colours == [c.lower() for c in theme.PALETTE]
    assert mpl.rcParams["axes.facecolor"] == "white"
    assert mpl.rcParams["axes.grid"] is False
    assert mpl.rcParams["axes.titlelocation"] == "left"
    assert mpl.rcParams["axes.spines.top"] is False
    assert mpl.rcParams["font.family"][0] == theme.available_font()
    assert mpl.rcParams["text.usetex"] is False
    assert mpl.rcParams["axes.titlesize"] == theme.FONT_SIZES["title"]


def test_set_theme_context_scales_the_fonts(rc_restored):
    theme.set_theme()
    paper = mpl.rcParams["axes.labelsize"]
    theme.set_theme(context="talk")
    assert mpl.rcParams["axes.labelsize"] > paper


def test_the_theme_font_is_installed_and_falls_back_to_dejavu():
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    assert theme.available_font() in installed
    assert theme.theme_rc()["font.family"][-1] == "DejaVu Sans"


def test_glyphs_missing_from_the_theme_font_fall_back_without_warning(rc_restored):
    # Noto Sans has no U+2212 minus sign; negative tick labels must still render
    # (pytest turns the "Glyph missing" warning into an error).
    theme.set_theme()
    fig = Figure(figsize=(3, 2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([-3, 3], [-2, 2])
    ax.set_title("−5 °E – “quoted”")
    fig.canvas.draw()


def test_palette_is_okabe_ito_and_distinct():
    assert len(theme.PALETTE) >= 6
    assert len(set(theme.PALETTE)) == len(theme.PALETTE)
    assert set(theme.PALETTE) <= set(theme.OKABE_ITO.values())


@pytest.mark.parametrize("mapping", [theme.PARTNER_COLORS, theme.THEME_COLORS, theme.STATUS_COLORS])
def test_each_category_mapping_uses_distinct_palette_colours(mapping):
    colours = list(mapping.values())
    assert len(set(colours)) == len(colours)
    assert set(colours) <= set(theme.OKABE_ITO.values())


def test_color_for_falls_back_for_missing_and_unknown_keys():
    assert theme.color_for("russia", theme.PARTNER_COLORS) == theme.PARTNER_COLORS["russia"]
    assert theme.color_for(None, theme.PARTNER_COLORS) == theme.MUTED
    assert theme.color_for(float("nan"), theme.PARTNER_COLORS) == theme.MUTED
    assert theme.color_for("atlantis", theme.PARTNER_COLORS, fallback="#000000") == "#000000"


def test_house_style_applies_the_theme_inside_the_block_only():
    before = dict(mpl.rcParams)
    with theme.house_style():
        assert mpl.rcParams["axes.titlelocation"] == "left"
        colours = [mpl.colors.to_hex(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
        assert colours == [c.lower() for c in theme.PALETTE]
    assert dict(mpl.rcParams) == before
