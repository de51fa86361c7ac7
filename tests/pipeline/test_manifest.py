"""manifest.json: fingerprints, versions, git state, timings and the reproducing command."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import subprocess

import pytest

from helpers import paths
from helpers.pipeline import manifest


def test_sha256_file_is_the_sha256_of_the_bytes(tmp_path):
    path = tmp_path / "out.pdf"
    path.write_bytes(b"%PDF-1.7 " * 100_000)
    assert manifest.sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest.file_entry(path) == {
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": 900_000,
    }


def test_canonical_json_does_not_depend_on_key_order():
    assert manifest.canonical_json({"b": 1, "a": [1, 2]}) == manifest.canonical_json(
        {"a": [1, 2], "b": 1}
    )


def test_package_versions_name_python_and_each_package_missing_ones_as_none():
    versions = manifest.package_versions(["papermill", "no-such-distribution-xyz"])
    assert versions["papermill"]
    assert versions["no-such-distribution-xyz"] is None
    assert re.fullmatch(r"3\.\d+\.\d+.*", versions["python"])


def test_git_state_outside_a_repository_is_none(tmp_path):
    assert manifest.git_state(tmp_path) == {"commit": None, "dirty": None}


def test_git_state_without_git_installed_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert manifest.git_state(paths.PROJECT_ROOT) == {"commit": None, "dirty": None}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_names_the_commit_and_sees_uncommitted_changes(tmp_path):
    def git(*args):
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    head = git("rev-parse", "HEAD")
    assert manifest.git_state(tmp_path) == {"commit": head, "dirty": False}
    (tmp_path / "a.txt").write_text("two")
    assert manifest.git_state(tmp_path) == {"commit": head, "dirty": True}


def test_command_line_is_shell_quoted_and_leaves_out_defaults(tmp_path):
    command = manifest.command_line(
        "brief",
        {"title": "Junta's turn; $(rm -rf ~)", "themes": ["defence", "energy"]},
        out_dir=paths.REPORTS_DIR,
    )
    assert shlex.split(command) == [
        "brief",
        "render",
        "brief",
        "-p",
        "themes",
        "defence,energy",
        "-p",
        "title",
        "Junta's turn; $(rm -rf ~)",
    ]


def test_command_line_gives_data_formats_timeout_and_output_folder_when_not_default(tmp_path):
    command = manifest.command_line(
        "/tmp/x y/custom.ipynb",
        {"data_dir": str(tmp_path / "data"), "partner": "India"},
        data_dir=tmp_path / "data",
        out_dir=tmp_path / "out",
        formats=["pdf"],
        timeout=30,
    )
    assert shlex.split(command) == [
        "brief",
        "render",
        "/tmp/x y/custom.ipynb",
        "-p",
        "partner",
        "India",
        "--data",
        str(tmp_path / "data"),
        "--to",
        "pdf",
        "--timeout",
        "30",
        "--out",
        str(tmp_path / "out"),
    ]


def test_build_manifest_records_everything_the_issue_asks_for(tmp_path):
    notebook = tmp_path / "brief.ipynb"
    notebook.write_text("{}")
    html = tmp_path / "brief.html"
    html.write_text("<p>brief</p>")
    result = manifest.build_manifest(
        notebook="brief",
        notebook_path=notebook,
        run="default",
        parameters={"partner": "Russia", "as_of": "2024-03-02"},
        overrides={},
        data_dir=None,
        data_fingerprint="f" * 64,
        formats=["html"],
        timeout=600,
        timings={"validate": 1.0, "execute": 2.5, "html": 0.5, "publish": 0.1},
        outputs={"brief.html": html},
        command="brief render brief",
    )
    json.dumps(result)  # JSON-safe as it is
    assert result["parameters"] == {"as_of": "2024-03-02", "partner": "Russia"}
    assert result["notebook_sha256"] == hashlib.sha256(b"{}").hexdigest()
    assert result["data"] == {"dir": "data", "fingerprint": "f" * 64}
    assert {"myanmar-brief", "papermill", "nbconvert", "pandas", "seaborn", "matplotlib",
            "weasyprint", "python"} <= set(result["packages"])  # fmt: skip
    assert set(result["git"]) == {"commit", "dirty"}
    assert result["timings"]["total"] == pytest.approx(4.1)
    assert result["outputs"]["brief.html"]["sha256"] == manifest.sha256_file(html)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result["created_at"])
    assert result["command"] == "brief render brief"


def test_code_fingerprint_sees_brief_code_but_not_the_proof_s_rules(tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "narrative.py").write_text("A = 1\n")
    (tmp_path / "proof").mkdir()
    (tmp_path / "proof" / "rules.py").write_text("RULES = {}\n")
    before = manifest.code_fingerprint(tmp_path)
    (tmp_path / "proof" / "rules.py").write_text("RULES = {'new': None}\n")
    assert manifest.code_fingerprint(tmp_path) == before
    (tmp_path / "report" / "narrative.py").write_text("A = 2\n")
    assert manifest.code_fingerprint(tmp_path) != before
