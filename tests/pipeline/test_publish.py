"""Run folders: safe names, atomic switching, the failed-run archive, the lock and the index."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.errors import LockHeldError, RenderError, UsageError
from helpers.pipeline import index, publish
from helpers.pipeline.manifest import file_entry

DEFAULTS = {"partner": "Russia", "as_of": "2024-03-02", "title": None, "themes": ["defence"]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3),
    max_leaves=5,
)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (following the run symlinks) and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def stage(out_dir: Path, files: dict[str, str]) -> Path:
    folder = publish.staging_dir(out_dir, "test")
    for name, text in files.items():
        publish.write_atomic(folder / name, text)
    return folder


def publish_files(out_dir: Path, files: dict[str, str], run: str = "default") -> Path:
    folder = stage(out_dir, files)
    manifest = {
        "notebook": "brief",
        "run": run,
        "created_at": files.get("_when", "2026-11-29T10:00:00.000Z"),
        "parameters": {"as_of": "2024-03-02"},
        "overrides": {},
        "timings": {"total": 12.5},
        "outputs": {n: file_entry(folder / n) for n in files if not n.startswith("_")},
    }
    publish.write_atomic(folder / "manifest.json", json.dumps(manifest))
    return publish.publish_run(folder, out_dir, "brief", run)


# -- names ---------------------------------------------------------------------------------------


def test_run_with_every_parameter_at_its_default_is_called_default():
    assert publish.run_name(dict(DEFAULTS), DEFAULTS) == "default"


def test_run_name_shows_the_non_default_values_and_a_hash():
    name = publish.run_name({**DEFAULTS, "partner": "China"}, DEFAULTS)
    assert re.fullmatch(r"partner-china-[0-9a-f]{10}", name)


def test_different_parameters_never_share_a_run_folder():
    # Same slug ("a-b" for both), different values: the hash tells them apart.
    one = publish.run_name({**DEFAULTS, "title": "a b"}, DEFAULTS)
    two = publish.run_name({**DEFAULTS, "title": "a/b"}, DEFAULTS)
    assert one != two
    assert one.rsplit("-", 1)[0] == two.rsplit("-", 1)[0]


@pytest.mark.parametrize(
    "value", ["../../etc/passwd", "/absolute/path", "..", "a\\..\\b", "\x00", "名前", "-" * 300]
)
def test_run_name_from_hostile_values_stays_a_plain_folder_name(tmp_path, value):
    name = publish.run_name({**DEFAULTS, "title": value}, DEFAULTS)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", name)
    assert len(name) <= publish.SLUG_MAX + 1 + publish.HASH_LENGTH
    path = publish.run_path(tmp_path, "brief", name)
    assert path.parent.parent == tmp_path.resolve()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=4))
def test_run_name_is_always_a_safe_folder_name_inside_the_output_folder(params):
    out = Path("/srv/reports")
    name = publish.run_name(params, {})
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", name)
    assert len(name) <= publish.SLUG_MAX + 1 + publish.HASH_LENGTH
    assert publish.run_path(out, "brief", name).parent.parent == out


@pytest.mark.parametrize("name", ["..", "../x", "a/b", ".hidden", "_failed", "", "x\x00"])
def test_notebook_names_that_could_escape_or_collide_are_refused(name):
    with pytest.raises(UsageError, match="cannot name a report folder"):
        publish.check_notebook_name(name)


@pytest.mark.parametrize("run", ["..", "../x", "a/b", "Default", "-x", ""])
def test_run_path_refuses_run_names_that_are_not_plain(tmp_path, run):
    with pytest.raises(RenderError):
        publish.run_path(tmp_path, "brief", run)


# -- atomic files ---------------------------------------------------------------------------------


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    publish.write_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_write_atomic_that_fails_keeps_the_old_file_and_removes_its_temporary(
    tmp_path, monkeypatch
):
    target = tmp_path / "a.txt"
    target.write_text("old")

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(publish.os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        publish.write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


# -- publishing -----------------------------------------------------------------------------------


def test_published_run_is_a_relative_symlink_to_a_complete_version(tmp_path):
    link = publish_files(tmp_path, {"brief.html": "<p>one</p>", "brief.pdf": "%PDF-1"})
    assert link == tmp_path.resolve() / "brief" / "default"
    assert link.is_symlink()
    assert not os.readlink(link).startswith("/")
    assert sorted(p.name for p in link.iterdir()) == ["brief.html", "brief.pdf", "manifest.json"]
    # The output folder can be moved or copied: the link is relative.
    moved = tmp_path.parent / (tmp_path.name + "-moved")
    tmp_path.rename(moved)
    assert (moved / "brief" / "default" / "brief.html").read_text() == "<p>one</p>"


def test_publishing_again_switches_to_the_new_run_and_deletes_the_old_version(tmp_path):
    publish_files(tmp_path, {"brief.html": "one"})
    old_target = (tmp_path / "brief" / "default").resolve()
    link = publish_files(tmp_path, {"brief.html": "two"})
    assert (link / "brief.html").read_text() == "two"
    assert not old_target.exists()
    versions = tmp_path / "brief" / publish.VERSIONS_NAME / "default"
    assert [p.resolve() for p in versions.iterdir()] == [link.resolve()]


def test_publish_that_fails_leaves_the_previous_run_byte_for_byte(tmp_path, monkeypatch):
    publish_files(tmp_path, {"brief.html": "good", "brief.pdf": "%PDF good"})
    before = snapshot(tmp_path / "brief" / "default")
    staged = stage(tmp_path, {"brief.html": "new", "brief.pdf": "%PDF new"})

    def refuse(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(publish.os, "replace", refuse)
    with pytest.raises(RenderError, match="could not publish brief/default"):
        publish.publish_run(staged, tmp_path, "brief", "default")
    monkeypatch.undo()
    assert snapshot(tmp_path / "brief" / "default") == before
    versions = tmp_path / "brief" / publish.VERSIONS_NAME / "default"
    assert len(list(versions.iterdir())) == 1  # the new version was removed
    assert not list((tmp_path / publish.TMP_NAME).glob("*.link"))


def test_a_real_folder_in_the_way_is_replaced_by_the_published_run(tmp_path):
    real = tmp_path / "brief" / "default"
    real.mkdir(parents=True)
    (real / "brief.html").write_text("copied by hand")
    link = publish_files(tmp_path, {"brief.html": "published"})
    assert link.is_symlink()
    assert (link / "brief.html").read_text() == "published"


def test_clean_stale_removes_temporaries_and_orphan_versions_but_not_the_published_run(tmp_path):
    link = publish_files(tmp_path, {"brief.html": "good"})
    stage(tmp_path, {"brief.html": "half-written"})  # a staging folder a killed run left
    orphan = tmp_path / "brief" / publish.VERSIONS_NAME / "default" / "20260101T000000Z-dead"
    orphan.mkdir()
    (orphan / "brief.html").write_text("renamed in, never linked")
    before = snapshot(link)

    removed = publish.clean_stale(tmp_path)

    assert orphan in removed
    assert not (tmp_path / publish.TMP_NAME).exists()
    assert not orphan.exists()
    assert snapshot(link) == before


# -- the failed-run archive -----------------------------------------------------------------------


def test_failed_attempt_is_archived_beside_the_report_not_over_it(tmp_path):
    link = publish_files(tmp_path, {"brief.html": "good"})
    before = snapshot(link)
    executed = tmp_path / "executed.ipynb"
    executed.write_text('{"cells": ["with the traceback"]}')

    error = publish.archive_failure(
        tmp_path,
        "brief",
        "default",
        executed=executed,
        error_text="cell 4 raised ValueError: boom",
        record={"status": "failed", "created_at": "2026-11-29T11:00:00.000Z"},
    )

    folder = tmp_path / publish.FAILED_NAME / "brief" / "default"
    assert error.parent == folder
    assert error.read_text() == "cell 4 raised ValueError: boom\n"
    stamp = error.name.removesuffix(".error.txt")
    assert (folder / f"{stamp}.ipynb").read_bytes() == executed.read_bytes()
    record = json.loads((folder / f"{stamp}.json").read_text())
    assert record["files"] == {"notebook": f"{stamp}.ipynb", "error": f"{stamp}.error.txt"}
    assert snapshot(link) == before


def test_failed_attempts_in_the_same_second_do_not_overwrite_each_other(tmp_path):
    paths = {
        publish.archive_failure(
            tmp_path, "brief", "default", executed=None, error_text=str(i), record={}
        )
        for i in range(3)
    }
    assert len(paths) == 3
    assert sorted(p.read_text() for p in paths) == ["0\n", "1\n", "2\n"]


def test_only_the_newest_failed_attempts_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(publish, "FAILED_KEEP", 2)
    for i in range(4):
        publish.archive_failure(
            tmp_path, "brief", "default", executed=None, error_text=str(i), record={}
        )
    folder = tmp_path / publish.FAILED_NAME / "brief" / "default"
    kept = sorted(p.read_text() for p in folder.glob("*.error.txt"))
    assert kept == ["2\n", "3\n"]


def test_failed_attempts_together_take_at_most_the_cap_and_the_newest_stays(tmp_path, monkeypatch):
    monkeypatch.setattr(publish, "FAILED_MAX_BYTES", 25_000)
    executed = tmp_path / "executed.ipynb"
    runs = ["default", "partner-china-0123456789", "default", "partner-china-0123456789"]
    for i, run in enumerate(runs):  # 10 kB each, in two runs, oldest first
        executed.write_text(str(i) * 10_000)
        publish.archive_failure(
            tmp_path / "out", "brief", run, executed=executed, error_text=str(i), record={}
        )
    failed = tmp_path / "out" / publish.FAILED_NAME
    kept = sorted(p.read_text()[0] for p in failed.rglob("*.ipynb"))
    assert kept == ["2", "3"]  # the two oldest went, whichever run they belonged to
    assert sum(p.stat().st_size for p in failed.rglob("*") if p.is_file()) <= 25_000
    assert len(list(failed.rglob("*.error.txt"))) == 2  # a whole attempt goes, not a file

    executed.write_text("9" * 40_000)  # larger than the cap alone: kept, and only it
    publish.archive_failure(
        tmp_path / "out", "brief", "default", executed=executed, error_text="9", record={}
    )
    assert sorted(p.read_text()[0] for p in failed.rglob("*.ipynb")) == ["9"]


# -- the lock -------------------------------------------------------------------------------------


def hold_lock(out_dir: Path) -> subprocess.Popen:
    """Another process holding the output folder's lock until its stdin closes."""
    code = textwrap.dedent(
        f"""
        import sys
        from filelock import FileLock
        lock = FileLock({str(out_dir / publish.LOCK_NAME)!r}, timeout=0)
        lock.acquire()
        print("held", flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def release(holder: subprocess.Popen) -> None:
    holder.stdin.close()
    holder.wait(timeout=10)
    holder.stdout.close()


def test_lock_held_by_another_process_fails_at_once_and_touches_nothing(tmp_path):
    publish_files(tmp_path, {"brief.html": "good"})
    stage(tmp_path, {"left": "by a killed run"})  # would be cleaned by a lock holder
    holder = hold_lock(tmp_path)
    before = snapshot(tmp_path)
    try:
        with (
            pytest.raises(LockHeldError, match="another brief run holds"),
            publish.locked(tmp_path),
        ):
            pytest.fail("the body must not run without the lock")
    finally:
        release(holder)
    assert snapshot(tmp_path) == before


def test_lock_is_free_again_after_a_run_and_cleans_what_killed_runs_left(tmp_path):
    (tmp_path / publish.LOCK_NAME).touch()  # the killed run held the lock
    stage(tmp_path, {"left": "by a killed run"})
    with publish.locked(tmp_path):
        assert not (tmp_path / publish.TMP_NAME).exists()
    with publish.locked(tmp_path):
        pass


# -- the index ------------------------------------------------------------------------------------


def test_index_lists_every_run_newest_first_with_status_and_links(tmp_path):
    publish_files(tmp_path, {"brief.html": "a", "_when": "2026-11-29T10:00:00.000Z"})
    publish_files(
        tmp_path,
        {"brief.html": "b", "brief.pdf": "%PDF", "_when": "2026-11-29T12:00:00.000Z"},
        run="partner-china-0123456789",
    )
    publish.archive_failure(
        tmp_path,
        "defence",
        "default",
        executed=None,
        error_text="boom",
        record={
            "created_at": "2026-11-29T11:00:00.000Z",
            "error": "cell 2 raised ValueError: boom",
            "parameters": {"as_of": "2024-03-02"},
        },
    )

    rows = publish.list_runs(tmp_path)
    assert [(r["notebook"], r["run"], r["status"]) for r in rows] == [
        ("brief", "partner-china-0123456789", "ok"),
        ("defence", "default", "failed"),
        ("brief", "default", "ok"),
    ]
    page = index.write_index(tmp_path)
    html = page.read_text()
    assert html.index("partner-china-0123456789") < html.index("cell 2 raised ValueError")
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert "brief/partner-china-0123456789/brief.pdf" in hrefs
    assert all((tmp_path / href).is_file() for href in hrefs)


def test_a_failure_newer_than_the_published_run_marks_it_failed_and_keeps_its_links(tmp_path):
    publish_files(tmp_path, {"brief.html": "good", "_when": "2026-11-29T10:00:00.000Z"})
    publish.archive_failure(
        tmp_path,
        "brief",
        "default",
        executed=None,
        error_text="boom",
        record={"created_at": "2026-11-29T11:00:00.000Z", "error": "timed out"},
    )
    [row] = publish.list_runs(tmp_path)
    assert row["status"] == "failed"
    assert row["href"]["html"] == "brief/default/brief.html"
    assert row["href"]["error"].startswith("_failed/brief/default/")


def test_index_escapes_values_and_needs_no_network(tmp_path):
    folder = stage(tmp_path, {"brief.html": "x"})
    manifest = {
        "created_at": "2026-11-29T10:00:00.000Z",
        "parameters": {"as_of": "<b>2024</b>"},
        "overrides": {"title": "<script>alert('x')</script>"},
        "outputs": {"brief.html": file_entry(folder / "brief.html")},
    }
    publish.write_atomic(folder / "manifest.json", json.dumps(manifest))
    publish.publish_run(folder, tmp_path, "brief", "title-0123456789")

    html = index.write_index(tmp_path).read_text()

    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>2024</b>" not in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<link" not in html


def test_index_of_an_empty_output_folder_says_there_are_no_runs(tmp_path):
    html = index.write_index(tmp_path / "reports").read_text()
    assert "0 run(s)" in html


def test_prune_stamped_keeps_the_newest_groups_with_the_prefix_only(tmp_path):
    stamps = ["20261101T000000Z", "20261102T000000Z", "20261102T000000Z-2", "20261103T000000Z"]
    for stamp in stamps:
        for suffix in ("log", "json"):
            (tmp_path / f"batch-{stamp}.{suffix}").write_text(stamp)
    (tmp_path / "notes.txt").write_text("mine")
    publish.prune_stamped(tmp_path, 2, prefix="batch-")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "batch-20261102T000000Z-2.json",
        "batch-20261102T000000Z-2.log",
        "batch-20261103T000000Z.json",
        "batch-20261103T000000Z.log",
        "notes.txt",
    ]


@pytest.mark.parametrize(
    ("parameters", "view"),
    [
        ({"as_of": "2024-03-02"}, "known by 2024-03-02"),
        ({"as_of": "2024-03-02", "end": "2024-03-02"}, "known by 2024-03-02"),
        (
            {"as_of": "2024-03-02", "end": "2023-09-30"},
            "events to 2023-09-30, known by 2024-03-02 (hindsight)",
        ),
        (
            {"as_of": "2024-03-02", "start": "2023-11-01", "end": "2023-11-30"},
            "events 2023-11-01 to 2023-11-30, known by 2024-03-02 (hindsight)",
        ),
    ],
)
def test_the_index_says_which_question_about_time_each_run_answers(tmp_path, parameters, view):
    folder = stage(tmp_path, {"brief.html": "x"})
    manifest = {
        "created_at": "2026-11-29T10:00:00.000Z",
        "parameters": parameters,
        "overrides": {},
        "outputs": {"brief.html": file_entry(folder / "brief.html")},
    }
    publish.write_atomic(folder / "manifest.json", json.dumps(manifest))
    publish.publish_run(folder, tmp_path, "brief", "default")
    html = index.write_index(tmp_path).read_text()
    assert "<th>Time view</th>" in html
    assert f"<td>{view}</td>" in html
