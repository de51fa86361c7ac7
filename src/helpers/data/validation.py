"""Validate a data folder against the package's Table Schemas and the project's own rules.

Two layers, both reported together so that a curator sees every problem at once:

1. Frictionless checks what a Table Schema can say: types, required values, enums, minimums,
   primary keys and foreign keys (``data/datapackage.json``).
2. :func:`check_rules` adds what a schema cannot say: a period ends after it starts, the date
   precision agrees with the dates, no date falls after its source's date, an evidence fragment
   is at most 15 words and stands on the cited line of the source text.

Each problem names the file, the line of that file, the column and the value.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import gc
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from helpers import paths
from helpers.data.grading import CONFIDENCE_LEVELS, confidence_level, independent_sources
from helpers.data.package import (
    fingerprint,
    load_descriptor,
    present_resources,
    read_records,
)
from helpers.data.quick import schema_holds
from helpers.errors import DataValidationError
from helpers.text import NOT_TEXT

#: Longest evidence fragment, in words, that a row may quote.
MAX_EVIDENCE_WORDS = 15
#: Tables whose rows carry a date range.
DATED_TABLES = ("events", "supplies")
#: Tables whose ids an assessment's ``rests_on`` may name; a judgment may name these and
#: assessments too.
EVIDENCE_TABLES = {
    "events": "event_id",
    "projects": "project_id",
    "supplies": "supply_id",
    "relations": "relation_id",
}


#: Most characters of a cell's value a problem shows.
SHOWN_CHARS = 80


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data, located precisely enough to fix it."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f" column {self.column!r}"
        shown = ""
        if self.value is not None:
            value = self.value
            if len(value) > SHOWN_CHARS:  # a huge value is named, not echoed whole
                value = f"{value[:SHOWN_CHARS]}..."
                shown = f" (value {value!r}, {len(self.value):,} characters)"
            else:
                shown = f" (value {value!r})"
        return f"{where}: {self.message}{shown}"


@dataclass
class Report:
    """What :func:`validate` found: the problems, and what could not be checked and why."""

    data_dir: Path
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise :class:`DataValidationError` listing every problem, if there is any."""
        if self.problems:
            raise DataValidationError(self.problems)


@dataclass
class RawTable:
    """A CSV file read as text, each row with the physical line it ends on."""

    name: str
    file: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]


def read_raw(
    data_dir: Path, resource: dict, records: list[tuple[int, list[str]]] | None = None
) -> RawTable | None:
    """Read one resource's CSV as strings, keeping each row's line number; ``None`` if absent.

    ``records``, from :func:`read_records`, saves reading the file again.
    """
    if records is None:
        path = data_dir / resource["path"]
        if not path.is_file():
            return None
        records = read_records(path)
    header = records[0][1] if records else []
    rows = [
        (line, dict(zip(header, values, strict=False)))
        for line, values in records[1:]
        if "".join(values).strip()  # a row of blank cells is skipped
    ]
    return RawTable(resource["name"], resource["path"], header, rows)


def validate(data_dir: Path | str | None = None, sources: Iterable[Path] | None = None) -> Report:
    """Check a data folder and return every problem found.

    Parameters
    ----------
    data_dir
        Folder holding the CSV files named in ``data/datapackage.json``; default the package's
        own ``data/``.
    sources
        Extra folders to search for source texts (see :func:`helpers.paths.source_dirs`).

    Returns
    -------
    Report
        ``report.valid`` is true when nothing is wrong. Evidence checks that could not run,
        because a source text was not found, are listed in ``report.skipped``.
    """
    data_dir = Path(data_dir) if data_dir is not None else paths.DATA_DIR
    report = Report(data_dir=data_dir)
    if not data_dir.is_dir():
        report.problems.append(
            Problem(str(data_dir), None, None, None, "data folder not found: give --data DIR")
        )
        return report
    descriptor = present_resources(load_descriptor(), data_dir)
    # Reading a large folder makes millions of objects and no reference cycles; the cyclic
    # collector, walking them again and again as they pile up, would add a third to the time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        records, text = _read_text(data_dir, descriptor)
        if text:
            # A file that is not UTF-8, or text with control characters, is fixed first.
            report.problems += text
            return report
        headers = check_headers(descriptor, records)
        if headers:
            # Rows read against the wrong columns would only bury this under noise.
            report.problems += headers
            return report
        if not schema_holds(data_dir, descriptor, records):
            report.problems += check_schema(data_dir, descriptor)
        tables = {}
        for resource in descriptor["resources"]:
            if resource["name"] in records:
                tables[resource["name"]] = read_raw(data_dir, resource, records[resource["name"]])
        problems, skipped = check_rules(tables, list(sources or []))
    finally:
        if enabled:
            gc.enable()
    report.problems += problems
    report.skipped += skipped
    report.problems = sorted(set(report.problems), key=_sort_key)
    return report


#: Characters no text cell may hold: the rule titles follow too (:data:`helpers.text.NOT_TEXT`).
_NOT_TEXT = NOT_TEXT


def _read_text(
    data_dir: Path, descriptor: dict
) -> tuple[dict[str, list[tuple[int, list[str]]]], list[Problem]]:
    """Every CSV's records (:func:`read_records`), and the problems with them as text: a
    file that is not UTF-8, a cell with a character no text may hold."""
    records: dict[str, list[tuple[int, list[str]]]] = {}
    problems: list[Problem] = []
    for resource in descriptor["resources"]:
        path = data_dir / resource["path"]
        if not path.is_file():
            continue
        try:
            records[resource["name"]] = read_records(path)
        except UnicodeDecodeError as exc:
            problems.append(_not_utf8(resource["path"], path.read_bytes(), exc))
            continue
        rows = records[resource["name"]]
        problems += _control_characters(resource["path"], rows)
    return records, problems


def _not_utf8(name: str, data: bytes, exc: UnicodeDecodeError) -> Problem:
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    return Problem(
        name,
        line,
        None,
        None,
        f"not UTF-8 text: byte 0x{data[exc.start]:02X} at character {column} of the line; "
        "save the file as UTF-8 (it may have been saved as Latin-1 or Windows-1252)",
    )


def _control_characters(name: str, records: list[tuple[int, list[str]]]) -> list[Problem]:
    header = records[0][1] if records else []
    found = []
    for line, values in records:
        for index, value in enumerate(values):
            bad = _NOT_TEXT.search(value)
            if bad is None:
                continue
            char = bad.group()
            label = unicodedata.name(char, "") or _CONTROL_NAMES.get(char, "a control character")
            column = header[index] if index < len(header) and line > 1 else f"{index + 1}"
            found.append(
                Problem(
                    name,
                    line,
                    column,
                    None,
                    f"character U+{ord(char):04X} ({label}) at position {bad.start() + 1} of the "
                    "text is not allowed: remove it (word processors insert some of these)",
                )
            )
    return found


_CONTROL_NAMES = {
    "\x00": "NUL",
    "\x0b": "vertical tab",
    "\x0c": "form feed",
    "\x1b": "ESC",
    "\x7f": "DEL",
}


def check_headers(
    descriptor: dict, records: dict[str, list[tuple[int, list[str]]]]
) -> list[Problem]:
    """A problem for each column a file's header lacks, or has that the schema does not know.

    A folder made for an older version of the data package (``data/datapackage.json``,
    ``version``) is told which columns to add, not every row it would misread.
    """
    out = []
    version = descriptor.get("version", "")
    for resource in descriptor["resources"]:
        rows = records.get(resource["name"])
        if not rows:
            continue
        header = [
            cell.removeprefix("\ufeff") if i == 0 else cell for i, cell in enumerate(rows[0][1])
        ]
        names = [f["name"] for f in resource["schema"]["fields"]]
        where = f"data package version {version}: see data/datapackage.json"
        for name in names:
            if name not in header:
                message = f"column is missing from the header ({where})"
                out.append(Problem(resource["path"], 1, name, None, message))
        for name in header:
            if name not in names:
                message = f"column is not in the schema ({where})"
                out.append(Problem(resource["path"], 1, name, None, message))
    return out


def _sort_key(p: Problem) -> tuple:
    return (p.file, p.line or 0, p.column or "", p.message)


def check_schema(data_dir: Path, descriptor: dict) -> list[Problem]:
    """Run Frictionless on the folder and translate its errors into :class:`Problem` rows."""
    import frictionless  # noqa: PLC0415 - it costs half a second and only validation needs it

    problems: list[Problem] = []
    for resource in descriptor["resources"]:
        if not (data_dir / resource["path"]).is_file():
            problems.append(
                Problem(resource["path"], None, None, None, "file is missing from the data folder")
            )
    if problems:
        return problems
    package = frictionless.Package(descriptor, basepath=str(data_dir))
    report = package.validate()
    blank_rows: set[tuple[str, int]] = set()
    for task in report.tasks:
        for error in task.errors:
            if error.type == "blank-row":
                blank_rows.add((task.name, error.row_number))
    paths_by_name = {r["name"]: r["path"] for r in descriptor["resources"]}
    for error in report.errors:
        problems.append(Problem(str(data_dir), None, None, None, error.message))
    for task in report.tasks:
        file = paths_by_name.get(task.name, task.name)
        for error in task.errors:
            row = getattr(error, "row_number", None)
            if error.type == "primary-key" and (task.name, row) in blank_rows:
                continue  # the blank row is the problem; its empty key is a consequence
            problems.append(_from_frictionless(file, error, row))
    return problems


_FRICTIONLESS_HINTS = {
    "blank-row": "blank line: delete it",
    "missing-label": "column is missing from the header",
    "extra-label": "column is not in the schema (data/datapackage.json)",
    "incorrect-label": "header does not match the schema's column at this position",
    "duplicate-label": "column appears twice in the header",
    "missing-cell": "row has fewer cells than the header",
    "extra-cell": "row has more cells than the header",
}


def _from_frictionless(file: str, error, row: int | None) -> Problem:
    column = getattr(error, "field_name", None) or getattr(error, "label", None)
    cell = getattr(error, "cell", None)
    value = None if cell is None else str(cell)
    if error.type == "primary-key":
        message = f"duplicate id: {error.note}"
        cells = getattr(error, "cells", None) or []
        value = cells[0] if cells else None
    elif error.type == "foreign-key":
        message = f"unknown reference: {error.note}"
        cells = getattr(error, "cells", None) or []
        value = ", ".join(c for c in cells if c) or value
    elif error.type in _FRICTIONLESS_HINTS:
        message = _FRICTIONLESS_HINTS[error.type]
        if error.type in ("missing-label", "incorrect-label", "extra-label", "duplicate-label"):
            row = 1
    else:
        message = f"{error.title.lower()}: {error.note}"
    return Problem(file, row, column, value, message)


def _parse_date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None  # Frictionless reports the bad value; here it only cannot be compared


def check_rules(
    tables: dict[str, RawTable], sources: list[Path]
) -> tuple[list[Problem], list[str]]:
    """The project's rules beyond the schema; returns problems and skipped-check notes."""
    problems: list[Problem] = []
    published: dict[str, dt.date] = {}
    files: dict[str, str] = {}
    if "sources" in tables:
        for _, row in tables["sources"].rows:
            date = _parse_date(row.get("published"))
            if date is not None:
                published[row.get("source_id", "")] = date
            files[row.get("source_id", "")] = row.get("file", "")
    for name in DATED_TABLES:
        if name in tables:
            problems += _check_dates(tables[name], published)
    source_lines, skipped = _read_sources(files, sources)
    for table in tables.values():
        problems += _check_evidence(table, source_lines)
    problems += _check_sourcing(tables)
    problems += _check_rests_on(tables)
    problems += _check_confidence(tables)
    return problems, skipped


def _split_ids(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(";") if part.strip()]


def _check_sourcing(tables: dict[str, RawTable]) -> list[Problem]:
    """Labels unique, cited lines among the listed paragraphs, one thesis per source."""
    out: list[Problem] = []
    if "sources" not in tables:
        return out
    sources = tables["sources"]
    labels: dict[str, int] = {}
    paragraphs: dict[str, set[int]] = {}
    for line, row in sources.rows:
        label = row.get("label", "").strip()
        if label and label.casefold() in labels:
            out.append(
                Problem(
                    sources.file,
                    line,
                    "label",
                    label,
                    f"label already used on line {labels[label.casefold()]}: "
                    "readers tell sources apart by it",
                )
            )
        labels.setdefault(label.casefold(), line)
        listed = row.get("paragraph_lines", "")
        if listed and re.fullmatch(r"[1-9][0-9]*(;[1-9][0-9]*)*", listed):
            paragraphs[row.get("source_id", "")] = {int(n) for n in listed.split(";")}
    for table in tables.values():
        if table.name == "sources":
            continue
        for line, row in table.rows:
            listed = paragraphs.get(row.get("source_id", ""))
            cited = row.get("line", "")
            if listed and cited.isdigit() and int(cited) not in listed:
                out.append(
                    Problem(
                        table.file,
                        line,
                        "line",
                        cited,
                        f"line {cited} is not one of the paragraphs sources.csv lists for "
                        f"{row.get('source_id')!r} (paragraph_lines); cite the paragraph's line "
                        "or add it to the list",
                    )
                )
    if "assessments" in tables:
        theses: dict[str, int] = {}
        table = tables["assessments"]
        for line, row in table.rows:
            if row.get("thesis", "").strip().lower() not in ("true", "1"):
                continue
            source = row.get("source_id", "")
            if source in theses:
                out.append(
                    Problem(
                        table.file,
                        line,
                        "thesis",
                        row.get("thesis"),
                        f"source {source!r} already has its thesis on line {theses[source]}; "
                        "mark one row per source",
                    )
                )
            theses.setdefault(source, line)
    return out


def _check_rests_on(tables: dict[str, RawTable]) -> list[Problem]:
    """Every id in ``rests_on`` names exactly one row of the tables it may name."""
    out: list[Problem] = []
    owners: dict[str, list[str]] = {}
    for name, key in (*EVIDENCE_TABLES.items(), ("assessments", "assessment_id")):
        for _, row in tables[name].rows if name in tables else []:
            owners.setdefault(row.get(key, ""), []).append(name)
    allowed = {
        "assessments": set(EVIDENCE_TABLES),
        "judgments": {*EVIDENCE_TABLES, "assessments"},
    }
    for name, may_name in allowed.items():
        if name not in tables:
            continue
        table = tables[name]
        for line, row in table.rows:
            for row_id in _split_ids(row.get("rests_on")):
                found = [t for t in owners.get(row_id, []) if t in may_name]
                if len(found) == 1:
                    continue
                where = ", ".join(sorted(may_name))
                message = (
                    f"rests_on names {row_id!r}, which is no row of {where}"
                    if not found
                    else f"rests_on names {row_id!r}, an id found in {' and '.join(found)}: "
                    "ids must be unique across the tables rests_on may name"
                )
                out.append(Problem(table.file, line, "rests_on", row_id, message))
    return out


def allowed_confidence(sources: list[dict[str, str]]) -> tuple[str, str]:
    """The highest confidence a set of source rows allows, and why: the rule of
    :func:`helpers.report.sourcing.assess` (which the brief prints in its source note), on
    the rows as text. High: three independent sources, one usually reliable (A, B) with
    information confirmed or probably true (1, 2); moderate: two, one at least fairly
    reliable (A-C); low: anything less, and always one source."""
    parents = {row.get("source_id", ""): row.get("derived_from", "") for row in sources}
    best_reliability = min((row.get("reliability") or "F" for row in sources), default="F")
    best_credibility = min((row.get("credibility") or "6" for row in sources), default="6")
    grades = ", ".join(
        f"{row.get('source_id')} ({row.get('reliability', '')}{row.get('credibility', '')})"
        for row in sorted(sources, key=lambda r: r.get("source_id", ""))
    )
    level = confidence_level(independent_sources(parents), best_reliability, best_credibility)
    return level, grades


def _check_confidence(tables: dict[str, RawTable]) -> list[Problem]:
    """A judgment graded above the confidence its sources allow (:func:`allowed_confidence`):
    the brief would print "high confidence" beside a source note saying its one F-graded
    source allows only low."""
    if "judgments" not in tables or "sources" not in tables:
        return []
    sources = {row.get("source_id", ""): row for _, row in tables["sources"].rows}
    cited_by: dict[str, str] = {}
    for name, key in (*EVIDENCE_TABLES.items(), ("assessments", "assessment_id")):
        for _, row in tables[name].rows if name in tables else []:
            cited_by[row.get(key, "")] = row.get("source_id", "")
    table, out = tables["judgments"], []
    for line, row in table.rows:
        given = row.get("confidence", "").strip().lower()
        if given not in CONFIDENCE_LEVELS:
            continue  # the schema names a value that is no level
        cited = {cited_by[i] for i in _split_ids(row.get("rests_on")) if i in cited_by}
        rows = [sources[i] for i in sorted(cited) if i in sources]
        allowed, grades = allowed_confidence(rows)
        if CONFIDENCE_LEVELS.index(given) <= CONFIDENCE_LEVELS.index(allowed):
            continue
        count = len(rows)
        out.append(
            Problem(
                table.file,
                line,
                "confidence",
                row.get("confidence"),
                f"confidence {given!r} is more than the evidence allows: the rows it rests on "
                f"cite {count} source{'s' if count != 1 else ''} ({grades or 'none'}), which "
                f"allow{'s' if count == 1 else ''} at most {allowed!r} (one source allows only "
                "low; moderate needs two independent sources, one graded A-C; high three, one "
                "graded A or B with information 1 or 2): grade it lower, or add the sources",
            )
        )
    return out


def _last_day(date: dt.date) -> dt.date:
    return date.replace(day=calendar.monthrange(date.year, date.month)[1])


def _check_dates(table: RawTable, published: dict[str, dt.date]) -> list[Problem]:
    out: list[Problem] = []
    for line, row in table.rows:
        start_text, end_text = row.get("date_start", ""), row.get("date_end", "")
        start, end = _parse_date(start_text), _parse_date(end_text)
        precision = row.get("date_precision", "")
        ongoing = row.get("ongoing", "false").strip().lower() == "true"

        def bad(column: str, value: str, message: str, line: int = line) -> None:
            out.append(Problem(table.file, line, column, value, message))

        if start and end and end < start:
            bad("date_end", end_text, f"period ends before it starts ({start_text})")
        if precision == "undated" and (start_text or end_text):
            bad(
                "date_precision",
                precision,
                "an undated row must leave date_start and date_end empty",
            )
        if precision in ("day", "month", "period") and not start_text:
            bad("date_start", start_text, f"date_precision {precision!r} needs a date_start")
        if precision == "period" and not end_text and not ongoing:
            bad("date_end", end_text, "a period needs a date_end unless it is ongoing")
        if precision == "day" and start and end and end != start:
            bad("date_end", end_text, "a day-precise row must end on the day it starts")
        if precision == "month" and start:
            if start.day != 1:
                bad("date_start", start_text, "a month-precise row must start on the 1st")
            if end and (end != _last_day(start)):
                bad("date_end", end_text, f"a month-precise row must end on {_last_day(start)}")
            if not end and not ongoing:
                bad("date_end", end_text, "a month-precise row needs a date_end unless ongoing")
        source_date = published.get(row.get("source_id", ""))
        if source_date:
            for column, date, text in (
                ("date_start", start, start_text),
                ("date_end", end, end_text),
            ):
                if date and date > source_date:
                    bad(
                        column, text, f"date is after its source's date ({source_date.isoformat()})"
                    )
    return out


def unchecked_sources(data_dir: Path | str | None = None, extra: Iterable[Path] = ()) -> list[str]:
    """Notes on the source texts a data folder names that cannot be found here: the evidence
    of their rows cannot be checked, and the briefs made from them say so.

    Cheap (it reads ``sources.csv`` and looks for the files), for commands that want to warn
    before they render; :func:`validate` lists the same as ``skipped``.
    """
    data_dir = Path(data_dir) if data_dir is not None else paths.DATA_DIR
    path = data_dir / "sources.csv"
    try:
        records = read_records(path)
    except (OSError, UnicodeDecodeError):
        return []
    if not records or "file" not in records[0][1] or "source_id" not in records[0][1]:
        return []
    header = records[0][1]
    files = {
        row[header.index("source_id")]: row[header.index("file")]
        for _, row in records[1:]
        if len(row) == len(header)
    }
    return _read_sources(files, list(extra), read=False)[1]


def _read_sources(
    files: dict[str, str], extra: list[Path], *, read: bool = True
) -> tuple[dict[str, list[str] | None], list[str]]:
    lines: dict[str, list[str] | None] = {}
    skipped: list[str] = []
    for source_id, name in files.items():
        if name and not paths.plain_file_name(name):
            # The schema refuses it (a plain file name is looked up in the source folders);
            # it is not read either: '/etc/shadow' or '../x' is no source text.
            lines[source_id] = None
            continue
        found = paths.find_source_file(name, extra) if name else None
        if found is None:
            lines[source_id] = None
            searched = ", ".join(str(d) for d in paths.source_dirs(extra))
            skipped.append(
                f"evidence of source {source_id!r} not checked: {name!r} not found in {searched}"
            )
        elif read:
            lines[source_id] = found.read_text(encoding="utf-8").splitlines()
    return lines, skipped


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _check_evidence(table: RawTable, source_lines: dict[str, list[str] | None]) -> list[Problem]:
    out: list[Problem] = []
    # Many rows quote the same fragment of the same line: a (source, line, fragment) found
    # good once is good for every row; the normalised source lines are made once too.
    good: set[tuple[str, str, str]] = set()
    normalised: dict[tuple[str, int], str] = {}
    for line, row in table.rows:
        evidence = row.get("evidence", "")
        if not evidence:
            continue  # the schema reports a missing value
        source_id, cited = row.get("source_id", ""), row.get("line", "")
        if (source_id, cited, evidence) in good:
            continue

        def bad(column: str, value: str, message: str, line: int = line) -> None:
            out.append(Problem(table.file, line, column, value, message))

        words = len(evidence.split())
        if words > MAX_EVIDENCE_WORDS:
            bad(
                "evidence",
                evidence,
                f"evidence has {words} words; quote at most {MAX_EVIDENCE_WORDS}",
            )
        text = source_lines.get(source_id)
        if text is None or not cited.isdigit():
            continue
        number = int(cited)
        if not 1 <= number <= len(text):
            bad("line", cited, f"source has {len(text)} lines; the cited line does not exist")
            continue
        if (source_id, number) not in normalised:
            normalised[source_id, number] = _normalise(text[number - 1])
        if _normalise(evidence) not in normalised[source_id, number]:
            source = row.get("source_id")
            bad("evidence", evidence, f"evidence is not on line {number} of source {source!r}")
        elif words <= MAX_EVIDENCE_WORDS:
            good.add((source_id, cited, evidence))
    return out


def _cache_key(data_dir: Path, sources: list[Path]) -> str:
    """What a positive result depends on: the data, the schema, the code and the source texts."""
    digest = hashlib.sha256(fingerprint(data_dir).encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(metadata.version("frictionless").encode())
    for folder in paths.source_dirs(sources):
        for text in sorted(folder.glob("*")) if folder.is_dir() else []:
            if text.is_file():
                digest.update(text.name.encode() + text.read_bytes())
    return digest.hexdigest()


def ensure_valid(
    data_dir: Path | str | None = None,
    sources: Iterable[Path] | None = None,
    *,
    use_cache: bool = True,
) -> Report | None:
    """Validate and raise :class:`DataValidationError` with every problem if any is found.

    A folder found valid once is remembered by a key over its files, the schema, this module
    and the source texts (see :func:`helpers.paths.cache_dir`), so a notebook kernel does not
    validate again what ``brief render`` has just validated. Returns ``None`` on a cache hit.
    """
    data_dir = Path(data_dir) if data_dir is not None else paths.DATA_DIR
    sources = list(sources or [])
    marker = None
    if use_cache and data_dir.is_dir():
        try:  # no home, or a read-only one (systemd's ProtectHome): no cache, no failure
            marker = paths.cache_dir() / "validated" / _cache_key(data_dir, sources)
            if marker.exists():
                return None
        except (OSError, RuntimeError):
            marker = None
    report = validate(data_dir, sources)
    report.raise_for_problems()
    if marker is not None and not report.skipped:
        # The cache is an optimisation: a folder that cannot be written only costs the next
        # run a validation.
        with contextlib.suppress(OSError):
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(str(data_dir.resolve()) + "\n", encoding="utf-8")
    return report
