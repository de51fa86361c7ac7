"""Faults the hardening missed (issue 15): each a message and an exit code, not a traceback.

Control characters and other encodings in the data, symbolic link loops where a folder is
named, a parameters file with no end, a notebook that is not one, a broken descriptor, and
stray files where brief keeps its own. No kernel starts in any of them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from helpers.cli import main
from helpers.data import package
from helpers.pipeline import publish


def run(capsys, *args: str) -> tuple[int, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def reword(data: Path, old: str, new: str, encoding: str = "utf-8") -> None:
    path = data / "events.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding=encoding)


@pytest.mark.parametrize(
    ("char", "named"), [("\x00", "U+0000 (NUL)"), ("\x1b", "U+001B (ESC)"), ("\x0b", "U+000B")]
)
def test_a_control_character_in_the_data_is_named_with_file_line_and_column(
    capsys, tmp_path, data_copy, char, named
):
    reword(data_copy, "Kan Zaw visits Moscow", f"Kan Zaw{char} visits Moscow")
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 3
    assert f"events.csv:2 column 'title': character {named}" in said
    assert "at position 28 of the text" in said
    out = tmp_path / "out"
    code, said = run(capsys, "render", "brief", "--data", data_copy, "--out", out, "--to", "html")
    assert code == 3 and named in said
    assert not out.exists()  # refused before the output folder or a kernel


def test_a_csv_in_latin_1_is_named_with_its_line_not_a_traceback(capsys, data_copy):
    reword(data_copy, "Kan Zaw visits Moscow", "Kan Zaw visits Moscow café", encoding="latin-1")
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 3
    assert "events.csv:2: not UTF-8 text: byte 0xE9" in said and "save the file as UTF-8" in said


@pytest.mark.parametrize(
    ("args", "code", "what"),
    [
        (["render", "brief", "--out", "{loop}"], 2, "output folder"),
        (["render", "brief", "--data", "{loop}"], 2, "data folder"),
        (["render", "brief", "-p", "data_dir", "{loop}"], 4, "parameter 'data_dir' ="),
        (["batch", "{plan}", "--out", "{loop}"], 2, "output folder"),
        (["batch", "{plan}", "--data", "{loop}"], 2, "data folder"),
    ],
)
def test_a_symbolic_link_loop_where_a_folder_is_named_is_a_clear_error(
    capsys, tmp_path, args, code, what
):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\njobs:\n  - notebook: brief\n")
    given = [a.format(loop=tmp_path / "a", plan=plan) for a in args]
    got, said = run(capsys, *given, *([] if "--out" in args else ["--out", tmp_path / "out"]))
    assert got == code, said
    assert f"{what} {tmp_path / 'a'}: cannot be followed" in said


@pytest.mark.parametrize("command", ["render", "batch"])
def test_a_parameters_file_or_plan_with_no_end_is_refused_after_a_megabyte(capsys, command):
    args = ["render", "brief", "-f", "/dev/zero"] if command == "render" else ["batch", "/dev/zero"]
    code, said = run(capsys, *args)
    assert code == 2
    assert "/dev/zero is larger than 1,024 KiB" in said


def test_a_notebook_file_that_is_not_a_notebook_is_a_usage_error(capsys, tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not a notebook")
    code, said = run(capsys, "render", bad, "--out", tmp_path / "out")
    assert code == 2
    assert f"{bad} is not a readable Jupyter notebook" in said
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"resources": [', "not valid JSON: Expecting value: line 1 column 16"),
        ('{"resources": {}}', "not a Data Package descriptor"),
        (b"\xff\xfe", "not UTF-8 text"),
    ],
)
def test_a_broken_descriptor_is_a_data_error_naming_it(capsys, tmp_path, monkeypatch, text, why):
    broken = tmp_path / "datapackage.json"
    broken.write_bytes(text if isinstance(text, bytes) else text.encode())
    monkeypatch.setattr(package, "schema_path", lambda: broken)
    code, said = run(capsys, "validate", "--data", tmp_path)
    assert code == 3
    assert f"{broken}: {why}" in said


def test_stray_files_where_brief_keeps_its_own_do_not_break_later_runs(tmp_path):
    out = tmp_path / "out"
    (out / "brief" / publish.VERSIONS_NAME).mkdir(parents=True)
    (out / "brief" / publish.VERSIONS_NAME / ".DS_Store").write_bytes(b"\x00Bud1")
    (out / publish.TMP_NAME).write_text("a file, not a folder")
    with publish.locked(out):
        stage = publish.staging_dir(out, "brief-default")
        (stage / "brief.html").write_text("published")
        link = publish.publish_run(stage, out, "brief", "default")
    assert (link / "brief.html").read_text() == "published"
    assert json.dumps(publish.list_runs(out), default=str)  # the index can still be made


def test_free_text_is_capped_in_length_and_a_long_value_is_named_not_echoed(capsys, data_copy):
    # A 1,000-character place name validated, and made the places chart take a minute.
    path = data_copy / "places.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",Moscow,", "," + "Moscow " * 150 + ","), encoding="utf-8")
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 3
    assert "places.csv:" in said and "column 'name'" in said and '"maxLength" is "120"' in said
    assert "1,050 characters" in said and len(said) < 600
    descriptor = package.load_descriptor()
    free_text = [
        (resource["name"], field["name"])
        for resource in descriptor["resources"]
        for field in resource["schema"]["fields"]
        if field["type"] == "string"
        and not {"enum", "pattern", "maxLength"} & set(field.get("constraints", {}))
    ]
    assert free_text == []  # every free-text column has a cap


@pytest.mark.parametrize("char", ["\x85", "\x9b", "\u2028", "\u202e"])
def test_one_rule_for_text_in_titles_and_in_the_data(capsys, tmp_path, data_copy, char):
    code, said = run(capsys, "render", "brief", "-p", "title", f"A{char}B", "--out", tmp_path)
    assert code == 4 and f"character U+{ord(char):04X}" in said
    reword(data_copy, "Kan Zaw visits Moscow", f"Kan Zaw{char} visits Moscow")
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 3 and f"character U+{ord(char):04X}" in said


def test_a_notebook_may_not_take_a_name_brief_keeps_for_itself(capsys, tmp_path):
    from test_batch import make_notebook

    notebook = make_notebook(tmp_path / "nbs", "index.html")
    code, said = run(capsys, "render", notebook, "--out", tmp_path / "out")
    assert code == 2 and "notebook name 'index.html' is reserved" in said
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
@pytest.mark.browser
def test_a_notebooks_own_script_or_javascript_output_does_not_run_in_the_brief(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    from test_hardening import Page, dump_dom

    from helpers.pipeline.export import render_html

    cell = new_code_cell("show()")
    cell.outputs = [
        new_output(
            "display_data",
            data={"text/html": "<p>ok</p><script>document.title='PWNED-html'</script>"},
        ),
        new_output("display_data", data={"application/javascript": "document.title='PWNED-js'"}),
    ]
    nb = new_notebook(cells=[cell])
    nb.metadata["brief"] = {"title": "Safe"}
    with pytest.warns(UserWarning, match="not able to be represented"):  # the JavaScript
        html = render_html(nbformat.from_dict(nb))
    assert "Content-Security-Policy" in html and "script-src" not in html  # default-src 'none'
    assert "PWNED-js" not in html  # JavaScript outputs are not published at all
    page = tmp_path / "brief.html"
    page.write_text(html, encoding="utf-8")
    assert "PWNED" not in Page(dump_dom(page, tmp_path)).text("title")


def test_a_planted_manifest_is_not_listed_and_a_killed_index_write_is_cleaned_up(tmp_path):
    from helpers.pipeline import index

    out = tmp_path / "out"
    with publish.locked(out):
        stage = publish.staging_dir(out, "brief-default")
        (stage / "brief.html").write_text("published")
        manifest = {
            "status": "ok",
            "created_at": "2026-12-01T10:00:00Z",
            "outputs": {"brief.html": {"sha256": hashlib.sha256(b"published").hexdigest()}},
        }
        (stage / "manifest.json").write_text(json.dumps(manifest))
        publish.publish_run(stage, out, "brief", "default")
    planted = out / "brief" / "planted"
    planted.mkdir()
    (planted / "manifest.json").write_text(json.dumps({**manifest, "created_at": "2027"}))
    altered = out / "brief" / "altered"
    altered.mkdir()
    (altered / "manifest.json").write_text(json.dumps(manifest))
    (altered / "brief.html").write_text("changed by hand")
    page = index.write_index(out).read_text(encoding="utf-8")
    assert "brief/default/brief.html" in page
    assert "planted" not in page and "altered" not in page

    leftover = out / ".index.html.abc123.tmp"  # a kill between write and rename
    leftover.write_text("<html>half")
    with publish.locked(out):
        pass
    assert not leftover.exists() and (out / "index.html").exists()


def test_a_cache_folder_that_cannot_be_written_costs_a_validation_not_a_crash(
    tmp_path, monkeypatch, data_copy
):
    # Issue 14: a read-only or missing home (systemd's ProtectHome, a CI runner). As root,
    # permissions do not stop writes, so the cache is put under a file, where no folder can be.
    from helpers.data.validation import ensure_valid

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BRIEF_CACHE", str(blocker / "cache"))
    assert ensure_valid(data_copy) is not None  # validated, nothing cached
    assert ensure_valid(data_copy) is not None  # and again: no cache to hit, no crash


@pytest.mark.kernels
def test_sigterm_stops_brief_render_with_130_as_documented_and_leaves_nothing(tmp_path):
    # Issue 14: `brief render` exited 143 on SIGTERM, where the README says 130.
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    brief = Path(sys.executable).with_name("brief")
    process = subprocess.Popen(
        [brief, "render", "brief", "--to", "html", "--out", out],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (out / publish.TMP_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # the kernel is running the notebook
    process.send_signal(signal.SIGTERM)
    said, _ = process.communicate(timeout=60)
    assert process.returncode == 130, said
    assert not (out / publish.TMP_NAME).exists()
    assert not (out / "brief" / "default").exists()


def test_a_missing_source_text_is_said_by_validate_render_and_the_brief_itself(
    capsys, tmp_path, data_copy
):
    # Issue 14: with sources.csv naming a file that is nowhere, `brief validate` said "valid"
    # and the brief printed quotations that nothing had checked, without a word.
    from helpers import params as P
    from helpers.data.validation import unchecked_sources
    from helpers.report.brief import Brief

    path = data_copy / "sources.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace("article-2024-03-02.txt", "nowhere.txt"),
        encoding="utf-8",
    )
    code, said = run(capsys, "validate", "--data", data_copy)
    assert code == 0
    assert "'nowhere.txt' not found" in said
    assert "valid, but the evidence of 1 source(s) was not checked" in said
    assert [n for n in unchecked_sources(data_copy) if "'nowhere.txt' not found" in n]
    note = str(Brief(P.check(P.BriefParams, {"data_dir": str(data_copy)})).source_note())
    # Said to the reader without the file's name (no plumbing on the page, issue 20); the
    # manifest and the log name it for the operator.
    assert "Quotations not checked:</strong> the source’s text was not available" in note
    assert "nowhere.txt" not in note


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to give a checkout to another user")
def test_the_commit_is_recorded_for_a_checkout_owned_by_another_user(tmp_path):
    # Issue 14: the documented systemd and CI set-ups run brief as a user who does not own
    # the checkout; git then calls it "dubious" and the manifest's commit was silently null.
    import shutil
    import subprocess

    from helpers.pipeline.manifest import git_state

    repo = tmp_path / "checkout"
    repo.mkdir()
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], cwd=repo, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    for path in [repo, *repo.rglob("*")]:
        shutil.chown(path, user="nobody")
    assert git_state(repo) == {"commit": head, "dirty": False}


HOSTILE_HTML = (
    "<p>ok</p>"
    "<img src=data:image/png;base64,AA onerror=\"document.title='PWNED-onerror'\">"
    "<a href=\"javascript:document.title='PWNED-link'\">link</a>"
    '<a href="data:text/html,PWNED-data-link">data link</a>'
    '<img src="data:text/html;base64,UFdORUQ=" alt="not an image">'
    '<iframe src="https://example.org/PWNED-frame"></iframe>'
    '<form action="https://example.org/PWNED-form"><input name=q></form>'
    "<style>body { display: none } /* PWNED-style */</style>"
    "<svg onload=\"document.title='PWNED-svg'\"><text>PWNED-svg-text</text></svg>"
    '<p style="background:url(https://example.org/PWNED-css)" class="kept">styled</p>'
)
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ" + 10 * "A"
FIGURE = (
    f'<figure class="brief-figure"><img src="data:image/png;base64,{PNG}" alt="a chart"></figure>'
)


def test_a_notebooks_own_html_is_published_only_through_the_allowlist():
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

    from helpers.pipeline.export import render_html

    cell = new_code_cell("show()")
    cell.outputs = [
        new_output("display_data", data={"text/html": HOSTILE_HTML}),
        new_output(
            "display_data",
            data={"text/html": FIGURE},
        ),
        new_output(
            "display_data", data={"text/markdown": "**md** <script>inert-md-output</script>"}
        ),
    ]
    raw = new_raw_cell(
        "<b>raw</b><script>PWNED-raw</script>", metadata={"raw_mimetype": "text/html"}
    )
    markdown = new_markdown_cell(
        "Text <script>inert-text</script> <img src=data:image/png;base64,AA onerror=alert(1)>"
    )
    nb = new_notebook(cells=[markdown, cell, raw])
    nb.metadata["brief"] = {"title": "Safe"}

    html = render_html(nbformat.from_dict(nb))

    for word in (
        "PWNED",
        "onerror",
        "onload",
        "javascript:",
        "data:text/html",
        "<iframe",
        "<form",
        "<input",
        "<svg",
    ):
        assert word not in html, word
    # What the briefs use is kept as it was.
    assert "<p>ok</p>" in html and '<p class="kept">styled</p>' in html
    assert '<figure class="brief-figure"><img alt="a chart"' in html
    assert f'src="data:image/png;base64,{PNG}"/></figure>' in html
    assert "<strong>md</strong>" in html and "<b>raw</b>" in html
    assert html.count("<script") == 0


def test_stopped_while_weasyprint_draws_a_chart_is_an_interruption_not_a_failed_pdf(monkeypatch):
    # WeasyPrint catches every exception while it draws an SVG image, KeyboardInterrupt too,
    # and logs "Failed to render SVG image": a run stopped while it drew a chart used to be
    # recorded as a failed PDF (exit 6, under _failed/), in about a third of tries (issue 15).
    import base64
    import os
    import signal

    import weasyprint.svg

    from helpers.pipeline.export import render_pdf
    from helpers.signals import sigterm_interrupts

    real = weasyprint.svg.SVG.draw

    def draw(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # `kill`, or `systemctl stop`, at this moment
        return real(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.svg.SVG, "draw", draw)
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="9"/></svg>'
    src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    html = f'<html><body><p>A chart:</p><img src="{src}" alt="a chart"></body></html>'

    with sigterm_interrupts(), pytest.raises(KeyboardInterrupt):
        render_pdf(html)
    monkeypatch.undo()
    assert render_pdf(html).startswith(b"%PDF")  # not stopped: a PDF, as ever
