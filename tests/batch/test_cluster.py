"""A batch on a real Dask cluster never succeeds silently, and never hangs (issue 14).

The scheduler and the workers are the ``dask`` command's own processes, started here as an
operator starts them; workers are killed with SIGKILL, and a worker that does not see
``--out`` is a real one, in its own mount namespace. Unit tests of the checks that need no
cluster come last.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from test_batch import SAY_PID, make_notebook, write_plan

from helpers.batch import cluster as cluster_module
from helpers.errors import ClusterError
from helpers.pipeline.request import RunResult

BRIEF = Path(sys.executable).with_name("brief")
DASK = Path(sys.executable).with_name("dask")

# The kernel says who it is (test_batch.SAY_PID), then waits until the test lets it go.
WAIT = (
    SAY_PID
    + """
while not pathlib.Path({folder!r}, "go").exists():
    time.sleep(0.1)
"""
)
# The first attempt waits (for its worker to be killed); a second one ends at once.
FIRST_WAITS = (
    """
import pathlib, time
if not pathlib.Path({folder!r}, "first").exists():
    pathlib.Path({folder!r}, "first").touch()
"""
    + textwrap.indent(SAY_PID.strip() + "\nwhile True:\n    time.sleep(0.1)", "    ")
    + """
print("second attempt")
"""
)


class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes, each in its own session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []
        scheduler_file = folder / "scheduler.json"
        self._start(
            "scheduler",
            [
                str(DASK),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        self.address = json.loads(scheduler_file.read_text())["address"]

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}-{len(self.processes)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes.append(process)
        return process

    def worker(self, *, wrap: tuple[str, ...] = ()) -> subprocess.Popen:
        """A worker without a nanny: killing its process loses the worker for good."""
        argv = [str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny"]
        argv += ["--no-dashboard"]
        if wrap:  # a shell line that ends by running the worker
            return self._start("worker", [*wrap[:-1], wrap[-1] + " " + " ".join(argv)])
        return self._start("worker", argv)

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(count, timeout=60)

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture
def dask_cli(tmp_path):
    pytest.importorskip("distributed")
    folder = tmp_path / "cluster"
    folder.mkdir()
    cluster = Cluster(folder)
    try:
        yield cluster
    finally:
        cluster.stop()


def batch(tmp_path: Path, cluster: Cluster, *options: str) -> subprocess.Popen:
    argv = [str(BRIEF), "batch", str(tmp_path / "plan.yaml"), "--out", str(tmp_path / "out")]
    argv += ["--scheduler", cluster.address, *options]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def a_plan(tmp_path: Path, source: str, partners: str = "[Russia]") -> Path:
    pids = tmp_path / "pids"
    pids.mkdir(exist_ok=True)
    make_notebook(tmp_path / "nbs", "remote", source.format(folder=str(pids)))
    write_plan(
        tmp_path,
        "version: 1\nformats: [html]\ntimeout: 120\n"
        f"jobs: [{{notebook: nbs/remote.ipynb, grid: {{partner: {partners}}}}}]\n",
    )
    return pids


def kernel_of(pids: Path, partner: str, proc: subprocess.Popen) -> psutil.Process:
    deadline = time.monotonic() + 120
    while not (pids / f"{partner}.pid").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.2)
    return psutil.Process(int((pids / f"{partner}.pid").read_text()))


def kill_worker_under(kernel: psutil.Process) -> None:
    """SIGKILL the worker process running ``kernel``, as the OOM killer would; then the kernel
    it leaves behind."""
    worker = kernel.parent()
    assert worker is not None and "dask" in " ".join(worker.cmdline())
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    kernel.kill()


@pytest.mark.cluster
def test_a_cluster_without_workers_fails_within_the_connect_timeout(tmp_path, dask_cli):
    a_plan(tmp_path, "print(partner)")

    proc = batch(tmp_path, dask_cli, "--connect-timeout", "3")
    _, stderr = proc.communicate(timeout=120)  # it must end on its own

    assert proc.returncode == ClusterError.exit_code == 69
    assert f"no worker joined the Dask scheduler at {dask_cli.address} within 3 s" in stderr
    assert f"dask worker {dask_cli.address}" in stderr  # what to do about it
    [log] = (tmp_path / "out" / "_logs").glob("*.log")
    assert "stopped after 0 of 1 job(s) to run: no worker joined" in log.read_text()
    assert not (tmp_path / "out" / "remote").exists()
    # The index says so at its top, with the job that did not run (before: "0 run(s)").
    head = (tmp_path / "out" / "index.html").read_text().split("<table>")[0]
    assert "The last batch stopped" in head and "no worker joined the Dask scheduler" in head
    assert "1 job(s) it was to run did not run: <code>remote/default</code>" in head


@pytest.mark.cluster
def test_a_worker_that_does_not_see_out_stops_the_batch_before_any_job(tmp_path, dask_cli):
    if subprocess.run(["unshare", "-m", "--map-root-user", "true"], check=False).returncode:
        pytest.skip("needs a mount namespace (unshare -m --map-root-user) for a private --out")
    a_plan(tmp_path, "print(partner)", "[Russia, China]")
    out, private = tmp_path / "out", tmp_path / "private"
    out.mkdir()
    private.mkdir()
    dask_cli.worker()
    # This worker has its own empty folder where --out is: as on a machine without the share.
    dask_cli.worker(
        wrap=("unshare", "-m", "--map-root-user", "sh", "-c", f"mount --bind {private} {out} &&")
    )
    dask_cli.wait_for_workers(2)

    proc = batch(tmp_path, dask_cli)
    stdout, stderr = proc.communicate(timeout=300)

    assert proc.returncode == 2, stderr
    assert "the Dask workers cannot run this batch:" in stderr
    [line] = [line for line in stderr.splitlines() if line.startswith("  tcp://")]
    assert "does not see the output folder as this machine does" in line
    assert "mounted at the same paths" in stderr
    assert "execute" not in stdout  # no job ran
    assert not (out / "remote").exists() and not list(private.iterdir())


def needs_mount_namespace() -> None:
    if subprocess.run(["unshare", "-m", "--map-root-user", "true"], check=False).returncode:
        pytest.skip("needs a mount namespace (unshare -m --map-root-user) for a private --out")


def unshared_worker(cluster: Cluster, out: Path, private: Path) -> subprocess.Popen:
    """A worker with its own empty folder where --out is: as on a machine without the share."""
    private.mkdir(exist_ok=True)
    return cluster.worker(
        wrap=("unshare", "-m", "--map-root-user", "sh", "-c", f"mount --bind {private} {out} &&")
    )


@pytest.mark.cluster
@pytest.mark.kernels
def test_a_late_worker_that_cannot_see_out_gets_one_job_which_runs_again_elsewhere(
    tmp_path, dask_cli
):
    needs_mount_namespace()
    # Russia waits until the test lets it go; China and India end at once.
    pids = a_plan(
        tmp_path,
        "import pathlib, time\nif partner == 'Russia':\n" + textwrap.indent(WAIT.strip(), "    "),
        "[Russia, China, India]",
    )
    out = tmp_path / "out"
    out.mkdir()
    dask_cli.worker()
    dask_cli.wait_for_workers(1)

    proc = batch(tmp_path, dask_cli)
    try:
        kernel_of(pids, "Russia", proc)  # the probe passed; the good worker is busy
        unshared_worker(dask_cli, out, tmp_path / "private")  # joins after the probe
        deadline = time.monotonic() + 120
        while "cannot write to the output folder" not in next(out.glob("_logs/*.log")).read_text():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no job went to the late worker"
            time.sleep(0.2)
        (pids / "go").touch()
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        proc.kill()

    assert proc.returncode == 0, stdout + stderr  # before: 69, the job failed on that worker
    record = json.loads(next((out / "_logs").glob("*.json")).read_text())
    assert [j["status"] for j in record["jobs"]] == ["ran", "ran", "ran"]
    refused = [why for j in record["jobs"] for why in j["retried_because"]]
    # One job went to the late worker, which then got no other: before, each job it was
    # sent failed at once.
    [why] = refused
    assert why.startswith("worker tcp://") and why.endswith("cannot use the output folder")
    assert "gets no more jobs of this batch; running it again on another worker" in stdout
    assert not list((tmp_path / "private").iterdir())


@pytest.mark.cluster
@pytest.mark.kernels
@pytest.mark.parametrize("retries", [0, 1])
def test_a_job_whose_worker_is_killed_fails_or_runs_again_as_the_user_chose(
    tmp_path, dask_cli, retries
):
    pids = a_plan(tmp_path, FIRST_WAITS)
    dask_cli.worker()
    dask_cli.worker()
    dask_cli.wait_for_workers(2)

    proc = batch(tmp_path, dask_cli, "--worker-retries", str(retries))
    try:
        kill_worker_under(kernel_of(pids, "Russia", proc))
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        proc.kill()
    record = json.loads(next((tmp_path / "out" / "_logs").glob("*.json")).read_text())
    [job] = record["jobs"]
    if retries == 0:  # Dask ran it again on the other worker, which refused
        assert proc.returncode == 5, stderr
        assert job["status"] == "failed" and job["attempts"] == 1
        assert "the worker running it died or left the cluster (tcp://" in job["error"]
        assert "not run again once a worker running it died (--worker-retries 0)" in stderr
        # Refused on the second worker, it is kept and listed as failed like any failed job.
        index = (tmp_path / "out" / "index.html").read_text()
        assert index.count('class="failed"') == 1 and "remote/default" in stderr
        assert job["failed_path"] and Path(job["failed_path"]).is_file()
        # The killed worker's work folder, with its kernel's connection file, is removed by
        # the batch; the next run says why the job runs again (before: "new").
        out = tmp_path / "out"
        assert not list(out.glob(".tmp/remote-*")) and not list(out.rglob("*.connection.json"))
        dry = subprocess.run(
            [str(BRIEF), "batch", str(tmp_path / "plan.yaml"), "--out", str(out), "--dry-run"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "would run (previous run failed)" in dry.stdout
    else:
        assert proc.returncode == 0, stderr
        assert job["status"] == "ran" and job["attempts"] == 2
        [why] = job["retried_because"]
        assert why.startswith("worker tcp://") and why.endswith("died or left")
        assert f"attempts: 2 (1st: {why})" in stdout
        executed = (tmp_path / "out" / "remote" / "default" / "remote.ipynb").read_text()
        assert "second attempt" in executed


@pytest.mark.cluster
@pytest.mark.kernels
def test_a_batch_that_loses_every_worker_fails_its_jobs_instead_of_hanging(tmp_path, dask_cli):
    pids = a_plan(tmp_path, WAIT, "[Russia, China]")
    dask_cli.worker()
    dask_cli.wait_for_workers(1)

    proc = batch(tmp_path, dask_cli, "--connect-timeout", "4")
    try:
        kill_worker_under(kernel_of(pids, "Russia", proc))
        stdout, stderr = proc.communicate(timeout=180)  # it must end on its own
    finally:
        proc.kill()

    assert proc.returncode == 69, stderr
    assert "has had no worker for" in stdout + stderr
    record = json.loads(next((tmp_path / "out" / "_logs").glob("*.json")).read_text())
    assert [j["status"] for j in record["jobs"]] == ["failed", "failed"]
    assert all("has had no worker" in j["error"] for j in record["jobs"])
    index = (tmp_path / "out" / "index.html").read_text()
    assert index.count('class="failed"') == 2


# -- the checks, without a cluster ---------------------------------------------------------------


def published(tmp_path: Path) -> tuple[Path, str]:
    from helpers.pipeline.manifest import file_entry, sha256_file

    folder = tmp_path / "out" / "remote" / "default"
    folder.mkdir(parents=True)
    (folder / "remote.html").write_text("<p>brief</p>")
    manifest = {"outputs": {"remote.html": file_entry(folder / "remote.html")}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder, sha256_file(folder / "manifest.json")


class _Job:
    label = "remote/default"


def verify(folder: Path, digest: str) -> ClusterError | None:
    watch = cluster_module.ClusterWatch.__new__(cluster_module.ClusterWatch)
    result = RunResult(
        notebook="remote",
        run="default",
        status="ok",
        seconds=1.0,
        path=folder,
        reported={"worker": "tcp://10.0.0.7:4000", "manifest_sha256": digest},
    )
    return watch.verify(_Job(), result)  # type: ignore[arg-type]


def test_a_result_counts_only_when_its_run_is_seen_here_as_the_worker_published_it(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(cluster_module, "VERIFY_PAUSES", (0.0,))
    folder, digest = published(tmp_path)
    assert verify(folder, digest) is None

    error = verify(folder, "0" * 64)
    assert "worker tcp://10.0.0.7:4000 published it at" in str(error)
    assert "holds another run than the one the worker published" in str(error)

    (folder / "remote.html").write_text("<p>changed</p>")
    assert "does not hold the files its manifest lists" in str(verify(folder, digest))

    error = verify(tmp_path / "elsewhere", digest)
    assert isinstance(error, ClusterError) and error.exit_code == 69
    assert "which is not on this machine; --out, the notebooks and the data folder" in str(error)


def test_a_run_that_appears_a_moment_late_is_waited_for(tmp_path, monkeypatch):
    folder, digest = published(tmp_path)
    hidden = folder.with_name("hidden")
    folder.rename(hidden)
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        if len(pauses) == 2:  # the file system shows it after the second look
            hidden.rename(folder)

    monkeypatch.setattr(cluster_module.time, "sleep", pause)
    assert verify(folder, digest) is None
    assert len(pauses) == 2


def test_the_probe_names_what_a_worker_does_not_see(tmp_path):
    from helpers.data.package import fingerprint

    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / cluster_module.PROBE_NAME).write_text("token")
    notebook = make_notebook(tmp_path / "nbs", "remote", "print(1)")
    digest = cluster_module.sha256_file(notebook)
    data = {"": fingerprint()}

    assert cluster_module.probe(str(folder), "token", {str(notebook): digest}, data) == []

    problems = cluster_module.probe(
        str(tmp_path / "nowhere"),
        "token",
        {str(notebook): "0" * 64, str(tmp_path / "gone.ipynb"): digest},
        {str(tmp_path / "empty"): fingerprint()},
    )
    assert problems == [
        "does not see the output folder as this machine does: "
        f"{tmp_path / 'nowhere' / 'probe'} is not there",
        f"sees another notebook at {notebook}",
        f"cannot read the notebook {tmp_path / 'gone.ipynb'}: No such file or directory",
        f"does not see the same data in {tmp_path / 'empty'}",
    ]
    assert cluster_module.probe(str(folder), "other", {}, {}) == [
        f"sees another folder at {folder} than this machine does"
    ]


@pytest.mark.cluster
@pytest.mark.kernels
def test_losing_the_scheduler_is_a_cluster_failure_and_nothing_is_published_after(
    tmp_path, dask_cli
):
    pids = a_plan(tmp_path, WAIT)
    worker = dask_cli.worker()
    dask_cli.wait_for_workers(1)
    out = tmp_path / "out"

    proc = batch(tmp_path, dask_cli, "--connect-timeout", "5")
    try:
        kernel = kernel_of(pids, "Russia", proc)
        scheduler = dask_cli.processes[0]
        os.killpg(scheduler.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=180)  # it must end on its own
    finally:
        proc.kill()

    assert proc.returncode == ClusterError.exit_code, stdout + stderr
    # one clear line, not a worker or notebook failure with an empty reason (before: exit 5)
    assert "CancelledError" not in stdout + stderr
    [line] = [x for x in stderr.splitlines() if "Dask scheduler" in x]
    assert f"lost the Dask scheduler at {dask_cli.address}" in line
    record = json.loads(next((out / "_logs").glob("*.json")).read_text())
    assert [j["exit_code"] for j in record["jobs"]] == [69]
    head = (out / "index.html").read_text().split("<table>")[0]
    assert "The last batch stopped" in head and "lost the Dask scheduler" in head

    # The job goes on on its worker, which no longer hears from anyone; once it ends, the
    # batch has released the lock, and it must not publish.
    (pids / "go").touch()
    kernel.wait(timeout=60)
    deadline = time.monotonic() + 60
    while any(out.glob(".tmp/remote-*")) and worker.poll() is None:
        assert time.monotonic() < deadline, "the worker's job never ended"
        time.sleep(0.2)
    assert not (out / "remote").exists()
