"""Tests for helpers.exporters: the HTML and PDF briefs, built from notebooks made in code."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from helpers.errors import ParameterError, RenderError
from helpers.pipeline import export as exporters
from helpers.pipeline.export import (
    BriefHTMLExporter,
    BriefPDFExporter,
    external_references,
    render_html,
    render_pdf,
)

CHROMIUM = Path("/usr/bin/chromium")

# A 1x1 PNG and a small SVG, so that the tests need no plotting library.
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">'
    '<rect x="10" y="10" width="120" height="60" fill="#1f4e79"/></svg>'
)
SVG_URI = "data:image/svg+xml;base64," + base64.b64encode(SVG.encode()).decode()

SETUP_SOURCE = "import helpers  # SETUP-SOURCE"
PARAMETERS_SOURCE = "title: str = 'Default'  # PARAMETERS-SOURCE"
INJECTED_SOURCE = "# Parameters\ntitle = 'Injected'  # INJECTED-SOURCE"
SECTION_SOURCE = "helpers.section('economy')  # SECTION-SOURCE"

SECTION_HTML = (
    '<section class="brief-section"><h2>Economic ties</h2>'
    '<p>The minister visited Moscow<sup class="cite"><a href="#src-1">[1]</a></sup>.</p>'
    f'<figure><img src="data:image/png;base64,{PNG_B64}" alt="A bar chart.">'
    "<figcaption>Figure 1. Projects.</figcaption></figure></section>"
)
SVG_SECTION_HTML = (
    '<section class="brief-section"><h2>Energy</h2><p>Two plants were discussed.</p>'
    f'<figure><img src="{SVG_URI}" alt="Capacity chart."><figcaption>Figure 2.</figcaption>'
    "</figure></section>"
)
SOURCES_HTML = (
    '<section class="brief-section brief-sources"><h2>Sources</h2><ol>'
    '<li id="src-1">News article, 2024-03-02, line 7.</li></ol></section>'
)


def html_output(html: str, output_type: str = "display_data"):
    extra = {"execution_count": 5} if output_type == "execute_result" else {}
    data = {"text/html": html, "text/plain": "<HTML object>"}
    return new_output(output_type, data=data, **extra)


def code_cell(source: str, outputs: list, tags: list[str] | None = None):
    cell = new_code_cell(source, metadata={"tags": tags} if tags else {})
    cell.outputs = outputs
    return cell


def make_notebook(
    *,
    brief: dict | None = None,
    parameters: dict | None = None,
    extra_cells: list | None = None,
) -> nbformat.NotebookNode:
    """An executed report notebook as papermill would leave it, without running a kernel."""
    nb = new_notebook()
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["papermill"] = {
        "parameters": {
            "title": "Myanmar turns to Russia",
            "as_of": "2024-03-02",
            "start": "2023-01-01",
            "end": "2024-03-02",
            "themes": ["defence", "economy"],
            "partner": "russia",
            "paper": "A4",
            **(parameters or {}),
        },
        "input_path": "notebooks/brief.ipynb",
    }
    if brief is not None:
        nb.metadata["brief"] = brief
    nb.cells = [
        code_cell(
            SETUP_SOURCE,
            [new_output("stream", name="stdout", text="SETUP-OUTPUT\n")],
            tags=["remove-cell"],
        ),
        code_cell(
            PARAMETERS_SOURCE,
            [new_output("execute_result", data={"text/plain": "'PARAMETERS-OUTPUT'"})],
            tags=["parameters"],
        ),
        code_cell(
            INJECTED_SOURCE,
            [new_output("execute_result", data={"text/plain": "'INJECTED-OUTPUT'"})],
            tags=["injected-parameters"],
        ),
        code_cell(
            SECTION_SOURCE,
            [
                new_output("stream", name="stdout", text="STDOUT-NOISE loading events\n"),
                new_output("stream", name="stderr", text="STDERR-NOISE UserWarning: slow\n"),
                html_output(SECTION_HTML),
            ],
        ),
        # A helper call as the cell's last line: an execute_result, not a display_data.
        code_cell("helpers.section('energy')", [html_output(SVG_SECTION_HTML, "execute_result")]),
        code_cell(
            "helpers.chart()",
            [new_output("display_data", data={"image/svg+xml": SVG, "text/plain": "<Figure>"})],
        ),
        code_cell(
            "helpers.bitmap()",
            [new_output("display_data", data={"image/png": PNG_B64, "text/plain": "<Figure>"})],
        ),
        code_cell("print('only noise')", [new_output("stream", name="stdout", text="ONLY-NOISE")]),
        new_markdown_cell("A **markdown** note from the analyst."),
        code_cell("helpers.sources()", [html_output(SOURCES_HTML)]),
        *(extra_cells or []),
    ]
    return nb


@pytest.fixture(scope="module")
def brief_html() -> str:
    nb = make_notebook(
        brief={
            "title": "Myanmar's junta turns to Russia",
            "subtitle": "Ties discussed in early 2024",
            "as_of": "2024-03-02",
            "generated": "2024-03-05 09:14 UTC",
        }
    )
    return render_html(nb, resources={"metadata": {"name": "brief-2024"}})


# ---- HTML: what is hidden -------------------------------------------------------------------


def test_no_code_source_appears_in_the_html(brief_html):
    for marker in ("SETUP-SOURCE", "PARAMETERS-SOURCE", "INJECTED-SOURCE", "SECTION-SOURCE"):
        assert marker not in brief_html
    assert "helpers.section" not in brief_html
    assert "import helpers" not in brief_html
    assert "In&nbsp;[" not in brief_html and "Out[" not in brief_html


def test_parameters_injected_parameters_and_remove_cell_cells_are_dropped_with_outputs(
    brief_html,
):
    for marker in ("SETUP-OUTPUT", "PARAMETERS-OUTPUT", "INJECTED-OUTPUT"):
        assert marker not in brief_html


def test_remove_cell_with_underscore_is_dropped_too():
    extra = code_cell("x", [html_output("<p>UNDERSCORE-TAGGED</p>")], tags=["remove_cell"])
    html = render_html(make_notebook(extra_cells=[extra]))
    assert "UNDERSCORE-TAGGED" not in html


def test_stream_outputs_are_dropped_and_cells_left_empty_vanish(brief_html):
    assert "STDOUT-NOISE" not in brief_html
    assert "STDERR-NOISE" not in brief_html
    assert "ONLY-NOISE" not in brief_html
    # One wrapper per visible cell: three helper HTML outputs, two images, one markdown cell.
    assert brief_html.count('class="brief-cell') == 6


def test_helper_html_and_markdown_cells_are_kept(brief_html):
    assert "<h2>Economic ties</h2>" in brief_html
    assert "<h2>Energy</h2>" in brief_html  # from an execute_result
    assert '<sup class="cite"><a href="#src-1">[1]</a></sup>' in brief_html
    assert 'class="brief-section brief-sources"' in brief_html
    assert "<strong>markdown</strong>" in brief_html


def test_tag_removal_is_configuration_that_a_caller_can_override():
    config = Config({"TagRemovePreprocessor": {"remove_cell_tags": set()}})
    html, _ = BriefHTMLExporter(config=config).from_notebook_node(make_notebook())
    assert "PARAMETERS-OUTPUT" in html
    assert "INJECTED-OUTPUT" in html


def test_render_html_leaves_the_notebook_unchanged():
    nb = make_notebook()
    before = json.dumps(nb, sort_keys=True)
    render_html(nb)
    assert json.dumps(nb, sort_keys=True) == before


# ---- HTML: masthead and escaping ------------------------------------------------------------


def test_masthead_shows_title_subtitle_as_of_and_parameters(brief_html):
    masthead = brief_html.split('<header class="brief-masthead">')[1].split("</header>")[0]
    assert '<h1 class="brief-title">Myanmar\'s junta turns to Russia</h1>' in masthead
    assert '<p class="brief-subtitle">Ties discussed in early 2024</p>' in masthead
    # A bare as-of date says what it means: what was known by then.
    assert '<time datetime="2024-03-02">Known by 2 March 2024</time>' in masthead
    assert '<span class="brief-param-name">Themes:</span> defence, economy</span>' in masthead
    assert '<span class="brief-param-name">Partner:</span> russia</span>' in masthead
    assert "<title>Myanmar's junta turns to Russia</title>" in brief_html
    assert "Generated 2024-03-05 09:14 UTC" in brief_html


def test_title_falls_back_to_papermill_parameters_then_to_the_notebook_name():
    nb = make_notebook()
    assert '<h1 class="brief-title">Myanmar turns to Russia</h1>' in render_html(nb)
    del nb.metadata["papermill"]["parameters"]["title"]
    html = render_html(nb, resources={"metadata": {"name": "china-russia"}})
    assert '<h1 class="brief-title">china-russia</h1>' in html


def test_markup_in_title_and_parameters_is_shown_literally_not_run():
    nb = make_notebook(
        brief={"title": "<script>alert(1)</script>", "subtitle": "a & b <i>c</i>"},
        parameters={"partner": '<img src=x onerror="alert(2)">'},
    )
    html = render_html(nb)
    assert "<script>alert(1)</script>" not in html
    assert '<h1 class="brief-title">&lt;script&gt;alert(1)&lt;/script&gt;</h1>' in html
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in html
    assert "a &amp; b &lt;i&gt;c&lt;/i&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html


def test_colophon_falls_back_to_papermills_end_time_shortened_to_the_minute():
    nb = make_notebook()
    nb.metadata["papermill"]["end_time"] = "2024-03-05T09:14:02.123456"
    assert "Generated 2024-03-05 09:14 UTC." in render_html(nb)


def test_image_output_takes_its_alt_text_from_output_metadata():
    chart = new_output(
        "display_data", data={"image/png": PNG_B64}, metadata={"alt": "Bars: 660 & 330 MW"}
    )
    html = render_html(make_notebook(extra_cells=[code_cell("chart()", [chart])]))
    assert 'alt="Bars: 660 &amp; 330 MW"' in html


# ---- HTML: self-contained -------------------------------------------------------------------


def test_html_has_no_network_urls_and_no_scripts(brief_html):
    for needle in ("http://", "https://", "//cdn", "<script", "<link"):
        assert needle not in brief_html, needle
    assert external_references(brief_html) == []


def test_every_image_is_a_data_uri(brief_html):
    sources = re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", brief_html)
    assert len(sources) == 4  # PNG in HTML, SVG in HTML, SVG output, PNG output
    assert all(s.startswith("data:image/") for s in sources)
    assert any(s.startswith("data:image/svg+xml;base64,") for s in sources)
    assert any(s.startswith("data:image/png;base64,") for s in sources)


def test_css_is_inline_with_phone_and_print_rules(brief_html):
    assert '<meta name="viewport"' in brief_html or 'name="viewport"' in brief_html
    assert "@media print" in brief_html
    assert "@media screen and (max-width: 40rem)" in brief_html
    assert "max-width: 100%" in brief_html
    assert "string(brief-title)" in brief_html


def test_output_loading_an_external_image_is_refused():
    extra = code_cell("x", [html_output('<img src="https://example.org/chart.png" alt="c">')])
    with pytest.raises(RenderError, match=r"https://example.org/chart.png"):
        render_html(make_notebook(extra_cells=[extra]))


def test_external_references_lists_fetched_resources_but_not_links():
    html = (
        '<a href="https://example.org/">a link is fine</a>'
        '<img src="data:image/png;base64,AA"><use href="#icon"/>'
        '<script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="//cdn.example/x.css">'
        '<img srcset="data:image/png;base64,AA 1x, chart@2x.png 2x">'
        "<div style=\"background: url('http://example.org/bg.png')\"></div>"
        "<style>@import 'theme.css'; p { background: url(data:image/png;base64,AA) }</style>"
    )
    found = external_references(html)
    assert len(found) == 5
    joined = " ".join(found)
    for url in ("cdn.example/x.js", "cdn.example/x.css", "chart@2x.png", "bg.png", "theme.css"):
        assert url in joined
    assert "example.org/'" not in joined


def test_error_output_raises_render_error_naming_the_cell_and_exception():
    failed = code_cell(
        "1/0",
        [
            new_output(
                "error",
                ename="ZeroDivisionError",
                evalue="division by zero",
                traceback=["Traceback..."],
            )
        ],
    )
    with pytest.raises(RenderError, match=r"cell 10 .*ZeroDivisionError: division by zero"):
        render_html(make_notebook(extra_cells=[failed]))


def test_error_output_in_a_removed_cell_still_fails_the_render():
    failed = code_cell(
        "setup()",
        [new_output("error", ename="ImportError", evalue="no module", traceback=[])],
        tags=["remove-cell"],
    )
    nb = make_notebook()
    nb.cells.insert(0, failed)
    with pytest.raises(RenderError, match="ImportError"):
        render_html(nb)


# ---- PDF ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_a4(brief_html) -> bytes:
    return render_pdf(brief_html, paper="A4")


def pdf_reader(pdf: bytes):
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(pdf))


def test_pdf_carries_title_as_of_date_and_page_x_of_y(pdf_a4):
    reader = pdf_reader(pdf_a4)
    n = len(reader.pages)
    first = reader.pages[0].extract_text()
    assert "Myanmar's junta turns to Russia" in first
    assert "Known by 2 March 2024" in first
    assert f"Page 1 of {n}" in first
    assert f"Page {n} of {n}" in reader.pages[-1].extract_text()


def test_pdf_running_header_repeats_the_title_after_page_one():
    body = "".join(
        f"<section class='brief-section'><h2>Section {i}</h2>" + "<p>Text. </p>" * 40 + "</section>"
        for i in range(4)
    )
    html = render_html(make_notebook(extra_cells=[code_cell("x", [html_output(body)])]))
    reader = pdf_reader(render_pdf(html))
    assert len(reader.pages) > 1
    # Page one shows the title once (the masthead: no running header there); later pages
    # carry it in the header.
    assert reader.pages[0].extract_text().count("Myanmar turns to Russia") == 1
    assert "Myanmar turns to Russia" in reader.pages[1].extract_text()


@pytest.mark.parametrize(
    ("paper", "size"), [("A4", (595, 842)), ("Letter", (612, 792)), ("letter", (612, 792))]
)
def test_pdf_page_size_follows_the_paper_argument(brief_html, paper, size):
    page = pdf_reader(render_pdf(brief_html, paper=paper)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == size


def test_pdf_fonts_are_all_embedded(pdf_a4):
    reader = pdf_reader(pdf_a4)
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None:
                descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            descriptor = descriptor.get_object()
            fonts[str(font["/BaseFont"])] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    assert fonts, "no fonts found in the PDF"
    assert all(fonts.values()), fonts


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_pdffonts_reports_every_font_embedded(pdf_a4, tmp_path):
    path = tmp_path / "brief.pdf"
    path.write_bytes(pdf_a4)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    rows = out.stdout.splitlines()[2:]
    assert rows
    assert all(row.split()[-5] == "yes" for row in rows), out.stdout


def test_unknown_paper_is_a_parameter_error(brief_html):
    with pytest.raises(ParameterError, match=r"paper: expected 'A4' or 'Letter', got 'A3'"):
        render_pdf(brief_html, paper="A3")


def test_render_pdf_refuses_html_with_external_resources():
    html = '<html><body><img src="https://example.org/x.png"></body></html>'
    with pytest.raises(RenderError, match="external resource"):
        render_pdf(html)


def test_weasyprint_fetcher_refuses_network_urls_even_past_the_html_check(monkeypatch):
    # Take away the first check to show that the URL fetcher alone stops the fetch.
    monkeypatch.setattr(exporters, "external_references", lambda html: [])
    html = '<html><body><img src="http://brief-test.invalid/x.png"></body></html>'
    with pytest.raises(RenderError, match=r"http://brief-test.invalid/x.png"):
        render_pdf(html)


def test_broken_embedded_image_fails_the_pdf_instead_of_leaving_a_hole():
    html = '<html><body><img src="data:image/png;base64,bm90IGEgcG5n" alt="x"></body></html>'
    with pytest.raises(RenderError, match="Failed to load image"):
        render_pdf(html)


# ---- The exporters as nbconvert sees them ---------------------------------------------------


def test_entry_points_register_both_exporters():
    from nbconvert.exporters import get_exporter

    assert get_exporter("brief_html") is BriefHTMLExporter
    assert get_exporter("brief_pdf") is BriefPDFExporter


def test_pdf_exporter_returns_pdf_bytes_on_the_notebooks_paper():
    nb = make_notebook(parameters={"paper": "Letter"})
    pdf, resources = BriefPDFExporter().from_notebook_node(nb)
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF-")
    assert resources["output_extension"] == ".pdf"
    assert round(float(pdf_reader(pdf).pages[0].mediabox.width)) == 612


def test_pdf_exporter_paper_trait_overrides_the_notebook():
    nb = make_notebook(parameters={"paper": "Letter"})
    pdf, _ = BriefPDFExporter(paper="A4").from_notebook_node(nb)
    assert round(float(pdf_reader(pdf).pages[0].mediabox.width)) == 595


# ---- In a real browser ----------------------------------------------------------------------


def _page_requests(html_path: Path, tmp_path: Path) -> list[str]:
    """URLs that a page (not the browser's own services) asked Chromium to fetch."""
    netlog = tmp_path / f"{html_path.stem}-netlog.json"
    profile = tmp_path / f"{html_path.stem}-profile"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--log-net-log={netlog}",
            f"--screenshot={tmp_path / (html_path.stem + '.png')}",
            "--window-size=400,1200",
            html_path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start
        # Chromium's own background requests (updates, accounts) have no initiating origin.
        and e.get("params", {}).get("initiator", "not an origin") != "not an origin"
        and not e["params"].get("url", "").startswith(("file:", "data:"))
    ]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")
def test_chromium_loads_the_brief_without_a_single_network_request(brief_html, tmp_path):
    page = tmp_path / "brief.html"
    page.write_text(brief_html, encoding="utf-8")
    assert _page_requests(page, tmp_path) == []
    assert (tmp_path / "brief.png").stat().st_size > 10_000

    # The same probe does see a page that reaches out, so the empty list above means something.
    control = tmp_path / "control.html"
    control.write_text('<html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    assert _page_requests(control, tmp_path) == ["http://127.0.0.1:9/x.png"]
