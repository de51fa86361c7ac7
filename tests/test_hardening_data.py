"""Hardening (issue 7), hostile data: a poisoned but valid copy of ``data/`` rendered through
real kernels, its markup, LaTeX and Jinja shown as text in the HTML, the charts, the PDF and a
browser.

The helpers (the HTML reader, the PDF text, the command) are those of
``tests/test_hardening.py``; the table in ``docs/hardening.md`` names each case.
"""

from __future__ import annotations

import base64
import csv
import shutil
from pathlib import Path

import pytest
from conftest import SOURCE_FILE
from test_hardening import CHROMIUM, P, Page, brief, dump_dom, pdf_text, squeeze, straight

from helpers import paths

# -- hostile data --------------------------------------------------------------------------

# What a poisoned data folder might hold. Each payload stands on every line of the source
# text written for the test, so it can also be the evidence of a row: the data stays valid.
PAYLOADS = [
    "<script>document.title='PWNED-script'</script>",
    "<img src=x onerror=\"document.title='PWNED-img'\">",
    "<a href=\"javascript:document.title='PWNED-a'\">link</a>",
    "[md-link](javascript:document.title='PWNED-md')",
    "![md-image](http://127.0.0.1:9/x.png)",
    '<iframe src="http://127.0.0.1:9/"></iframe><b>raw</b>',
    "\\input{/etc/passwd} \\(x^2\\) $\\beta$",
    "{{ 7*7 }} {% if true %}jinja{% endif %} **bold**",
]
#: Starts every hostile text value: matplotlib would draw it as a Greek letter if it parsed math.
MATH = "$\\alpha$"
#: The free-text columns of each table (ids, enums, dates and numbers have their own checks).
TEXT_COLUMNS = {
    "sources": ["title", "grading_note"],
    "actors": ["name", "office"],
    "places": ["name"],
    "events": ["title"],
    "projects": ["name"],
    "supplies": ["item", "purpose"],
    "assessments": ["statement"],
    "relations": ["phrase"],
}
HOSTILE_SOURCE = "hostile-article.txt"


def poison(data: Path, sources: Path) -> None:
    """Put the payloads into every free-text column and every evidence fragment of ``data``."""
    sources.mkdir()
    if SOURCE_FILE is None:
        pytest.skip("source text absent: the hostile source is made from it")
    lines = SOURCE_FILE.read_text(encoding="utf-8").splitlines()
    (sources / HOSTILE_SOURCE).write_text(
        "".join(f"{line} {' '.join(PAYLOADS)}\n" for line in lines), encoding="utf-8"
    )
    turn = 0
    for table in sorted(p.stem for p in data.glob("*.csv")):
        path = data / f"{table}.csv"
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows, fields = list(reader), list(reader.fieldnames or [])
        for row in rows:
            for column in TEXT_COLUMNS.get(table, []):
                row[column] = f"{MATH} {row[column]} {PAYLOADS[turn % len(PAYLOADS)]}".strip()
                turn += 1
            row["evidence"] = PAYLOADS[turn % len(PAYLOADS)]
            turn += 1
            if table == "sources":
                row["file"] = HOSTILE_SOURCE
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    """Every notebook rendered (real kernels) from a poisoned but valid copy of ``data/``."""
    from helpers.data import validation

    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    shutil.copytree(paths.DATA_DIR, data)
    poison(data, root / "sources")
    with pytest.MonkeyPatch.context() as patch:
        # The kernels inherit it, so their own check finds the hostile source text too.
        patch.setenv(paths.SOURCES_ENV, str(root / "sources"))
        report = validation.validate(data, [root / "sources"])
        assert report.valid and not report.skipped, [str(p) for p in report.problems]
        code, err = brief("render", "--data", data, "--out", root / "out")
    assert code == 0, err
    runs = {}
    for notebook in paths.report_notebooks():
        [run] = [p for p in (root / "out" / notebook.stem).iterdir() if p.name[0] != "."]
        runs[notebook.stem] = run / notebook.stem
    return runs


def svgs(page: Page) -> list[str]:
    prefix = "data:image/svg+xml;base64,"
    return [
        base64.b64decode(attrs["src"][len(prefix) :]).decode("utf-8")
        for tag, attrs in page.elements
        if tag == "img" and attrs.get("src", "").startswith(prefix)
    ]


@pytest.mark.kernels
@pytest.mark.parametrize("notebook", [p.stem for p in paths.report_notebooks()])
def test_hostile_data_creates_no_element_script_link_or_fetch_in_the_html(hostile, notebook):
    page = Page(hostile[notebook].with_suffix(".html").read_text(encoding="utf-8"))
    tags = {tag for tag, _ in page.elements}
    assert not tags & {"script", "iframe", "object", "embed", "b"}, tags
    for tag, attrs in page.elements:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "xlink:href", "action"):
            assert not attrs.get(name, "").strip().lower().startswith("javascript:"), (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:"), attrs["src"][:80]
    # The payloads are there, as text a reader sees.
    body = straight(page.text("body"))
    shown = [p for p in PAYLOADS if p in body]
    assert shown, "no payload reached the brief: the test would prove nothing"
    if notebook == "brief":
        assert shown == PAYLOADS


@pytest.mark.kernels
@pytest.mark.parametrize("notebook", [p.stem for p in paths.report_notebooks()])
def test_hostile_data_in_charts_is_drawn_as_literal_text(hostile, notebook):
    page = Page(hostile[notebook].with_suffix(".html").read_text(encoding="utf-8"))
    charts = svgs(page)
    assert charts, f"{notebook} draws no chart"
    for svg in charts:
        drawn = Page(svg)
        assert not {tag for tag, _ in drawn.elements} & {"script", "foreignobject", "a"}
        assert not [a for _, attrs in drawn.elements for a in attrs if a.startswith("on")]
        assert MATH in drawn.text("svg")  # drawn as typed: parse_math is off
        assert "α" not in drawn.text("svg")


@pytest.mark.kernels
def test_hostile_data_appears_literally_in_the_pdf(hostile):
    text = squeeze(straight(pdf_text(hostile["brief"].with_suffix(".pdf"))))
    for payload in PAYLOADS:
        assert squeeze(payload) in text, payload
    assert MATH in text and "49jinja" not in text


@pytest.mark.kernels
@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")
def test_no_script_from_the_data_runs_in_a_browser(hostile, tmp_path):
    brief_html = hostile["brief"].with_suffix(".html")
    expected = Page(brief_html.read_text(encoding="utf-8")).text("title")
    dom = Page(dump_dom(brief_html, tmp_path))
    assert dom.text("title") == expected
    assert "PWNED" not in dom.text("title")
    assert not {tag for tag, _ in dom.elements} & {"script", "iframe"}

    # The control: the same payloads left unescaped do run, so the probe above can fail.
    control = tmp_path / "control.html"
    control.write_text(
        f"<html><head><title>safe</title></head><body>{''.join(PAYLOADS)}</body></html>"
    )
    assert "PWNED" in Page(dump_dom(control, tmp_path)).text("title")


def test_helpers_show_data_as_escaped_html_only_never_markdown_latex_or_a_styler(dataset):
    # nbconvert passes text/html and text/markdown outputs through as they are, and pandas'
    # Styler does not escape: so the helpers escape where data becomes markup (checked with
    # real data above) and offer no other representation that could carry it unescaped.
    from IPython.core.formatters import DisplayFormatter

    from helpers.report.brief import Brief

    brief_ = Brief(P.check(P.BriefParams, {}), dataset)
    for section in (brief_.key_points(), brief_.economy(), brief_.sources()):
        data, _ = DisplayFormatter().format(section)
        assert set(data) == {"text/plain", "text/html"}
    for module in sorted(paths.PACKAGE_DIR.rglob("*.py")):
        source = module.read_text(encoding="utf-8")
        for risky in ("Styler", ".to_html(", "_repr_markdown_", "_repr_latex_", "Markdown("):
            assert risky not in source, f"{module.name} uses {risky}"
