"""The render pipeline: validate first, publish atomically, keep the old report on failure."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import child_processes
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import paths
from helpers.errors import (
    DataValidationError,
    ExecutionError,
    LockHeldError,
    ParameterError,
    RenderError,
    UsageError,
)
from helpers.params import validate_parameters
from helpers.pipeline import execute as execute_module
from helpers.pipeline import export as exporters
from helpers.pipeline import publish, render
from helpers.pipeline.manifest import sha256_file
from helpers.pipeline.progress import Reporter
from helpers.pipeline.request import RenderFailed

BRIEF = Path(sys.executable).with_name("brief")


# -- helpers -------------------------------------------------------------------------------------


def make_notebook(folder: Path, name: str, *sources: str, schema: str = "defence") -> Path:
    """A report-shaped notebook: a parameters cell, then ``sources``; its schema in metadata."""
    params = new_code_cell("partner = 'Russia'\nas_of = '2024-03-02'")
    params.metadata["tags"] = ["parameters"]
    cells = [new_markdown_cell(f"# {name}"), params]
    cells += [new_code_cell(source) for source in sources]
    nb = new_notebook(cells=cells)
    nb.metadata["brief"] = {"schema": schema}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def visible(out_dir: Path) -> dict[str, bytes]:
    """Every file a reader can reach under ``out_dir``: through the run links, not temporaries."""
    files = {}
    for root, dirs, names in os.walk(out_dir, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):
                path = Path(root) / name
                files[str(path.relative_to(out_dir))] = path.read_bytes()
    return files


def leftovers(out_dir: Path) -> list[Path]:
    """Temporary files and folders, and versions no run link points to."""
    found = [p for p in out_dir.rglob("*") if p.name.endswith((".tmp", ".link"))]
    found += list((out_dir / publish.TMP_NAME).glob("*"))
    for versions in out_dir.glob(f"*/{publish.VERSIONS_NAME}/*"):
        current = (versions.parent.parent / versions.name).resolve()
        found += [v for v in versions.iterdir() if v.resolve() != current]
    return found


class FakeKernel:
    """Stands in for :func:`helpers.execute.execute_notebook`: 'runs' every cell, no kernel."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, dict, dict]] = []
        self.fail: Exception | None = None

    def __call__(self, notebook, output_path, parameters=None, **kwargs):
        self.calls.append((Path(notebook), dict(parameters or {}), kwargs))
        nb = nbformat.read(notebook, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        for count, cell in enumerate(code, start=1):
            cell.execution_count = count
            cell.outputs = [new_output("stream", name="stdout", text=json.dumps(parameters))]
        nbformat.write(nb, output_path)
        if self.fail is not None:
            raise self.fail
        return nb


@pytest.fixture
def kernel(monkeypatch) -> FakeKernel:
    fake = FakeKernel()
    monkeypatch.setattr(execute_module, "execute_notebook", fake)
    return fake


@pytest.fixture
def fake_exporters(monkeypatch):
    """Fast exporters: HTML naming the notebook's outputs, 'PDF' wrapping the HTML."""
    calls = {"html": [], "pdf": []}

    def render_html(nb, *, resources=None):
        calls["html"].append(resources)
        outputs = [o.get("text", "") for c in nb.cells for o in c.get("outputs", [])]
        return f"<html><body>{''.join(outputs)}</body></html>"

    def render_pdf(html, *, paper="A4", base_url=None):
        calls["pdf"].append(paper)
        return b"%PDF-fake " + html.encode()

    monkeypatch.setattr(exporters, "render_html", render_html)
    monkeypatch.setattr(exporters, "render_pdf", render_pdf)
    return calls


@pytest.fixture
def no_data_check(monkeypatch):
    """Skip the (correct, but seconds-long) data validation in tests about something else."""
    from helpers.data import validation

    seen = []
    monkeypatch.setattr(
        validation, "ensure_valid", lambda data_dir=None, sources=None: seen.append(data_dir)
    )
    return seen


@pytest.fixture
def no_kernel(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(execute_module, "execute_notebook", refuse)


# -- prepare: everything is checked before a kernel starts -------------------------------------


def test_bad_parameter_is_refused_before_any_kernel_starts_or_file_is_written(
    tmp_path, no_kernel, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"
    with pytest.raises(ParameterError, match=r"partner.*'Atlantis'"):
        render.render([notebook], parameters={"partner": "Atlantis"}, out_dir=out)
    assert not out.exists()


def test_parameter_the_notebook_does_not_declare_is_an_error_naming_it(
    tmp_path, no_kernel, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    with pytest.raises(ParameterError, match="unknown parameter 'sleep'"):
        render.prepare([notebook], parameters={"sleep": "10"})


def test_parameter_problems_of_every_requested_notebook_are_reported_together(
    tmp_path, no_data_check
):
    brief = make_notebook(tmp_path / "nbs", "one", schema="brief")
    defence = make_notebook(tmp_path / "nbs", "two", schema="defence")
    three = make_notebook(tmp_path / "nbs", "three", schema="defence")
    with pytest.raises(ParameterError) as caught:
        render.prepare([brief, defence, three], parameters={"themes": "energy"})
    message = str(caught.value)
    assert "one.ipynb" not in message  # the brief takes themes
    assert "two.ipynb: unknown parameter 'themes'" in message
    assert "three.ipynb: unknown parameter 'themes'" in message


def test_unknown_notebook_is_a_usage_error_listing_the_known_ones(no_kernel):
    with pytest.raises(UsageError, match="unknown notebook 'nosuch'; known notebooks: ") as caught:
        render.prepare(["nosuch"])
    for known in paths.report_notebooks():
        assert known.stem in str(caught.value)


@pytest.mark.parametrize("formats", [("html", "docx"), (), "markdown"])
def test_formats_other_than_html_and_pdf_are_a_usage_error(tmp_path, formats, no_kernel):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    with pytest.raises(UsageError, match="choose from: html, pdf"):
        render.prepare([notebook], formats=formats)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- partner\n- China\n", "must hold a mapping"),
        ("partner: [unclosed\n", "not valid YAML"),
        ("partner: !!python/object/apply:os.system ['echo owned']\n", "not valid YAML"),
    ],
)
def test_params_file_must_be_a_plain_yaml_mapping(tmp_path, text, message, no_kernel):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    params_file = tmp_path / "params.yaml"
    params_file.write_text(text)
    with pytest.raises(UsageError, match=message):
        render.prepare([notebook], params_file=params_file)


def test_missing_params_file_is_a_usage_error(tmp_path, no_kernel):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    with pytest.raises(UsageError, match="cannot read parameters file"):
        render.prepare([notebook], params_file=tmp_path / "nope.yaml")


def test_parameters_override_the_params_file(tmp_path, no_data_check):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    params_file = tmp_path / "params.yaml"
    params_file.write_text("partner: China\nmax_rows: 20\n")
    [job] = render.prepare([notebook], params_file=params_file, parameters={"partner": "India"})
    assert job.parameters["partner"] == "India"
    assert job.parameters["max_rows"] == 20
    assert job.overrides == {"partner": "India", "max_rows": 20}


def test_invalid_data_is_refused_before_any_kernel_starts(tmp_path, data_copy, no_kernel):
    (data_copy / "relations.csv").unlink()
    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"
    with pytest.raises(DataValidationError, match=r"relations\.csv"):
        render.render([notebook], data_dir=data_copy, out_dir=out)
    assert not out.exists()


def test_require_sources_refuses_a_missing_source_text_before_any_kernel_starts(
    tmp_path, data_copy, no_kernel, no_data_check, monkeypatch, capsys
):
    from helpers.cli import main

    path = data_copy / "sources.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(".txt,", "-gone.txt,", 1), encoding="utf-8")
    monkeypatch.setenv(paths.SOURCES_ENV, str(tmp_path / "nothing-here"))
    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"
    argv = ["render", str(notebook), "--data", str(data_copy), "--out", str(out)]

    assert main([*argv, "--require-sources"]) == DataValidationError.exit_code
    assert "--require-sources publishes no brief" in capsys.readouterr().err
    assert not out.exists()


def test_defaults_make_the_default_run_and_data_dir_is_passed_to_the_notebook(
    tmp_path, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    [plain] = render.prepare([notebook], out_dir=tmp_path / "out")
    assert plain.run == "default"
    assert plain.overrides == {}
    assert plain.out_dir == (tmp_path / "out").resolve()

    [with_data] = render.prepare([notebook], data_dir=paths.DATA_DIR)
    assert with_data.parameters["data_dir"] == str(paths.DATA_DIR.resolve())
    assert with_data.run != "default"
    assert no_data_check[-1] == paths.DATA_DIR.resolve()


def test_data_folder_given_twice_differently_is_a_usage_error(tmp_path, no_data_check):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    with pytest.raises(UsageError, match="disagree"):
        render.prepare([notebook], data_dir=paths.DATA_DIR, parameters={"data_dir": str(tmp_path)})


def test_job_command_reproduces_the_same_parameters_and_run(tmp_path, monkeypatch, no_data_check):
    notebook = make_notebook(tmp_path / "nbs", "custom", schema="brief")
    [job] = render.prepare(
        [notebook],
        parameters={"title": "Junta's turn: 'China' → \"Russia\"", "themes": "energy,defence"},
        params_file=None,
        formats=["pdf"],
        out_dir=tmp_path / "out",
        timeout=42,
    )
    seen = {}
    monkeypatch.setattr(render, "render", lambda request, **kwargs: seen.update(request=request))
    from helpers.cli import main

    words = shlex.split(job.command)
    assert words[:2] == ["brief", "render"]
    assert main(words[1:]) == 0
    [again] = render.prepare(seen["request"])
    assert again.parameters == job.parameters
    assert again.run == job.run
    assert again.command == job.command


def test_every_job_pickles_for_the_batch_runner(tmp_path, no_data_check):
    import pickle

    notebook = make_notebook(tmp_path / "nbs", "custom")
    [job] = render.prepare([notebook])
    assert pickle.loads(pickle.dumps(job)) == job


# -- render with the kernel and exporters faked ----------------------------------------------


def test_render_publishes_notebook_html_pdf_and_manifest_and_lists_the_run(
    tmp_path, kernel, fake_exporters, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"

    [result] = render.render([notebook], parameters={"paper": "Letter"}, out_dir=out, timeout=9)

    assert result.ok and result.exit_code == 0
    assert result.path == out.resolve() / "custom" / result.run
    names = sorted(p.name for p in result.path.iterdir())
    assert names == ["custom.html", "custom.ipynb", "custom.pdf", "manifest.json"]
    manifest = json.loads((result.path / "manifest.json").read_text())
    for name, entry in manifest["outputs"].items():
        assert entry["sha256"] == sha256_file(result.path / name)
    assert manifest["parameters"]["paper"] == "Letter"
    assert manifest["overrides"] == {"paper": "Letter"}
    assert set(manifest["timings"]) == {"validate", "execute", "html", "pdf", "publish", "total"}
    assert fake_exporters["pdf"] == ["Letter"]
    _, injected, options = kernel.calls[0]
    # What the notebook was given is what the manifest records; which edition it followed
    # (injected as `since`) is recorded under `edition`.
    assert injected.pop("since") == "first"
    assert injected == manifest["parameters"]
    assert options["timeout"] == 9
    assert options["cwd"] == notebook.parent
    assert result.run in (out / "index.html").read_text()
    assert leftovers(out) == []


def test_the_html_is_reported_staged_before_the_pdf_with_nothing_published_yet(
    tmp_path, kernel, fake_exporters, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"
    events: list = []

    class Recorder(Reporter):
        def phase(self, notebook, run, phase):
            events.append(phase)

        def staged(self, notebook, run, fmt, path):
            events.append(("staged", fmt, path.read_text(), visible(out)))

    [result] = render.render([notebook], out_dir=out, reporter=Recorder())
    staged = next(e for e in events if isinstance(e, tuple))
    assert events == ["execute", "html", staged, "pdf", "publish"]
    assert staged[:3] == ("staged", "html", (result.path / "custom.html").read_text())
    assert staged[3] == {}  # nothing of the run is published when its HTML is staged


def test_html_only_publishes_no_pdf(tmp_path, kernel, fake_exporters, no_data_check):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    [result] = render.render([notebook], formats=["html"], out_dir=tmp_path / "out")
    assert sorted(p.name for p in result.path.iterdir()) == [
        "custom.html",
        "custom.ipynb",
        "manifest.json",
    ]
    assert fake_exporters["pdf"] == []


def test_a_stop_that_a_library_turns_into_an_error_is_an_interruption_not_a_failure(
    tmp_path, kernel, fake_exporters, monkeypatch, no_data_check
):
    # Any library may catch the KeyboardInterrupt of Ctrl-C or SIGTERM and raise or log
    # something else (WeasyPrint does); the run is then stopped, not failed, and not archived.
    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"

    def swallowing_pdf(html, *, paper="A4", base_url=None):
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # `kill` while the PDF is made
            time.sleep(5)
        except KeyboardInterrupt:
            raise RuntimeError("the PDF engine was interrupted") from None

    monkeypatch.setattr(exporters, "render_pdf", swallowing_pdf)
    with pytest.raises(KeyboardInterrupt):
        render.render([notebook], out_dir=out)
    assert not (out / publish.FAILED_NAME).exists()
    assert not (out / "custom").exists()


def test_failed_pdf_keeps_the_previous_report_byte_for_byte_and_archives_the_attempt(
    tmp_path, kernel, fake_exporters, monkeypatch, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"
    render.render([notebook], out_dir=out)
    before = visible(out / "custom")

    def broken_pdf(html, **kwargs):
        raise RenderError("WeasyPrint failed to render the PDF: boom")

    monkeypatch.setattr(exporters, "render_pdf", broken_pdf)
    with pytest.raises(RenderError, match="1 of 1 notebook") as caught:
        render.render([notebook], out_dir=out)

    assert caught.value.exit_code == 6
    assert visible(out / "custom") == before
    [result] = caught.value.results
    assert (result.status, result.phase) == ("failed", "pdf")
    archived = result.failed_path
    assert archived.parent == out.resolve() / "_failed" / "custom" / "default"
    assert "WeasyPrint failed to render the PDF: boom" in archived.read_text()
    assert list(archived.parent.glob("*.ipynb"))
    assert leftovers(out) == []
    index = (out / "index.html").read_text()
    assert "failed" in index and "custom/default/custom.html" in index


def test_failed_execution_is_exit_5_and_keeps_the_executed_notebook_for_debugging(
    tmp_path, kernel, fake_exporters, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom", "raise ValueError('boom')")
    kernel.fail = ExecutionError("custom.ipynb: cell 3 raised ValueError: boom")
    out = tmp_path / "out"
    with pytest.raises(ExecutionError, match="cell 3 raised ValueError") as caught:
        render.render([notebook], out_dir=out)
    assert caught.value.exit_code == 5
    [result] = caught.value.results
    kept = nbformat.read(next(result.failed_path.parent.glob("*.ipynb")), as_version=4)
    assert kept.cells[-1].source == "raise ValueError('boom')"
    assert not (out / "custom").exists()
    assert fake_exporters["html"] == []
    assert leftovers(out) == []


def test_unexpected_exporter_crash_is_a_render_error_with_its_traceback_kept(
    tmp_path, kernel, fake_exporters, monkeypatch, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")

    def crash(nb, **kwargs):
        raise KeyError("masthead")

    monkeypatch.setattr(exporters, "render_html", crash)
    with pytest.raises(RenderError, match="html failed: KeyError") as caught:
        render.render([notebook], out_dir=tmp_path / "out")
    text = caught.value.results[0].failed_path.read_text()
    assert "Traceback" in text and "KeyError: 'masthead'" in text


def test_a_failing_notebook_does_not_stop_the_others(
    tmp_path, kernel, fake_exporters, monkeypatch, no_data_check
):
    good = make_notebook(tmp_path / "nbs", "good")
    bad = make_notebook(tmp_path / "nbs", "bad")
    real = kernel.__call__

    def fail_bad(notebook, output_path, parameters=None, **kwargs):
        nb = real(notebook, output_path, parameters, **kwargs)
        if Path(notebook).stem == "bad":
            raise ExecutionError("bad.ipynb: the kernel died while running cell 3")
        return nb

    monkeypatch.setattr(execute_module, "execute_notebook", fail_bad)
    with pytest.raises(ExecutionError, match="1 of 2 notebook") as caught:
        render.render([bad, good], out_dir=tmp_path / "out")
    assert [(r.notebook, r.status) for r in caught.value.results] == [
        ("bad", "failed"),
        ("good", "ok"),
    ]
    assert (tmp_path / "out" / "good" / "default" / "good.pdf").is_file()


def test_failed_jobs_raise_render_failed_of_the_first_failures_kind_with_every_result(
    tmp_path, kernel, fake_exporters, monkeypatch, no_data_check
):
    first = make_notebook(tmp_path / "nbs", "first")
    second = make_notebook(tmp_path / "nbs", "second")
    real = kernel.__call__

    def fail_second(notebook, output_path, parameters=None, **kwargs):
        nb = real(notebook, output_path, parameters, **kwargs)
        if Path(notebook).stem == "second":
            raise ExecutionError("second.ipynb: cell 3 raised ValueError")
        return nb

    def html_fails_for_first(nb, *, resources=None):
        if resources["metadata"]["name"] == "first":
            raise KeyError("masthead")
        return "<html></html>"

    monkeypatch.setattr(execute_module, "execute_notebook", fail_second)
    monkeypatch.setattr(exporters, "render_html", html_fails_for_first)
    with pytest.raises(RenderFailed) as caught:
        render.render([first, second], out_dir=tmp_path / "out")
    assert isinstance(caught.value, RenderError)  # the first failure's kind: exit 6, not 5
    assert caught.value.exit_code == 6
    assert [(r.notebook, r.phase) for r in caught.value.results] == [
        ("first", "html"),
        ("second", "execute"),
    ]
    assert "2 of 2 notebook(s) failed" in str(caught.value)


def test_lock_held_by_another_run_is_exit_75_and_touches_nothing(
    tmp_path, kernel, fake_exporters, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"
    render.render([notebook], out_dir=out)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from filelock import FileLock; "
            f"l = FileLock({str(out / '.brief.lock')!r}, timeout=0); l.acquire(); "
            "print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = visible(out)
        kernel.calls.clear()
        with pytest.raises(LockHeldError) as caught:
            render.render([notebook], out_dir=out)
        assert caught.value.exit_code == 75
        assert kernel.calls == []
        assert visible(out) == before
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()


# -- real kernels and exporters --------------------------------------------------------------


def children_gone(pid: int | None = None, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child_processes(pid):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.kernels
def test_end_to_end_with_defaults_renders_every_notebook(tmp_path):
    out = tmp_path / "reports"
    results = render.render(out_dir=out)
    assert sorted(r.notebook for r in results) == sorted(p.stem for p in paths.report_notebooks())
    for result in results:
        assert result.run == "default"
        folder = out / result.notebook / "default"
        assert (folder / f"{result.notebook}.pdf").read_bytes().startswith(b"%PDF")
        if result.notebook == "brief":
            from pypdf import PdfReader

            assert len(PdfReader(folder / "brief.pdf").pages) <= 4
        assert "<html" in (folder / f"{result.notebook}.html").read_text().lower()
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["overrides"] == {}
        assert manifest["command"] == f"brief render {result.notebook} --out {out.resolve()}"
        # The data trail behind the reader's notes: every note, with its rows.
        notes = manifest["citations"]
        assert [n["note"] for n in notes] == list(range(1, len(notes) + 1)) and notes
        assert all(n["rows"] and n["source_id"] == "art-2024-03-02" for n in notes)
    index = (out / "index.html").read_text()
    assert all(f"{r.notebook}/default/{r.notebook}.html" in index for r in results)
    assert leftovers(out) == []
    assert children_gone()


@pytest.mark.kernels
@pytest.mark.parametrize(
    "parameters",
    [
        {"partner": "China"},
        {"partner": "India"},
        {"end": "2023-09-30"},
        # The longest brief found by the proof run: a window holding the naval events.
        {"partner": "India", "start": "2023-10-01", "end": "2023-11-30"},
    ],
)
def test_the_main_brief_fits_four_a4_pages_for_every_partner_and_view(tmp_path, parameters):
    """Russia, known by the source's date, is checked in the end-to-end run above."""
    from pypdf import PdfReader

    [result] = render.render(["brief"], parameters=parameters, out_dir=tmp_path, formats=["pdf"])
    pages = len(PdfReader(result.path / "brief.pdf").pages)
    assert pages <= 4, (parameters, pages)


@pytest.mark.kernels
def test_real_run_publishes_then_a_failing_run_leaves_it_intact(tmp_path):
    folder = tmp_path / "nbs"
    notebook = make_notebook(folder, "custom", "print(f'{partner} as of {as_of}')")
    out = tmp_path / "out"

    [result] = render.render([notebook], out_dir=out, timeout=60)
    pdf = result.path / "custom.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    executed = nbformat.read(result.path / "custom.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "Russia as of 2024-03-02\n"
    before = visible(out / "custom")

    make_notebook(folder, "custom", "import os; os._exit(0)", "print('never')")
    with pytest.raises(ExecutionError, match="kernel died while running cell 3") as caught:
        render.render([notebook], out_dir=out, timeout=60)

    assert visible(out / "custom") == before
    failed = caught.value.results[0].failed_path.parent
    kept = nbformat.read(next(failed.glob("*.ipynb")), as_version=4)
    assert kept.cells[-1].execution_count is None
    assert leftovers(out) == []
    assert children_gone()


# -- killed mid-render -----------------------------------------------------------------------

KILL_AT = textwrap.dedent(
    """
    # Run `brief render` and SIGKILL this process at a chosen point of publishing.
    import os, signal, sys
    from pathlib import Path

    where = sys.argv[1]
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        dst = Path(dst)
        if (where == "manifest" and dst.name == "manifest.json") or (
            where == "switch" and dst.is_symlink()
        ):
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace
    from helpers.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


@pytest.fixture(scope="module")
def good_report(tmp_path_factory):
    """A published report of a quick notebook, rendered once for the kill tests."""
    folder = tmp_path_factory.mktemp("good")
    notebook = make_notebook(folder / "nbs", "custom", "print('the good report')")
    render.render([notebook], out_dir=folder / "out", timeout=60)
    return folder


def copy_report(good: Path, tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    shutil.copytree(good, tmp_path / "copy", symlinks=True)
    return tmp_path / "copy" / "nbs" / "custom.ipynb", tmp_path / "copy" / "out"


def after_kill_nothing_is_left(out: Path, before: dict[str, bytes]) -> None:
    assert visible(out) == before
    with publish.locked(out):  # what the next run does first
        pass
    assert leftovers(out) == []
    assert visible(out) == before


@pytest.mark.kernels
def test_killed_during_execution_leaves_the_old_report_intact(tmp_path, good_report):
    notebook, out = copy_report(good_report, tmp_path)
    before = visible(out)
    started = tmp_path / "started"
    make_notebook(
        notebook.parent,
        "custom",
        f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(120)",
    )
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir()
    proc = subprocess.Popen(
        [str(BRIEF), "render", str(notebook), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(tmpdir)},
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert proc.poll() is None, "brief render ended before the notebook started"
            assert time.monotonic() < deadline, "the notebook never started"
            time.sleep(0.2)
        kernels = psutil.Process(proc.pid).children(recursive=True)
        assert kernels, "the kernel should be running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    _, alive = psutil.wait_procs(kernels, timeout=15)
    assert alive == [], "the kernel outlived the killed run"
    # The kernel's connection file (its ports and HMAC key) is written in the run's own
    # folder, none in $TMPDIR (issue 15), and removed once the kernel answers (issue 23): a
    # run killed while its kernel works leaves none.
    assert [p.name for p in tmpdir.rglob("*.json")] == []
    assert not list((out / publish.TMP_NAME).rglob("*.connection.json"))
    after_kill_nothing_is_left(out, before)


@pytest.mark.kernels
@pytest.mark.parametrize("where", ["manifest", "switch"])
def test_killed_during_publishing_leaves_the_old_report_intact(tmp_path, good_report, where):
    notebook, out = copy_report(good_report, tmp_path)
    before = visible(out)
    make_notebook(notebook.parent, "custom", "print('a new report that never lands')")
    done = subprocess.run(
        [sys.executable, "-c", KILL_AT, where, "render", str(notebook), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "publish" in done.stdout  # it was killed while publishing, not before
    after_kill_nothing_is_left(out, before)


def test_validate_parameters_is_what_prepare_uses(tmp_path, no_data_check):
    # The injected values are exactly the schema's, so notebooks see what the manifest says.
    notebook = make_notebook(tmp_path / "nbs", "custom")
    [job] = render.prepare([notebook], parameters={"partner": "china"})
    assert job.parameters == validate_parameters(notebook, {"partner": "china"})


@pytest.mark.kernels
@pytest.mark.parametrize(
    ("warm", "env", "forked"),
    [(None, None, True), (False, None, False), (None, "0", False)],
    ids=["default-warm", "cold-argument", "BRIEF_WARM_KERNELS=0"],
)
def test_kernels_are_forked_from_a_warm_zygote_unless_turned_off(
    tmp_path, monkeypatch, warm, env, forked
):
    if env is None:
        monkeypatch.delenv(render.WARM_KERNELS_ENV, raising=False)
    else:
        monkeypatch.setenv(render.WARM_KERNELS_ENV, env)
    # A forked kernel's parent is the zygote; a kernel started normally is ours.
    notebook = make_notebook(tmp_path / "nbs", "parent", "import os\nprint(os.getppid())")
    [result] = render.render(
        [notebook], out_dir=tmp_path / "out", timeout=60, formats=["html"], warm_kernels=warm
    )
    executed = nbformat.read(result.path / "parent.ipynb", as_version=4)
    parent = int(executed.cells[-1].outputs[0]["text"])
    assert (parent != os.getpid()) is forked
    assert [p for p in child_processes() if p.pid == parent] == []  # the zygote has stopped


# -- --name: the output files' name ----------------------------------------------------------------


def test_output_files_take_the_name_the_template_gives_and_a_new_name_runs_again(
    tmp_path, kernel, fake_exporters, no_data_check
):
    from helpers.pipeline.uptodate import decide_all

    notebook = make_notebook(tmp_path / "nbs", "custom")
    out = tmp_path / "out"
    template = "{notebook}-{partner}-{as_of}"

    china = {"partner": "China"}
    [result] = render.render([notebook], out_dir=out, parameters=china, name=template)

    stem = "custom-China-2024-03-02"
    assert sorted(p.name for p in result.path.iterdir()) == [
        f"{stem}.html",
        f"{stem}.ipynb",
        f"{stem}.pdf",
        "manifest.json",
    ]
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert sorted(manifest["outputs"]) == [f"{stem}.html", f"{stem}.ipynb", f"{stem}.pdf"]
    assert f"--name '{template}'" in manifest["command"]
    index = (out / "index.html").read_text()
    assert f"custom/{result.path.name}/{stem}.pdf" in index

    same = render.prepare([notebook], out_dir=out, parameters={"partner": "China"}, name=template)
    assert [d.run for d in decide_all(same, out)] == [False]
    other = render.prepare([notebook], out_dir=out, parameters={"partner": "China"})
    assert [(d.run, d.reason) for d in decide_all(other, out)] == [(True, "file names changed")]


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("{partnr}", "unknown field {partnr}; the fields are: as_of, "),
        ("{partner.__class__}", "{partner.__class__} is not a plain field"),
        ("{partner!r}", "is not a plain field"),
        ("../{notebook}", "it has a folder separator"),
        ("{data_dir}", "it has a folder separator"),  # a value may hold one too
        (".{notebook}", "it starts with a dot"),
        ("{notebook", "--name '{notebook': "),
        ("x" * 200, "it is longer than 120 characters"),
    ],
)
def test_a_name_template_that_could_leave_the_run_folder_is_a_usage_error(
    tmp_path, template, said, no_data_check
):
    notebook = make_notebook(tmp_path / "nbs", "custom")
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(UsageError) as caught:
        render.prepare(
            [notebook], out_dir=tmp_path / "out", name=template, data_dir=data, check_data=False
        )
    assert said in str(caught.value)
    assert not (tmp_path / "out").exists()
