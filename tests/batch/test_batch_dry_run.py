"""``brief batch --dry-run`` (:func:`helpers.batch.runner.plan_batch`): what a batch would do,
job by job, with the batch's own reasons, and nothing touched.

No kernel starts: a real batch that publishes runs to compare with is made with notebook
execution and rendering faked, on a thread, as in ``test_batch.py``.
"""

from __future__ import annotations

import json
import os
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from helpers.batch import runner as batch
from helpers.cli import main
from helpers.pipeline import execute as execute_module
from helpers.pipeline import export as exporters


def make_notebook(folder: Path, name: str, source: str = "print(partner)") -> Path:
    """A report-shaped notebook: a parameters cell, then ``source``."""
    params = new_code_cell("partner = 'Russia'\nas_of = '2024-03-02'")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(source)])
    nb.metadata["brief"] = {"schema": "defence"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def fake_execute(notebook, output_path, parameters=None, **kwargs):
    """'Runs' every cell of a notebook: no kernel."""
    nb = nbformat.read(notebook, as_version=4)
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.outputs = [new_output("stream", name="stdout", text=json.dumps(parameters))]
    nbformat.write(nb, output_path)
    return nb


@pytest.fixture
def fakes(monkeypatch) -> None:
    """Execution and rendering faked; the data taken as valid."""
    monkeypatch.setattr(execute_module, "execute_notebook", fake_execute)
    monkeypatch.setattr(exporters, "render_html", lambda nb, *, resources=None: "<html>b</html>")
    monkeypatch.setattr(exporters, "render_pdf", lambda html, **kw: b"%PDF fake")
    from helpers.data import validation

    monkeypatch.setattr(validation, "ensure_valid", lambda data_dir=None, sources=None: None)


@pytest.fixture
def project(tmp_path) -> Path:
    """Two quick notebooks and a plan of three jobs."""
    make_notebook(tmp_path / "nbs", "alpha")
    make_notebook(tmp_path / "nbs", "beta")
    (tmp_path / "plan.yaml").write_text(
        textwrap.dedent(
            """
            version: 1
            formats: [html]
            jobs:
              - notebook: nbs/alpha.ipynb
                grid: {partner: [Russia, China]}
              - notebook: nbs/beta.ipynb
            """
        )
    )
    return tmp_path


def run_batch(folder: Path) -> batch.BatchResult:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return batch.run_plan(folder / "plan.yaml", out_dir=folder / "out", executor=pool)


def tree(folder: Path) -> dict[str, tuple]:
    """Every path under ``folder``, hidden ones included, with its kind, mode, modification
    time and content (a file's bytes, a link's target); symbolic links are not followed."""
    found: dict[str, tuple] = {".": ("dir", folder.lstat().st_mode, folder.lstat().st_mtime_ns)}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            info = path.lstat()
            if path.is_symlink():
                content: object = os.readlink(path)
            elif path.is_dir():
                content = None
            else:
                content = path.read_bytes()
            kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
            found[str(path.relative_to(folder))] = (kind, info.st_mode, info.st_mtime_ns, content)
    return found


def reasons(preview: batch.DryRun) -> list[tuple[str, bool, str]]:
    return [(p.label, p.run, p.reason) for p in preview.jobs]


# -- the decisions are the batch's ---------------------------------------------------------------


def test_a_dry_run_gives_each_job_the_decision_and_reason_the_batch_then_acts_on(project, fakes):
    out = project / "out"
    first = batch.plan_batch(project / "plan.yaml", out_dir=out)
    assert [(run, reason) for _, run, reason in reasons(first)] == [(True, "new")] * 3
    assert not out.exists()

    ran = run_batch(project)
    assert [(o.job.label, o.status == "ran", o.reason) for o in ran.outcomes] == reasons(first)

    make_notebook(project / "nbs", "beta", "print('changed')")
    second = batch.plan_batch(project / "plan.yaml", out_dir=out)
    assert [run for _, run, _ in reasons(second)] == [False, False, True]
    assert reasons(second)[0][2].startswith("unchanged since ")
    assert reasons(second)[2][2] == "notebook changed"

    again = run_batch(project)
    assert [(o.job.label, o.status == "ran", o.reason) for o in again.outcomes] == reasons(second)

    forced = batch.plan_batch(batch.BatchRequest(project / "plan.yaml", out_dir=out, force=True))
    assert [(run, reason) for _, run, reason in reasons(forced)] == [(True, "--force")] * 3


def test_the_summary_counts_the_jobs_and_says_what_each_would_do(project, fakes):
    run_batch(project)
    make_notebook(project / "nbs", "beta", "print('changed')")
    text = batch.plan_batch(project / "plan.yaml", out_dir=project / "out").summary()
    lines = text.splitlines()
    assert lines[0] == (
        f"{project / 'plan.yaml'}: 3 job(s): 1 would run, 2 would be skipped "
        "(dry run: nothing was run or written)"
    )
    assert lines[1].split()[0] == "alpha/default"
    assert " would be skipped (unchanged since " in lines[1]
    assert lines[3].split() == ["beta/default", "would", "run", "(notebook", "changed)"]
    assert lines[4] == f"out: {(project / 'out').resolve()}"


def test_only_changed_says_a_job_that_runs_may_not_be_published(project, fakes):
    preview = batch.plan_batch(project / "plan.yaml", out_dir=project / "out", only_changed=True)
    assert (
        preview.summary()
        .splitlines()[1]
        .endswith("would run (new); published only if it has something new (--only-changed)")
    )


# -- nothing is touched --------------------------------------------------------------------------


def test_a_dry_run_leaves_the_output_folder_byte_for_byte_as_it_was(project, fakes, capsys):
    run_batch(project)
    out = project / "out"
    # Hidden things a batch would create, take or clean up: a lock file, a stale work folder.
    (out / ".brief.lock").write_text("")
    (out / ".tmp" / "stale-run").mkdir(parents=True)
    (out / ".tmp" / "stale-run" / "x.ipynb").write_text("{}")
    make_notebook(project / "nbs", "beta", "print('changed')")  # one job would run
    before = tree(out)
    logs = sorted((out / "_logs").iterdir())

    argv = ["batch", str(project / "plan.yaml"), "--out", str(out), "--dry-run"]
    assert main(argv) == 0
    assert "1 would run, 2 would be skipped" in capsys.readouterr().out
    assert tree(out) == before
    assert sorted((out / "_logs").iterdir()) == logs


def test_a_dry_run_does_not_make_a_missing_output_folder(project, fakes, capsys):
    out = project / "nothing" / "here"
    assert main(["batch", str(project / "plan.yaml"), "--out", str(out), "--dry-run"]) == 0
    assert "3 would run, 0 would be skipped" in capsys.readouterr().out
    assert not (project / "nothing").exists()


def test_a_dry_run_does_not_contact_a_scheduler(project, fakes, capsys):
    argv = ["batch", str(project / "plan.yaml"), "--out", str(project / "out"), "--dry-run"]
    assert main([*argv, "--scheduler", "tcp://192.0.2.1:8786"]) == 0
    assert capsys.readouterr().out.endswith(
        "the Dask scheduler at tcp://192.0.2.1:8786 was not contacted\n"
    )


# -- a bad plan, data or parameters: the usual codes ---------------------------------------------


@pytest.mark.parametrize(
    ("plan", "code", "says"),
    [
        ("version: 1\njobs: [{notebook: nbs/alpha.ipynb, grd: {}}]\n", 2, "unknown key 'grd'"),
        (
            "version: 1\njobs: [{notebook: nbs/alpha.ipynb, grid: {partner: [France]}}]\n",
            4,
            "parameter 'partner' = 'France'",
        ),
    ],
)
def test_a_dry_run_of_a_bad_plan_exits_with_the_batchs_code(
    project, fakes, capsys, plan, code, says
):
    (project / "plan.yaml").write_text(plan)
    out = project / "out"
    assert main(["batch", str(project / "plan.yaml"), "--out", str(out), "--dry-run"]) == code
    assert says in capsys.readouterr().err
    assert not out.exists()


def test_a_dry_run_on_invalid_data_exits_3(project, data_copy, capsys):
    (data_copy / "relations.csv").unlink()
    out = project / "out"
    argv = ["batch", str(project / "plan.yaml"), "--out", str(out), "--data", str(data_copy)]
    assert main([*argv, "--dry-run"]) == 3
    assert "relations.csv" in capsys.readouterr().err
    assert not out.exists()
