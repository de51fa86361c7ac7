"""The scheduling recipes (docs/scheduling.md, docs/examples/brief-daily.yml) run as written.

``scripts/check-scheduling.sh`` takes the cron line, the systemd units and the workflow's
steps from the docs themselves and runs them; these tests run it, quickly (the extraction
only) and in full with a one-job plan and the checkout's virtualenv.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check-scheduling.sh"
DOC = ROOT / "docs" / "scheduling.md"


def check(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def recipes():
    spec = importlib.util.spec_from_file_location(
        "recipes", ROOT / "scripts" / "scheduling_recipes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ok_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("ok ")]


def test_the_cron_line_units_and_workflow_steps_are_found_in_the_docs():
    result = check("--only", "extract")
    assert result.returncode == 0, result.stdout + result.stderr
    ok = "\n".join(ok_lines(result))
    assert "ok extract: cron line from" in ok
    assert "flock -n -E 75 /tmp/brief-daily.lock .venv/bin/brief batch plans/daily.yaml" in ok
    assert "ok extract: cron lock: /tmp/brief-daily.lock" in ok
    assert "brief-daily.service (ExecStart=/srv/myanmar-brief/.venv/bin/brief batch" in ok
    assert "brief-daily.timer" in ok
    assert "ok extract: CI steps from" in ok and "6 steps, 3 with run:" in ok
    assert "ok extract: delivering cron line and drop-in from" in ok
    assert "BRIEF_SMTP=mail.example.org:587 BRIEF_FROM=briefs@example.org; 2 ExecStart=" in ok
    assert "FAILED" not in result.stdout


def test_a_doc_without_its_delivering_variant_fails_the_extraction(tmp_path):
    broken = tmp_path / "scheduling.md"
    text = DOC.read_text(encoding="utf-8").replace("```cron send", "```text")
    broken.write_text(text, "utf-8")
    result = check("--only", "extract", "--doc", str(broken))
    assert result.returncode == 1
    assert "delivering variant: expected one ```cron send block" in result.stdout


def test_a_doc_without_its_cron_block_fails_the_extraction_and_says_so(tmp_path):
    broken = tmp_path / "scheduling.md"
    broken.write_text(DOC.read_text(encoding="utf-8").replace("```cron", "```text"), "utf-8")
    result = check("--only", "extract", "--doc", str(broken))
    assert result.returncode == 1
    assert "FAILED extract:" in result.stdout and "expected one ```cron block" in result.stdout


def test_a_checkout_whose_path_holds_the_recipes_example_paths_is_left_whole():
    # Before: /srv/myanmar-brief was replaced by the checkout, then /srv/briefs by the output
    # folder, also inside the checkout's own path.
    root = "/home/ci/srv/briefs/plans/daily.yaml-work/srv/myanmar-brief"
    venv = "/opt/venvs/brief"
    line = (
        "cd /srv/myanmar-brief && flock -n -E 75 /tmp/l .venv/bin/brief batch plans/daily.yaml"
        " --out /srv/briefs --quiet; see /srv/myanmar-brief/docs/scheduling.md"
    )
    assert recipes().substitute(line, root, venv, "/tmp/out", "/tmp/plan.yaml") == (
        f"cd {root} && flock -n -E 75 /tmp/l {venv}/bin/brief batch /tmp/plan.yaml"
        f" --out /tmp/out --quiet; see {root}/docs/scheduling.md"
    )
    unit = "WorkingDirectory=/srv/myanmar-brief\nExecStart=/srv/myanmar-brief/.venv/bin/brief "
    unit += "batch plans/daily.yaml --out /srv/briefs"
    assert recipes().substitute(unit, root, venv, "/tmp/out") == (
        f"WorkingDirectory={root}\nExecStart={venv}/bin/brief batch plans/daily.yaml --out /tmp/out"
    )
    module = recipes()
    with pytest.raises(module.RecipeError, match="does not publish into /srv/briefs"):
        module.substitute("brief batch plans/daily.yaml", root, venv, "/tmp/out")


def test_the_check_uses_the_virtualenv_the_makefile_names(tmp_path):
    # Before: scripts/check-scheduling.sh always took .venv, whatever VENV make was given.
    link = tmp_path / "elsewhere"
    link.symlink_to(Path(sys.prefix))
    env = {**os.environ, "VENV": str(link)}
    result = check("--only", "extract", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    env["VENV"] = str(tmp_path / "nowhere")
    result = check("--only", "extract", env=env)
    assert result.returncode == 1
    assert f"FAILED extract: no {tmp_path / 'nowhere' / 'bin' / 'python'}" in result.stdout
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert 'VENV="$(abspath $(VENV))" scripts/check-scheduling.sh --reuse-venv' in makefile


@pytest.mark.kernels
def test_cron_systemd_and_ci_recipes_run_publish_and_report_a_held_lock(tmp_path):
    plan = tmp_path / "plan.yaml"
    # One job, both formats: the workflow keeps the PDFs as an artifact of their own; the
    # delivering variants mail its edition to one reader.
    plan.write_text(
        "version: 1\nformats: [html, pdf]\njobs:\n  - notebook: brief\n"
        "    deliver: [desk@example.org]\n",
        "utf-8",
    )
    result = check("--plan", str(plan), "--reuse-venv", timeout=540)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout
    ok = "\n".join(ok_lines(result))
    for expected in [
        "ok systemd-analyze verify brief-daily.service brief-daily.timer",
        "ok systemd: ExecStart=",
        "ok cron: exit 0",
        "ok cron: with the flock lock held: exit 75, stderr: brief-daily: skipped",
        "ok cron: with brief's lock held: exit 75",
        "ok CI step 1 'actions/checkout@v4'",
        "make install replaced by a link",
        "ok CI step 3 'Render the plan': exit 0",
        "ok CI step 5 'Keep the PDFs': briefs/**/*.pdf matches 1 file",
        "ok CI step 6 'Keep the HTML, the index and the logs': briefs/ matches",
        "1 message(s) received by the SMTP server on 127.0.0.1",
        "--only-changed --send (drop-in;",
        "nothing new, no message sent",
    ]:
        if expected.startswith("ok systemd-analyze") and "skipped systemd-analyze" in result.stdout:
            continue  # no systemd-analyze on this machine: the script says so
        assert expected in ok, result.stdout
    assert "1 run published" in ok
