"""Validation: the shipped data is valid, and each kind of breakage is reported precisely."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SOURCE_FILE, needs_source

from helpers import paths
from helpers.cli import main
from helpers.data import package
from helpers.data.validation import MAX_EVIDENCE_WORDS, validate
from helpers.errors import DataValidationError


def edit(folder: Path, file: str, old: str, new: str, count: int = 1) -> None:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test set-up: {old!r} not in {file}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_shipped_data_is_valid_and_every_evidence_check_ran():
    report = validate()
    assert report.problems == []
    if SOURCE_FILE is None:
        pytest.skip("source text absent: evidence checks were skipped")
    assert report.skipped == []


def test_every_evidence_fragment_stands_on_its_cited_line(dataset):
    if SOURCE_FILE is None:
        pytest.skip("source text absent: evidence not checked")
    lines = SOURCE_FILE.read_text(encoding="utf-8").splitlines()
    checked = 0
    for name, frame in dataset.tables().items():
        for _, row in frame.iterrows():
            assert row["evidence"] in lines[int(row["line"]) - 1], (name, row.iloc[0])
            assert len(row["evidence"].split()) <= MAX_EVIDENCE_WORDS, (name, row.iloc[0])
            checked += 1
    assert checked > 50


def test_project_holds_no_more_of_the_article_than_short_fragments():
    """No data file carries a run of 16 consecutive words of any source line."""
    if SOURCE_FILE is None:
        pytest.skip("source text absent")
    data_text = " ".join(
        " ".join(p.read_text(encoding="utf-8").split()) for p in paths.DATA_DIR.glob("*.csv")
    )
    for line in SOURCE_FILE.read_text(encoding="utf-8").splitlines():
        words = line.split()
        for i in range(len(words) - MAX_EVIDENCE_WORDS):
            run = " ".join(words[i : i + MAX_EVIDENCE_WORDS + 1])
            assert run not in data_text


# Each case: (file, old text, new text, expected file:line, column, words in the message)
BROKEN = {
    "bad date": (
        "events.csv",
        "2023-11-01,2023-11-30",
        "2023-11-31,2023-11-30",
        ("events.csv", 10, "date_start"),
        "type error",
    ),
    "unknown foreign key": (
        "events.csv",
        "Base visits Russia,defence,sittwe-naval-chief",
        "Base visits Russia,defence,nobody",
        ("events.csv", 7, None),
        "unknown reference",
    ),
    "duplicate id": (
        "projects.csv",
        "pr-sez,",
        "pr-deep-sea-port,",
        ("projects.csv", 3, None),
        "duplicate id",
    ),
    "negative capacity": (
        "projects.csv",
        ",660,MW,",
        ",-660,MW,",
        ("projects.csv", 5, "capacity"),
        "minimum",
    ),
    "unknown unit": (
        "projects.csv",
        ",330,MW,",
        ",330,GW,",
        ("projects.csv", 6, "capacity_unit"),
        "enum",
    ),
    "end before start": (
        "supplies.csv",
        "2023-03-01,2023-06-30",
        "2023-06-30,2023-03-01",
        ("supplies.csv", 5, "date_end"),
        "ends before it starts",
    ),
    "evidence not on the cited line": (
        "supplies.csv",
        "ev-oil-procurement,procurement,false,art-2024-03-02,13,",
        "ev-oil-procurement,procurement,false,art-2024-03-02,7,",
        ("supplies.csv", 5, "evidence"),
        "not on line 7",
    ),
    "date after the source's": (
        "events.csv",
        "2023-11-01,2023-11-30,month",
        "2024-11-01,2024-11-30,month",
        ("events.csv", 10, "date_start"),
        "after its source's date",
    ),
    "evidence too long": (
        "actors.csv",
        "to fuel its air force",
        "the junta's procurement of over 8 million barrels of oil from Russia "
        "between March and June 2023 to fuel its air force",
        ("actors.csv", 10, "evidence"),
        "quote at most 15",
    ),
}


# The project's rules on sourcing: each case as in BROKEN.
BROKEN_SOURCING = {
    "second thesis for one source": (
        "assessments.csv",
        'false,possible,,art-2024-03-02,17,"could alter',
        'true,possible,,art-2024-03-02,17,"could alter',
        ("assessments.csv", 12, "thesis"),
        "already has its thesis on line 2",
    ),
    "rests_on names no row": (
        "assessments.csv",
        "ev-defence-agreement,art-2024-03-02,13,emphasizing",
        "ev-defence-accord,art-2024-03-02,13,emphasizing",
        ("assessments.csv", 8, "rests_on"),
        "which is no row of",
    ),
    "cited line is not a listed paragraph": (
        "actors.csv",
        "Myanmar Army,armed_forces,myanmar,junta,,art-2024-03-02,17,",
        "Myanmar Army,armed_forces,myanmar,junta,,art-2024-03-02,15,",
        ("actors.csv", 9, "line"),
        "not one of the paragraphs",
    ),
}


def test_a_second_thesis_a_dangling_rests_on_and_an_unlisted_paragraph_are_each_reported(
    data_copy,
):
    for file, old, new, _, _ in BROKEN_SOURCING.values():
        edit(data_copy, file, old, new)
    problems = validate(data_copy).problems
    for case, (_, _, _, (where_file, line, column), words) in BROKEN_SOURCING.items():
        assert any(
            p.file == where_file and p.line == line and p.column == column and words in p.message
            for p in problems
        ), (case, [str(p) for p in problems])


def test_two_sources_with_one_label_are_reported(data_copy):
    path = data_copy / "sources.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.append(lines[1].replace("art-2024-03-02,", "art-copy,", 1))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = validate(data_copy).problems
    assert any(
        p.file == "sources.csv"
        and p.line == 3
        and p.column == "label"
        and "already used" in p.message
        for p in problems
    ), [str(p) for p in problems]


def test_the_optional_judgments_table_may_be_absent_or_hold_rows(data_copy):
    (data_copy / "judgments.csv").unlink()
    assert validate(data_copy).problems == []
    (data_copy / "judgments.csv").write_text(
        "judgment_id,theme,statement,likelihood,confidence,rests_on,watch,analyst,made\n"
        "j-1,defence,Russian arms deliveries will likely continue.,likely,low,"
        "ev-defence-agreement;as-largest-supplier,A second source on deliveries,A. Analyst,"
        "2024-03-10\n"
        "j-2,energy,The power plants will be built.,certain,high,pr-nowhere,,,2024-03-10\n",
        encoding="utf-8",
    )
    problems = validate(data_copy).problems
    where = {(p.file, p.line, p.column) for p in problems}
    assert ("judgments.csv", 3, "likelihood") in where  # not an ICD 203 word
    assert ("judgments.csv", 3, "rests_on") in where  # no such row
    assert not any(p.line == 2 for p in problems if p.file == "judgments.csv")


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=needs_source) if case == "evidence not on the cited line" else case
        for case in sorted(BROKEN)
    ],
)
def test_each_breakage_is_reported_with_file_line_column_and_exit_3(case, data_copy, capsys):
    file, old, new, (where_file, line, column), words = BROKEN[case]
    edit(data_copy, file, old, new)
    report = validate(data_copy)
    matching = [
        p
        for p in report.problems
        if p.file == where_file
        and p.line == line
        and words in p.message
        and (column is None or p.column == column)
    ]
    assert matching, (
        f"{case}: no problem at {where_file}:{line} {column} with {words!r}: {report.problems}"
    )
    assert main(["validate", "--data", str(data_copy)]) == 3
    err = capsys.readouterr().err
    assert f"{where_file}:{line}" in err and words in err


def test_blank_line_is_reported_once_at_its_line(data_copy):
    path = data_copy / "events.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(3, "\n")
    path.write_text("".join(lines), encoding="utf-8")
    problems = validate(data_copy).problems
    assert [(p.file, p.line, p.message) for p in problems] == [
        ("events.csv", 4, "blank line: delete it")
    ]


def test_missing_column_is_reported_by_name(data_copy):
    path = data_copy / "places.csv"
    rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
    header = rows[0]
    assert header[6] == "coordinate_basis"
    # Drop the column from every row (no quoted commas in this file's first seven columns).
    path.write_text("\n".join(",".join(r[:6] + r[7:]) for r in rows) + "\n", encoding="utf-8")
    problems = validate(data_copy).problems
    assert any(p.file == "places.csv" and p.column == "coordinate_basis" for p in problems), (
        problems
    )


def test_missing_file_is_reported_without_a_traceback(data_copy, capsys):
    (data_copy / "relations.csv").unlink()
    assert main(["validate", "--data", str(data_copy)]) == 3
    assert "relations.csv: file is missing" in capsys.readouterr().err


def test_several_problems_are_all_reported_at_once(data_copy):
    edit(data_copy, "projects.csv", ",660,MW,", ",-660,MW,")
    edit(data_copy, "supplies.csv", "2023-03-01,2023-06-30", "2023-06-30,2023-03-01")
    edit(data_copy, "events.csv", "2023-11-01,2023-11-30", "2023-11-31,2023-11-30")
    files = {p.file for p in validate(data_copy).problems}
    assert {"projects.csv", "supplies.csv", "events.csv"} <= files


def test_sources_elsewhere_are_found_through_the_sources_option(data_copy, tmp_path, monkeypatch):
    if SOURCE_FILE is None:
        pytest.skip("source text absent")
    elsewhere = tmp_path / "texts"
    elsewhere.mkdir()
    (elsewhere / SOURCE_FILE.name).write_text(
        SOURCE_FILE.read_text(encoding="utf-8").replace("nuclear power plant", "nuclear plant"),
        encoding="utf-8",
    )
    report = validate(data_copy, [elsewhere])
    assert any("not on line 7" in p.message for p in report.problems)


def test_absent_source_skips_evidence_checks_and_says_why(data_copy, monkeypatch, tmp_path):
    edit(data_copy, "sources.csv", "article-2024-03-02.txt", "not-here.txt")
    report = validate(data_copy)
    assert report.valid
    assert any("not-here.txt" in note and "not found" in note for note in report.skipped)


@needs_source  # only a folder whose every check ran is remembered
def test_valid_folder_is_remembered_until_a_byte_changes(data_copy, monkeypatch, tmp_path):
    from helpers.data.validation import ensure_valid

    monkeypatch.setenv("BRIEF_CACHE", str(tmp_path / "cache"))
    assert ensure_valid(data_copy) is not None  # validated
    assert ensure_valid(data_copy) is None  # remembered
    edit(data_copy, "projects.csv", ",660,MW,", ",-660,MW,")
    with pytest.raises(DataValidationError):
        ensure_valid(data_copy)


# -- the quick schema check never vouches for what Frictionless would fail ---------------------

# Each case: (file, old text, new text). Frictionless reports each; the quick check must not
# pass any of them (it may decline more than Frictionless fails: Frictionless then decides).
SCHEMA_BREAKS = {
    "impossible date": ("events.csv", "2023-11-01,2023-11-30", "2023-11-31,2023-11-30"),
    "date in another format": ("events.csv", "2023-11-01,2023-11-30", "2023/11/01,2023-11-30"),
    "integer with a fraction": ("events.csv", ",art-2024-03-02,13,", ",art-2024-03-02,13.5,"),
    "integer below its minimum": ("events.csv", ",art-2024-03-02,13,", ",art-2024-03-02,0,"),
    "number below its minimum": ("projects.csv", ",660,MW,", ",-660,MW,"),
    "number that is not one": ("projects.csv", ",660,MW,", ",660 MW,MW,"),
    "value outside its enum": ("projects.csv", ",330,MW,", ",330,GW,"),
    "id against its pattern": ("projects.csv", "pr-sez,", "PR SEZ,"),
    "duplicate id": ("projects.csv", "pr-sez,", "pr-deep-sea-port,"),
    "unknown foreign key": ("events.csv", "defence,sittwe-naval-chief", "defence,nobody"),
    "unknown self reference": ("events.csv", ",ev-naval-visit,", ",ev-nowhere,"),
    "required value missing": ("relations.csv", "rel-junta-russia,junta,", "rel-junta-russia,,"),
    "evidence too long for the schema": ("actors.csv", "to fuel its air force", "x" * 201),
    "boolean spelled otherwise": ("events.csv", ",undated,true,", ",undated,yes,"),
    "header renamed": ("places.csv", "place_id,name,", "place,name,"),
    "extra cell": ("places.csv", "Moscow,city,russia,", "Moscow,city,extra,russia,"),
    "blank row": ("relations.csv", "\nrel-junta-china,", "\n,,,,,,,\nrel-junta-china,"),
}


def test_quick_schema_check_vouches_for_the_shipped_and_scaled_data(data_copy):
    from helpers.data.package import load_descriptor
    from helpers.data.quick import schema_holds
    from helpers.data.validation import check_schema

    assert schema_holds(paths.DATA_DIR, load_descriptor())
    assert check_schema(paths.DATA_DIR, load_descriptor()) == []  # and Frictionless agrees
    # Ten times the rows, as benchmarks/synthetic.py makes them: still provably valid.
    for file in data_copy.glob("*.csv"):
        if file.name != "sources.csv":
            lines = file.read_text(encoding="utf-8").splitlines()
            header, rows = lines[0], lines[1:]
            key = header.split(",")[0]
            more = [
                f"{row.split(',', 1)[0]}-x{k},{row.split(',', 1)[1]}"
                for k in range(1, 10)
                for row in rows
            ]
            file.write_text("\n".join([header, *rows, *more]) + "\n", encoding="utf-8")
            assert key.endswith("_id")
    assert schema_holds(data_copy, load_descriptor())


@pytest.mark.parametrize("case", SCHEMA_BREAKS, ids=list(SCHEMA_BREAKS))
def test_quick_schema_check_never_passes_what_frictionless_fails(data_copy, case):
    from helpers.data.package import load_descriptor
    from helpers.data.quick import schema_holds
    from helpers.data.validation import check_schema

    file, old, new = SCHEMA_BREAKS[case]
    edit(data_copy, file, old, new)
    descriptor = load_descriptor()
    assert check_schema(data_copy, descriptor), f"set-up: Frictionless finds nothing in {case}"
    assert not schema_holds(data_copy, descriptor)
    assert not validate(data_copy).valid  # and the problems are Frictionless's to word


def test_a_byte_order_mark_is_read_past_by_the_quick_check_and_frictionless_alike(data_copy):
    from helpers.data.package import load_descriptor
    from helpers.data.quick import schema_holds

    edit(data_copy, "sources.csv", "source_id,", "\ufeffsource_id,")  # a byte-order mark
    assert schema_holds(data_copy, load_descriptor())  # issue 23: read as Frictionless reads it
    assert validate(data_copy).valid  # Frictionless reads it, and finds nothing wrong


def test_a_folder_of_an_older_package_version_is_told_which_columns_to_add(data_copy):
    """Rows read against the wrong columns are not reported: only the header's gap."""
    import csv
    import io

    path = data_copy / "events.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    fields = [f for f in rows[0] if f != "modality"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    problems = validate(data_copy).problems
    assert [(p.file, p.line, p.column) for p in problems] == [("events.csv", 1, "modality")]
    version = package.load_descriptor()["version"]
    assert (
        f"column is missing from the header (data package version {version}" in problems[0].message
    )
