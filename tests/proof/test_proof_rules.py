"""Each proof rule fires on a fixture made to break it and stays quiet on a good one.

The fixtures are small hand-made briefs (HTML in the shape the house template gives, a PDF
WeasyPrint lays out, pages and lines built here, chart boxes as Chromium reports them); no
kernel starts. helpers.proof.rules holds the rules.
"""

from __future__ import annotations

import pytest

from helpers.proof import rules
from helpers.proof.document import Chart, Document, Expected, Line, Page, parse_bbox_layout

# -- building fixtures ------------------------------------------------------------------------


def brief_html(
    *,
    sections: dict[str, str] | None = None,
    scope: str = "defence, energy",
    title: str = "Myanmar's junta and Russia",
    subtitle: str = "Defence and energy, as the report tells them",
    leaves_out: tuple[str, ...] = (),
    colophon: str = "Generated 2026-01-01 10:00 UTC.",
    annex: str = "",
) -> str:
    """A brief as the house template lays it out: masthead, sections, gaps, colophon."""
    sections = (
        sections
        if sections is not None
        else {
            "defence": "<p>The report says Russia supplies arms.<sup class='cite'>[<a>1</a>]</sup>"
            "</p>",
            "energy": "<p>The report says talks covered a port.<sup class='cite'>[<a>2</a>]</sup>"
            "</p>",
        }
    )
    body = "".join(
        f'<div class="brief-cell"><section class="brief-section {css}"><h2>{css.title()}</h2>'
        f"{html}</section></div>"
        for css, html in sections.items()
    )
    gaps = ""
    if leaves_out:
        items = "".join(f"<li>{item}</li>" for item in leaves_out)
        gaps = (
            '<div class="brief-cell"><section class="brief-section gaps"><h2>Gaps and limits</h2>'
            f'<p class="gaps-head">What this brief leaves out</p><ul class="gaps">{items}</ul>'
            "</section></div>"
        )
    annex_html = (
        f'<section class="brief-section annex"><h2>Annex</h2><p>{annex}</p></section>'
        if annex
        else ""
    )
    return f"""<!doctype html><html><body class="brief"><main class="brief-page">
<header class="brief-masthead"><p class="brief-kicker">Policy brief</p>
<h1 class="brief-title">{title}</h1><p class="brief-subtitle">{subtitle}</p>
<p class="brief-asof"><time>Known by 2 March 2024</time></p>
<p class="brief-params"><span class="brief-params-label">Scope</span>
<span class="brief-param"><span class="brief-param-name">Focus:</span> Russia</span> ·
<span class="brief-param"><span class="brief-param-name">Sections:</span> {scope}</span></p>
</header><article class="brief-body">{body}{gaps}{annex_html}</article>
<footer class="brief-colophon"><p>{colophon}</p></footer></main></body></html>"""


def doc_of(html: str, **kwargs) -> Document:
    return Document.from_html(html, brief_id="brief partner=Russia", **kwargs)


def paragraph(text: str, *notes: int) -> dict[str, str]:
    cites = "".join(f"<sup class='cite'>[<a>{n}</a>]</sup>" for n in notes)
    return {"defence": f"<p>{text}{cites}</p>", "energy": "<p>Energy.</p>"}


def fired(rule, doc: Document) -> list[rules.Violation]:
    return rule(doc)


# -- 1. agreement -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "The report dates none of the two events in this brief.",
        "It gives no date for all two events.",
        "The report dates all of them five events.",
        "By then this brief knows of nothing about Myanmar's junta and Russia.",
        "The report dates them between October 2023 and 31 October 2023.",
        "The brief holds 1 events.",
        "One event are left out.",
        "The report says India has developed the Sittwe port. The report does not date them.",
        "The report names three project.",
    ],
)
def test_agreement_fires_on_each_broken_form(sentence):
    found = fired(rules.rule_agreement, doc_of(brief_html(sections=paragraph(sentence))))
    assert found and found[0].rule == "agreement"
    assert found[0].part == "defence"


@pytest.mark.parametrize(
    "sentence",
    [
        "The report dates neither of the two events in this brief.",
        "It dates all five events, between October 2023 and November 2023.",
        "One event is left out.",
        "The report says talks covered a port and a refinery. The report does not date them.",
        "Three projects and one supply are left out.",
    ],
)
def test_agreement_stays_quiet_on_good_forms(sentence):
    assert fired(rules.rule_agreement, doc_of(brief_html(sections=paragraph(sentence)))) == []


# -- 2. the scope line ----------------------------------------------------------------------


def test_scope_line_fires_when_it_lists_a_section_not_shown():
    html = brief_html(scope="defence, energy, economy")
    [found] = fired(rules.rule_scope_line, doc_of(html))
    assert "'economy'" in found.why and found.part == "masthead"


def test_scope_line_fires_when_a_section_is_shown_but_not_listed():
    [found] = fired(rules.rule_scope_line, doc_of(brief_html(scope="defence")))
    assert "omits 'energy'" in found.why


def test_scope_line_stays_quiet_when_it_lists_exactly_the_sections():
    assert fired(rules.rule_scope_line, doc_of(brief_html(scope="defence, energy"))) == []


def test_scope_line_reads_the_section_names_a_reader_sees():
    html = brief_html(scope="defence, energy and infrastructure")
    assert fired(rules.rule_scope_line, doc_of(html)) == []
    [found] = fired(rules.rule_scope_line, doc_of(brief_html(scope="defence, trade")))
    assert "'economy'" in found.why


# -- 3. omissions -----------------------------------------------------------------------------


def _dropping(**kinds: int) -> Expected:
    return Expected(dropped={k: {f"{k}-{i}" for i in range(n)} for k, n in kinds.items()})


def test_omissions_fire_when_a_dropped_kind_is_not_named():
    html = brief_html(leaves_out=("Three judgments of the report rest on events left out here.",))
    [found] = fired(
        rules.rule_omissions, doc_of(html, expected=_dropping(judgments=3, projects=5, events=4))
    )
    assert "5 projects dropped" in found.why and "4 events dropped" in found.why
    assert "judgments" not in found.why


def test_omissions_fire_when_the_count_is_wrong():
    html = brief_html(leaves_out=("Two events the report dates outside the window are left out.",))
    [found] = fired(rules.rule_omissions, doc_of(html, expected=_dropping(events=3)))
    assert "counts 2, the parameters drop 3" in found.why


def test_omissions_fire_when_there_is_no_list_at_all():
    [found] = fired(rules.rule_omissions, doc_of(brief_html(), expected=_dropping(supplies=1)))
    assert "no “What this brief leaves out” list" in found.text


def test_omissions_stay_quiet_when_each_kind_is_named_and_counted():
    html = brief_html(
        leaves_out=(
            "Four events the report does not date are left out, and with them one supply.",
            "Five projects discussed in Moscow are left out with the talks.",
            "Three judgments of the report rest only on rows left out here.",
            "Two places named only by rows left out are left out.",
            "Six of the 10 events have no date; they are marked “date unknown”.",
        )
    )
    expected = _dropping(events=4, supplies=1, projects=5, judgments=3, places=2)
    assert fired(rules.rule_omissions, doc_of(html, expected=expected)) == []


# -- 4. the view ------------------------------------------------------------------------------

_MANIFEST = {
    "citations": [
        {"note": 1, "rows": [{"table": "assessments", "id": "as-acceleration"}]},
        {"note": 2, "rows": [{"table": "projects", "id": "pr-port"}]},
    ],
    "edition": {"facts": [{"table": "projects", "id": "pr-port"}]},
}


def test_view_fires_on_a_key_point_resting_on_a_row_outside_the_window():
    html = brief_html(sections=paragraph("Ties accelerated since October 2023.", 1))
    expected = Expected(outside={"assessments:as-acceleration"})
    [found] = fired(rules.rule_view, doc_of(html, manifest=_MANIFEST, expected=expected))
    assert "note 1 rests on assessments:as-acceleration" in found.why


def test_view_fires_on_an_undated_row_cited_without_the_flag():
    html = brief_html(sections=paragraph("The report says talks covered a port.", 2))
    expected = Expected(date_unknown={"projects:pr-port"})
    [found] = fired(rules.rule_view, doc_of(html, manifest=_MANIFEST, expected=expected))
    assert "no “date unknown” flag" in found.why


def test_view_fires_when_the_ledger_shows_a_row_outside_the_view():
    html = brief_html(sections=paragraph("Nothing cited."))
    expected = Expected(outside={"projects:pr-port"})
    [found] = fired(rules.rule_view, doc_of(html, manifest=_MANIFEST, expected=expected))
    assert found.part == "ledger"


def test_view_stays_quiet_on_flagged_undated_rows_and_rows_in_view():
    html = brief_html(
        sections=paragraph("Date unknown — the report says talks covered a port.", 2, 1)
    )
    expected = Expected(date_unknown={"projects:pr-port"})
    assert fired(rules.rule_view, doc_of(html, manifest=_MANIFEST, expected=expected)) == []


# -- 9. note order ----------------------------------------------------------------------------


def test_note_order_fires_when_a_later_note_is_cited_first():
    sections = {
        "defence": "<ul><li>Visit.<sup class='cite'>[<a>3</a>]</sup></li></ul>"
        "<p>Also.<sup class='cite'>[<a>1</a>–<a>2</a>]</sup></p>",
        "energy": "<p>Energy.</p>",
    }
    found = fired(rules.rule_note_order, doc_of(brief_html(sections=sections)))
    assert [v.why for v in found] == [
        "note 1 is first cited after note 3",
        "note 2 is first cited after note 3",
    ]


def test_note_order_stays_quiet_in_reading_order():
    sections = {
        "defence": "<p>A.<sup class='cite'>[<a>1</a>–<a>3</a>]</sup></p>",
        "energy": "<p>B.<sup class='cite'>[<a>2</a>, <a>4</a>]</sup></p>",
    }
    assert fired(rules.rule_note_order, doc_of(brief_html(sections=sections))) == []


# -- 10. plumbing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Source: the report, lines 7, 13, 17 — data/events.csv",
        "Notebook: brief.ipynb.",
        "The brief leaves out 3 rows.",
        "Shown because include_undated is true.",
        "Drawn from ev-naval-visit.",
    ],
)
def test_plumbing_fires_on_the_page(text):
    found = fired(rules.rule_plumbing, doc_of(brief_html(colophon=text)))
    assert found and found[0].part == "colophon"


def test_plumbing_is_allowed_in_the_annex_only():
    html = brief_html(annex="Note 1: article-2024-03-02.txt:13, events.csv · ev-naval-visit")
    assert fired(rules.rule_plumbing, doc_of(html)) == []


def test_plumbing_fires_on_a_chart_source_line_that_only_the_pdf_shows():
    page = Page(
        1, 595, 842, (Line("Source: the report, line 13 — data/events.csv", 60, 300, 400, 310),)
    )
    doc = doc_of(brief_html())
    doc.pages = (page,)
    [found] = fired(rules.rule_plumbing, doc)
    assert found.part == "pdf" and found.page == 1


# -- 11. titles -------------------------------------------------------------------------------


def test_titles_fire_on_a_theme_the_brief_has_no_section_for_and_on_sources_with_one():
    html = brief_html(subtitle="Defence, energy and trade, as the sources report them")
    [found] = fired(rules.rule_titles, doc_of(html, expected=Expected(sources=1)))
    assert "'trade'" in found.why and "'sources'" in found.why


def test_titles_fire_on_a_partner_the_brief_records_nothing_on():
    html = brief_html(title="Defence cooperation: Myanmar's junta and China", subtitle="")
    expected = Expected(partner_rows={"defence": 0, "energy": 2})
    doc = Document.from_html(html, parameters={"partner": "China"}, expected=expected)
    [found] = fired(rules.rule_titles, doc)
    assert "records nothing on defence involving China" in found.why


def test_titles_stay_quiet_on_a_title_that_says_what_the_report_does_not_record():
    html = brief_html(title="Myanmar's junta and China: the report records no defence cooperation")
    expected = Expected(partner_rows={"defence": 0, "energy": 2})
    doc = Document.from_html(html, parameters={"partner": "China"}, expected=expected)
    assert fired(rules.rule_titles, doc) == []


def test_titles_fire_on_war_when_the_source_never_says_it():
    html = brief_html(subtitle="Visits and supplies, and the war behind them")
    expected = Expected(evidence="escalation of hostilities between the junta and factions")
    [found] = fired(rules.rule_titles, doc_of(html, expected=expected))
    assert "'war'" in found.why


def test_titles_stay_quiet_when_they_promise_what_the_brief_holds():
    html = brief_html(subtitle="Defence and energy, as one news report tells them")
    expected = Expected(sources=1, partner_rows={"defence": 3, "energy": 1}, evidence="war")
    assert fired(rules.rule_titles, doc_of(html, expected=expected)) == []


# -- 12. quotes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'The report calls it "a strategic pivot".',
        "It names them as examples ('including'): there may be more.",
        "Myanmar’s junta and Russia's navy.",
    ],
)
def test_quotes_fire_on_straight_or_mixed_quotes(text):
    assert fired(rules.rule_quotes, doc_of(brief_html(sections=paragraph(text))))


def test_quotes_stay_quiet_on_curly_quotes_and_code():
    html = brief_html(
        sections=paragraph("It names them as examples (“including”): the powers' ties."),
        annex='<code>"data/events.csv"</code>',
    )
    assert fired(rules.rule_quotes, doc_of(html)) == []


# -- 5, 6, 7. the layout rules on pages -----------------------------------------------------


def _page(number: int, *texts: str, height: float = 842) -> Page:
    lines = tuple(Line(t, 57, 70 + 14 * i, 500, 80 + 14 * i) for i, t in enumerate(texts))
    return Page(number, 595, height, lines)


def _body(n: int) -> list[str]:
    return [f"Body line {i} of the brief." for i in range(n)]


def test_thin_page_fires_on_a_last_page_with_only_the_colophon():
    doc = doc_of(brief_html())
    doc.pages = (_page(1, *_body(40)), _page(2, "Generated 2026-01-01 10:00 UTC."))
    [found] = fired(rules.rule_thin_page, doc)
    assert found.page == 2 and "1 line" in found.why


def test_thin_page_stays_quiet_on_full_pages():
    doc = doc_of(brief_html())
    doc.pages = (_page(1, *_body(40)), _page(2, *_body(6)))
    assert fired(rules.rule_thin_page, doc) == []


_TABLE = """<table class="actor-table"><caption>Where the powers stand</caption>
<thead><tr><th>Power</th><th>Ties</th></tr></thead><tbody>
<tr><th>Russia</th><td>Supplies arms.</td></tr><tr><th>China</th><td>Reliance cut.</td></tr>
</tbody></table>"""


def _table_doc(*pages: Page) -> Document:
    doc = doc_of(brief_html(sections={"regional": _TABLE}, scope="regional"))
    doc.pages = pages
    return doc


def test_table_split_fires_when_the_second_row_starts_the_next_page():
    doc = _table_doc(
        _page(1, *_body(30), "Where the powers stand", "Power Ties", "Russia Supplies arms."),
        _page(2, "China Reliance cut.", *_body(10)),
    )
    [found] = fired(rules.rule_table_split, doc)
    assert found.page == 1 and "'China'" in found.why


def test_table_split_stays_quiet_when_two_rows_stand_with_the_header():
    doc = _table_doc(
        _page(
            1,
            *_body(30),
            "Where the powers stand",
            "Power Ties",
            "Russia Supplies arms.",
            "China Reliance cut.",
        ),
        _page(2, *_body(10)),
    )
    assert fired(rules.rule_table_split, doc) == []


def test_stranded_heading_fires_on_a_heading_at_a_page_foot():
    doc = doc_of(brief_html())
    doc.pages = (_page(1, *_body(30), "Energy"), _page(2, "The report says talks.", *_body(8)))
    [found] = fired(rules.rule_stranded_heading, doc)
    assert found.text == "Energy" and found.page == 1


def test_stranded_heading_stays_quiet_when_the_heading_keeps_its_paragraph():
    doc = doc_of(brief_html())
    doc.pages = (_page(1, *_body(30), "Energy", "The report says talks."), _page(2, *_body(8)))
    assert fired(rules.rule_stranded_heading, doc) == []


# -- 13. letter spacing, from real PDFs ------------------------------------------------------


def _pdf(tmp_path, css: str):
    from weasyprint import HTML

    html = (
        brief_html()
        .replace("<head>", "")
        .replace('<body class="brief">', f'<body class="brief"><style>h2 {{ {css} }}</style>')
    )
    path = tmp_path / "brief.pdf"
    HTML(string=html).write_pdf(path)
    return Document.from_html(html, pdf=path)


def test_letter_spacing_fires_on_a_letter_spaced_heading_in_a_real_pdf(tmp_path):
    doc = _pdf(tmp_path, "text-transform: uppercase; letter-spacing: 0.12em; font-size: 9pt")
    found = fired(rules.rule_letter_spacing, doc)
    assert found, doc.pdf_text
    assert all(v.rule == "letter spacing" for v in found)


def test_letter_spacing_stays_quiet_on_plain_headings_in_a_real_pdf(tmp_path):
    doc = _pdf(tmp_path, "font-size: 12pt")
    assert fired(rules.rule_letter_spacing, doc) == []


def test_poppler_bbox_layout_gives_pages_and_lines():
    xhtml = """<html><body><doc><page width="595" height="842"><flow><block>
    <line xMin="57" yMin="70" xMax="300" yMax="80"><word>Bottom</word><word>line</word></line>
    </block></flow></page></doc></body></html>"""
    [page] = parse_bbox_layout(xhtml)
    assert page.lines[0].text == "Bottom line" and page.body == page.lines


# -- 8. chart labels, from measured boxes ----------------------------------------------------


def _box(kind, x0, y0, x1, y1, fill, text=""):
    return {"kind": kind, "text": text, "x0": x0, "y0": y0, "x1": x1, "y1": y1, "fill": fill}


def _chart_doc(*boxes) -> Document:
    doc = doc_of(brief_html())
    doc.charts = [Chart(1, "Figure 1.", "<svg/>", list(boxes))]
    return doc


def test_chart_labels_fire_on_two_overlapping_labels():
    doc = _chart_doc(
        _box("text", 10, 10, 80, 20, (0, 0, 0), "October 2023"),
        _box("text", 40, 12, 120, 22, (0, 0, 0), "Agreement signed"),
    )
    [found] = fired(rules.rule_chart_labels, doc)
    assert "two labels overlap" in found.why


def test_chart_labels_fire_on_a_dark_label_on_a_dark_bar():
    doc = _chart_doc(
        _box("mark", 0, 0, 200, 30, (0, 48, 96)),
        _box("text", 10, 10, 80, 20, (38, 38, 38), "660 MW"),
    )
    [found] = fired(rules.rule_chart_labels, doc)
    assert "contrast" in found.why


def test_chart_labels_stay_quiet_on_a_light_label_on_a_dark_bar_and_apart_labels():
    doc = _chart_doc(
        _box("mark", 0, 0, 200, 30, (0, 48, 96)),
        _box("text", 10, 10, 80, 20, (255, 255, 255), "660 MW"),
        _box("text", 10, 40, 80, 50, (0, 0, 0), "330 MW"),
    )
    assert fired(rules.rule_chart_labels, doc) == []


def test_every_rule_is_listed_once_with_a_docstring():
    assert len(rules.RULES) == 13
    assert all(rule.__doc__ for rule in rules.RULES.values())


def test_agreement_does_not_read_a_year_as_a_count():
    html = brief_html(sections=paragraph("The October 2023 agreement and the 2023 visit."))
    assert fired(rules.rule_agreement, doc_of(html)) == []


def test_stranded_heading_fires_on_a_letter_spaced_heading_at_a_page_foot():
    doc = doc_of(brief_html())
    doc.pages = (_page(1, *_body(30), "E N E RGY"), _page(2, "The report says talks.", *_body(8)))
    [found] = fired(rules.rule_stranded_heading, doc)
    assert found.page == 1


def test_view_fires_on_a_chart_drawing_an_event_outside_the_window():
    sections = {
        "timeline": "<figure><img alt='Timeline chart. Dated events: First maritime security "
        "exercise: November 2023.' src=''></figure>",
    }
    expected = Expected(
        outside={"events:ev-maritime-exercise"},
        outside_labels={"events:ev-maritime-exercise": "First maritime security exercise"},
    )
    html = brief_html(sections=sections, scope="")
    [found] = fired(rules.rule_view, doc_of(html, manifest=_MANIFEST, expected=expected))
    assert found.part == "chart" and "ev-maritime-exercise" in found.why


@pytest.mark.parametrize(
    "sentence",
    [
        "The report dates three events, between October 2023 and October 2023.",
        "The event has no date and may fall outside the window; they are marked.",
    ],
)
def test_agreement_fires_on_a_span_within_one_month_and_they_of_one(sentence):
    assert fired(rules.rule_agreement, doc_of(brief_html(sections=paragraph(sentence))))


def test_agreement_reads_them_after_a_plural_in_the_same_sentence_as_agreeing():
    sentence = "One judgment rests only on events left out here, and is left out with them."
    assert fired(rules.rule_agreement, doc_of(brief_html(sections=paragraph(sentence)))) == []


def test_letter_spacing_fires_on_a_word_spelt_out_by_spaces():
    doc = doc_of(brief_html())
    doc.pages = (_page(1, *_body(10), "M Y A N M A R"),)
    [found] = fired(rules.rule_letter_spacing, doc)
    assert "letter by letter" in found.why


def test_chart_labels_hold_areas_to_the_graphics_contrast_and_marks_to_text_contrast():
    # Grey text on a light land area (3.9:1) is fine; the same on a small bar is not.
    land = _box("mark", 0, 0, 400, 300, (230, 230, 230))
    label = _box("text", 10, 10, 80, 20, (110, 110, 110), "Coordinates are approximate")
    assert fired(rules.rule_chart_labels, _chart_doc(land, label)) == []
    bar = _box("mark", 0, 5, 100, 25, (230, 230, 230))
    [found] = fired(rules.rule_chart_labels, _chart_doc(bar, label))
    assert "a mark" in found.why
