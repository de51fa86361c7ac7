"""Measure the charts of the briefs in a real browser: the box and colour of every label and
mark, for the chart rule (:func:`helpers.proof.rules.rule_chart_labels`).

Each chart is the SVG matplotlib wrote (text kept as ``<text>``: ``svg.fonttype`` none), which
the brief embeds as a data URI. Debian's Chromium, driven by Playwright through
``executable_path`` (no browser download), lays each one out as a reader's browser would, and
``getBoundingClientRect()`` gives each ``<text>``'s and each mark's box as drawn, in CSS
pixels (a mark's cut to the clip rectangle it is drawn through: its axes). Marks are the
drawn shapes (bars, markers, spans, and lines 2 px wide or more) outside the legend and the
axes' ticks, less the white or unfilled ones (the figure's and axes' backgrounds, a label's
white box); a translucent one counts with the colour it shows on the white page.
One browser serves every chart of a proof run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from helpers.errors import UsageError
from helpers.proof.document import Chart

#: Debian's Chromium; ``$BRIEF_CHROMIUM`` names another.
CHROMIUM = Path(os.environ.get("BRIEF_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Runs in the page: every <text> and every filled shape of a patch or collection, with its
#: box and fill colour.
_MEASURE_JS = r"""
() => {
  const rgb = (value) => {
    const m = /rgba?\(([^)]+)\)/.exec(value || "");
    if (!m) return null;
    const parts = m[1].split(",").map((x) => parseFloat(x));
    if (parts.length === 4 && parts[3] === 0) return null;
    return parts.slice(0, 3);
  };
  const group = (el) => {
    let g = el.closest("g[id]");
    return g ? g.id : "";
  };
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom};
  };
  // The box of the clip rectangle an element (or an ancestor) is drawn through, on screen:
  // matplotlib clips marks to their axes, and a clipped shape's own box ignores that.
  const clipBox = (el) => {
    for (let node = el; node && node.getAttribute; node = node.parentNode) {
      const ref = /url\(#([^)]+)\)/.exec(node.getAttribute("clip-path") || "");
      const rect = ref && document.getElementById(ref[1])?.querySelector("rect");
      if (!rect) continue;
      const m = node.getScreenCTM();
      const [x, y] = [+rect.getAttribute("x"), +rect.getAttribute("y")];
      const [w, h] = [+rect.getAttribute("width"), +rect.getAttribute("height")];
      const a = new DOMPoint(x, y).matrixTransform(m);
      const b = new DOMPoint(x + w, y + h).matrixTransform(m);
      return {x0: Math.min(a.x, b.x), y0: Math.min(a.y, b.y),
              x1: Math.max(a.x, b.x), y1: Math.max(a.y, b.y)};
    }
    return null;
  };
  const out = [];
  for (const el of document.querySelectorAll("svg text")) {
    const fill = rgb(getComputedStyle(el).fill) || [0, 0, 0];
    out.push({kind: "text", text: el.textContent, fill, group: group(el), ...box(el)});
  }
  const shapes = document.querySelectorAll(
    "svg path, svg use, svg rect, svg circle, svg ellipse, svg polygon"
  );
  for (const el of shapes) {
    if (el.closest("text, defs, clipPath, g[id^='legend'], g[id^='matplotlib.axis']")) continue;
    const style = getComputedStyle(el);
    let fill = rgb(style.fill);
    let alpha = parseFloat(style.fillOpacity);
    if (!fill && parseFloat(style.strokeWidth) >= 2) {
      fill = rgb(style.stroke);
      alpha = parseFloat(style.strokeOpacity);
    }
    if (!fill) continue;
    // A translucent mark shows the white page through it: the colour a reader sees.
    for (let node = el; node && node.nodeType === 1; node = node.parentNode) {
      alpha *= parseFloat(getComputedStyle(node).opacity);
    }
    if (!(alpha >= 0)) alpha = 1;
    fill = fill.map((c) => alpha * c + (1 - alpha) * 255);
    if (fill[0] > 242 && fill[1] > 242 && fill[2] > 242) continue;
    const b = box(el);
    const clip = clipBox(el);
    if (clip) {
      b.x0 = Math.max(b.x0, clip.x0); b.y0 = Math.max(b.y0, clip.y0);
      b.x1 = Math.min(b.x1, clip.x1); b.y1 = Math.min(b.y1, clip.y1);
    }
    if (b.x1 - b.x0 < 0.5 || b.y1 - b.y0 < 0.5) continue;
    out.push({kind: "mark", text: "", fill, group: group(el), ...b});
  }
  return out;
}
"""


def available() -> str | None:
    """None when charts can be measured here; else why not."""
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (scripts/system-deps.sh test)"
    return None


def measure(charts: Iterable[Chart]) -> int:
    """Fill in ``boxes`` of each chart; return how many were measured.

    Raises
    ------
    UsageError
        Playwright or Chromium is missing.
    """
    charts = [c for c in charts if c.boxes is None]
    if not charts:
        return 0
    why = available()
    if why:
        raise UsageError(f"the chart rule measures charts in Chromium: {why}")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            # Nothing leaves the machine: a chart is self-contained.
            page.route("**/*", lambda route: route.abort())
            for chart in charts:
                page.set_content(
                    "<!doctype html><html><body style='margin:0'>"
                    + _strip_prolog(chart.svg)
                    + "</body></html>"
                )
                chart.boxes = page.evaluate(_MEASURE_JS)
        finally:
            browser.close()
    return len(charts)


def _strip_prolog(svg: str) -> str:
    """The ``<svg>`` element alone (no XML declaration or doctype), to inline in HTML."""
    at = svg.find("<svg")
    return svg[at:] if at >= 0 else svg
