"""Editions end to end: real kernels, through ``brief batch``, ``brief render`` and ``brief diff``.

Two kinds of change (docs/editions.md): a later cut on the same data (the brief to 30
September 2023, then to 2 March 2024) and a change in the data (an analyst adds, edits and
removes a row). Then previous editions that cannot be read, and byte-stable output.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from helpers.cli import main
from helpers.pipeline.manifest import stable_view

pytestmark = pytest.mark.kernels


def batch(capsys, plan: Path, out: Path, *args: str) -> str:
    code = main(["batch", str(plan), "--out", str(out), "--workers", "2", *args])
    output = capsys.readouterr()
    assert code == 0, output.out + output.err
    return output.out + output.err


def render(capsys, out: Path, *args: str) -> str:
    code = main(["render", "brief", "--to", "html", "--out", str(out), *args])
    output = capsys.readouterr()
    assert code == 0, output.out + output.err
    return output.out + output.err


def html(run: Path) -> str:
    return (run / "brief.html").read_text(encoding="utf-8")


def box(page: str) -> str:
    """The 'Since the edition of' box, as text."""
    found = re.search(r'<aside class="since-box">(.*?)</aside>', page, re.S)
    assert found, "no since box"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text(encoding="utf-8"))


def the_run(out: Path, prefix: str) -> Path:
    [run] = [p for p in (out / "brief").iterdir() if p.name.startswith(prefix)]
    return run


@pytest.fixture(scope="module")
def later_cut(tmp_path_factory):
    """A plan of two editions of one series: to 30 September 2023, and to 2 March 2024. The
    later is listed first: the batch runs the editions of a series in date order."""
    root = tmp_path_factory.mktemp("later-cut")
    plan = root / "plan.yaml"
    plan.write_text(
        textwrap.dedent(
            """\
            version: 1
            formats: [html]
            jobs:
              - notebook: brief
                parameters:
                  - {}
                  - {end: "2023-09-30"}
            """
        )
    )
    out = root / "out"
    code = main(["batch", str(plan), "--out", str(out), "--workers", "2"])
    assert code == 0
    return out


def test_a_later_cut_shows_what_is_new_since_the_earlier_edition(later_cut, capsys):
    sept, march = the_run(later_cut, "end-2023-09-30"), later_cut / "brief" / "default"
    assert "First edition." in box(html(sept))
    text = box(html(march))
    assert text.startswith("Since the edition of 30 September 2023 (published ")
    # The source's judgments that came into view are listed first, then October's events;
    # the rest are counted.
    assert text.index("The report says") < text.index("(since October 2023)")
    assert "Hostilities between the junta and ethnic factions escalate (since October 2023)" in text
    assert re.search(r"and \w+ more", text)
    # Both editions knew the same report: the box says the view widened, not that anything
    # was learned.
    assert ": nothing new was learned. Both editions rest on the same knowledge" in text
    assert "into view" in text and "Now in view" in text
    assert "Corrections" not in text
    # New facts are marked where they appear in the text, and on the timeline.
    page = html(march)
    body = page.split("</aside>", 1)[1]
    assert body.count('class="new-mark"') >= 3
    alt = re.search(r'<img alt="(Timeline chart[^"]*)"', page)
    assert alt and "First maritime security exercise (new)" in alt.group(1)
    assert "new-mark" not in html(sept).split("</aside>", 1)[1]

    edition = manifest(march)["edition"]
    assert edition["since"]["date"] == "2023-09-30"
    assert edition["changes"]["changed"] == 0 and edition["changes"]["new"] >= 3
    assert manifest(sept)["edition"]["since"] == "first"
    assert edition["series"] == manifest(sept)["edition"]["series"]
    facts = {(f["table"], f["id"]) for f in edition["facts"]}
    assert ("events", "ev-naval-visit") in facts

    # brief diff says the same, as text and as JSON, and exits 0.
    assert main(["diff", str(sept), str(march)]) == 0
    said = capsys.readouterr().out
    assert "+ events/ev-naval-visit: Chief of the Sittwe Naval Base visits Russia" in said
    assert main(["diff", str(sept / "manifest.json"), str(march), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert counts == edition["changes"]
    assert main(["diff", str(march), str(march)]) == 0
    assert "Nothing new, changed or withdrawn." in capsys.readouterr().out

    # The index groups the two editions as one series, with what changed.
    index = (later_cut / "index.html").read_text(encoding="utf-8")
    assert index.count('class="series-head"') == 1
    assert "brief: defaults · 2 editions" in index
    assert f"{counts['new']} new, 0 changed, 0 no longer shown (since 2023-09-30)" in index
    assert "first edition" in index


def edit_data(data: Path) -> None:
    """An analyst's edit: one row reworded, one removed, one added."""

    def rewrite(table: str, change) -> None:
        path = data / f"{table}.csv"
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        rows = change(rows)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

    def events(rows):
        for row in rows:
            if row["event_id"] == "ev-maritime-exercise":
                row["title"] = "First joint maritime security exercise"
        added = dict(next(r for r in rows if r["event_id"] == "ev-naval-visit"))
        added.update(event_id="ev-port-call", title="A Russian warship calls at Sittwe")
        return [*rows, added]

    rewrite("events", events)
    rewrite("supplies", lambda rows: [r for r in rows if r["supply_id"] != "su-naval-equipment"])


def test_a_change_in_the_data_shows_only_that_change_and_corrects_in_public(
    tmp_path, data_copy, capsys
):
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nformats: [html]\njobs:\n  - notebook: brief\n")
    out = tmp_path / "out"
    said = batch(capsys, plan, out, "--data", str(data_copy))
    assert "first edition" in said
    [run] = [p for p in (out / "brief").iterdir() if not p.name.startswith(".")]
    first = manifest(run)

    edit_data(data_copy)
    assert main(["validate", "--data", str(data_copy)]) == 0
    capsys.readouterr()
    said = batch(capsys, plan, out, "--data", str(data_copy))
    assert "ran (data changed)" in said
    assert "since 2024-03-02: 1 new, 1 changed, 1 no longer shown" in said
    text = box(html(run))
    assert "1 new, 1 changed, 1 no longer shown" in text
    assert "A Russian warship calls at Sittwe (October 2023)" in text
    assert (
        "The edition of 2 March 2024 gave the wording as “First maritime security exercise”; "
        "the corrected record, citing the report, gives “First joint maritime security "
        "exercise”." in text
    )
    assert (
        "The edition of 2 March 2024 reported “naval equipment”; the fact has been withdrawn "
        "from the data and is no longer shown." in text
    )
    edition = manifest(run)["edition"]
    assert edition["since"]["created_at"] == first["created_at"]
    assert edition["changes"] == {"new": 1, "changed": 1, "dropped": 1, "new_sources": 0}
    assert main(["diff", str(tmp_path / "nowhere"), str(run)]) == 2

    # Nothing changed since: with --only-changed the edition is made, compared and not
    # published; the last one stays as it was.
    published = manifest(run)
    said = batch(capsys, plan, out, "--data", str(data_copy), "--force", "--only-changed")
    assert "skipped (nothing new since the edition of 2024-03-02; not published" in said
    assert manifest(run) == published
    # Without it, the edition is published and says so in one line.
    batch(capsys, plan, out, "--data", str(data_copy), "--force")
    assert box(html(run)).endswith(": nothing new, changed or withdrawn.")


@pytest.mark.parametrize("damage", ["corrupt", "old format", "deleted"])
def test_a_previous_edition_that_cannot_be_read_warns_and_the_brief_has_no_box(
    tmp_path, capsys, damage
):
    out = tmp_path / "out"
    render(capsys, out)
    run = out / "brief" / "default"
    if damage == "corrupt":
        (run / "manifest.json").write_text('{"edition": {')
    elif damage == "old format":
        old = manifest(run)
        del old["edition"]
        old["manifest_version"] = 1
        (run / "manifest.json").write_text(json.dumps(old))
    else:
        shutil.rmtree(run.resolve())
    said = render(capsys, out)
    page = html(run)
    if damage == "deleted":  # nothing to compare with: the series starts again
        assert "previous edition" not in said
        assert "First edition." in box(page)
        return
    why = "not valid JSON" if damage == "corrupt" else "from before editions"
    assert "warning: brief/default: previous edition not compared: " in said and why in said
    assert '<aside class="since-box">' not in page
    assert manifest(run)["edition"]["since"] is None


def test_since_names_the_edition_to_compare_with(tmp_path, capsys):
    out = tmp_path / "out"
    render(capsys, out, "-p", "end", "2023-09-30")
    render(capsys, out, "-p", "end", "2023-06-30")
    # By default June follows nothing; --since names September's edition, by date or by run.
    render(capsys, out, "-p", "end", "2023-06-30", "--since", "2023-09-30")
    june = the_run(out, "end-2023-06-30")
    assert "Since the edition of 30 September 2023" in box(html(june))
    code = main(["render", "brief", "--out", str(out), "--since", str(tmp_path / "nope")])
    assert code == 2
    assert "no such run folder or manifest.json" in capsys.readouterr().err
    code = main(["render", "brief", "--out", str(out), "-p", "since", "first"])
    assert code == 4
    assert "use --since" in capsys.readouterr().err


#: The one time a brief prints: its colophon's "Generated <minute> UTC" (papermill's end time).
COLOPHON = re.compile(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")


def _pdf_without_dates(data: bytes) -> bytes:
    """A PDF's bytes with its creation and modification dates blanked."""
    return re.sub(rb"/(CreationDate|ModDate) ?\(D:[^)]*\)", rb"/\1 ()", data)


def _pdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [COLOPHON.sub("Generated", page.extract_text()) for page in PdfReader(path).pages]


def test_the_same_inputs_give_the_same_bytes_and_a_changed_row_changes_them(
    tmp_path, data_copy, capsys
):
    out = tmp_path / "out"

    def render_once() -> Path:
        shutil.rmtree(out, ignore_errors=True)
        code = main(["render", "brief", "--out", str(out), "--data", str(data_copy)])
        capsys.readouterr()
        assert code == 0
        [run] = [p for p in (out / "brief").iterdir() if not p.name.startswith(".")]
        kept = tmp_path / f"kept-{len(list(tmp_path.glob('kept-*')))}"
        shutil.copytree(run.resolve(), kept)
        return kept

    one, two = render_once(), render_once()
    pages = [(r / "brief.html").read_text(encoding="utf-8") for r in (one, two)]
    # Byte for byte, apart from the colophon's time (the same when both ran in one minute).
    assert COLOPHON.sub("Generated", pages[0]) == COLOPHON.sub("Generated", pages[1])
    same_minute = COLOPHON.findall(pages[0]) == COLOPHON.findall(pages[1])
    notebooks = [json.loads((r / "brief.ipynb").read_text()) for r in (one, two)]
    for nb in notebooks:
        for key in ("start_time", "end_time", "duration"):  # the notebook's times: one place
            nb["metadata"]["papermill"].pop(key)
    assert notebooks[0] == notebooks[1]
    assert stable_view(manifest(one)) == stable_view(manifest(two))
    assert _pdf_text(one / "brief.pdf") == _pdf_text(two / "brief.pdf")
    if same_minute:  # then the PDFs differ in their creation dates alone
        pdfs = [_pdf_without_dates((r / "brief.pdf").read_bytes()) for r in (one, two)]
        assert pdfs[0] == pdfs[1]

    edit_data(data_copy)
    three = render_once()
    assert (three / "brief.html").read_bytes() != (one / "brief.html").read_bytes()
    assert stable_view(manifest(three)) != stable_view(manifest(one))
