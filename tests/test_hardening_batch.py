"""Hardening (issue 7), concurrency and soak: overlapping batches, parallel jobs, many jobs.

The helpers (a tiny notebook, the survivor probe, the file tree hash) are those of
``tests/test_hardening.py``; ``docs/hardening.md`` lists every case.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from unittest import mock

import psutil
import pytest
import yaml
from test_hardening import (
    BILLION_LAUGHS,
    MARK,
    KernelGuard,
    Page,
    brief,
    survivors,
    temporaries,
    tiny_notebook,
)

from helpers.batch import local
from helpers.pipeline import publish, render
from helpers.pipeline.request import RunResult

BRIEF = Path(sys.executable).with_name("brief")


@pytest.fixture
def mark(monkeypatch) -> str:
    """A value every process started from now on inherits (see ``survivors``)."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK, value)
    return value


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its kind, size, mtime and, for a file, its bytes' hash."""
    import hashlib

    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            stat = path.lstat()
            digest = ""
            if path.is_file() and not path.is_symlink():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path.relative_to(root))] = (
                stat.st_mode,
                stat.st_size,
                stat.st_mtime_ns,
                digest,
            )
    return found


def write_plan(path: Path, notebook: Path, parameters: list[dict], **extra) -> Path:
    plan = {
        "version": 1,
        "formats": ["html"],
        **extra,
        "jobs": [{"notebook": str(notebook), "parameters": parameters}],
    }
    path.write_text(yaml.safe_dump(plan), encoding="utf-8")
    return path


# -- plans: the same YAML rules as parameters files --------------------------------------------

PLANS = {
    "!!binary": "version: 1\njobs:\n  - notebook: brief\n    parameters: {title: !!binary aGk=}\n",
    "!!python": "version: 1\njobs: !!python/object/apply:os.system ['touch CANARY']\n",
    "billion laughs": "version: 1\n"
    + BILLION_LAUGHS
    + "jobs:\n  - notebook: brief\n    parameters: {themes: *x7}\n",
}


@pytest.mark.parametrize("case", list(PLANS))
def test_plans_with_tags_or_aliases_exit_2_at_once_before_a_kernel(tmp_path, case):
    canary = tmp_path / "CANARY"
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLANS[case].replace("CANARY", str(canary)), encoding="utf-8")
    out = tmp_path / "out"
    with KernelGuard().installed() as guard:
        clock = time.monotonic()
        code, err = brief("batch", plan, "--out", out)
    assert code == 2, err
    assert time.monotonic() - clock < 20
    assert ("tag" in err) if case != "billion laughs" else ("alias" in err)
    assert guard.calls == []
    assert not out.exists() and not canary.exists()


# -- two overlapping batch runs ----------------------------------------------------------------


@pytest.mark.kernels
def test_a_second_batch_while_one_runs_exits_75_at_once_and_touches_nothing(tmp_path, mark):
    started = tmp_path / "started"
    notebook = tiny_notebook(
        tmp_path / "nbs",
        f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(25)",
        name="slow",
    )
    plan = write_plan(tmp_path / "plan.yaml", notebook, [{}])
    out = tmp_path / "out"
    first = subprocess.Popen(
        [str(BRIEF), "batch", str(plan), "--out", str(out), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not started.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first batch never reached its notebook"
            time.sleep(0.2)
        time.sleep(1)  # the first run is now asleep in its kernel: nothing in out/ changes
        before = snapshot(out)
        assert snapshot(out) == before

        with (
            mock.patch.object(local, "_local_pool", side_effect=AssertionError("pool")),
            mock.patch.object(render, "render_job", side_effect=AssertionError("job")),
        ):
            code, err = brief("batch", plan, "--out", out, "--force")

        assert code == 75, err
        assert "another brief run holds" in err
        assert snapshot(out) == before
        # It gave up at once: had it waited for the lock, the first run would have ended.
        assert first.poll() is None  # and the first run was not disturbed
    finally:
        _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert (out / "slow" / "default" / "slow.html").is_file()
    assert temporaries(out) == []
    assert survivors(mark) == []


# -- sixteen parallel jobs -----------------------------------------------------------------------

ISOLATION = """
import html, pathlib, time
from IPython.display import HTML
pathlib.Path("mine.txt").write_text(title)   # the job's own working folder
time.sleep(2)                                # while the other jobs write theirs
HTML('<p class="mine">' + html.escape(pathlib.Path("mine.txt").read_text() + "|" + title) + "</p>")
"""


@pytest.mark.kernels
def test_sixteen_parallel_jobs_each_hold_only_their_own_parameters(tmp_path, mark):
    titles = [f"T-{n:02d}" for n in range(16)]
    notebook = tiny_notebook(tmp_path / "nbs", ISOLATION, name="iso")
    plan = write_plan(tmp_path / "plan.yaml", notebook, [{"title": t} for t in titles])
    out = tmp_path / "out"

    # In a process of its own, as cron runs it: a process pool in this one would leave
    # multiprocessing's resource tracker behind as a child of the test process.
    done = subprocess.run(
        [str(BRIEF), "batch", str(plan), "--out", str(out), "--workers", "16"],
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    runs = [p for p in (out / "iso").iterdir() if not p.name.startswith(".")]
    assert len(runs) == 16
    seen = set()
    for run in runs:
        manifest = json.loads((run / "manifest.json").read_text())
        own = manifest["parameters"]["title"]
        page = Page((run / "iso.html").read_text(encoding="utf-8"))
        assert page.text("h1") == own
        assert page.text("p").count(f"{own}|{own}") == 1
        text = page.text("body")
        assert [t for t in titles if t in text] == [own], run.name
        seen.add(own)
    assert seen == set(titles)
    assert temporaries(out) == []
    assert survivors(mark) == []


# -- a hundred jobs in a row ---------------------------------------------------------------------


@pytest.mark.kernels
@pytest.mark.parametrize("kernels", ["cold", "warm"])
@pytest.mark.parametrize(
    "count", [20, pytest.param(100, marks=pytest.mark.soak, id="100")], ids=str
)
def test_many_jobs_in_a_row_leave_no_kernel_connection_file_or_descriptor(
    tmp_path, monkeypatch, mark, count, kernels
):
    # jupyter_client writes a kernel's connection file with tempfile.mkstemp (or into the
    # runtime folder); private folders keep other runs on this machine out of the count.
    scratch, runtime = tmp_path / "scratch", tmp_path / "runtime"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    notebook = tiny_notebook(tmp_path / "nbs", "title")
    out = tmp_path / "out"
    me = psutil.Process()

    def job(n: int) -> RunResult:
        [prepared] = render.prepare(
            [notebook],
            parameters={"title": f"S-{n:03d}"},
            formats=["html"],
            out_dir=out,
            timeout=60,
            check_data=False,
        )
        # Cold: a new kernel process per job; warm: forked from one zygote, as render() does.
        return render.render_job(dataclasses.replace(prepared, zygote=zygote()))

    # As render() runs its jobs: holding the lock, beside a zygote when kernels are warm.
    with publish.locked(out), render.warm_zygote(kernels == "warm") as zygote:
        assert job(-1).ok  # warm up: imports, fonts and caches that stay open on purpose
        fds, started = me.num_fds(), time.monotonic()
        for n in range(count):
            result = job(n)
            assert result.ok, result.error
            assert f"S-{n:03d}" in (result.path / "tiny.html").read_text(encoding="utf-8")
        seconds = time.monotonic() - started
        grown = me.num_fds() - fds

    print(
        f"{count} {kernels} jobs in {seconds:.0f} s ({seconds / count:.2f} s each), {grown:+d} fds"
    )
    assert survivors(mark) == []
    left = [p.name for folder in (scratch, runtime) if folder.is_dir() for p in folder.iterdir()]
    assert left == [], "connection or other temporary files were left behind"
    assert grown <= 3, f"{grown} descriptors more than before the jobs"
    assert temporaries(out) == []
