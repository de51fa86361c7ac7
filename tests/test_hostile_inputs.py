"""What a hostile or careless input still did (issue 23, second half): each now a message and
an exit code, or a warning, never a traceback, a hang or a forged edition.

The output folder's trust (only runs brief published count; an output folder that is empty,
the root, or someone else's is refused), manifests and ledgers read as untrusted files, and
the smaller cases. No kernel starts in any test here but those marked slow.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli import main
from helpers.ledger import FIRST, LEDGER_VERSION, EditionUnreadable, fact, read_edition
from helpers.pipeline import index, publish
from helpers.pipeline.manifest import file_entry
from helpers.pipeline.series import previous_edition

PARAMS = {"partner": "Russia", "as_of": "2024-03-02", "end": None}
EVENT = {
    "event_id": "ev-a",
    "title": "First joint maritime security exercise",
    "actor_id": "junta",
    "counterpart_id": "russia",
    "date_start": "2023-11-01",
    "date_end": "2023-11-30",
    "date_precision": "month",
    "modality": "reported",
    "source_id": "art",
    "line": 13,
    "evidence": "the first joint maritime security exercise",
}


def run(capsys, *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def ledger(date: str, title: str = EVENT["title"]) -> dict:
    return {
        "ledger_version": LEDGER_VERSION,
        "date": date,
        "as_of": "2024-03-02",
        "facts": [fact("events", {**EVENT, "title": title}, "ev-a")],
        "sources": [{"id": "art", "label": "Report", "title": "", "published": "2024-03-02"}],
        "set_aside": [],
    }


def published(out: Path, run: str, parameters: dict, edition: dict, **extra) -> Path:
    """A run as brief publishes it: a run link to a version folder, files and manifest."""
    stage = publish.staging_dir(out, f"brief-{run}")
    (stage / "brief.html").write_text(f"<p>{run}</p>")
    manifest = {
        "manifest_version": 2,
        "status": "ok",
        "notebook": "brief",
        "run": run,
        "parameters": parameters,
        "overrides": {},
        "created_at": "2026-12-01T10:00:00Z",
        "outputs": {"brief.html": file_entry(stage / "brief.html")},
        "edition": edition,
        **extra,
    }
    (stage / "manifest.json").write_text(json.dumps(manifest))
    return publish.publish_run(stage, out, "brief", run)


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its bytes' sha256 (folders and links by their kind)."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[key] = "dir"
    return found


# -- the output folder's trust ----------------------------------------------------------------


@pytest.fixture
def out_with_a_forgery(tmp_path) -> Path:
    """An output folder with September's edition published, and beside it a plain folder
    holding a copy of a run whose ledger was reworded, dated later, files matching their
    manifest: what a hand (or an attacker) with write access could leave there."""
    out = tmp_path / "out"
    with publish.locked(out):
        link = published(
            out, "end-2023-09-30-0000000000", {**PARAMS, "end": "2023-09-30"}, ledger("2023-09-30")
        )
    forged = out / "brief" / "end-2023-12-31-1111111111"
    shutil.copytree(link.resolve(), forged)
    manifest = json.loads((forged / "manifest.json").read_text())
    manifest.update(
        run=forged.name,
        parameters={**PARAMS, "end": "2023-12-31"},
        created_at="2026-12-02T10:00:00Z",
        edition=ledger("2023-12-31", title="Forged wording"),
    )
    (forged / "manifest.json").write_text(json.dumps(manifest))
    # A link brief did not make, to a copy elsewhere, is no run either.
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(forged, elsewhere)
    (out / "brief" / "end-2023-12-30-2222222222").symlink_to(elsewhere)
    return out


def test_a_copied_or_made_up_run_is_neither_listed_nor_the_previous_edition(out_with_a_forgery):
    out = out_with_a_forgery
    runs = [row["run"] for row in publish.list_runs(out)]
    assert runs == ["end-2023-09-30-0000000000"]
    page = index.write_index(out).read_text(encoding="utf-8")
    assert "1111111111" not in page and "2222222222" not in page
    # March follows September, not the forged December: no forged "correction" is printed.
    found = previous_edition(out, "brief", "default", PARAMS)
    assert found.edition is not None and found.edition.date == "2023-09-30", found
    assert "Forged wording" not in json.dumps(list(found.edition.facts.values()))


def test_out_that_names_no_folder_or_the_root_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "index.html").write_text("the working folder's own page")
    before = tree(tmp_path)
    code, said = run(capsys, "render", "brief", "--cold", "--out", "")
    assert code == 2 and "'' names no folder" in said, said
    code, said = run(capsys, "render", "brief", "--cold", "--out", "/")
    assert code == 2 and "output folder / is the root of the file system" in said, said
    assert tree(tmp_path) == before


@pytest.mark.parametrize("command", ["render", "batch"])
def test_a_folder_brief_did_not_make_is_refused_and_kept_untouched(capsys, tmp_path, command):
    site = tmp_path / "site"
    (site / ".tmp").mkdir(parents=True)
    (site / ".tmp" / "draft.txt").write_text("the site's own work")
    (site / "index.html").write_text("<h1>the site's own index</h1>")
    (site / "brief").mkdir()
    (site / "brief" / "notes.txt").write_text("a subfolder brief did not make")
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\njobs:\n  - notebook: brief\n")
    before = tree(site)
    args = ["render", "brief"] if command == "render" else ["batch", plan]
    code, said = run(capsys, *args, "--cold", "--out", site)
    assert code == 2, said
    assert "already holds files brief did not make (.tmp, brief, index.html)" in said
    assert "leaves it untouched" in said
    assert tree(site) == before


# -- manifests and ledgers as untrusted files ------------------------------------------------


def sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that takes no room on disk."""
    with open(path, "wb") as handle:
        handle.truncate(size)


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("plant", "why"),
    [
        (lambda p: p.write_text(_nested(100_000)), "nests deeper than"),
        (lambda p: os.mkfifo(p), "FIFO"),
        (lambda p: p.symlink_to("/dev/zero"), "symbolic link"),
        (lambda p: sparse(p, 1 << 30), "more than the"),
        (lambda p: p.write_text('{"outputs": "x"}'), "does not match the schema"),
    ],
    ids=["nested", "fifo", "link-to-dev-zero", "1-GB", "schema"],
)
def test_a_manifest_that_is_deep_a_fifo_a_link_huge_or_malformed_is_passed_over_with_a_warning(
    tmp_path, caplog, plant, why
):
    out = tmp_path / "out"
    with publish.locked(out):
        good = published(out, "default", PARAMS, ledger("2024-03-02"))
        bad = published(
            out, "end-2023-09-30-0000000000", {**PARAMS, "end": "2023-09-30"}, ledger("2023-09-30")
        )
    target = bad / "manifest.json"
    target.unlink()
    plant(target)
    with publish.locked(out):  # the lock is taken and released: nothing hangs with it held
        rows = publish.list_runs(out)
        index.write_index(out)
        found = previous_edition(out, "brief", "default", PARAMS)
    assert [row["run"] for row in rows] == [good.name]
    assert why in caplog.text
    assert found.edition is not None and found.edition.date == "2024-03-02"
    with pytest.raises(EditionUnreadable, match="from before editions" if "schema" in why else why):
        read_edition(target)


@pytest.mark.timeout(60)
def test_brief_diff_on_a_fifo_or_a_device_exits_2_at_once(capsys, tmp_path):
    out = tmp_path / "out"
    with publish.locked(out):
        good = published(out, "default", PARAMS, ledger("2024-03-02"))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for other in (fifo, Path("/dev/zero")):
        code, said = run(capsys, "diff", other, good)
        assert code == 2, said
        assert "not a regular file" in said and "cannot compare" in said


def test_a_ledger_naming_an_unknown_table_is_a_warning_and_no_box(tmp_path):
    out = tmp_path / "out"
    strange = ledger("2023-09-30")
    strange["facts"][0]["table"] = "rumours"
    with publish.locked(out):
        link = published(out, "end-2023-09-30-0000000000", {**PARAMS, "end": "2023-09-30"}, strange)
    with pytest.raises(EditionUnreadable, match="'rumours', which no edition shows"):
        read_edition(link)
    found = previous_edition(out, "brief", "default", PARAMS)
    assert found.edition is None and found.since is None
    assert "which no edition shows" in found.warning
    # The kernel side, given that manifest as `since`, warns and makes the brief without
    # the box (before: the box's ordering raised ValueError and the notebook failed, exit 5).
    from helpers.report.since import previous

    with pytest.warns(UserWarning, match="which no edition shows"):
        assert previous(str(link)) is None
    assert FIRST  # the first-edition marker is untouched by the check


# -- --only-changed ------------------------------------------------------------------------------


def test_an_edition_made_from_other_actors_places_or_sources_is_not_nothing_new(tmp_path):
    from helpers.ledger import Edition, made_from_changes
    from helpers.pipeline.series import made_from

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parents[1] / "data", data)
    notebook = Path(__file__).parents[1] / "notebooks" / "brief.ipynb"
    before = made_from(notebook, data)
    assert made_from(notebook, data) == before  # the same inputs, the same record
    for table, old, new in (
        ("actors", "kan-zaw,Dr Kan Zaw,", "kan-zaw,Dr Kan Zaw Oo,"),
        ("places", "21.9,95.96", "21.8,95.96"),
        ("sources", ",F,3,", ",E,3,"),
    ):
        path = data / f"{table}.csv"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        now = made_from(notebook, data)
        assert [k for k in now if now[k] != before[k]] == [table]
        then = Edition("2024-03-02", "2024-03-02", {}, made_from=before)
        assert made_from_changes(then, Edition("2024-03-02", "2024-03-02", {}, made_from=now)) == [
            table
        ]
        path.write_text(text, encoding="utf-8")


@pytest.mark.kernels
def test_only_changed_publishes_an_actor_renamed_and_the_ledger_records_it(capsys, tmp_path):
    # Issue 23: an actor's name is printed beside the facts, but a fact's hash covers only
    # the actor's id: the edition was skipped as "nothing new", and the next plain run
    # published the new name under a box that said "0 changed".
    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parents[1] / "data", data)
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nformats: [html]\njobs:\n  - notebook: brief\n")
    out = tmp_path / "out"
    args = ["batch", plan, "--out", out, "--data", data, "--workers", "1", "--only-changed"]
    code, said = run(capsys, *args)
    assert code == 0, said
    actors = data / "actors.csv"
    actors.write_text(
        actors.read_text(encoding="utf-8").replace("kan-zaw,Dr Kan Zaw,", "kan-zaw,Dr Kan Zaw Oo,"),
        encoding="utf-8",
    )
    code, said = run(capsys, *args)
    assert code == 0, said
    assert "not published (--only-changed)" not in said, said
    [folder] = [p for p in (out / "brief").iterdir() if not p.name.startswith(".")]
    assert "Dr Kan Zaw Oo" in (folder / "brief.html").read_text(encoding="utf-8")
    edition = json.loads((folder / "manifest.json").read_text())["edition"]
    assert edition["made_from_changed"] == ["actors"]
    assert "also changed: actors" in (out / "index.html").read_text(encoding="utf-8")


# -- tracebacks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "holds"), [("[]", "an array"), ('"x"', "a string"), ("null", "null")]
)
def test_a_notebook_file_holding_json_that_is_no_object_is_a_usage_error(
    capsys, tmp_path, text, holds
):
    notebook = tmp_path / "brief.ipynb"
    notebook.write_text(text)
    code, said = run(capsys, "render", notebook, "--cold", "--out", tmp_path / "out")
    assert code == 2, said
    assert f"is not a readable Jupyter notebook: it holds {holds}, not a notebook" in said
    assert not (tmp_path / "out").exists()


def test_brief_params_and_brief_batch_on_a_corrupt_notebook_are_usage_errors(capsys, tmp_path):
    notebook = tmp_path / "brief.ipynb"
    notebook.write_text("{not json")
    code, said = run(capsys, "params", notebook)
    assert code == 2 and "is not a readable Jupyter notebook: Expecting property name" in said
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"version: 1\njobs:\n  - notebook: {notebook}\n")
    code, said = run(capsys, "batch", plan, "--cold", "--out", tmp_path / "out")
    assert code == 2 and "is not a readable Jupyter notebook" in said, said
    assert "Traceback" not in said


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"a\\u0000b"', "out = 'a\\x00b': a path cannot hold a NUL byte"),
        ('"~nouser-of-this-machine/briefs"', "there is no home folder of 'nouser-of-this-machine'"),
    ],
)
def test_an_out_in_brief_toml_that_names_no_folder_is_a_usage_error(
    capsys, tmp_path, monkeypatch, value, says
):
    (tmp_path / "brief.toml").write_text(f"out = {value}\n")
    monkeypatch.chdir(tmp_path)
    for command in (["render", "brief", "--cold"], ["config"]):
        code, said = run(capsys, *command)
        assert code == 2, said
        assert says in said and "brief.toml" in said


SIGTERM_AFTER = """
import os, signal, sys
from helpers.pipeline import render, progress
where = sys.argv[1]
if where == "index":  # after the index is written and the lock released
    original = render._raise_failures
    def stop(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        return original(*args)
    render._raise_failures = stop
else:  # just after "done"
    original = progress.PlainReporter.done
    def stop(self, *args, **kwargs):
        original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
    progress.PlainReporter.done = stop
from helpers.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.kernels
@pytest.mark.parametrize("where", ["index", "done"])
def test_sigterm_after_a_run_is_published_exits_130_and_says_it_was_published(tmp_path, where):
    notebook = tmp_path / "nbs" / "tiny.ipynb"
    notebook.parent.mkdir()
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cell = new_code_cell("title = None")
    cell.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[cell, new_code_cell("print('tiny')")])
    nb.metadata["brief"] = {"schema": "brief"}
    nbformat.write(nb, notebook)
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SIGTERM_AFTER,
            where,
            "render",
            str(notebook),
            "--cold",
            "--to",
            "html",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 130, said
    assert "stopped after publishing tiny/default: complete and listed in the index" in said
    assert "aborted" not in said
    assert (out / "tiny" / "default" / "tiny.html").is_file()
    assert "tiny/default/tiny.html" in (out / "index.html").read_text(encoding="utf-8")


# -- smaller -----------------------------------------------------------------------------------


def test_the_index_carries_a_content_security_policy(tmp_path):
    out = tmp_path / "out"
    with publish.locked(out):
        published(out, "default", PARAMS, ledger("2024-03-02"))
    page = index.write_index(out).read_text(encoding="utf-8")
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;' in page
        or '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page
    )


def test_since_naming_an_edition_of_another_series_is_refused_before_a_kernel(capsys, tmp_path):
    out = tmp_path / "out"
    china = {**PARAMS, "partner": "China"}
    with publish.locked(out):
        other = published(out, "partner-china-0123456789", china, ledger("2024-03-02"))
    with pytest.raises(Exception, match="an edition of another series"):
        previous_edition(out, "brief", "default", PARAMS, since=str(other))
    code, said = run(capsys, "render", "brief", "--cold", "--out", out, "--since", other)
    assert code == 2, said
    assert "an edition of another series (brief: partner = China)" in said
    assert not (out / "_failed").exists()


def test_an_unbroken_word_of_the_greatest_length_stays_on_the_pdf_page(tmp_path):
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from helpers.pipeline.export import render_html, render_pdf

    word = "W" * 200  # the longest title the data allows (data package 2.1.0)
    shown = f"<p>{word}</p><table><tr><td>{word}</td><td>b</td></tr></table>"
    cell = new_code_cell("x", outputs=[new_output("display_data", data={"text/html": shown})])
    nb = new_notebook(cells=[new_markdown_cell(f"# T\n\n{word}"), cell])
    nb.metadata["brief"] = {"title": "T"}
    html = render_html(nb, resources={"metadata": {"name": "t"}})
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(render_pdf(html))
    boxes = subprocess.run(
        ["pdftotext", "-bbox", pdf, "-"], capture_output=True, text=True, check=True
    ).stdout
    import re

    width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes))
    assert right <= width, f"text runs to x = {right:.0f} on a page {width:.0f} wide"


def test_a_utf8_bom_at_the_start_of_a_csv_is_read_past_by_validation_and_the_dataset(
    capsys, data_copy
):
    # Issue 23: it became part of the first column's name, so every event id went missing
    # and 13 problems were reported about assessments.csv.
    import helpers

    events = data_copy / "events.csv"
    events.write_bytes(b"\xef\xbb\xbf" + events.read_bytes())
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 0, said
    assert "ev-kan-zaw-visit" in set(helpers.load(data_copy).events["event_id"])


def test_a_source_file_given_as_an_absolute_path_is_refused_and_not_read(capsys, data_copy):
    # Not UTF-8, so that reading it would be a traceback: it used to be read all the same.
    elsewhere = data_copy.parent / "not-a-source.txt"
    elsewhere.write_bytes(b"\xff\xfe secret")
    sources = data_copy / "sources.csv"
    text = sources.read_text(encoding="utf-8")
    sources.write_text(text.replace("article-2024-03-02.txt", str(elsewhere)), encoding="utf-8")
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 3, said
    assert "sources.csv:2 column 'file'" in said and "Traceback" not in said


def test_a_judgment_graded_above_what_its_one_f_graded_source_allows_is_refused(capsys, data_copy):
    judgments = data_copy / "judgments.csv"
    judgments.write_text(
        judgments.read_text(encoding="utf-8")
        + "jd-russia,defence,The junta will deepen its ties with Russia,likely,high,"
        "ev-kan-zaw-visit,,analyst,2024-03-10\n",
        encoding="utf-8",
    )
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 3, said
    assert "judgments.csv:2 column 'confidence'" in said
    assert "confidence 'high' is more than the evidence allows" in said
    assert "1 source (art-2024-03-02 (F3)), which allows at most 'low'" in said
    judgments.write_text(
        judgments.read_text(encoding="utf-8").replace(",likely,high,", ",likely,low,"),
        encoding="utf-8",
    )
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 0, said


def test_the_masthead_never_prints_the_data_folders_path(tmp_path):
    from helpers.params import BriefParams

    folder = tmp_path / "srv-data\u202egnp.exe"
    params = BriefParams(data_dir=str(folder))
    scope = dict(params.masthead()["scope"])
    assert scope["Data"] == "a data folder other than the package's own"
    assert str(tmp_path) not in json.dumps(params.masthead(), ensure_ascii=False)


@pytest.mark.kernels
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_no_kernel_connection_file_is_on_disk_while_the_kernel_works(capsys, tmp_path, warm):
    # Issue 23: a batch killed outright left its kernels' connection files (ports, HMAC key)
    # in <out>/.tmp/<job>/ until the next run. Once a kernel answers, its file is removed:
    # the cell below looks for it while the kernel runs, as a kill would find it.
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    out = tmp_path / "out"
    cell = new_code_cell("title = None")
    cell.metadata["tags"] = ["parameters"]
    look = new_code_cell(
        "import glob\n"
        f"found = glob.glob({str(out / publish.TMP_NAME)!r} + '/**/*.json', recursive=True)\n"
        "print('connection files:', found)"
    )
    nb = new_notebook(cells=[cell, look])
    nb.metadata["brief"] = {"schema": "brief"}
    notebook = tmp_path / "nbs" / "tiny.ipynb"
    notebook.parent.mkdir()
    nbformat.write(nb, notebook)
    args = ["render", notebook, "--to", "html", "--out", out, *([] if warm else ["--cold"])]
    code, said = run(capsys, *args)
    assert code == 0, said
    executed = nbformat.read(out / "tiny" / "default" / "tiny.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    assert "connection files: []" in printed, printed


def test_a_notebook_found_readable_then_broken_is_refused_in_the_same_process(tmp_path):
    """The check remembers a readable notebook only while its file is unchanged: one broken
    after a first render (``brief serve``, a long batch) is refused, not let through."""
    import shutil

    from helpers import paths
    from helpers.errors import UsageError
    from helpers.pipeline.prepare import _check_readable

    notebook = tmp_path / "brief.ipynb"
    shutil.copy(paths.NOTEBOOKS_DIR / "brief.ipynb", notebook)
    _check_readable(notebook)
    _check_readable(notebook)  # remembered: not read again
    notebook.write_text("{not json")
    with pytest.raises(UsageError, match="is not a readable Jupyter notebook: Expecting property"):
        _check_readable(notebook)
