"""Nothing brief deletes or writes lies outside ``--out``, whatever links the folder holds.

Issue 15: the stale-version cleanup that every render and batch runs followed a symbolic link
at ``<out>/<notebook>/.versions`` (or an entry in it) and emptied the folder it pointed to.
Each level the tool walks gets a link to an outside folder holding a canary; after cleaning,
publishing, archiving a failure and logging a batch, the outside folder is as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.errors import RenderError
from helpers.pipeline import publish


def outside(tmp_path: Path) -> Path:
    """A folder beside the output folder, with a file and a sub-folder that must survive."""
    folder = tmp_path / "precious"
    (folder / "20250101T000000Z-keep").mkdir(parents=True)
    (folder / "20250101T000000Z-keep" / "thesis.docx").write_text("years of work")
    (folder / "notes.txt").write_text("do not delete")
    return folder


def contents(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text() if p.is_file() else "/"
        for p in sorted(folder.rglob("*"))
    }


def published(out: Path, text: str = "good") -> Path:
    stage = publish.staging_dir(out, "brief-default")
    (stage / "brief.html").write_text(text)
    return publish.publish_run(stage, out, "brief", "default")


# Where a link may stand, as a path under --out, and whether publishing the brief then refuses.
LEVELS = [
    ".tmp",
    "brief/.versions",
    "brief/.versions/default",
    "brief/.versions/default/20260101T000000Z-dead",
    "brief/.versions/other",
    "_failed",
    "_failed/brief",
    "_failed/brief/default",
    "_logs",
]


@pytest.mark.parametrize("level", LEVELS)
def test_a_link_at_any_level_takes_no_deletion_or_write_outside_the_output_folder(tmp_path, level):
    out = tmp_path / "out"
    out.mkdir()
    precious = outside(tmp_path)
    before = contents(precious)
    link = out / level
    if level.startswith("brief/.versions/default"):
        published(out)  # the run exists; the link stands among its versions
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists() or link.is_symlink():
        os.replace(link, tmp_path / "moved-aside")
    os.symlink(precious, link, target_is_directory=True)

    # Every render and batch cleans first, then publishes, and may archive a failure.
    publish.clean_stale(out)
    try:
        published(out, "new")
    except RenderError as exc:
        assert "symbolic link" in str(exc) and str(out) in str(exc)
    try:
        for i in range(publish.FAILED_KEEP + 2):  # enough to prune
            publish.archive_failure(
                out, "brief", "default", executed=None, error_text=str(i), record={}
            )
    except RenderError as exc:
        assert "symbolic link" in str(exc)
    publish.clean_stale(out)
    # A batch writes and prunes its logs in _logs/.
    from helpers.batch import runner

    try:
        runner._log_paths(out)
    except RenderError as exc:
        assert "symbolic link" in str(exc)

    assert contents(precious) == before


def test_a_lock_file_that_is_a_link_is_refused_naming_it_and_its_target_is_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "precious.txt"
    target.write_text("do not truncate")
    os.symlink(target, out / publish.LOCK_NAME)
    with (
        pytest.raises(RenderError, match=r"\.brief\.lock is a symbolic link"),
        publish.locked(out),
    ):
        pass
    assert target.read_text() == "do not truncate"
