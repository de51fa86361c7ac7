"""The rules an editor applies to every brief of the proof, each ``rule(doc) -> [Violation]``.

Each rule is a small function of one :class:`~helpers.proof.document.Document`; it returns
what it found wrong, each finding a :class:`Violation` naming the rule, the brief, the page
when known, the sentence or element, and a short why. :data:`RULES` lists them in the order
the proof report shows them. A rule that needs something the document lacks (a PDF, measured
charts) finds nothing rather than guessing. To add a rule: write the function here, add it to
:data:`RULES`, and give it a fixture that breaks it and one it passes in
``tests/proof/test_proof_rules.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from helpers.proof.document import THEME_SECTIONS, Document, Text
from helpers.report.masthead import SECTION_NAMES


@dataclass(frozen=True)
class Violation:
    """One thing a rule found wrong in one brief."""

    rule: str
    brief: str
    text: str
    why: str
    page: int | None = None
    part: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "brief": self.brief,
            "page": self.page,
            "part": self.part,
            "text": self.text,
            "why": self.why,
        }


Rule = Callable[[Document], list[Violation]]


def _found(
    doc: Document, rule: str, text: str, why: str, *, part: str = "", page: int | None = None
) -> Violation:
    if page is None and doc.pages:
        page = doc.page_of(text)
    return Violation(rule, doc.brief_id, text, why, page, part)


def _sentences(text: str) -> list[str]:
    """Sentences of a block (split after . ! ? followed by a space and a capital)."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", text)
    return [p.strip() for p in parts if p.strip()]


# -- 1. number and pronoun agreement ------------------------------------------------------------

# Up to three digits: a year ("the October 2023 visit") is not a count.
_NUMBER = r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[2-9]|[1-9][0-9]{1,2})"
_NOUNS = (
    "event",
    "project",
    "supply",
    "supplie",  # "supplies" less its s
    "judgment",
    "assessment",
    "place",
    "source",
    "item",
    "row",
    "note",
    "date",
    "point",
    "section",
    "plant",
    "port",
    "agreement",
    "visit",
    "exercise",
    "report",
    "figure",
    "power",
)
_SINGULAR = "|".join(n for n in _NOUNS if n != "supplie")
_PLURAL = "|".join(f"{n}s" for n in _NOUNS if n not in ("supply",))
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"

#: Each pattern, and why it is wrong.
AGREEMENT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bnone of the (two|2|both)\b", re.I), "of two, say 'neither'"),
    (
        re.compile(r"\ball (of them )?(two|2)\b", re.I),
        "of two, say 'both' (or 'neither' in a negative)",
    ),
    (
        re.compile(rf"\ball of them {_NUMBER}\b", re.I),
        "'all of them five': say 'all five' or 'all of them'",
    ),
    (re.compile(r"\bof nothing about\b", re.I), "'knows of nothing about': one preposition"),
    (
        re.compile(rf"\bfor all {_NUMBER}\b[^.]*", re.I),
        "'gives no date for all N': say 'dates none of the N'",
    ),
    (
        re.compile(rf"\bbetween ({_MONTHS}) (\d{{4}}) and \d{{1,2}} \1 \2\b"),
        "a span from a month to a day of that same month",
    ),
    (
        re.compile(rf"\bbetween ({_MONTHS}) (\d{{4}}) and \1 \2\b"),
        "a span from a month to the same month",
    ),
    (
        re.compile(
            rf"\b(?:the|one|this|a single) (?:dated |undated )?(?:{_SINGULAR}) (?:has|is|was)\b"
            r"[^.;]*; they\b",
            re.I,
        ),
        "'they' of one thing",
    ),
    (
        re.compile(rf"\b(?:1|one|a single) (?:dated |undated |other )?(?:{_PLURAL})\b", re.I),
        "one, then a plural noun",
    ),
    (
        re.compile(rf"\b{_NUMBER} (?:dated |undated |other )?(?:{_SINGULAR})\b(?!['’-])", re.I),
        "a number above one, then a singular noun",
    ),
    (
        re.compile(
            rf"(?<!and )(?<!or )\b(?:one|1|a single) (?:dated |undated |other )?(?:{_SINGULAR}) "
            r"(?:are|were|have)\b",
            re.I,
        ),
        "one ... are: a singular subject with a plural verb",
    ),
    (
        re.compile(r"\bone of (?:the|its|these) [a-z]+s (?:are|were|have)\b", re.I),
        "one of ... are: 'one' takes a singular verb",
    ),
)
_THEM = re.compile(r"\bdoes not date them\b|\bgives? no date for them\b", re.I)
#: What makes the things before a "them" more than one.
_PLURAL_CONTEXT = re.compile(
    rf"\b(?:and|or|them|they|both|all|several|these|those|{_NUMBER})\b|\b(?:{_PLURAL}|supplies)\b",
    re.I,
)


def rule_agreement(doc: Document) -> list[Violation]:
    """1. Numbers and pronouns agree with what they count: no "none of the two", "all two",
    "all of them five", "knows of nothing about", "between October 2023 and 31 October
    2023", "1 events", "one ... are", and no "them" of one thing."""
    found = []
    for block in doc.body_texts():
        whys: dict[str, list[str]] = {}
        for pattern, why in AGREEMENT:
            for match in pattern.finditer(block.text):
                whys.setdefault(_around(block.text, match), []).append(why)
        for text, reasons in whys.items():
            found.append(_found(doc, "agreement", text, "; ".join(reasons), part=block.part))
        sentences = _sentences(block.text)
        for i, sentence in enumerate(sentences):
            before = sentences[:i]
            if (
                _THEM.search(sentence)
                and before
                and not any(_PLURAL_CONTEXT.search(b) for b in before)
            ):
                found.append(
                    _found(
                        doc,
                        "agreement",
                        " ".join([*before, sentence]),
                        "'them' of one thing",
                        part=block.part,
                    )
                )
    return found


def _around(text: str, match: re.Match[str], width: int = 70) -> str:
    """The sentence holding a match (cut to about ``width`` characters either side)."""
    stop = text.rfind(". ", 0, match.start())
    start = max(stop + 2 if stop >= 0 else 0, match.start() - width, 0)
    if start > stop + 2 and start > 0:  # cut inside the sentence: start at a word
        start = text.find(" ", start) + 1
    end = text.find(". ", match.end())
    end = len(text) if end < 0 else end + 1
    end = min(end, match.end() + width)
    return text[start:end].strip()


# -- 2. the scope line ---------------------------------------------------------------------------


def rule_scope_line(doc: Document) -> list[Violation]:
    """2. The scope line of the masthead lists exactly the theme sections the body shows."""
    listed = doc.scope.get("Sections")
    if listed is None:
        return []
    # The scope line names sections as a reader reads them ("energy and infrastructure",
    # "trade"); "none ..." when the brief shows none.
    by_name = {words: theme for theme, words in SECTION_NAMES.items()}
    named = (
        []
        if listed.strip().startswith("none")
        else [by_name.get(s.strip(), s.strip()) for s in listed.split(",") if s.strip()]
    )
    shown = [s for s in doc.sections if s in THEME_SECTIONS]
    problems = [
        f"lists {name!r}, but the brief has no {name} section"
        for name in named
        if name not in shown
    ]
    problems += [f"omits {name!r}, a section the brief has" for name in shown if name not in named]
    if not problems:
        return []
    return [
        _found(
            doc,
            "scope line",
            f"Sections: {listed}",
            "the scope line " + "; ".join(problems),
            part="masthead",
            page=1 if doc.pages else None,
        )
    ]


# -- 3. every omission named and counted ---------------------------------------------------------

_WORDS = {
    "one": 1,
    "single": 1,
    "two": 2,
    "both": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_KIND_WORDS = {
    "events": r"events?|talks|visits?|exercises?|agreements?",
    "projects": r"projects?",
    "supplies": r"supplies|supply|supplied items?",
    "judgments": r"judgments?|assessments?",
    "places": r"places?",
}
_COUNT = re.compile(
    r"\b(\d{1,3}|" + "|".join(_WORDS) + r")\b"
    r"(?:\s+of\s+the\s+(?:\d{1,3}|" + "|".join(_WORDS) + r"))?"
    r"((?:\s+[a-z’'-]+){0,3}?)\s+("
    + "|".join(f"(?P<{kind}>{words})" for kind, words in _KIND_WORDS.items())
    + r")\b",
    re.I,
)


#: A sentence about rows the brief leaves out (not about rows it keeps and flags).
_LEFT_OUT = re.compile(
    r"\bleft out\b|\bleaves? out\b|\bnot in this brief\b|\bset aside\b|\bexclud|\bomit"
    r"|\bdrop|\bnot shown\b|\bunknown to\b|\bpublished after\b",
    re.I,
)


def stated_counts(texts: Iterable[str]) -> dict[str, int]:
    """Per kind, the sum of the counts the texts give ("Two events", "one supply", "3
    judgments of the report")."""
    counts: dict[str, int] = {}
    sentences = [s for text in texts for s in _sentences(text) if _LEFT_OUT.search(s)]
    for text in sentences:
        for match in _COUNT.finditer(text):
            word = match.group(1).lower()
            number = int(word) if word.isdigit() else _WORDS[word]
            kind = next(k for k in _KIND_WORDS if match.group(k))
            counts[kind] = counts.get(kind, 0) + number
    return counts


_SINGULAR_OF = {
    "events": "event",
    "projects": "project",
    "supplies": "supply",
    "judgments": "judgment",
    "places": "place",
}


def _count(n: int, kind: str) -> str:
    """'1 event', '3 events'."""
    return f"{n} {_SINGULAR_OF.get(kind, kind) if n == 1 else kind}"


def rule_omissions(doc: Document) -> list[Violation]:
    """3. Every kind of row the parameters drop (events, projects, supplies, judgments,
    places) is named in "What this brief leaves out", with a count matching what the data
    and the time view drop (:attr:`Expected.dropped`). One finding per brief, naming each
    kind missing or miscounted."""
    dropped = doc.expected.dropped
    if not dropped:
        return []
    stated = stated_counts(doc.leaves_out)
    problems = []
    for kind, ids in sorted(dropped.items()):
        listed = ", ".join(sorted(ids)[:5]) + (", ..." if len(ids) > 5 else "")
        if kind not in stated:
            problems.append(f"{_count(len(ids), kind)} dropped ({listed}), none named with a count")
        elif stated[kind] != len(ids):
            problems.append(f"{kind}: counts {stated[kind]}, the parameters drop {len(ids)}")
    if not problems:
        return []
    shown = "; ".join(doc.leaves_out) or "(no “What this brief leaves out” list)"
    return [_found(doc, "omissions", shown, "; ".join(problems), part="gaps")]


# -- 4. nothing outside the view -----------------------------------------------------------------

#: The ways a brief flags a row that may fall outside its window.
_FLAG = re.compile(r"date unknown|\(undated\)|does not date|gives? no date|may fall outside", re.I)


def rule_view(doc: Document) -> list[Violation]:
    """4. No part of the brief (bottom line, key points, figures, tables, the editions box)
    cites a row outside its view (a window, the knowledge cut, undated rows left out, or a
    fact tied to such an event), and a row the brief may show only as "date unknown"
    carries a flag in every block that cites it. One finding per block; the edition's
    ledger is checked too."""
    expected = doc.expected
    if not doc.trail:
        return []
    found = []
    for block in doc.body_texts():
        if block.part in ("sources", "annex") or not block.notes:
            continue
        problems = []
        for note in dict.fromkeys(block.notes):
            rows = {f"{t}:{i}" for t, i in doc.trail.get(note, [])}
            outside = sorted(rows & expected.outside)
            # A note cites a row outside the view only if none of its rows is in it.
            if outside and rows <= expected.outside | _context_rows(rows):
                problems.append(f"note {note} rests on {', '.join(outside)}, outside the view")
            unknown = sorted(rows & expected.date_unknown)
            if unknown and not _FLAG.search(block.text):
                problems.append(
                    f"note {note} cites {', '.join(unknown)}, which may fall outside the "
                    "window, with no “date unknown” flag"
                )
        if problems:
            found.append(_found(doc, "view", block.text, "; ".join(problems), part=block.part))
    found += _charts_outside(doc)
    leaked = sorted(doc.ledger & expected.outside)
    if leaked:
        found.append(
            _found(
                doc,
                "view",
                ", ".join(leaked),
                "the edition's ledger shows rows outside the brief's view",
                part="ledger",
            )
        )
    return found


def _charts_outside(doc: Document) -> list[Violation]:
    """Charts (their alt text, generated from the same rows as the drawing) naming a row
    outside the view."""
    found = []
    for block in doc.body_texts():
        if block.element != "img.alt":
            continue
        text = block.text.lower()
        named = [
            f"{key} (“{label}”)"
            for key, label in sorted(doc.expected.outside_labels.items())
            if label.lower() in text
        ]
        if named:
            found.append(
                _found(
                    doc,
                    "view",
                    block.text[:200],
                    "a chart shows rows outside the view: " + ", ".join(named),
                    part="chart",
                )
            )
    return found


def _context_rows(rows: set[str]) -> set[str]:
    """Relations travel with the facts they tie (a note cites both): they do not make a note
    in view on their own."""
    return {row for row in rows if row.startswith("relations:")}


# -- 9. notes in reading order -------------------------------------------------------------------


def rule_note_order(doc: Document) -> list[Violation]:
    """9. The first citation of note n+1 comes after the first citation of note n."""
    order: list[int] = []
    where: dict[int, Text] = {}
    for block in doc.body_texts():
        if block.part in ("sources", "annex"):
            continue
        for note in block.notes:
            if note not in where:
                where[note] = block
                order.append(note)
    found = []
    highest = 0
    for note in order:
        if note < highest:
            block = where[note]
            found.append(
                _found(
                    doc,
                    "note order",
                    block.text,
                    f"note {note} is first cited after note {highest}",
                    part=block.part,
                )
            )
        highest = max(highest, note)
    return found


# -- 10. no plumbing on the page -----------------------------------------------------------------

PLUMBING: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bdata/"), "a data folder's path"),
    (re.compile(r"\b[\w-]+\.(?:csv|ipynb|json|txt|py|yaml)\b"), "a file name"),
    (re.compile(r"\blines? \d+(?:, \d+)*(?: and \d+)?\b"), "line numbers of a file"),
    (re.compile(r"\bNotebook:"), "the notebook's name"),
    (re.compile(r"\brows?\b"), "the data's word 'row'"),
    (
        re.compile(
            r"\b(?:include_undated|as_of|max_rows|data_dir|date_precision|related_event_id|"
            r"rests_on|source_id|partner_id)\b"
        ),
        "a parameter or column name",
    ),
    (re.compile(r"\b(?:ev|pr|su|as|rel|ju)-[a-z0-9]+(?:-[a-z0-9]+)+\b"), "a row id"),
)


def _plumbing_in(text: str) -> list[tuple[str, str]]:
    """(what, why) of each kind of plumbing in ``text``."""
    return [(m.group(), why) for pattern, why in PLUMBING if (m := pattern.search(text))]


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def rule_plumbing(doc: Document) -> list[Violation]:
    """10. No plumbing on the page: paths, file names, line numbers, "Notebook:", "row",
    parameter names or row ids, in the HTML (its annex exempt: the data trail belongs there)
    or in the PDF text (a chart's drawn source line included). One finding per block."""
    found = []
    for block in doc.body_texts():
        hits = _plumbing_in(block.text)
        if hits:
            found.append(
                _found(
                    doc,
                    "plumbing",
                    block.text if len(block.text) < 200 else block.text[:200] + "...",
                    "on the page: " + "; ".join(f"{why} (“{what}”)" for what, why in hits),
                    part=block.part,
                )
            )
    html_text = _flat(" ".join(t.text for t in doc.body_texts()))
    for page in doc.pages:
        for line in page.lines:
            hits = _plumbing_in(line.text)
            if hits and _flat(line.text) not in html_text:
                found.append(
                    _found(
                        doc,
                        "plumbing",
                        line.text,
                        "in the PDF (not in the HTML text: a chart's drawn text, say): "
                        + "; ".join(f"{why} (“{what}”)" for what, why in hits),
                        part="pdf",
                        page=page.number,
                    )
                )
    return found


# -- 11. titles consistent with the content ------------------------------------------------------

_TITLE_THEMES = {
    "defence": r"\bdefen[cs]e\b|\bmilitary\b|\bexercises?\b|\bsupplies\b",
    "energy": r"\benergy\b|\binfrastructure\b|\bprojects?\b",
    "economy": r"\btrade\b|\beconom\w*\b|\boil\b|\bsettlement\b",
    "regional": r"\bregion\w*\b",
}


#: A title that says what the report does not record ("...: the report records no defence
#: cooperation") promises nothing on the themes it names after it.
_NEGATED = re.compile(r"\brecords no\b|\bnothing on\b", re.I)


def _title_problems(doc: Document, where: str, text: str) -> list[str]:
    expected = doc.expected
    partner = str(doc.parameters.get("partner", ""))
    shown = set(doc.sections)
    problems = []
    for theme, words in _TITLE_THEMES.items():
        match = re.search(words, text, re.I)
        if not match:
            continue
        if _NEGATED.search(text[: match.start()]):
            continue  # "the report records no defence cooperation": a finding, not a promise
        if theme not in shown:
            problems.append(f"names {match.group()!r}, but the brief has no {theme} section")
        elif partner and partner in text and expected.partner_rows.get(theme, 1) == 0:
            problems.append(
                f"pairs {partner} with {match.group()!r}; the brief records nothing on {theme} "
                f"involving {partner}"
            )
    if re.search(r"\bsources\b", text, re.I) and expected.sources <= 1:
        problems.append(
            f"says 'sources'; the brief rests on {'one source' if expected.sources else 'none'}"
        )
    match = re.search(r"\bwars?\b", text, re.I)
    if match and expected.evidence and not re.search(r"\bwars?\b", expected.evidence):
        problems.append(
            f"says {match.group()!r}; the source speaks of hostilities and conflict, never war"
        )
    return problems


def rule_titles(doc: Document) -> list[Violation]:
    """11. The title, subtitle and headings promise only what the brief holds: no theme the
    brief has no section for, no theme it records nothing on for a partner the title names,
    "sources" only with more than one source, "war" only if the source says war."""
    found = []
    for where, text in (
        ("title", doc.title),
        ("subtitle", doc.subtitle),
        *(("heading", h) for _, h in doc.headings),
    ):
        if not text:
            continue
        problems = _title_problems(doc, where, text)
        if where == "heading":
            problems = [p for p in problems if "war" in p]
        if problems:
            found.append(
                _found(
                    doc,
                    "titles",
                    text,
                    f"the {where} " + "; ".join(problems),
                    part="masthead" if where != "heading" else "heading",
                    page=1 if doc.pages and where != "heading" else None,
                )
            )
    return found


# -- 12. quotes -----------------------------------------------------------------------------------

_STRAIGHT_DOUBLE = re.compile(r'"')
_STRAIGHT_SINGLE_QUOTE = re.compile(r"(?:^|(?<=[\s(\[]))'(?=\w)|(?<=[\w.,!?])'(?=[\s).,;:]|$)")


def rule_quotes(doc: Document) -> list[Violation]:
    """12. Quotation marks are curly, in one style: no straight double or single quotes as
    quotation marks, and apostrophes either all curly or all straight. Code is exempt."""
    found = []
    curly_apostrophe = straight_apostrophe = None
    for block in doc.body_texts(annex=True):
        text = block.prose
        for pattern, why in (
            (_STRAIGHT_DOUBLE, "a straight double quote"),
            (_STRAIGHT_SINGLE_QUOTE, "a straight single quote used as a quotation mark"),
        ):
            match = pattern.search(text)
            if match and not _is_possessive(text, match.start()):
                found.append(_found(doc, "quotes", _around(text, match), why, part=block.part))
        if re.search(r"\w’\w", text):
            curly_apostrophe = curly_apostrophe or block
        if re.search(r"\w'\w", text):
            straight_apostrophe = straight_apostrophe or block
    if curly_apostrophe and straight_apostrophe:
        found.append(
            _found(
                doc,
                "quotes",
                _first(curly_apostrophe.text, "’") + " / " + _first(straight_apostrophe.text, "'"),
                "apostrophes in two styles: curly (’) and straight (')",
                part=straight_apostrophe.part,
            )
        )
    return found


def _is_possessive(text: str, at: int) -> bool:
    """A straight ' after an s that ends a plural possessive ("the powers' ties")."""
    return text[at] == "'" and at > 0 and text[at - 1] == "s" and text[at + 1 : at + 2] == " "


def _first(text: str, mark: str) -> str:
    at = text.find(mark)
    start = max(text.rfind(" ", 0, max(at - 12, 0)) + 1, 0)
    end = text.find(" ", at + 8)
    return text[start : end if end > 0 else len(text)]


# -- the layout rules (the PDF) ------------------------------------------------------------------

#: Fewer body lines than this on a page make it a near-empty page.
MIN_BODY_LINES = 4


def rule_thin_page(doc: Document) -> list[Violation]:
    """5. No PDF page holds fewer than :data:`MIN_BODY_LINES` lines of body text (a last page
    with only the footer, or a heading and a line)."""
    found = []
    for page in doc.pages:
        body = page.body
        if len(body) < MIN_BODY_LINES:
            shown = " / ".join(line.text for line in body) or "(only the running header/footer)"
            found.append(
                _found(
                    doc,
                    "thin page",
                    shown,
                    f"page {page.number} of {len(doc.pages)} holds {len(body)} line"
                    f"{'' if len(body) == 1 else 's'} of body text",
                    part="pdf",
                    page=page.number,
                )
            )
    return found


def _locate(doc: Document, text: str, after: tuple[int, int] = (0, -1)) -> tuple[int, int] | None:
    """(page index, line index) of the first PDF line at or after ``after`` that starts with
    ``text``'s first words."""
    wanted = _squash_words(text)[:40]
    if not wanted:
        return None
    for p, page in enumerate(doc.pages):
        for i, line in enumerate(page.lines):
            if (p, i) <= after:
                continue
            got = _squash_words(line.text)
            if len(got) >= 4 and (got.startswith(wanted) or wanted.startswith(got)):
                return p, i
    return None


def _squash_words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def rule_table_split(doc: Document) -> list[Violation]:
    """6. No table is split before its second body row: its caption or header, and its first
    two body rows, stand on one page."""
    found = []
    for table in doc.tables:
        if len(table.rows) < 2 or not doc.pages:
            continue
        start = _locate(doc, table.caption or table.header)
        if start is None:
            continue
        first = _locate(doc, table.rows[0], start)
        second = _locate(doc, table.rows[1], first) if first else None
        if first and second and second[0] != start[0]:
            found.append(
                _found(
                    doc,
                    "table split",
                    table.caption or table.header,
                    f"the table starts on page {start[0] + 1}; its "
                    f"{'first' if first[0] != start[0] else 'second'} body row "
                    f"({table.rows[0 if first[0] != start[0] else 1]!r}) is on page "
                    f"{(first if first[0] != start[0] else second)[0] + 1}",
                    part="table",
                    page=start[0] + 1,
                )
            )
    return found


def rule_stranded_heading(doc: Document) -> list[Violation]:
    """7. No heading stands at a page's foot without the first line of what follows it."""
    found = []
    headings = [h for _, h in doc.headings] + [
        t.text for t in doc.texts if t.element in ("p.gaps-head", "p.numbers-head")
    ]
    for page in doc.pages:
        body = page.body
        if not body or page.number == len(doc.pages):
            continue
        # Letters only: a letter-spaced heading ("K EY POINTS") is still the heading.
        last = _letters(body[-1].text)
        for heading in headings:
            if last == _letters(heading):
                found.append(
                    _found(
                        doc,
                        "stranded heading",
                        heading,
                        f"the heading is the last line of page {page.number}; its text starts "
                        f"on page {page.number + 1}",
                        part="pdf",
                        page=page.number,
                    )
                )
    return found


#: Four or more capitals each standing alone ("M Y A N M A R"): a word spelt out by spacing.
_SPACED = re.compile(r"\b(?:[A-Z] ){3,}[A-Z]\b")


def rule_letter_spacing(doc: Document) -> list[Violation]:
    """13. Text taken from the PDF reads as words: a PDF line holding a heading or label
    reads as the label is written, not broken by letter spacing ("B OT TOM LINE"), and no
    line spells a word out letter by letter ("M Y A N M A R" on a map)."""
    if not doc.pages:
        return []
    labels = {h for _, h in doc.headings} | {
        t.text
        for t in doc.texts
        if t.element in ("p.gaps-head", "p.numbers-head", "p.brief-kicker", "th")
    }
    wanted = {_letters(label): label for label in labels if _letters(label)}
    found = []
    for page in doc.pages:
        for line in page.lines:
            spaced = _SPACED.search(line.text)
            if spaced:
                found.append(
                    _found(
                        doc,
                        "letter spacing",
                        line.text,
                        f"“{spaced.group()}” extracts from the PDF letter by letter",
                        part="pdf",
                        page=page.number,
                    )
                )
                continue
            label = wanted.get(_letters(line.text))
            if label and _words(line.text) != _words(label):
                found.append(
                    _found(
                        doc,
                        "letter spacing",
                        line.text,
                        f"“{label}” extracts from the PDF as “{line.text}”",
                        part="pdf",
                        page=page.number,
                    )
                )
    return found


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


# -- the charts -----------------------------------------------------------------------------------


def _overlap(a: dict, b: dict) -> float:
    w = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
    h = min(a["y1"], b["y1"]) - max(a["y0"], b["y0"])
    return w * h if w > 0 and h > 0 else 0.0


def _area(a: dict) -> float:
    return max(a["x1"] - a["x0"], 0) * max(a["y1"] - a["y0"], 0)


def _luminance(rgb: Iterable[float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: Iterable[float], b: Iterable[float]) -> float:
    """WCAG contrast ratio of two sRGB colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


#: Labels overlapping by more than this share of the smaller one's area collide.
LABEL_OVERLAP = 0.15
#: Below this contrast, a label over a mark is hard to read (WCAG AA for text: chart labels
#: are small, 8 px, so the large-text 3:1 does not apply).
MIN_CONTRAST = 4.5
#: A shape this many times larger than a label on it is an area (a country on a map, a
#: band), not a mark: the label is meant to sit on it, and is held to 3:1 only.
AREA_RATIO = 10
MIN_AREA_CONTRAST = 3.0


def rule_chart_labels(doc: Document) -> list[Violation]:
    """8. No chart label overlaps another label, and none sits on a mark it does not contrast
    with (a dark label on a dark bar), from the boxes Chromium measured
    (:mod:`helpers.proof.charts`)."""
    found = []
    for chart in doc.charts:
        if not chart.boxes:
            continue
        texts = [b for b in chart.boxes if b["kind"] == "text" and b["text"].strip()]
        marks = [b for b in chart.boxes if b["kind"] == "mark"]
        where = f"Figure {chart.index}"
        for i, a in enumerate(texts):
            for b in texts[i + 1 :]:
                shared = _overlap(a, b)
                smaller = min(_area(a), _area(b)) or 1
                if shared / smaller > LABEL_OVERLAP:
                    found.append(
                        _found(
                            doc,
                            "chart labels",
                            f"{where}: “{a['text']}” / “{b['text']}”",
                            f"two labels overlap ({shared / smaller:.0%} of the smaller)",
                            part="chart",
                        )
                    )
            for mark in marks:
                shared = _overlap(a, mark)
                if shared / (_area(a) or 1) <= LABEL_OVERLAP:
                    continue
                ratio = contrast(a["fill"], mark["fill"])
                area = _area(mark) >= AREA_RATIO * (_area(a) or 1)
                if ratio < (MIN_AREA_CONTRAST if area else MIN_CONTRAST):
                    found.append(
                        _found(
                            doc,
                            "chart labels",
                            f"{where}: “{a['text']}”",
                            f"the label sits on {'an area' if area else 'a mark'} it barely "
                            f"contrasts with (contrast {ratio:.1f}:1, under "
                            f"{MIN_AREA_CONTRAST if area else MIN_CONTRAST:g}:1)",
                            part="chart",
                        )
                    )
                    break
    return found


#: Every rule, by name, in the order the proof report shows them.
RULES: dict[str, Rule] = {
    "agreement": rule_agreement,
    "scope line": rule_scope_line,
    "omissions": rule_omissions,
    "view": rule_view,
    "thin page": rule_thin_page,
    "table split": rule_table_split,
    "stranded heading": rule_stranded_heading,
    "chart labels": rule_chart_labels,
    "note order": rule_note_order,
    "plumbing": rule_plumbing,
    "titles": rule_titles,
    "quotes": rule_quotes,
    "letter spacing": rule_letter_spacing,
}


def check(doc: Document, rules: dict[str, Rule] | None = None) -> list[Violation]:
    """Every rule's findings on one brief."""
    found: list[Violation] = []
    for rule in (rules or RULES).values():
        found.extend(rule(doc))
    return found
