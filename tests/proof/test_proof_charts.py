"""Chart labels measured in a real Chromium (helpers.proof.charts): a chart drawn with a dark
label on a dark bar and two labels on top of each other breaks the chart rule; a clean chart
passes. The charts are matplotlib SVGs, as the briefs embed them."""

from __future__ import annotations

import io

import pytest
from matplotlib.figure import Figure

from helpers.proof import charts
from helpers.proof.document import Chart, Document
from helpers.proof.rules import rule_chart_labels

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(charts.available() is not None, reason=str(charts.available())),
]


def _svg(draw) -> str:
    fig = Figure(figsize=(6, 2.5))
    ax = fig.add_subplot()
    draw(ax)
    buffer = io.StringIO()
    import matplotlib as mpl

    with mpl.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def _bad(ax):
    ax.barh([0, 1], [660, 330], color="#003060")
    ax.text(50, 0, "660 MW thermal", color="#262626", va="center")
    ax.text(50, 1.45, "Nuclear plant", color="#262626", va="center")
    ax.text(60, 1.5, "330 MW discussed", color="#262626", va="center")
    ax.set_ylim(-0.5, 2)


def _good(ax):
    ax.barh([0, 1], [660, 330], color="#003060")
    # Dark text on a light, translucent bar of a dark colour reads well: what counts is
    # the colour shown.
    ax.barh([2], [500], color="#d55e00", alpha=0.35)
    ax.text(20, 2, "Agreement signed during a visit", color="#262626", va="center")
    ax.text(50, 0, "660 MW", color="white", va="center")
    ax.text(350, 1, "330 MW", color="#262626", va="center")


def test_chromium_measures_labels_and_marks_and_the_rule_fires_on_a_bad_chart():
    doc = Document.from_html("<main><article></article></main>", brief_id="chart test")
    doc.charts = [Chart(1, "Figure 1.", _svg(_bad)), Chart(2, "Figure 2.", _svg(_good))]
    assert charts.measure(doc.charts) == 2
    kinds = {box["kind"] for box in doc.charts[0].boxes}
    assert kinds == {"text", "mark"}
    found = rule_chart_labels(doc)
    whys = " / ".join(f"{v.text}: {v.why}" for v in found)
    assert all(v.text.startswith("Figure 1") for v in found), whys
    assert "contrast" in whys and "660 MW thermal" in whys
    assert "two labels overlap" in whys and "330 MW discussed" in whys
