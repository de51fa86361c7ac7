"""Briefs anyone can read (issue 21): every notebook's PDF is tagged PDF/UA-1, and its HTML
and the index pass axe-core in Debian's Chromium, best practices included.

One render of every notebook for the module (the slow part); each test reads what it made.
axe-core comes from npm through ``tests/package.json`` (``make test`` installs it).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from pypdf import PdfReader

from helpers import paths
from helpers.errors import RenderError, UsageError
from helpers.pipeline import export
from helpers.pipeline.publish import archive_failure
from helpers.pipeline.render import render
from helpers.pipeline.request import RenderRequest

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parents[1] / "node_modules" / "axe-core" / "axe.min.js"
#: Every WCAG 2.0-2.2 A and AA rule, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
NOTEBOOKS = [p.stem for p in paths.report_notebooks()]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """Every notebook rendered once with its defaults, as `brief render` does, plus a
    failed attempt in the index (its error row must pass axe too)."""
    out = tmp_path_factory.mktemp("a11y") / "reports"
    render(RenderRequest(notebooks=(), out_dir=out))
    archive_failure(
        out,
        "brief",
        "partner-china-0000000000",
        executed=None,
        error_text="brief/partner-china failed in execute",
        record={"status": "failed", "error": "ValueError: boom", "parameters": {}},
    )
    from helpers.pipeline.index import write_index

    write_index(out)
    return out


def _structure(pdf: PdfReader) -> tuple[Counter, list]:
    """The structure tree's element types, counted, and each Figure's /Alt."""
    kinds: Counter = Counter()
    alts: list = []

    def walk(node) -> None:
        node = node.get_object()
        kind = node.get("/S")
        if kind:
            kinds[kind] += 1
        if kind == "/Figure":
            alts.append(node.get("/Alt"))
        kids = node.get("/K")
        kids = kids if isinstance(kids, list) else [kids]
        for kid in kids:
            target = kid.get_object() if hasattr(kid, "get_object") else None
            if isinstance(target, dict) and target.get("/Type") != "/OBJR":
                walk(kid)

    walk(pdf.trailer["/Root"]["/StructTreeRoot"])
    return kinds, alts


@pytest.mark.kernels
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_brief_pdf_is_tagged_pdf_ua_1(published, notebook):
    pdf = PdfReader(published / notebook / "default" / f"{notebook}.pdf")
    root = pdf.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    html = (published / notebook / "default" / f"{notebook}.html").read_text(encoding="utf-8")
    assert pdf.metadata.title and f"<title>{pdf.metadata.title}" in html.replace("&#39;", "'")
    assert b"pdfuaid:part" in root["/Metadata"].get_object().get_data()
    kinds, alts = _structure(pdf)
    assert kinds["/H1"] == 1 and kinds["/H2"] >= 3
    assert kinds["/L"] >= 1 and kinds["/LI"] >= 1
    # The table of the powers, where a brief has one (energy_trade has none; the HTML's
    # annex table is not printed), with its header cells; one split over two pages is two.
    assert bool(kinds["/Table"]) == ('class="actor-table"' in html)
    assert kinds["/TH"] >= 3 * bool(kinds["/Table"])
    assert kinds["/Figure"] == len(alts) >= 1
    assert all(alt and len(str(alt)) > 40 for alt in alts)  # a finding, not a file name
    bookmarks = [item.title for item in pdf.outline if not isinstance(item, list)]
    assert bookmarks[0] == pdf.metadata.title
    manifest = json.loads((published / notebook / "default" / "manifest.json").read_text())
    assert manifest["pdf_variant"] == "pdf/ua-1"


@pytest.mark.kernels
# WeasyPrint 70 opens its sRGB profile for PDF/A and leaves the file to the collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_other_variants_plain_and_archival_with_the_evidence_attached(published):
    html = (published / "brief" / "default" / "brief.html").read_text(encoding="utf-8")
    plain = PdfReader(io.BytesIO(export.render_pdf(html, variant="none")))
    assert "/StructTreeRoot" not in plain.trailer["/Root"]
    archive = export.render_pdf(
        html, variant="PDF/A-3u", attachments={"evidence.json": b'{"citations": []}'}
    )
    reader = PdfReader(io.BytesIO(archive))
    assert reader.attachments == {"evidence.json": [b'{"citations": []}']}
    assert b"pdfaid:part" in reader.trailer["/Root"]["/Metadata"].get_object().get_data()


def test_an_unknown_variant_is_a_usage_error_naming_the_ones_there_are():
    with pytest.raises(UsageError, match=r"'pdf/x-1'.*pdf/ua-1.*pdf/a-3u"):
        RenderRequest(notebooks=("brief",), pdf_variant="pdf/x-1")


#: A one-pixel PNG.
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5"
    "ErkJggg=="
)


def test_a_tagged_pdf_refuses_an_image_without_alternative_text():
    pixel = PIXEL
    html = (
        '<html lang="en"><head><title>t</title></head><body><h1>t</h1>'
        f'<img src="data:image/png;base64,{pixel}"></body></html>'
    )
    with pytest.raises(RenderError, match="alternative text on every image"):
        export.render_pdf(html)
    assert export.render_pdf(html, variant="none").startswith(b"%PDF")


# -- axe-core in Chromium ------------------------------------------------------------------------


def _axe(pages: list[Path]) -> dict[str, list]:
    """axe-core's violations on each page, as ``id: n node(s) (first target)``."""
    from playwright.sync_api import sync_playwright

    script = AXE.read_text(encoding="utf-8")
    found: dict[str, list] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            for page_path in pages:
                # The brief's Content-Security-Policy forbids scripts: the test's own only.
                page = browser.new_page(bypass_csp=True)
                page.goto(page_path.as_uri())
                page.add_script_tag(content=script)
                result = page.evaluate(
                    "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                    AXE_TAGS,
                )
                found[page_path.name] = [
                    f"{v['id']}: {len(v['nodes'])} node(s) ({v['nodes'][0]['target']})"
                    for v in result["violations"]
                ]
                page.close()
        finally:
            browser.close()
    return found


needs_axe = pytest.mark.skipif(
    not (CHROMIUM.exists() and AXE.exists()),
    reason="needs /usr/bin/chromium and axe-core (make test installs both)",
)


@pytest.mark.kernels
@pytest.mark.browser
@needs_axe
def test_every_brief_and_the_index_pass_axe_core(published):
    pages = [published / nb / "default" / f"{nb}.html" for nb in NOTEBOOKS]
    found = _axe([*pages, published / "index.html"])
    assert found == {page.name: [] for page in [*pages, published / "index.html"]}


@pytest.mark.browser
@needs_axe
def test_axe_does_see_a_violation_when_there_is_one(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text("<html><body><img src='data:,'><p>No main, no lang.</p></body></html>")
    found = _axe([page])["bad.html"]
    assert {line.split(":")[0] for line in found} >= {"html-has-lang", "image-alt", "region"}


@pytest.mark.kernels
def test_a_figure_without_alternative_text_is_published_with_a_warning(tmp_path, capsys):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from helpers.cli import main

    params = new_code_cell("title = None\npartner = 'Russia'")
    params.metadata["tags"] = ["parameters"]
    pixel = PIXEL
    show = new_code_cell(
        "import base64\nfrom IPython.display import Image, display\n"
        f"display(Image(data=base64.b64decode('{pixel}'), format='png'))"
    )
    nb = new_notebook(cells=[params, show])
    nb.metadata["brief"] = {"schema": "brief"}
    path = tmp_path / "plain.ipynb"
    nbformat.write(nb, path)
    assert main(["render", str(path), "--out", str(tmp_path / "out")]) == 0
    shown = capsys.readouterr()
    assert "plain/default: 1 figure(s) without alternative text" in shown.out + shown.err
    assert (tmp_path / "out" / "plain" / "default" / "plain.pdf").is_file()
