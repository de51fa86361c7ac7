"""One dead worker fails one job, not the batch (issue 15).

A worker process killed with SIGKILL (as the kernel's OOM killer would) used to fail every
unfinished job of the batch with ``BrokenProcessPool``, archive nothing and leave the index
showing every job as ok. Now only the job on the dead worker fails, saying so; the others run
on new workers; the summary, the index and ``_failed/`` say exactly that.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from multiprocessing import spawn
from pathlib import Path

import pytest
from test_batch import make_notebook

from helpers.batch import runner as batch
from helpers.batch.executors import WorkerLost, WorkerStartError
from helpers.batch.local import LocalPool

pytestmark = pytest.mark.kernels

# With cold kernels the kernel's parent is the worker process: this cell kills it.
KILL_WORKER = "import os, signal\nif partner == 'China':\n    os.kill(os.getppid(), signal.SIGKILL)"
SLOW = "import time\ntime.sleep(2)"


def test_a_worker_killed_fails_only_its_job_and_the_others_run(tmp_path):
    notebook = make_notebook(tmp_path / "nbs", "alpha", SLOW, KILL_WORKER, "print(partner)")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        textwrap.dedent(
            f"""\
            version: 1
            formats: [html]
            jobs:
              - notebook: {notebook}
                grid:
                  partner: [Russia, China, India]
                  max_rows: [10, 11]
            """
        )
    )
    out = tmp_path / "out"
    result = batch.run_plan(plan, workers=2, out_dir=out, warm_kernels=False)

    outcomes = {o.job.label: o for o in result.outcomes}
    failed = [label for label, o in outcomes.items() if o.status == "failed"]
    # The two China jobs kill their own workers; each fails, naming the death.
    assert sorted(failed) == sorted(label for label in outcomes if "china" in label)
    for label in failed:
        error = outcomes[label].result.error
        assert "worker died, signal 9 (SIGKILL)" in error and label in error
    # Every other job ran, on a new worker where the pool broke under it.
    assert all(o.status == "ran" for label, o in outcomes.items() if label not in failed)
    assert result.exit_code == 5
    summary = result.summary()
    assert "4 ran, 0 skipped, 2 failed" in summary

    # The index and the archive show what happened.
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count('class="failed"') == 2 and index.count('class="ok"') == 4
    for label in failed:
        name, run = label.split("/")
        [record] = (out / "_failed" / name / run).glob("*.json")
        assert "worker died, signal 9" in json.loads(record.read_text())["error"]
    for label, o in outcomes.items():
        if label not in failed:
            assert (Path(o.result.path) / "alpha.html").is_file()

    # The dead workers' work folders (each with its kernel's connection file: ports and HMAC
    # key) are removed by the batch, not left until the next run; and the next run knows why
    # it runs those jobs again.
    assert not [p for p in (out / ".tmp").rglob("*") if "china" in p.name], "left behind"
    assert not list(out.rglob("*.connection.json"))
    again = batch.plan_batch(plan, out_dir=out)
    reasons = {p.label: p.reason for p in again.jobs}
    assert {reasons[label] for label in failed} == {"previous run failed"}


def test_with_worker_retries_a_job_whose_worker_died_runs_again_and_says_so(tmp_path):
    # The first attempt kills its worker; the second finds the mark and runs to the end.
    kill_once = (
        "import os, pathlib, signal\n"
        f"mark = pathlib.Path({str(tmp_path / 'killed')!r})\n"
        "if not mark.exists():\n"
        "    mark.touch()\n"
        "    os.kill(os.getppid(), signal.SIGKILL)"
    )
    notebook = make_notebook(tmp_path / "nbs", "beta", kill_once, "print(partner)")
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"version: 1\nformats: [html]\njobs: [{{notebook: {notebook}}}]\n")

    result = batch.run_plan(
        plan, workers=1, out_dir=tmp_path / "out", warm_kernels=False, worker_retries=1
    )

    [outcome] = result.outcomes
    assert (outcome.status, outcome.attempts) == ("ran", 2), result.summary()
    assert outcome.retried == ("worker died, signal 9 (SIGKILL)",)
    assert "attempts: 2 (1st: worker died, signal 9 (SIGKILL))" in result.summary()
    log = result.log_path.read_text()
    assert "beta/default: its worker died, signal 9 (SIGKILL); running it again" in log
    record = json.loads(result.json_path.read_text())["jobs"][0]
    assert record["attempts"] == 2 and record["retried_because"] == list(outcome.retried)


def test_the_local_pool_fails_only_the_dead_workers_job_and_replaces_the_worker():
    # Two workers: one sleeps through another's death (os.abort: SIGABRT, as a crash would).
    events: list = []
    pool = LocalPool(2, events.append)
    try:
        sleeping = pool.submit(time.sleep, 3)
        dying = pool.submit(os.abort)
        lost = dying.exception(timeout=120)
        assert isinstance(lost, WorkerLost)
        assert lost.death == "worker died, signal 6 (SIGABRT)"
        # The other worker's job was not touched: it ends as it would have.
        assert sleeping.result(timeout=120) is None
        # A new worker took the dead one's place, and takes jobs.
        alive = {process.pid for process in pool.processes()}
        assert len(alive) == 2
        assert pool.submit(os.getpid).result(timeout=120) in alive
    finally:
        pool.shutdown(wait=True)
    assert pool.processes() == []


def test_workers_that_cannot_start_fail_the_jobs_saying_so():
    # A Python that exits at once (here /bin/false): no worker ever says it is ready.
    original = spawn.get_executable()
    spawn.set_executable("/bin/false")
    try:
        with pytest.raises(WorkerStartError, match="the batch's worker processes cannot start"):
            pool = LocalPool(1, [].append)
            try:
                pool.submit(os.getpid).result(timeout=120)
            finally:
                pool.shutdown(wait=True)
    finally:
        spawn.set_executable(original)
