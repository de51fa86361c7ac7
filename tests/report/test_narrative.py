"""Narrative: each brief read as an editor reads it before it goes to a minister.

The briefs are built as their notebooks build them (the notebook's own cells, one helper call
each, run against :class:`helpers.report.Brief` without a kernel), for every notebook and every
partner, and for knowledge cuts, hindsight views and windows. Their text is then checked
against ../shared/TRADECRAFT.md: the bottom line carries the thesis; the source's claims are
attributed, never the brief's own; nothing says more than the source; every referent is
introduced before use; figures the brief computes say so; time is honest.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import functools
import html as htmllib
import re

import nbformat
import pandas as pd
import pytest
from markupsafe import Markup

from helpers import params as P
from helpers import paths
from helpers.report import narrative
from helpers.report.brief import Brief
from helpers.report.citations import Citations
from helpers.report.selection import select

NOTEBOOKS = ("brief", "defence", "energy_trade")
PARTNERS = ("Russia", "China", "India")


def notebook_calls(name: str) -> list[tuple[str, dict]]:
    """The helper call of each section cell of a notebook: (method, keyword arguments)."""
    nb = nbformat.read(paths.notebook_path(name), as_version=4)
    calls = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.source.startswith("brief."):
            continue
        call = ast.parse(cell.source).body[0].value
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        calls.append((call.func.attr, kwargs))
    return calls


@dataclasses.dataclass
class Built:
    sections: dict[str, str]  # method -> HTML

    @property
    def html(self) -> str:
        return "\n".join(self.sections.values())

    def text(self, *methods: str) -> str:
        """Plain text of the reader's brief (or of some sections), markers and annex left out."""
        chosen = methods or [m for m in self.sections if m != "sources"]
        return plain("\n".join(self.sections[m] for m in chosen))


def plain(html: str) -> str:
    """The text a reader sees, apostrophes read as straight ones (the brief prints curly
    quotes: test_every_quote_is_curly checks them)."""
    text = re.sub(r'<sup class="cite">.*?</sup>', "", html)
    text = re.sub(r"<img [^>]*>", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = htmllib.unescape(text).replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text)


def build(dataset, name: str = "brief", **raw) -> Built:
    brief = Brief(P.check(P.SCHEMAS[name], raw), dataset)
    return Built({m: str(getattr(brief, m)(**kw)) for m, kw in notebook_calls(name)})


@functools.cache
def shipped(name: str, partner: str = "Russia", **raw) -> Built:
    import helpers

    return build(helpers.load(), name, partner=partner, **raw)


EVERY_BRIEF = [(n, p) for n in NOTEBOOKS for p in PARTNERS]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if s.strip()]


# -- the bottom line --------------------------------------------------------------------------

THESIS = "Myanmar's junta is actively seeking to reduce its reliance on China by forging "
STAKES = {
    "Russia": "Russia is emerging as the largest supplier of military hardware to Myanmar",
    "China": "underscores Myanmar's intent to lessen its economic and military dependence on China",
    # India's stake: what the port is for (the report's own words, para. 4).
    "India": "India developed the Sittwe port to enhance connectivity to its northeastern region",
    # A thematic brief takes the partner's stake on its own themes first.
    ("energy_trade", "Russia"): "embarking on infrastructure and energy projects with Russian "
    "collaboration; the projects it names were under discussion",
}


@pytest.mark.parametrize(("name", "partner"), EVERY_BRIEF)
def test_every_brief_opens_with_the_thesis_attributed_and_the_partners_stake(name, partner):
    bluf = plain(shipped(name, partner).sections["bottom_line"])
    assert bluf.startswith(" Bottom line According to a news report of 2 March 2024, " + THESIS)
    assert STAKES.get((name, partner), STAKES[partner]) in bluf
    assert "confidence in it is low" in bluf
    # The bottom line is the first thing the brief says; only the box saying what changed
    # since the previous edition comes before it, when there is one (test_editions_e2e.py).
    said = [section for section, html in shipped(name, partner).sections.items() if html]
    assert said[:2] == ["bottom_line", "source_note"]
    assert list(shipped(name, partner).sections)[:3] == [
        "since_last_edition",
        "bottom_line",
        "source_note",
    ]


def test_the_source_note_describes_the_source_and_states_a_confidence():
    note = plain(shipped("brief").sections["source_note"])
    for words in (
        "rests on one source: a news report of 2 March 2024 on Myanmar's junta seeking",
        "its outlet is not recorded",
        "It is a secondary report that names none of its own sources",
        "Graded F3 on the Admiralty scale: reliability cannot be judged (F), information "
        "possibly true (3)",
        "Confidence: low",
        "one uncorroborated secondary news report",
        "What was known by 2 March 2024",
    ):
        assert words in note, words
    assert "every fact cited" not in shipped("brief").html.lower()


# -- three layers: reported, the source's view, the analyst's -------------------------------


@pytest.mark.parametrize(("name", "partner"), EVERY_BRIEF)
def test_the_sources_judgments_are_attributed_never_the_briefs_own(dataset, name, partner):
    built = shipped(name, partner)
    # The table of the powers is attributed as a whole, by its caption and header.
    tables = re.findall(r'<table class="actor-table">.*?</table>', built.html, re.S)
    for table in tables:
        assert "as the report describes them" in table and "What the report says" in table
    text = plain(re.sub(r'<table class="actor-table">.*?</table>', "", built.html, flags=re.S))
    text = text.split(" Sources ")[0]
    assert "Key judgments" not in text
    found = 0
    for statement in dataset.assessments["statement"]:
        # Attributed before ("The report says ...") or after ("..., the report says").
        pattern = f"(?i:{re.escape(statement[:1])}){re.escape(statement[1:])}"
        for match in re.finditer(pattern, text):
            found += 1
            before = text[max(0, match.start() - 60) : match.start()]
            after = text[match.end() : match.end() + 30]
            assert re.search(r"(says|argues|According to [^,]+,)\s*$", before) or re.match(
                r", (the report (says|argues)|according to the report)", after
            ), (statement, before, after)
    assert found >= 4


def test_analyst_judgments_appear_in_their_own_section_only_when_present(dataset, data_copy):
    assert "Analyst judgments" not in shipped("brief").html
    (data_copy / "judgments.csv").write_text(
        "judgment_id,theme,statement,likelihood,confidence,rests_on,watch,analyst,made\n"
        "j-arms,defence,Russian arms deliveries to the junta will continue through 2024.,"
        "likely,low,ev-defence-agreement;ev-naval-visit,"
        "A second source on deliveries,A. Analyst,2024-03-10\n"
        "j-oil,economy,The junta will keep buying Russian oil.,likely,low,su-oil,,,2024-03-10\n",
        encoding="utf-8",
    )
    from helpers import load

    mine = load(data_copy)
    built = build(mine, "brief", as_of="2024-03-31")
    section = plain(built.sections["judgments"])
    assert section.startswith(" Analyst judgments These are the analyst's judgments")
    assert "Russian arms deliveries to the junta will continue through 2024." in section
    assert "(Likely; low confidence.)" in section
    assert "Rests on two facts" in section
    assert "A second source on deliveries" in plain(built.sections["gaps"])
    # Made after the cut, a judgment is unknown; resting on rows out of the window, it goes.
    assert build(mine, "brief").sections["judgments"] == ""
    hindsight = build(mine, "brief", as_of="2024-03-31", end="2023-09-30")
    assert "Russian arms deliveries" not in hindsight.html
    assert "keep buying Russian oil" in hindsight.html


# -- modality: never more than the source ----------------------------------------------------

HARDENED = (
    "has emerged",
    "Russia supplied naval equipment",
    "supplied naval equipment",
    "Five projects",
    "five projects",
    "Defence agreement",
    "defence agreement",
    "India develops",
    "Russian naval equipment",
    "joint exercise",
    "Russia has become",
)


@pytest.mark.parametrize(("name", "partner"), EVERY_BRIEF)
def test_no_sentence_says_more_than_the_source(name, partner):
    text = shipped(name, partner).text()
    for phrase in HARDENED:
        assert phrase not in text, phrase
    for sentence in sentences(text):
        if "embarking on" in sentence:
            # The report's word, attributed, and set against the projects' real status.
            assert re.search(r"says|according to", sentence), sentence
            assert "under discussion" in sentence, sentence
        if re.search(r"\bprojects including\b|\bincludes\b", sentence):
            assert not re.search(r"\b(five|5|all) projects\b", sentence), sentence
    if name != "defence":
        assert "projects including a deep-sea port" in text
        assert "It does not report any of them as agreed" in text


@pytest.mark.parametrize("name", ["brief", "energy_trade"])
def test_no_sum_of_plants_the_report_does_not_say_exist(name):
    # The 660 MW and 330 MW plants are only under discussion: adding them up (990 MW) would
    # total things the report does not say exist (issue 20).
    built = shipped(name)
    assert "660 MW" in built.text() and "990" not in built.text()
    assert "brief's own sum" not in built.text()


def test_a_total_of_things_that_exist_says_it_is_the_briefs_own_sum(dataset):
    projects = dataset.projects.copy()
    projects.loc[projects["capacity"].notna(), "status"] = "under_construction"
    built = build(dataclasses.replace(dataset, projects=projects), "brief")
    [sentence] = [s for s in sentences(built.text()) if "990" in s]
    assert "the brief's own sum; the report gives no total" in sentence
    assert "990" not in plain(built.sections["key_points"])
    assert "990" not in plain(built.sections["bottom_line"])


def test_a_procurement_names_no_seller_the_source_does_not_name():
    text = shipped("defence").text()
    assert "Myanmar's junta procured naval equipment; it does not say from whom" in text
    assert "It does not say who supplied the naval equipment" in text
    assert "It also says the military hardware Russia supplies to Myanmar includes Sukhoi" in text


# -- referents, plumbing, language -----------------------------------------------------------

#: Phrases that point back to something: in a brief generated from rows, nothing may depend
#: on a sentence that another brief, window or order may have left out.
ANAPHORA = ("this visit", "the two nations", "the Moscow visit", "the visit ", "the talks ")
#: Each later phrase may only follow its introduction.
INTRODUCED = {"naval chief": "Sittwe Naval Base", "Dr Kan Zaw": "investment minister"}


@pytest.mark.parametrize(("name", "partner"), EVERY_BRIEF)
def test_every_referent_is_introduced_before_use(name, partner):
    text = shipped(name, partner).text()
    for phrase in ANAPHORA:
        assert phrase not in text, phrase
    for later, first in INTRODUCED.items():
        if later in text:
            assert first in text[: text.index(later)], (later, first)


PLUMBING = (
    r"\b(ev|as|pr|su|rel)-[a-z]",  # row ids
    r"\.csv\b",
    r"\brows?\b",
    r"Held back",
    r"Nothing recorded",
    r"By the numbers\.",
    r"is relied on",
    r"\blast (October|November|year|month)\b(?!” \[)",  # a quote's says what it means
    r"\bthis year\b",
    r"\]\s*,\s*\[",  # marker clusters
    r"\bNone of the \d",
    r"\b\d+ of \d+ (event|project|item)s? (is|are) dated\b",
)


@pytest.mark.parametrize(("name", "partner"), EVERY_BRIEF)
def test_no_plumbing_or_machine_phrasing_reaches_the_reader(name, partner):
    built = shipped(name, partner)
    reader = built.text() + plain(built.sections["sources"].split("Annex")[0])
    for pattern in PLUMBING:
        assert not re.search(pattern, reader), (pattern, re.search(pattern, reader))
    assert not re.search(r"\[\d+\],\[\d+\]", built.html)


def test_the_annex_keeps_the_whole_trail_of_files_rows_and_hashes(dataset):
    built = shipped("brief")
    annex = built.sections["sources"].split('class="brief-section annex"')[1]
    assert "events.csv · ev-defence-agreement" in annex
    assert "article-2024-03-02.txt:13" in annex
    assert dataset.fingerprint[:16] in annex
    notes = re.findall(r'<li id="src-(\d+)"', built.sections["sources"])
    rows = re.findall(r"<tr><td>(\d+)</td>", annex)
    assert notes == rows and notes


def test_reader_notes_give_the_paragraph_and_the_verbatim_fragment():
    sources = plain(shipped("brief").sections["sources"].split("Annex")[0])
    # A relative date in a quote says what it means, on the source's date.
    assert "since last October” [October 2023]" in sources
    assert "visit to Russia in October” [October 2023]" in sources
    assert "Report, para. 3: “A $35 million agreement was signed during this visit”" in sources
    # One source: its label, pointing to the source note that describes it (the data's
    # description, never quoted as if it were a headline).
    assert "Report: the news report of 2 March 2024 the source note describes" in sources
    assert "“Myanmar's junta seeking" not in shipped("brief").html
    assert "graded F3" in sources


def test_every_marker_resolves_to_a_note_and_numbers_run_in_reading_order():
    html = shipped("brief").html
    anchors = [int(n) for n in re.findall(r'<li id="src-(\d+)"', html)]
    cited: list[int] = []
    for sup in re.findall(r'<sup class="cite">(.*?)</sup>', html):
        for part in plain(sup).strip(" []").split(","):
            part = part.split("+")[0].strip()
            lo, _, hi = part.partition("–")
            cited += list(range(int(lo), int(hi or lo) + 1))
    assert set(cited) == set(anchors) == set(range(1, len(anchors) + 1))
    first_seen = list(dict.fromkeys(cited))
    assert first_seen[:5] == [1, 2, 3, 4, 5]


def numbers_from_data(dataset) -> set[str]:
    """Every number a sentence may state: values, their millions, date parts, counts."""
    allowed: set[str] = set()
    for frame in dataset.tables().values():
        for column in frame.columns:
            series = frame[column].dropna()
            if series.dtype.kind in "fi" or str(series.dtype) in ("Float64", "Int64"):
                for value in series:
                    allowed |= {f"{value:g}", f"{value / 1e6:g}", f"{int(value):,}"}
            if series.dtype.kind == "M":
                for value in series:
                    allowed |= {str(value.year), str(value.day)}
            if column in ("evidence", "statement", "title", "phrase"):
                allowed |= set(re.findall(r"\d[\d,.]*", " ".join(series.astype(str))))
    allowed |= {str(n) for n in range(0, 1 + max(len(f) for f in dataset.tables().values()))}
    return allowed


@pytest.mark.parametrize("raw", [{}, {"end": "2023-09-30"}, {"partner": "China"}])
def test_every_number_in_the_text_comes_from_the_data_or_is_marked_as_the_briefs(dataset, raw):
    text = shipped("brief", **raw).text()
    allowed = numbers_from_data(dataset) | {"2", "3", "4", "30"} | {"990"}
    for number in re.findall(r"\d[\d,.]*\d|\d", text):
        assert number.rstrip(".,") in allowed, number


# -- honest time -------------------------------------------------------------------------------


def test_a_knowledge_cut_before_the_source_knows_nothing_and_says_why():
    built = shipped("brief", as_of="2023-09-30")
    text = built.text()
    assert "No source in the data had been published by 30 September 2023" in text
    assert "news report of 2 March 2024, came later" in text
    for fact in ("8 million barrels", "US$35 million", "Sittwe Naval Base", "660 MW"):
        assert fact not in built.html, fact
    assert "<figure" not in built.html
    assert built.sections["key_points"] == "" and built.sections["timeline"] == ""


def test_a_hindsight_brief_shows_only_events_to_the_cut_and_says_it_is_hindsight():
    built = shipped("brief", end="2023-09-30")
    text = built.text()
    assert (
        "Hindsight view: the events up to 30 September 2023, as sources published by "
        "2 March 2024 describe them" in text
    )
    assert "This brief shows only the events up to 30 September 2023" in text
    assert "more than 8 million barrels" in text  # March–June 2023
    for later in ("US$35 million", "Sittwe Naval Base visits Russia", "maritime security"):
        assert later not in text, later
    # Judgments resting only on October's events go with them.
    assert "accelerated notably" not in text and "critical role" not in text
    assert "Date unknown" in text and "may fall outside the window" in text
    # The omission ledger counts what the window drops, by kind, without naming it.
    assert "Left out as dated outside the window: five events, one supply" in text
    # One dated event: no timeline chart, a sentence instead.
    assert "<figure" not in built.sections["timeline"]
    assert "the report dates one: Junta procures oil" in text


def test_a_cut_inside_a_month_leaves_that_months_events_out_as_possibly_after():
    built = shipped("brief", end="2023-10-15")
    text = built.text()
    assert "US$35 million" not in plain(built.sections["key_points"])
    assert "October 2023 — " not in text
    gaps = plain(built.sections["gaps"])
    assert "Left out as possibly outside the window" in gaps
    assert "Chief of the Sittwe Naval Base visits Russia (October 2023)" in gaps


def test_a_cut_inside_a_period_leaves_its_figure_out():
    built = shipped("brief", end="2023-05-15")
    assert "8 million barrels" not in built.text()
    assert "Junta procures oil from Russia for its air force (March–June 2023)" in plain(
        built.sections["gaps"]
    )


def test_the_window_governs_text_figures_and_charts():
    built = shipped("brief", start="2023-11-01", end="2023-11-30")
    text = built.text()
    assert "First maritime security exercise" in text
    for outside in ("US$35 million", "8 million barrels", "Chief of the Sittwe Naval Base visits"):
        assert outside not in text, outside
    # Two dated events: a sentence, not a chart.
    assert "<figure" not in built.sections["timeline"]
    assert "Events from 1 November 2023 to 30 November 2023" not in text  # masthead's job
    assert "Hindsight view: the events from 1 November 2023 up to 30 November 2023" in text


def test_the_timeline_summary_reads_well_with_one_undated_event():
    text = plain(shipped("defence", "India").sections["timeline"])
    assert "it gives no date for the other event, known only to precede 2 March 2024" in text


def test_undated_events_are_undated_in_the_knowledge_view_and_date_unknown_in_a_window():
    assert '<span class="when">Undated</span>' in shipped("brief").html
    assert '<span class="when">Date unknown</span>' not in shipped("brief").html
    assert '<span class="when">Date unknown</span>' in shipped("brief", end="2023-12-31").html


# -- charts earn their place ----------------------------------------------------------------


def test_charts_are_drawn_only_with_enough_to_show():
    # The main brief: five dated events make a timeline; two stated capacities make none.
    main = shipped("brief")
    assert "<figure" in main.sections["timeline"]
    assert "<figure" not in main.sections["energy"]
    # Defence: no quantity stated for any supply, so no supplies chart.
    assert "<figure" not in shipped("defence").sections["defence"]
    # Energy and trade: one dated event, so the timeline is a sentence.
    assert "<figure" not in shipped("energy_trade").sections["timeline"]


def test_the_three_powers_table_puts_the_partner_first_in_the_sources_words():
    for partner, first in (("Russia", "Russia"), ("China", "China"), ("India", "India")):
        table = shipped("defence", partner).sections["actors"]
        rows = re.findall(r"<tr( class=\"partner\")?><th scope=\"row\">([^<]+)</th>", table)
        assert rows[0] == (' class="partner"', first)
        assert {r[1] for r in rows} == {"Russia", "China", "India", "Inside Myanmar"}
    text = plain(shipped("brief").sections["regional"])
    assert "Russia is emerging as the largest supplier of military hardware to Myanmar" in text
    assert "Myanmar's junta is seeking to reduce its reliance on China" in text
    assert "India is closely monitoring the contest for Sittwe between Myanmar Army and " in text


def test_a_section_with_nothing_on_the_partner_says_so_in_words_then_gives_the_context():
    defence = plain(shipped("brief", "China").sections["defence"])
    assert "The report records no defence cooperation between Myanmar and China." in defence
    assert "What it says here concerns Russia." in defence
    assert "Chief of the Sittwe Naval Base visits Russia" in defence
    # China's own part in the region is in the thesis: no such sentence there.
    assert "records nothing on China" not in plain(shipped("brief", "China").sections["regional"])


def test_a_thematic_brief_says_what_it_leaves_to_the_main_brief():
    gaps = plain(shipped("defence").sections["gaps"])
    # A notebook of fixed themes names the topics it leaves to the main brief.
    assert (
        "The report's items on energy or infrastructure projects, trade, currencies or oil and "
        "the region are outside this brief's sections; the main brief covers them." in gaps
    )
    # The main brief, whose themes are a parameter, counts what it leaves out by kind.
    main = plain(shipped("brief", themes="defence").sections["gaps"])
    assert (
        "Left out as outside this brief's sections, on energy or infrastructure projects, "
        "trade, currencies or oil and the region: six events, one supply, six projects" in main
    )


# -- units --------------------------------------------------------------------------------------


def test_data_values_are_escaped_where_they_become_markup(dataset):
    hostile = "<script>alert(1)</script>"
    events = dataset.events.copy()
    events.loc[events["event_id"] == "ev-naval-visit", "title"] = hostile
    tampered = dataclasses.replace(dataset, events=events)
    sel = select(tampered, P.check(P.BriefParams, {}))
    html, _ = narrative.theme_section(sel, Citations(dataset.sources), "defence", stated=set())
    assert hostile not in str(html) and "&lt;script&gt;" in str(html)
    assert isinstance(narrative.render("gaps", silent=["<b>"], left=[], watch=[]), Markup)


def many(frame: pd.DataFrame, times: int) -> pd.DataFrame:
    parts = [frame]
    for k in range(1, times):
        part = frame.copy()
        part[frame.columns[0]] = part[frame.columns[0]].astype(str) + f"-x{k}"
        parts.append(part.astype(frame.dtypes.to_dict()))
    return pd.concat(parts, ignore_index=True)


def test_lists_stop_at_max_rows_and_repeated_statements_make_one_sentence(dataset):
    big = dataclasses.replace(
        dataset,
        events=many(dataset.events, 20),
        supplies=many(dataset.supplies, 20),
        assessments=many(dataset.assessments, 20),
    )
    sel = select(big, P.check(P.BriefParams, {"max_rows": "5"}))
    cites = Citations(big.sources)
    html, said = narrative.key_points(sel, cites, stated={"as-thesis"})
    points = re.findall(r"<li>(.*?)</li>", str(html))
    assert len(points) == 4  # one per theme
    # Twenty rows alike: the first three cited (one note: they quote the same words), the
    # rest counted; and nothing already said (the thesis, in the bottom line) said again.
    assert all(re.search(r'>\d+</a> <span class="cite-more"[^>]*>\+17 alike<', p) for p in points)
    assert not any("reduce its reliance on China" in p for p in points)
    assert str(html).count('<div class="figure-row">') <= narrative.KEY_FIGURES
    defence, _ = narrative.theme_section(sel, cites, "defence", stated=said)
    assert str(defence).count("<li>") == 5
    assert re.search(r"The data records [\d,]+ more events not listed here\.", str(defence))
    facts = str(narrative.supplies_text(sel, cites, sel.on_themes("supplies", ("defence",))))
    assert facts.count("naval equipment") == 1
    assert facts.count("Sukhoi fighter jets") == 1
    economy = str(narrative.supplies_text(sel, cites, sel.on_themes("supplies", ("economy",))))
    assert economy.count("8 million barrels") == 1
    assert "(20 records, March 2023 – June 2023)" in economy
    # Rows that quote the same words share one note: the notes stay few.
    assert len(cites) < 40


def test_markers_cite_the_first_rows_compress_runs_and_count_the_rest(dataset):
    cites = Citations(dataset.sources)
    rows = dataset.assessments.head(5)
    text = str(cites.markers("assessments", rows, limit=3))
    assert re.sub(r"<[^>]+>", "", text) == "[1–3 +2 alike]"
    assert len(cites) == 3  # the uncited rows are not in the notes
    # Two rows quoting the same words share a note.
    supplies = dataset.supplies[
        dataset.supplies["supply_id"].isin(["su-sukhoi", "su-rocket-launchers"])
    ]
    assert cites.numbers("supplies", supplies) == [4, 4]
    assert cites.trail()[-1]["rows"] == [
        {"table": "supplies", "id": "su-sukhoi"},
        {"table": "supplies", "id": "su-rocket-launchers"},
    ]


# -- several sources ----------------------------------------------------------------------------


def with_an_earlier_source(dataset):
    """The shipped data plus an earlier report (20 November 2023) that tells of the naval visit
    and grades better: two independent sources, the earlier one fairly reliable."""
    sources = pd.concat(
        [
            dataset.sources,
            dataset.sources.assign(
                source_id="early-2023-11-20",
                title="a Myanmar naval chief's visit to Russia",
                published=pd.Timestamp("2023-11-20"),
                file="early.txt",
                label="Wire report",
                outlet="A wire service",
                reliability="C",
                credibility="3",
                paragraph_lines="1",
                grading_note=None,
            ),
        ],
        ignore_index=True,
    ).astype(dataset.sources.dtypes.to_dict())
    visit = dataset.events[dataset.events["event_id"] == "ev-naval-visit"]
    early = visit.assign(
        event_id="ev-early-visit",
        title="Myanmar naval delegation visits Russia",
        source_id="early-2023-11-20",
        line=1,
        evidence="a Myanmar naval delegation visited Russia in October",
    )
    events = pd.concat([dataset.events, early], ignore_index=True)
    return dataclasses.replace(
        dataset, sources=sources, events=events.astype(visit.dtypes.to_dict())
    )


def test_a_knowledge_cut_between_two_sources_knows_only_the_earlier(dataset):
    mine = with_an_earlier_source(dataset)
    built = build(mine, "brief", as_of="2023-11-30")
    text = built.text()
    assert "Myanmar naval delegation visits Russia" in text
    # The article of 2 March 2024 was not yet published: none of it, not its thesis either.
    assert THESIS not in text and "8 million barrels" not in text
    assert "a report" not in text.lower() or "Wire report" in text
    note = plain(built.sections["source_note"])
    assert "a news report of 20 November 2023 on a Myanmar naval chief's visit" in note
    assert "A wire service" in note
    assert "Confidence: low" in note
    sources = plain(built.sections["sources"].split("Annex")[0])
    assert "Report, para." not in sources and "Wire report, para. 1:" in sources


def test_two_independent_sources_one_fairly_reliable_give_moderate_confidence(dataset):
    built = build(with_an_earlier_source(dataset), "brief")
    bluf = plain(built.sections["bottom_line"])
    assert "According to one news report of 2 March 2024 (Report), " + THESIS in bluf
    assert (
        "The brief rests on two independent sources, one of them at least fairly reliable, so "
        "confidence in it is moderate." in bluf
    )
    note = plain(built.sections["source_note"])
    assert "This brief rests on two sources, independent of one another:" in note
    assert "Report, a news report of 2 March 2024, graded F3" in note
    assert "Wire report, a news report of 20 November 2023 (A wire service), graded C3" in note
    # Each claim names its source when there are several.
    assert "Report says" in built.text() and "The report says" not in built.text()


@pytest.mark.parametrize(("name", "partner"), EVERY_BRIEF)
def test_every_quote_is_curly(name, partner):
    # One style, in the text and in the charts' own words (the SVG text nodes).
    built = shipped(name, partner)
    text = re.sub(r"<[^>]+>", " ", built.html)
    assert "'" not in htmllib.unescape(text) and '"' not in htmllib.unescape(text)
    for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', built.html):
        svg = base64.b64decode(data).decode("utf-8")
        words = htmllib.unescape(" ".join(re.findall(r">([^<]+)<", svg)))
        assert "'" not in words and '"' not in words
    assert "Myanmar\u2019s junta" in built.html
