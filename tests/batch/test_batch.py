"""``brief batch``: a plan's jobs rendered as ``brief render`` would, in parallel, incrementally."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib
import nbformat
import psutil
import pytest
from conftest import needs_source
from nbformat.v4 import new_code_cell, new_notebook, new_output

from helpers import paths
from helpers.batch import executors, worker
from helpers.batch import runner as batch
from helpers.cli import main
from helpers.data import package as data_module
from helpers.errors import (
    ClusterError,
    DataValidationError,
    ExecutionError,
    KernelStartError,
    LockHeldError,
    ParameterError,
    RenderError,
    UsageError,
)
from helpers.pipeline import execute as execute_module
from helpers.pipeline import export as exporters
from helpers.pipeline import manifest as manifest_module
from helpers.pipeline import publish, render
from helpers.pipeline.request import Job

BRIEF = Path(sys.executable).with_name("brief")

# -- helpers -------------------------------------------------------------------------------------


def make_notebook(folder: Path, name: str, *sources: str, schema: str = "defence") -> Path:
    """A report-shaped notebook: a parameters cell, then ``sources``; its schema in metadata."""
    params = new_code_cell("partner = 'Russia'\nas_of = '2024-03-02'")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, *(new_code_cell(source) for source in sources)])
    nb.metadata["brief"] = {"schema": schema}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def write_plan(folder: Path, text: str, name: str = "plan.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


class FakeKernel:
    """Stands in for :func:`helpers.execute.execute_notebook`: 'runs' every cell, no kernel.

    ``errors[name]`` (or ``errors["name:partner"]``) lists exceptions to raise on that
    notebook's (and partner's) next calls, in turn.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.errors: dict[str, list[Exception]] = {}

    def __call__(self, notebook, output_path, parameters=None, **kwargs):
        name = Path(notebook).stem
        self.calls.append((name, dict(parameters or {})))
        nb = nbformat.read(notebook, as_version=4)
        for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
            cell.execution_count = count
            cell.outputs = [new_output("stream", name="stdout", text=json.dumps(parameters))]
        nbformat.write(nb, output_path)
        for key in (f"{name}:{(parameters or {}).get('partner')}", name):
            if self.errors.get(key):
                raise self.errors[key].pop(0)
        return nb


@pytest.fixture
def kernel(monkeypatch) -> FakeKernel:
    fake = FakeKernel()
    monkeypatch.setattr(execute_module, "execute_notebook", fake)
    monkeypatch.setattr(
        exporters, "render_html", lambda nb, *, resources=None: "<html>brief</html>"
    )
    monkeypatch.setattr(
        exporters,
        "render_pdf",
        lambda html, *, paper="A4", base_url=None: b"%PDF " + paper.encode(),
    )
    from helpers.data import validation

    monkeypatch.setattr(validation, "ensure_valid", lambda data_dir=None, sources=None: None)
    monkeypatch.setattr(batch, "RETRY_DELAY", (0, 0))
    return fake


@pytest.fixture
def project(tmp_path) -> Path:
    """Two quick notebooks and a plan of four jobs beside them."""
    make_notebook(tmp_path / "nbs", "alpha", "print(partner)")
    make_notebook(tmp_path / "nbs", "beta", "print(partner)")
    write_plan(
        tmp_path,
        """
        version: 1
        jobs:
          - notebook: nbs/alpha.ipynb
            grid: {partner: [Russia, China]}
          - notebook: nbs/beta.ipynb
            parameters: [{}, {paper: Letter}]
        """,
    )
    return tmp_path


def run(folder: Path, **kwargs) -> batch.BatchResult:
    """Run ``folder/plan.yaml`` into ``folder/out`` on one thread, so fakes apply."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return batch.run_plan(folder / "plan.yaml", out_dir=folder / "out", executor=pool, **kwargs)


def statuses(result: batch.BatchResult) -> list[tuple[str, str, str]]:
    return [(o.job.label, o.status, o.reason) for o in result.outcomes]


def files_under(folder: Path) -> dict[str, float]:
    """Every path under ``folder`` with its modification time; symlinks not followed."""
    return {
        str(p.relative_to(folder)): p.lstat().st_mtime_ns
        for p in folder.rglob("*")
        if publish.TMP_NAME not in p.relative_to(folder).parts
    }


# -- each job is a `brief render` job of its own --------------------------------------------------


def test_each_job_is_the_job_brief_render_would_run_into_its_own_folder(project, kernel):
    jobs = batch.prepare_batch(project / "plan.yaml", out_dir=project / "out")

    assert [j.source.label for j in jobs] == [
        "jobs[0] (alpha, partner=Russia)",
        "jobs[0] (alpha, partner=China)",
        "jobs[1] (beta, defaults)",
        "jobs[1] (beta, paper=Letter)",
    ]
    folders = {publish.run_path(j.job.out_dir, j.job.name, j.job.run) for j in jobs}
    assert len(folders) == len(jobs)
    for item in jobs:
        [alone] = render.prepare(
            [item.job.notebook], parameters=item.source.given, out_dir=project / "out"
        )
        assert item.job.private_cwd
        assert item.job == dataclasses_replace(alone, item.job)
        assert item.job.command.startswith("brief render ")
    assert not (project / "out").exists()


def dataclasses_replace(job: Job, like: Job) -> Job:
    """``job`` with the two fields a batch sets differently from ``brief render``."""
    import dataclasses

    return dataclasses.replace(
        job, private_cwd=like.private_cwd, validate_seconds=like.validate_seconds
    )


def test_the_same_job_twice_is_refused_naming_both_entries(project, kernel):
    write_plan(
        project,
        """
        version: 1
        jobs:
          - notebook: nbs/alpha.ipynb
          - notebook: nbs/alpha.ipynb
            parameters: {partner: Russia}
        """,
    )
    with pytest.raises(UsageError) as caught:
        run(project)
    assert caught.value.exit_code == 2
    assert (
        "jobs[1] (alpha, partner=Russia) is the same job as jobs[0] (alpha, defaults): "
        "both would write " in str(caught.value)
    )
    assert not (project / "out").exists()
    assert kernel.calls == []


def test_two_notebooks_of_one_name_are_refused_as_they_would_share_a_folder(project, kernel):
    make_notebook(project / "other", "alpha", "print(1)")
    write_plan(
        project,
        "version: 1\njobs: [{notebook: nbs/alpha.ipynb}, {notebook: other/alpha.ipynb}]\n",
    )
    with pytest.raises(UsageError, match="would publish to the same folder alpha/"):
        run(project)


def test_a_bad_parameter_is_refused_before_any_kernel_starts_or_file_is_written(project, kernel):
    write_plan(project, "version: 1\njobs: [{notebook: nbs/alpha.ipynb, grid: {partner: [Mars]}}]")
    with pytest.raises(ParameterError, match=r"jobs\[0\] \(alpha, partner=Mars\): parameter"):
        run(project)
    assert not (project / "out").exists()
    assert kernel.calls == []


def test_invalid_data_is_refused_before_any_kernel_starts_or_file_is_written(
    project, data_copy, monkeypatch
):
    (data_copy / "relations.csv").unlink()
    monkeypatch.setattr(execute_module, "execute_notebook", _no_kernel)
    with pytest.raises(DataValidationError, match=r"relations\.csv"):
        run(project, data_dir=data_copy)
    assert not (project / "out").exists()


def _no_kernel(*args, **kwargs):
    raise AssertionError("a kernel was started")


@pytest.mark.parametrize(
    ("options", "message"),
    [({"workers": 0}, "at least 1"), ({"workers": 2, "scheduler": "tcp://x:1"}, "not both")],
)
def test_workers_must_be_positive_and_not_given_with_a_scheduler(project, options, message):
    with pytest.raises(UsageError, match=message):
        batch.run_plan(project / "plan.yaml", out_dir=project / "out", **options)
    assert not (project / "out").exists()


def test_an_unreachable_scheduler_exits_69_in_one_line_and_is_logged(project, kernel, capsys):
    pytest.importorskip("distributed")
    argv = ["batch", str(project / "plan.yaml"), "--out", str(project / "out")]
    # --connect-timeout bounds the wait to connect too
    code = main([*argv, "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "1.5"])

    assert code == ClusterError.exit_code == 69  # as --help promises; it used to be 2
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error:")]
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 1.5 s" in line
    [log] = (project / "out" / "_logs").glob("*.log")
    assert "stopped after 0 of 4 job(s) to run: cannot reach the Dask scheduler" in log.read_text()
    assert not kernel.calls


def test_a_malformed_scheduler_address_is_a_usage_error_and_touches_nothing(project, kernel):
    pytest.importorskip("distributed")
    with pytest.raises(UsageError, match=re.escape("cannot use the Dask scheduler at 'foo://x'")):
        batch.run_plan(project / "plan.yaml", out_dir=project / "out", scheduler="foo://x")
    assert not (project / "out").exists()


# -- incremental -------------------------------------------------------------------------------


def test_first_run_renders_every_job_and_the_second_skips_them_saying_since_when(project, kernel):
    first = run(project)
    assert first.exit_code == 0
    assert [s for _, s, _ in statuses(first)] == ["ran"] * 4
    assert {r for _, _, r in statuses(first)} == {"new"}
    assert len(kernel.calls) == 4

    second = run(project)
    assert len(kernel.calls) == 4
    assert second.exit_code == 0
    for outcome in second.outcomes:
        manifest = json.loads(
            (outcome.job.job.out_dir / outcome.job.label / "manifest.json").read_text()
        )
        assert outcome.status == "skipped"
        assert outcome.reason == f"unchanged since {manifest['created_at']}"
    assert "skipped (unchanged since " in second.summary()


def _edit_notebook(folder: Path, monkeypatch) -> None:
    make_notebook(folder / "nbs", "alpha", "print(partner)", "print('a new section')")


def _new_data(folder: Path, monkeypatch) -> None:
    monkeypatch.setattr(data_module, "fingerprint", lambda data_dir=None: "0" * 64)


def _new_pandas(folder: Path, monkeypatch) -> None:
    real = manifest_module.package_versions
    monkeypatch.setattr(
        manifest_module, "package_versions", lambda *a: {**real(*a), "pandas": "0.0.1"}
    )


def _new_code(folder: Path, monkeypatch) -> None:
    monkeypatch.setattr(manifest_module, "code_fingerprint", lambda *a: "0" * 64)


def _html_only(folder: Path, monkeypatch) -> None:
    text = (folder / "plan.yaml").read_text()
    (folder / "plan.yaml").write_text(text.replace("version: 1\n", "version: 1\nformats: [html]\n"))


def _tampered_pdf(folder: Path, monkeypatch) -> None:
    (folder / "out" / "beta" / "default" / "beta.pdf").write_bytes(b"%PDF edited by hand")


def _lost_pdf(folder: Path, monkeypatch) -> None:
    (folder / "out" / "beta" / "default" / "beta.pdf").unlink()


def _other_parameters_last_time(folder: Path, monkeypatch) -> None:
    # What a run folder holds when the notebook's defaults changed since it was made.
    path = folder / "out" / "beta" / "default" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["parameters"]["max_rows"] = 99
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("change", "reason", "ran"),
    [
        (_edit_notebook, "notebook changed", {"alpha/default", "alpha/partner-china-"}),
        (_new_data, "data changed", "all"),
        (_new_pandas, "package version changed: pandas", "all"),
        (_new_code, "package code changed", "all"),
        (_html_only, "formats changed", "all"),
        (_tampered_pdf, "outputs missing or changed: beta.pdf", {"beta/default"}),
        (_lost_pdf, "outputs missing or changed: beta.pdf", {"beta/default"}),
        (_other_parameters_last_time, "parameters changed: max_rows", {"beta/default"}),
    ],
)
def test_a_job_runs_again_when_what_it_is_made_from_changed_and_says_why(
    project, kernel, monkeypatch, change, reason, ran
):
    run(project)
    change(project, monkeypatch)
    result = run(project)

    again = [(label, why) for label, status, why in statuses(result) if status == "ran"]
    if ran == "all":
        assert len(again) == 4
    else:
        assert {re.sub(r"[0-9a-f]{10}$", "", label) for label, _ in again} == ran
    assert {why for _, why in again} == {reason}
    ran_labels = {label for label, _ in again}
    assert all(s == "skipped" for label, s, _ in statuses(result) if label not in ran_labels)
    assert f"ran ({reason})" in result.summary()


def test_a_job_whose_last_attempt_failed_runs_again_even_if_nothing_changed(project, kernel):
    run(project)
    kernel.errors["alpha"] = [ExecutionError("alpha.ipynb: cell 2 raised ValueError: boom")]
    failed = run(project, force=True)
    assert failed.exit_code == 5

    result = run(project)
    reasons = {label: (status, why) for label, status, why in statuses(result)}
    assert reasons["alpha/default"] == ("ran", "previous run failed")
    assert reasons["beta/default"][0] == "skipped"


def test_force_renders_every_job(project, kernel):
    run(project)
    result = run(project, force=True)
    assert {(s, r) for _, s, r in statuses(result)} == {("ran", "--force")}
    assert len(kernel.calls) == 8


# -- failures and retries --------------------------------------------------------------------


def test_a_failing_job_does_not_stop_the_others_and_the_batch_exits_with_its_code(project, kernel):
    kernel.errors["alpha"] = [ExecutionError("alpha.ipynb: cell 2 raised ValueError: boom")]
    result = run(project)

    assert [s for _, s, _ in statuses(result)] == ["failed", "ran", "ran", "ran"]
    assert result.exit_code == 5 and not result.ok
    assert (project / "out" / "beta" / "default" / "beta.pdf").is_file()
    summary = result.summary()
    assert re.search(
        r"alpha/default +FAILED \(exit 5: alpha\.ipynb: cell 2 raised ValueError: boom\); "
        r"see .*_failed/alpha/default/.*\.error\.txt \[ran: new\]",
        summary,
    )
    assert "3 ran, 0 skipped, 1 failed" in summary


def test_the_exit_code_is_that_of_the_first_failing_job_in_plan_order(project, kernel):
    kernel.errors["alpha"] = [RenderError("alpha: pdf failed")]  # exit 6, first in the plan
    kernel.errors["beta"] = [ExecutionError("beta.ipynb: boom")]  # exit 5
    result = run(project)
    assert [o.exit_code for o in result.outcomes] == [6, 0, 5, 0]
    assert result.exit_code == 6


def test_a_job_whose_kernel_failed_to_start_is_tried_again(project, kernel, caplog):
    kernel.errors["beta"] = [KernelStartError("beta.ipynb: Kernel died before replying")]
    result = run(project)

    assert result.exit_code == 0
    [beta] = [o for o in result.outcomes if o.job.label == "beta/default"]
    assert (beta.status, beta.attempts) == ("ran", 2)
    assert "attempts: 2 (1st: kernel failed to start)" in beta.text
    assert [name for name, _ in kernel.calls].count("beta") == 3  # default twice, Letter once
    log = result.log_path.read_text()
    assert "beta/default: the kernel failed to start (attempt 1 of 3); trying again" in log


def test_a_kernel_that_never_starts_fails_the_job_after_three_attempts(project, kernel):
    kernel.errors["alpha:Russia"] = [KernelStartError(f"alpha.ipynb: try {i}") for i in (1, 2, 3)]
    result = run(project)
    [first] = [o for o in result.outcomes if o.job.label == "alpha/default"]
    assert (first.status, first.attempts, first.exit_code) == ("failed", 3, 5)
    assert "try 3" in first.text
    assert [name for name, _ in kernel.calls].count("alpha") == 4  # 3 + the China job


def test_a_job_is_never_tried_again_once_a_cell_ran(project, kernel):
    kernel.errors["alpha:Russia"] = [ExecutionError("alpha.ipynb: the kernel died in cell 2")]
    result = run(project)
    [first] = [o for o in result.outcomes if o.job.label == "alpha/default"]
    assert (first.status, first.attempts) == ("failed", 1)
    assert [name for name, _ in kernel.calls].count("alpha") == 2  # once, and the China job


def test_a_worker_that_dies_fails_its_job_only(project, kernel, monkeypatch):
    real = worker.work

    def die_on_china(job, token, delay=0.0):
        if job.parameters["partner"] == "China":
            raise EOFError("worker process was killed")
        return real(job, token, delay)

    monkeypatch.setattr(worker, "work", die_on_china)
    result = run(project)
    assert [s for _, s, _ in statuses(result)] == ["ran", "failed", "ran", "ran"]
    assert "the worker running alpha/partner-china-" in result.outcomes[1].text
    assert result.exit_code == 5


# -- the lock, the log, the results file and the index --------------------------------------


def test_a_batch_overlapping_another_run_exits_75_at_once_and_touches_nothing(project, kernel):
    run(project)
    out = project / "out"
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
        before = files_under(out)
        calls = len(kernel.calls)
        started = time.monotonic()
        with pytest.raises(LockHeldError) as caught:
            run(project, force=True)
        assert time.monotonic() - started < 5
        assert caught.value.exit_code == 75
        assert files_under(out) == before  # not even a log
        assert len(kernel.calls) == calls
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()


def test_each_batch_writes_a_log_and_a_results_file_of_its_own(project, kernel):
    kernel.errors["alpha"] = [ExecutionError("alpha.ipynb: cell 2 raised ValueError: boom")]
    first = run(project)
    second = run(project)

    assert first.log_path != second.log_path
    assert first.log_path.parent == project / "out" / "_logs"
    assert re.fullmatch(r"batch-\d{8}T\d{6}Z(-\d+)?\.log", first.log_path.name)
    log = first.log_path.read_text()
    assert "alpha/default: run (new) [jobs[0] (alpha, partner=Russia)]" in log
    assert "alpha/default FAILED in execute: alpha.ipynb: cell 2 raised ValueError" in log
    assert "beta/default done" in log
    assert log.rstrip().endswith(f"log: {first.log_path}")

    record = json.loads(first.json_path.read_text())
    assert record["exit_code"] == 5
    assert [(j["notebook"], j["status"], j["reason"]) for j in record["jobs"]] == [
        ("alpha", "failed", "new"),
        ("alpha", "ran", "new"),
        ("beta", "ran", "new"),
        ("beta", "ran", "new"),
    ]
    assert record["jobs"][0]["error"] == "alpha.ipynb: cell 2 raised ValueError: boom"
    assert record["jobs"][3]["overrides"] == {"paper": "Letter"}
    assert record["jobs"][3]["command"].startswith("brief render ")
    assert [j["status"] for j in json.loads(second.json_path.read_text())["jobs"]] == [
        "ran",
        "skipped",
        "skipped",
        "skipped",
    ]


def test_the_log_is_written_as_the_batch_goes_so_a_crash_leaves_it(project, kernel):
    from helpers.pipeline.progress import Reporter

    class Crash(Reporter):
        def done(self, notebook, run, *, seconds, path=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(project, reporter=Crash())
    [log] = (project / "out" / "_logs").glob("*.log")
    text = log.read_text()
    assert "4 job(s), 4 to run" in text
    assert "beta/paper-letter-" in text


def test_the_index_shows_every_run_with_status_duration_parameters_and_links(project, kernel):
    kernel.errors["beta"] = [ExecutionError("beta.ipynb: cell 2 raised ValueError: boom")]
    run(project)
    html = (project / "out" / "index.html").read_text()
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)[1:]
    assert len(rows) == 4
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for row in rows]
    # Newest first: beta's Letter run finished last.
    assert "beta paper-letter-" in text[0] and " ok " in text[0] and "paper = Letter" in text[0]
    assert "beta default failed" in text[1] and "boom" in text[1]
    assert all(re.search(r"\d+\.\d s", t) for t in text)
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert "alpha/default/alpha.pdf" in hrefs
    assert all((project / "out" / href).is_file() for href in hrefs)
    when = [re.search(r"\d{4}-\d\d-\d\dT[\d:.]+Z", t).group() for t in text]
    assert when == sorted(when, reverse=True)


# -- real kernels -------------------------------------------------------------------------------

ISOLATION = textwrap.dedent(
    """
    import json, os
    import matplotlib
    seen = {
        "global": globals().get("LEFT_BEHIND"),
        "module": getattr(json, "left_behind", None),
        "rc": matplotlib.rcParams["lines.linewidth"],
        "files": sorted(os.listdir(".")),
    }
    LEFT_BEHIND = partner
    json.left_behind = partner
    matplotlib.rcParams["lines.linewidth"] = 7.5
    with open("left-behind.txt", "w") as handle:
        handle.write(partner)
    print(json.dumps(seen))
    """
)


@pytest.mark.kernels
def test_jobs_see_no_variable_import_state_setting_or_file_of_another(tmp_path):
    notebook = make_notebook(tmp_path / "nbs", "leak", ISOLATION)
    write_plan(
        tmp_path,
        """
        version: 1
        formats: [html]
        timeout: 60
        jobs: [{notebook: nbs/leak.ipynb, grid: {partner: [Russia, China]}}]
        """,
    )
    # One worker: the two jobs run one after the other in the same worker process.
    result = batch.run_plan(tmp_path / "plan.yaml", out_dir=tmp_path / "out", workers=1)

    assert result.exit_code == 0, result.summary()
    for outcome in result.outcomes:
        executed = nbformat.read(tmp_path / "out" / outcome.job.label / "leak.ipynb", as_version=4)
        seen = json.loads(executed.cells[-1].outputs[0]["text"])
        assert seen == {
            "global": None,
            "module": None,
            "rc": matplotlib.rcParamsDefault["lines.linewidth"],
            "files": [],
        }
    assert sorted(p.name for p in notebook.parent.iterdir()) == ["leak.ipynb"]


@pytest.mark.kernels
def test_real_batch_with_a_failing_job_then_an_incremental_rerun(tmp_path, capsys):
    make_notebook(tmp_path / "nbs", "good", "print(f'{partner} as of {as_of}')")
    make_notebook(tmp_path / "nbs", "bad", "raise ValueError('boom')")
    write_plan(
        tmp_path,
        """
        version: 1
        formats: [html]
        timeout: 60
        jobs:
          - notebook: nbs/bad.ipynb
          - notebook: nbs/good.ipynb
            grid: {partner: [Russia, China]}
        """,
    )
    out = tmp_path / "out"
    argv = ["batch", str(tmp_path / "plan.yaml"), "--out", str(out)]

    assert main([*argv, "--workers", "2"]) == 5
    printed = capsys.readouterr().out
    summary = printed[printed.index("plan.yaml: 3 job(s): ") :]  # printed last
    assert "1 failed" in summary.splitlines()[0]
    assert re.search(
        r"bad/default +FAILED \(exit 5: bad\.ipynb: cell 2 .* raised ValueError", summary
    )
    assert re.search(r"good/default +ran \(new\) in \d+\.\d s", summary)
    assert (out / "good" / "default" / "good.html").is_file()
    executed = nbformat.read(out / "good" / "default" / "good.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "Russia as of 2024-03-02\n"
    [log] = (out / "_logs").glob("*.log")
    # Phase lines come from the worker processes as they go.
    assert re.search(r"good/partner-china-\w+ execute\n", log.read_text())

    started = time.monotonic()
    assert main([*argv, "--workers", "1"]) == 5
    summary = capsys.readouterr().out
    assert re.search(r"bad/default +FAILED \(exit 5: .*\[ran: previous run failed\]", summary)
    assert re.search(r"good/default +skipped \(unchanged since 20", summary)
    assert re.search(r"good/partner-china-\w+ +skipped \(unchanged since 20", summary)
    assert time.monotonic() - started < 30  # one kernel, not three


WAIT_FOR_FLAG = """
import pathlib, time
pathlib.Path({started!r}).touch()
while not pathlib.Path({flag!r}).exists():
    time.sleep(0.05)
"""


@pytest.mark.kernels
def test_two_overlapping_batches_the_second_exits_75_and_touches_nothing(tmp_path, capsys):
    started, flag = tmp_path / "started", tmp_path / "flag"
    make_notebook(
        tmp_path / "nbs", "slow", WAIT_FOR_FLAG.format(started=str(started), flag=str(flag))
    )
    write_plan(tmp_path, "version: 1\nformats: [html]\njobs: [{notebook: nbs/slow.ipynb}]\n")
    out = tmp_path / "out"
    argv = ["batch", str(tmp_path / "plan.yaml"), "--out", str(out)]
    first = subprocess.Popen(
        [str(BRIEF), *argv, "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first batch never started its job"
            time.sleep(0.1)
        before = files_under(out)

        clock = time.monotonic()
        assert main([*argv, "--force"]) == 75
        assert time.monotonic() - clock < 10
        assert "another brief run holds" in capsys.readouterr().err
        assert files_under(out) == before
    finally:
        flag.touch()
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert "1 ran, 0 skipped, 0 failed" in stdout
    assert len(list((out / "_logs").glob("*.log"))) == 1


# The kernel's pid, written whole, then renamed: a test never reads a half-written pid file.
SAY_PID = """
import os, pathlib, time
pathlib.Path({folder!r}, partner + ".tmp").write_text(str(os.getpid()))
pathlib.Path({folder!r}, partner + ".tmp").rename(pathlib.Path({folder!r}, partner + ".pid"))
"""
WAIT_FOREVER = SAY_PID + "while True:\n    time.sleep(0.1)\n"


def until(condition, proc: subprocess.Popen, what: str) -> None:
    """Wait for ``condition()`` while the batch ``proc`` runs; fail saying ``what`` did not
    happen if it ends first or two minutes pass."""
    deadline = time.monotonic() + 120
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.kernels
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_a_batch_that_is_stopped_or_killed_leaves_no_worker_or_kernel_and_no_lock(tmp_path, how):
    pids = tmp_path / "pids"
    pids.mkdir()
    make_notebook(tmp_path / "nbs", "forever", WAIT_FOREVER.format(folder=str(pids)))
    write_plan(
        tmp_path,
        "version: 1\nformats: [html]\n"
        "jobs: [{notebook: nbs/forever.ipynb, grid: {partner: [Russia, China]}}]\n",
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [str(BRIEF), "batch", str(tmp_path / "plan.yaml"), "--out", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until(lambda: len(list(pids.glob("*.pid"))) == 2, proc, "the jobs never started")
        kernels = [psutil.Process(int(p.read_text())) for p in pids.glob("*.pid")]
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(how)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    _, alive = psutil.wait_procs([*kernels, *workers], timeout=30)
    assert alive == [], f"left running: {alive}"
    with publish.locked(out):  # free at once, and it clears what the jobs left in .tmp/
        pass
    assert not (out / "forever").exists()
    if how == signal.SIGTERM:
        assert proc.returncode == 130 and "aborted" in stderr
        [log] = (out / "_logs").glob("*.log")
        assert "interrupted (KeyboardInterrupt) after 0 of 2 job(s)" in log.read_text()
        assert not (out / publish.TMP_NAME).exists()  # the jobs cleaned up after themselves


# Russia's job waits for ever; China's ends at once.
ONE_WAITS = "if partner == 'Russia':\n" + textwrap.indent(WAIT_FOREVER.strip(), "    ") + "\n"


@pytest.mark.kernels
def test_a_batch_stopped_while_one_worker_idles_ends_with_130(tmp_path):
    # The idle worker waits for the next job holding the pool's queue lock; stopped, it exits
    # holding it. The worker whose job was stopped used to unwind, then wait for that lock for
    # ever, and the batch with it (found by running the cron recipe and stopping it).
    pids = tmp_path / "pids"
    pids.mkdir()
    make_notebook(tmp_path / "nbs", "one", ONE_WAITS.format(folder=str(pids)))
    write_plan(
        tmp_path,
        "version: 1\nformats: [html]\n"
        "jobs: [{notebook: nbs/one.ipynb, grid: {partner: [Russia, China]}}]\n",
    )
    out = tmp_path / "out"
    argv = [str(BRIEF), "batch", str(tmp_path / "plan.yaml"), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until(
            lambda: (pids / "Russia.pid").exists() and list(out.glob("one/partner-china-*")),
            proc,
            "the jobs never got there",
        )
        time.sleep(1)  # the China job's worker is back waiting for a job
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)  # it must end on its own
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert alive == [], f"left running: {alive}"


FLAKY_KERNEL = """
import os, pathlib, sys
marker = pathlib.Path({marker!r})
if not marker.exists():  # the first kernel to start dies before it replies, like a port clash
    marker.touch()
    sys.exit(1)
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])
"""


@pytest.mark.kernels
def test_kernel_that_failed_to_start_is_retried_but_a_kernel_that_died_in_a_cell_is_not(
    tmp_path, monkeypatch
):
    kernels = tmp_path / "jupyter" / "kernels" / paths.KERNEL_NAME
    kernels.mkdir(parents=True)
    wrapper = tmp_path / "flaky_kernel.py"
    wrapper.write_text(FLAKY_KERNEL.format(marker=str(tmp_path / "started-once")))
    spec = {
        "argv": [sys.executable, str(wrapper), "-f", "{connection_file}"],
        "display_name": "flaky",
        "language": "python",
    }
    (kernels / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # found before the venv's

    counter = tmp_path / "cells-run"
    make_notebook(tmp_path / "nbs", "first", "print('ok')")
    make_notebook(
        tmp_path / "nbs",
        "dies",
        f"open({str(counter)!r}, 'a').write('ran\\n')\nimport os\nos._exit(1)",
    )
    write_plan(
        tmp_path,
        """
        version: 1
        formats: [html]
        timeout: 60
        jobs: [{notebook: nbs/first.ipynb}, {notebook: nbs/dies.ipynb}]
        """,
    )
    result = batch.run_plan(tmp_path / "plan.yaml", out_dir=tmp_path / "out", workers=1)

    first, dies = result.outcomes
    assert (first.status, first.attempts) == ("ran", 2), result.summary()
    assert (dies.status, dies.attempts, dies.exit_code) == ("failed", 1, 5)
    assert "kernel died while running cell 2" in dies.result.error
    assert counter.read_text() == "ran\n"
    assert "first/default: the kernel failed to start (attempt 1 of 3)" in (
        result.log_path.read_text()
    )


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


@pytest.mark.cluster
@pytest.mark.kernels
def test_the_same_jobs_run_on_a_dask_cluster(tmp_path, dask_cluster):
    make_notebook(tmp_path / "nbs", "remote", "import os\nprint(partner, os.getpid())")
    write_plan(
        tmp_path,
        """
        version: 1
        formats: [html]
        timeout: 60
        jobs: [{notebook: nbs/remote.ipynb, grid: {partner: [Russia, China]}}]
        """,
    )
    address = dask_cluster.scheduler_address
    out = tmp_path / "out"

    result = batch.run_plan(tmp_path / "plan.yaml", out_dir=out, scheduler=address)

    assert result.exit_code == 0, result.summary()
    assert [o.status for o in result.outcomes] == ["ran", "ran"]
    assert result.scheduler == address and f"on {address}" in result.summary()
    kernels = set()
    for outcome in result.outcomes:
        executed = nbformat.read(out / outcome.job.label / "remote.ipynb", as_version=4)
        partner, pid = executed.cells[-1].outputs[0]["text"].split()
        assert partner == outcome.job.job.parameters["partner"]
        kernels.add(pid)
    assert len(kernels) == 2
    assert os.getpid() not in {int(pid) for pid in kernels}
    log = result.log_path.read_text()
    assert re.search(r"remote/default execute\n", log)  # progress sent as Dask events

    again = batch.run_plan(tmp_path / "plan.yaml", out_dir=out, scheduler=address)
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]


# -- the documented set-ups name what exists -----------------------------------------------------

DOCS = paths.PROJECT_ROOT / "docs"


def test_the_ci_example_sets_up_renders_the_plan_and_keeps_the_pdfs():
    import yaml

    text = (DOCS / "examples" / "brief-daily.yml").read_text()
    workflow = yaml.safe_load(text)
    steps = workflow["jobs"]["render"]["steps"]
    commands = [step.get("run", "") for step in steps]
    assert "make install" in commands  # what rendering needs: no Chromium, no test tools
    assert ".venv/bin/brief batch plans/daily.yaml --out reports" in commands
    uploads = [s["with"]["path"] for s in steps if s.get("uses", "").startswith("actions/upload")]
    assert "briefs/**/*.pdf" in uploads
    assert all(
        s.get("if") == "always()" for s in steps if s.get("uses", "").startswith("actions/up")
    )
    # The page shows the file as it is.
    assert text.split("name: Daily briefs", 1)[1] in (DOCS / "scheduling.md").read_text()


def test_the_cron_line_and_the_systemd_service_run_the_example_plan_under_a_lock():
    page = (DOCS / "scheduling.md").read_text()
    # The cron line, and its delivering variant (issue 21).
    [cron, sending] = [line for line in page.splitlines() if line.startswith("30 5 ")]
    assert "--send" in sending and "--send" not in cron
    assert "flock -n -E 75 " in cron
    assert "brief batch plans/daily.yaml" in cron
    assert "ExecStart=/srv/myanmar-brief/.venv/bin/brief batch plans/daily.yaml" in page
    assert "OnCalendar=" in page and "WantedBy=timers.target" in page
    assert (paths.PLANS_DIR / "daily.yaml").is_file()


@pytest.mark.kernels
def test_a_verbose_batch_logs_from_its_workers_too(tmp_path):
    make_notebook(tmp_path / "nbs", "talk", "print(partner)")
    write_plan(tmp_path, "version: 1\nformats: [html]\njobs: [{notebook: nbs/talk.ipynb}]\n")
    argv = [str(BRIEF), "batch", str(tmp_path / "plan.yaml"), "-v", "--workers", "1"]
    done = subprocess.run(
        [*argv, "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    # papermill speaks in the worker process, at the level the batch was given.
    assert re.search(r"Z INFO papermill: Executing notebook with kernel", done.stderr), done.stderr


# -- the index shows what a batch tried, and that it stopped ------------------------------------


class _Refusing(executors.GivenExecutor):
    """A place that refuses the batch before its first job, as a cluster with no worker does."""

    def __init__(self, executor):
        super().__init__(executor)
        self.scheduler = "tcp://127.0.0.1:1"

    def prepare(self, out, jobs, *, retries):
        raise ClusterError("no worker joined the Dask scheduler at tcp://127.0.0.1:1 within 3 s")


def test_a_batch_that_stops_before_its_jobs_says_so_at_the_top_of_the_index(project, kernel):
    first = run(project)  # four published runs
    assert first.exit_code == 0
    (project / "nbs" / "alpha.ipynb").touch()
    make_notebook(project / "nbs", "alpha", "print(partner, 'v2')")  # two jobs to run again

    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(ClusterError):
        batch.run_plan(project / "plan.yaml", out_dir=project / "out", executor=_Refusing(pool))

    index = (project / "out" / "index.html").read_text()
    head = index.split("<table>")[0]
    assert "The last batch stopped" in head
    assert "no worker joined the Dask scheduler at tcp://127.0.0.1:1 within 3 s" in head
    assert "2 job(s) it was to run did not run" in head
    assert "<code>alpha/default</code>" in head
    records = (project / "out" / "_logs").glob("*.json")
    record = json.loads(max(records, key=lambda p: p.stat().st_mtime_ns).read_text())
    assert [j["status"] for j in record["jobs"]] == ["not run", "not run", "skipped", "skipped"]
    assert record["exit_code"] == 69

    # The next batch that finishes takes the banner away.
    assert run(project).exit_code == 0
    assert "The last batch stopped" not in (project / "out" / "index.html").read_text()


# -- quotations checked or not ------------------------------------------------------------------


@pytest.fixture
def late_source(project, data_copy, monkeypatch):
    """The project's plan on a data folder whose source text is not there yet; returns the
    data folder and where the text will appear."""
    path = data_copy / "sources.csv"
    text = path.read_text(encoding="utf-8")
    [name] = re.findall(r"[\w.-]+\.txt", text)
    path.write_text(text.replace(name, "late-article.txt"), encoding="utf-8")
    folder = project / "sources"
    folder.mkdir()
    monkeypatch.setenv(paths.SOURCES_ENV, str(folder))
    real = paths.find_source_file(name)
    assert real is not None
    return data_copy, lambda: (folder / "late-article.txt").write_bytes(real.read_bytes())


@needs_source
def test_a_brief_made_without_its_source_text_says_so_and_is_made_again_once_it_is_there(
    project, kernel, late_source, capsys
):
    data, appear = late_source
    argv = ["batch", str(project / "plan.yaml"), "--out", str(project / "out")]
    argv += ["--data", str(data), "--workers", "1"]

    first = run(project, data_dir=data)
    assert first.exit_code == 0
    published = project / "out" / first.outcomes[0].job.label / "manifest.json"
    manifest = json.loads(published.read_text())
    assert manifest["quotations"]["checked"] is False
    assert "'late-article.txt' not found" in manifest["quotations"]["unchecked"][0]
    index = (project / "out" / "index.html").read_text()
    assert index.count("quotations not checked") == 4
    assert "the briefs will say their quotations were not checked" in first.log_path.read_text()
    # Nothing changed: nothing runs again (the quotations are still not checkable).
    assert [o.status for o in run(project, data_dir=data).outcomes] == ["skipped"] * 4

    # --require-sources refuses before anything runs, with the data's exit code, even -q.
    before = sorted(p.name for p in (project / "out" / "_logs").iterdir())
    assert main([*argv, "-q", "--require-sources"]) == DataValidationError.exit_code
    said = capsys.readouterr().err
    assert "'late-article.txt' not found" in said and "--require-sources" in said
    assert sorted(p.name for p in (project / "out" / "_logs").iterdir()) == before

    appear()
    again = run(project, data_dir=data, require_sources=True)
    assert [o.reason for o in again.outcomes] == [
        "source text found: the quotations can be checked now"
    ] * 4
    manifest = json.loads(published.read_text())
    assert manifest["quotations"] == {"checked": True, "unchecked": []}
    assert "quotations not checked" not in (project / "out" / "index.html").read_text()


# -- worker processes that cannot start ----------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        (0o644, "cannot be run by this user ("),  # a Python this user may not run
        (0o755, "-c 'import helpers' ends with exit code 127"),  # starts, fails at once
    ],
    ids=["not-runnable", "fails-at-once"],
)
def test_a_batch_whose_workers_cannot_start_says_why_in_one_line(tmp_path, mode, said):
    make_notebook(tmp_path / "nbs", "tiny", "print(partner)")
    write_plan(tmp_path, "version: 1\nformats: [html]\njobs: [{notebook: nbs/tiny.ipynb}]\n")
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'python: cannot open shared object file' >&2\nexit 127\n")
    python.chmod(mode)
    # The workers are started with the virtualenv's Python unless told otherwise; this is
    # multiprocessing's own way to tell it.
    code = (
        "import multiprocessing, sys; multiprocessing.set_executable(sys.argv[1]); "
        "from helpers.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    argv = [sys.executable, "-c", code, str(python), "batch", str(tmp_path / "plan.yaml")]
    argv += ["--out", str(tmp_path / "out"), "--workers", "1", "--cold", "-q"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)

    assert done.returncode == ExecutionError.exit_code, done.stderr  # before: 5 or 1, muddled
    [line] = done.stderr.splitlines()  # one line, even with -q; no traceback
    assert line.startswith("error: the batch's worker processes ") and said in line
    if mode == 0o755:
        assert "exit code 127: python: cannot open shared object file" in line
    assert "build the virtualenv as this user" in line
    head = (tmp_path / "out" / "index.html").read_text().split("<table>")[0]
    assert "The last batch stopped" in head and "worker processes" in head
