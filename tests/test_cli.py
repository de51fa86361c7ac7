"""The ``brief`` command: thin over the library, one exit code per kind of failure."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers import paths
from helpers.cli import main
from helpers.errors import (
    DataValidationError,
    ExecutionError,
    LockHeldError,
    ParameterError,
    RenderError,
    UsageError,
)
from helpers.pipeline import progress
from helpers.pipeline import render as render_module
from helpers.pipeline.request import RenderRequest


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch, tmp_path):
    """Defaults as built in: no setting from the environment, no project file."""
    from helpers.config import SETTINGS

    for setting in SETTINGS:
        if setting.key != "sources":
            monkeypatch.delenv(setting.envvar, raising=False)
    monkeypatch.chdir(tmp_path)


# -- render: arguments reach the library unchanged (no kernel starts) ------------------------


def fields(request) -> dict:
    """A request's fields by name, as keyword arguments would give them."""
    return {f.name: getattr(request, f.name) for f in dataclasses.fields(request)}


@pytest.fixture
def calls(monkeypatch):
    """Patch :func:`helpers.pipeline.render.render`; record each call's request and reporter."""
    seen: list[dict] = []

    def fake_render(request, *, reporter=None):
        assert isinstance(request, RenderRequest)
        given = fields(request)
        seen.append({**given, "notebooks": list(request.notebooks) or None, "reporter": reporter})
        return []

    monkeypatch.setattr(render_module, "render", fake_render)
    return seen


def test_render_with_no_arguments_renders_every_notebook_with_defaults(calls):
    assert main(["render"]) == 0
    [call] = calls
    assert call["notebooks"] is None
    assert call["parameters"] == {}
    assert call["params_file"] is None
    assert call["formats"] == ("html", "pdf")
    assert call["data_dir"] is None
    assert call["out_dir"] is None
    assert call["timeout"] == 600


def test_render_passes_notebooks_parameters_as_strings_and_options(calls, tmp_path):
    argv = [
        "render",
        "brief",
        "defence",
        "-p",
        "partner",
        "China",
        "--parameter",
        "max_rows",
        "20",
        "-f",
        str(tmp_path / "p.yaml"),
        "--to",
        "pdf",
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "out"),
        "--timeout",
        "30",
    ]
    assert main(argv) == 0
    [call] = calls
    assert call["notebooks"] == ["brief", "defence"]
    assert call["parameters"] == {"partner": "China", "max_rows": "20"}
    assert call["params_file"] == tmp_path / "p.yaml"
    assert call["formats"] == ("pdf",)
    assert call["data_dir"] == tmp_path / "data"
    assert call["out_dir"] == tmp_path / "out"
    assert call["timeout"] == 30


def test_render_passes_the_name_template_and_refuses_one_that_leaves_the_run_folder(calls, capsys):
    assert main(["render", "brief", "--name", "{notebook}-{partner}-{as_of}"]) == 0
    assert calls[-1]["name"] == "{notebook}-{partner}-{as_of}"
    assert main(["render", "brief"]) == 0 and calls[-1]["name"] is None


def test_a_name_template_with_a_folder_is_exit_2_before_anything_runs(tmp_path, capsys):
    code = main(["render", "brief", "--name", "../{notebook}", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "gives '../brief', which cannot name a file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("formats", ["docx", "html,docx", ",", "HTML,Pdf,html"])
def test_render_accepts_only_html_and_pdf(calls, formats, capsys):
    code = main(["render", "--to", formats])
    if formats == "HTML,Pdf,html":
        assert code == 0
        assert calls[0]["formats"] == ("html", "pdf")
    else:
        assert code == 2
        assert calls == []
        assert "choose html, pdf or html,pdf" in capsys.readouterr().err


def test_render_refuses_one_parameter_given_two_values(calls, capsys):
    assert main(["render", "-p", "partner", "China", "-p", "partner", "India"]) == 2
    assert calls == []
    assert "given twice" in capsys.readouterr().err


def test_render_timeout_must_be_positive(calls):
    assert main(["render", "--timeout", "0"]) == 2
    assert calls == []


def test_render_reports_plainly_when_not_on_a_terminal_and_only_failures_when_quiet(calls):
    main(["render"])
    main(["render", "--quiet"])
    assert type(calls[0]["reporter"]) is progress.PlainReporter
    assert type(calls[1]["reporter"]) is progress.QuietReporter


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("unknown notebook 'x'"), 2),
        (DataValidationError(["events.csv:3: date_start: not a date"]), 3),
        (ParameterError("partner: expected Russia, China or India"), 4),
        (ExecutionError("brief.ipynb: cell 4 raised KeyError"), 5),
        (RenderError("WeasyPrint failed"), 6),
        (LockHeldError("another brief run holds reports/.brief.lock"), 75),
    ],
)
def test_each_kind_of_failure_has_its_exit_code(monkeypatch, capsys, error, code):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(render_module, "render", fail)
    assert main(["render"]) == code
    assert capsys.readouterr().err.startswith("error: ")


# -- render: real runs that stop before any kernel starts ----------------------------------


def test_unknown_notebook_exits_2_listing_the_known_ones(capsys):
    assert main(["render", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert "unknown notebook 'nosuch'; known notebooks:" in err
    for notebook in paths.report_notebooks():
        assert notebook.stem in err


def test_invalid_parameter_exits_4_naming_parameter_and_value(tmp_path, capsys):
    assert main(["render", "brief", "-p", "partner", "Atlantis", "--out", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert "partner" in err and "Atlantis" in err
    assert list(tmp_path.iterdir()) == []


def test_invalid_data_exits_3(tmp_path, data_copy, capsys):
    (data_copy / "relations.csv").unlink()
    out = tmp_path / "out"
    assert main(["render", "brief", "--data", str(data_copy), "--out", str(out)]) == 3
    assert "relations.csv" in capsys.readouterr().err
    assert not out.exists()


def test_lock_held_by_another_run_exits_75_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    code = (
        "import sys; from filelock import FileLock; "
        f"l = FileLock({str(out / '.brief.lock')!r}, timeout=0); l.acquire(); "
        "print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = sorted(p.name for p in out.iterdir())
        assert main(["render", "brief", "--out", str(out)]) == 75
        assert sorted(p.name for p in out.iterdir()) == before
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()
    assert "another brief run holds" in capsys.readouterr().err


# -- render: real runs with kernels ----------------------------------------------------------


def notebook_with(tmp_path: Path, source: str) -> Path:
    params = new_code_cell("partner = 'Russia'")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(source)])
    nb.metadata["brief"] = {"schema": "defence"}
    path = tmp_path / "custom.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.kernels
def test_successful_render_exits_0_with_plain_progress_lines(tmp_path, capsys):
    notebook = notebook_with(tmp_path, "print(partner)")
    out = tmp_path / "out"
    assert main(["render", str(notebook), "--to", "html", "--out", str(out)]) == 0
    # The job's own lines (a machine without the source text also prints a warning first).
    lines = [line for line in capsys.readouterr().out.splitlines() if " custom/default " in line]
    assert [line.split(" ", 2)[2] for line in lines[:3]] == ["execute", "html", "publish"]
    assert " custom/default done " in lines[3]
    assert (out / "custom" / "default" / "custom.html").is_file()


@pytest.mark.kernels
def test_failed_execution_exits_5(tmp_path, capsys):
    notebook = notebook_with(tmp_path, "raise KeyError('missing')")
    assert main(["render", str(notebook), "--out", str(tmp_path / "out")]) == 5
    assert "raised KeyError: 'missing'" in capsys.readouterr().err


@pytest.mark.kernels
def test_failed_rendering_exits_6(tmp_path, capsys):
    notebook = notebook_with(
        tmp_path,
        "from IPython.display import HTML\nHTML('<img src=\"https://example.org/x.png\">')",
    )
    assert main(["render", str(notebook), "--out", str(tmp_path / "out")]) == 6
    err = capsys.readouterr().err
    assert "custom/default FAILED in html" in err
    assert "example.org" in err


@pytest.mark.kernels
def test_a_user_without_a_writable_home_gets_a_quiet_run_and_no_temporary_folders(tmp_path):
    # A service user (systemd's ProtectHome, a CI runner): IPython warned on standard error,
    # through -q into every cron mail, and left a temporary folder per warning.
    import os

    notebook = notebook_with(tmp_path, "print(partner)")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("IPYTHONDIR", "BRIEF_CACHE")}
    env.update(HOME="/proc/no-such-home", TMPDIR=str(tmp))  # not even root can create it
    argv = [str(Path(sys.executable).with_name("brief")), "render", "-q", str(notebook)]
    argv += ["--to", "html", "--out", str(tmp_path / "out")]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)

    assert done.returncode == 0, done.stderr
    assert "IPython" not in done.stderr and "writable" not in done.stderr
    assert not [p for p in tmp.iterdir() if p.name.startswith(("brief-ipython-", "tmp"))]


# -- batch: arguments reach the library unchanged (no kernel starts) -------------------------


class FakeBatchResult:
    """What :func:`helpers.batch.run_plan` returns, as far as the command uses it."""

    def __init__(self, exit_code: int = 0) -> None:
        self.exit_code = exit_code
        self.ok = exit_code == 0

    def summary(self) -> str:
        return "plan.yaml: 2 job(s): 1 ran, 1 skipped, 0 failed"


@pytest.fixture
def batch_calls(monkeypatch):
    """Patch :func:`helpers.batch.runner.run_plan`; record each call's request and reporter;
    ``result`` is what it returns."""
    from helpers.batch import runner as batch_module

    seen: list[dict] = []
    seen_result = {"value": FakeBatchResult()}

    def fake_run_plan(request, *, reporter=None):
        assert isinstance(request, batch_module.BatchRequest)
        seen.append({**fields(request), "reporter": reporter})
        return seen_result["value"]

    monkeypatch.setattr(batch_module, "run_plan", fake_run_plan)
    return seen, seen_result


def test_batch_passes_the_plan_and_every_option_to_the_library(batch_calls, tmp_path):
    calls, _ = batch_calls
    argv = ["batch", "plans/daily.yaml", "--workers", "3", "--out", str(tmp_path / "out")]
    argv += ["--data", str(tmp_path / "data"), "--force", "--scheduler", "tcp://10.0.0.5:8786"]
    assert main(argv) == 0
    [call] = calls
    assert call["plan"] == Path("plans/daily.yaml")
    assert call["workers"] == 3
    assert call["out_dir"] == tmp_path / "out"
    assert call["data_dir"] == tmp_path / "data"
    assert call["force"] is True
    assert call["scheduler"] == "tcp://10.0.0.5:8786"
    assert type(call["reporter"]) is progress.PlainReporter


def test_batch_leaves_workers_folders_and_scheduler_to_the_library_defaults(batch_calls):
    calls, _ = batch_calls
    assert main(["batch", "plan.yaml"]) == 0
    [call] = calls
    assert (call["workers"], call["out_dir"], call["data_dir"]) == (None, None, None)
    assert (call["force"], call["scheduler"]) == (False, None)


def test_batch_prints_the_summary_last_and_exits_with_the_first_failures_code(batch_calls, capsys):
    _, result = batch_calls
    result["value"] = FakeBatchResult(exit_code=6)
    assert main(["batch", "plan.yaml"]) == 6
    assert capsys.readouterr().out.endswith("1 ran, 1 skipped, 0 failed\n")


def test_batch_quiet_prints_nothing_on_success_and_the_summary_on_failure(batch_calls, capsys):
    calls, result = batch_calls
    assert main(["batch", "plan.yaml", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert type(calls[0]["reporter"]) is progress.QuietReporter
    result["value"] = FakeBatchResult(exit_code=5)
    assert main(["batch", "plan.yaml", "-q"]) == 5
    assert "1 ran, 1 skipped" in capsys.readouterr().err


def test_batch_needs_at_least_one_worker(batch_calls):
    calls, _ = batch_calls
    assert main(["batch", "plan.yaml", "--workers", "0"]) == 2
    assert calls == []


def test_batch_overlapping_another_run_exits_75(monkeypatch, capsys):
    from helpers.batch import runner as batch_module

    def held(*args, **kwargs):
        raise LockHeldError("another brief run holds reports/.brief.lock")

    monkeypatch.setattr(batch_module, "run_plan", held)
    assert main(["batch", "plan.yaml"]) == 75
    assert capsys.readouterr().err.startswith("error: another brief run holds")


# -- batch: real runs that stop before any kernel starts -------------------------------------


def test_batch_with_a_malformed_plan_exits_2_naming_the_entry(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\njobs:\n  - notebook: brief\n  - notebook: defence\n    grd: {}\n")
    assert main(["batch", str(plan), "--out", str(tmp_path / "out")]) == 2
    assert "jobs[1]: unknown key 'grd'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_batch_with_a_bad_parameter_exits_4_naming_the_job_and_writes_nothing(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\njobs: [{notebook: defence, grid: {partner: [China, France]}}]\n")
    assert main(["batch", str(plan), "--out", str(tmp_path / "out")]) == 4
    err = capsys.readouterr().err
    assert "jobs[0] (defence, partner=France): parameter 'partner' = 'France'" in err
    assert "China" not in err.split("France", 1)[0]  # the good combination is not blamed
    assert not (tmp_path / "out").exists()


def test_cold_turns_warm_kernels_off_and_its_absence_leaves_the_choice_to_the_library(
    calls, batch_calls
):
    assert main(["render"]) == 0
    assert main(["render", "--cold"]) == 0
    assert [c["warm_kernels"] for c in calls] == [None, False]
    seen, _ = batch_calls
    assert main(["batch", "plan.yaml"]) == 0
    assert main(["batch", "plan.yaml", "--cold"]) == 0
    assert [c["warm_kernels"] for c in seen] == [None, False]


# -- every command: --log-level, -v, -q ------------------------------------------------------


@pytest.fixture
def levels(monkeypatch, tmp_path):
    """Patch the library call of every command; record the level of the ``helpers`` logger
    and of papermill's while it runs. Returns the records and each command's arguments."""
    import logging

    from helpers import config as config_module
    from helpers import ledger, params
    from helpers.data import validation
    from helpers.pipeline import series

    seen: list[tuple[int, int]] = []

    def record(result):
        def call(*args, **kwargs):
            seen.append((logging.getLogger("helpers").level, logging.getLogger("papermill").level))
            return result

        return call

    monkeypatch.setattr(validation, "validate", record(validation.Report(tmp_path)))
    row = {"name": "partner", "type": "str", "default": "Russia", "help": "the partner"}
    monkeypatch.setattr(params, "describe", record([row]))
    monkeypatch.setattr(series, "diff", record(None))
    monkeypatch.setattr(ledger, "as_text", lambda changes: "no change")
    monkeypatch.setattr(config_module, "as_text", record("settings"))
    monkeypatch.setattr(render_module, "render", record([]))
    from helpers.batch import runner as batch_module

    monkeypatch.setattr(batch_module, "run_plan", record(FakeBatchResult()))
    commands = {
        "validate": ["validate"],
        "params": ["params", "brief"],
        "render": ["render", "brief"],
        "batch": ["batch", "plan.yaml"],
        "diff": ["diff", "a", "b"],
        "config": ["config"],
    }
    return seen, commands


COMMANDS = ["validate", "params", "render", "batch", "diff", "config"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_log_level_verbose_and_quiet_and_they_set_the_level(levels, command):
    import logging

    seen, commands = levels
    silent = logging.CRITICAL + 1
    for options in ([], ["-v"], ["-vv"], ["--log-level", "error"], ["-q"], ["--log-level", "INFO"]):
        assert main([*commands[command], *options]) == 0, options
    assert seen == [
        (logging.WARNING, silent),
        (logging.INFO, logging.INFO),
        (logging.DEBUG, logging.DEBUG),
        (logging.ERROR, silent),
        (logging.ERROR, silent),
        (logging.INFO, logging.INFO),
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_log_options_given_twice_or_before_the_command_are_usage_errors(levels, command, capsys):
    seen, commands = levels
    argv = commands[command]
    assert main([*argv, "-v", "-q"]) == 2
    assert "give one of --log-level, -v and -q, not -v and -q" in capsys.readouterr().err
    assert main([*argv, "--log-level", "debug", "-v"]) == 2
    assert main([*argv, "--log-level", "loud"]) == 2
    assert main(["-v", *argv]) == 2
    assert "-v goes after the command's name, as in: brief render -v" in capsys.readouterr().err
    assert main(["--log-level", "INFO", *argv]) == 2
    assert seen == []


def test_verbose_render_logs_plain_timestamped_lines_on_stderr(monkeypatch, capsys):
    import logging
    import re

    def fake_render(request, *, reporter=None):
        logging.getLogger("helpers.pipeline.render").info("warm zygote ready")
        return []

    monkeypatch.setattr(render_module, "render", fake_render)
    assert main(["render"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["render", "-v"]) == 0
    err = capsys.readouterr().err
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO helpers\.pipeline\.render: warm zygote ready\n",
        err,
    )
    helpers_log = logging.getLogger("helpers")
    assert (helpers_log.level, helpers_log.handlers, helpers_log.propagate) == (0, [], True)


def test_quiet_validate_prints_nothing_when_the_data_is_valid(monkeypatch, capsys, tmp_path):
    from helpers.data import validation

    report = validation.Report(tmp_path, skipped=["source text article.txt not found"])
    monkeypatch.setattr(validation, "validate", lambda data_dir=None, sources=None: report)
    assert main(["validate"]) == 0
    out, err = capsys.readouterr()
    assert "valid, but the evidence of 1 source(s)" in out and "note: " in err
    assert main(["validate", "-q"]) == 0
    assert capsys.readouterr() == ("", "")


def test_quiet_commands_that_exist_to_print_still_print(levels, capsys):
    _, commands = levels
    assert main([*commands["params"], "-q"]) == 0
    assert "partner" in capsys.readouterr().out
    assert main([*commands["config"], "-q"]) == 0
    assert capsys.readouterr().out == "settings\n"


# -- batch --dry-run: the CLI is thin over plan_batch ----------------------------------------


def test_batch_dry_run_calls_plan_batch_not_run_plan_and_prints_its_summary(
    batch_calls, monkeypatch, capsys
):
    from helpers.batch import runner as batch_module

    calls, _ = batch_calls
    planned = []

    class Preview:
        def summary(self) -> str:
            return "plan.yaml: 2 job(s): 1 would run, 1 would be skipped"

    def fake_plan_batch(request, *, reporter=None):
        planned.append(request)
        return Preview()

    monkeypatch.setattr(batch_module, "plan_batch", fake_plan_batch)
    assert main(["batch", "plan.yaml", "--dry-run", "--force", "--workers", "2", "-q"]) == 0
    assert calls == []
    [request] = planned
    assert (request.plan, request.force, request.workers) == (Path("plan.yaml"), True, 2)
    assert capsys.readouterr().out == "plan.yaml: 2 job(s): 1 would run, 1 would be skipped\n"


# -- issue 21: PDF variant, base URL, sending -----------------------------------------------


def test_render_and_batch_pass_the_pdf_variant_and_base_url(calls, batch_calls, monkeypatch):
    assert main(["render", "brief"]) == 0
    assert (calls[-1]["pdf_variant"], calls[-1]["base_url"]) == ("pdf/ua-1", None)
    argv = ["--pdf-variant", "PDF/A-3u", "--base-url", "https://briefs.example.org/"]
    assert main(["render", "brief", *argv]) == 0
    assert (calls[-1]["pdf_variant"], calls[-1]["base_url"]) == (
        "pdf/a-3u",
        "https://briefs.example.org/",
    )
    monkeypatch.setenv("BRIEF_PDF_VARIANT", "none")
    assert main(["batch", "plan.yaml"]) == 0
    assert batch_calls[0][-1]["pdf_variant"] == "none"


def test_an_unknown_pdf_variant_is_a_usage_error(calls, capsys):
    assert main(["render", "brief", "--pdf-variant", "pdf/x"]) == 2
    assert "pdf/ua-1" in capsys.readouterr().err
    assert calls == []


def test_batch_send_without_a_sender_or_a_server_stops_before_the_batch_runs(batch_calls, capsys):
    calls, _ = batch_calls
    assert main(["batch", "plan.yaml", "--send", "--smtp", "127.0.0.1:2525"]) == 2
    assert "no sender" in capsys.readouterr().err
    assert main(["batch", "plan.yaml", "--send", "--from", "briefs@example.org"]) == 2
    assert "no mail server" in capsys.readouterr().err
    assert calls == []
