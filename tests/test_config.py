"""Settings: command line > environment > project file > built-in default, and ``brief config``.

No kernel starts: ``brief render`` and ``brief batch`` are patched to record what they are
asked, as in ``test_cli.py``.
"""

from __future__ import annotations

import json
import logging
import os
import textwrap
from pathlib import Path

import pytest

from helpers import config, logs, paths
from helpers.batch import runner as batch_module
from helpers.cli import main
from helpers.errors import UsageError
from helpers.pipeline import render as render_module

#: Every environment variable a setting reads, but $BRIEF_SOURCES (the tests' source texts).
SETTING_ENV = [s.envvar for s in config.SETTINGS if s.key != "sources"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No setting from the environment this test did not set itself."""
    for name in SETTING_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project folder; the working directory is a folder below it."""
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    monkeypatch.chdir(root / "sub")
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def seen(monkeypatch) -> list[dict]:
    """Patch render and run_plan: record each request's fields, the level of the ``helpers``
    logger and ``$BRIEF_SOURCES`` while it runs."""
    calls: list[dict] = []

    def record(request) -> dict:
        return {
            **{name: getattr(request, name) for name in request.__dataclass_fields__},
            "level": logging.getLogger("helpers").level,
            "sources_env": os.environ.get(paths.SOURCES_ENV),
        }

    def fake_render(request, *, reporter=None):
        calls.append(record(request))
        return []

    class Result:
        ok, exit_code = True, 0

        def summary(self) -> str:
            return "plan.yaml: 0 job(s)"

    def fake_run_plan(request, *, reporter=None):
        calls.append(record(request))
        return Result()

    monkeypatch.setattr(render_module, "render", fake_render)
    monkeypatch.setattr(batch_module, "run_plan", fake_run_plan)
    return calls


def config_json(*argv: str) -> dict:
    """``brief config --json`` with ``argv``, parsed."""
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["config", "--json", *argv]) == 0
    return json.loads(out.getvalue())


# -- precedence: command line > environment > project file > default ---------------------------

#: Per setting: the command that uses it, the option, and a value from each layer (the file's
#: as written in TOML, the environment's and the command line's as text), then the value the
#: library receives from each layer (None: the built-in default).
LAYERS = {
    "out": ("render", "--out", '"file-out"', "/env-out", "/cli-out"),
    "data": ("render", "--data", '"file-data"', "/env-data", "/cli-data"),
    "workers": ("batch", "--workers", "3", "5", "7"),
    "formats": ("render", "--to", '["pdf"]', "html", "pdf,html"),
    "timeout": ("render", "--timeout", "30", "40", "50"),
    "log_level": ("render", "--log-level", '"error"', "info", "debug"),
}
FIELD = {"out": "out_dir", "data": "data_dir", "workers": "workers", "formats": "formats"}
FIELD |= {"timeout": "timeout", "log_level": "level"}


def expected(key: str, layer: str, root: Path):
    """What the library receives for ``key`` when ``layer`` is the highest one given."""
    values = {
        "out": {"file": root / "file-out", "env": Path("/env-out"), "cli": Path("/cli-out")},
        "data": {"file": root / "file-data", "env": Path("/env-data"), "cli": Path("/cli-data")},
        "workers": {"file": 3, "env": 5, "cli": 7},
        "formats": {"file": ("pdf",), "env": ("html",), "cli": ("pdf", "html")},
        "timeout": {"file": 30, "env": 40, "cli": 50},
        "log_level": {"file": logging.ERROR, "env": logging.INFO, "cli": logging.DEBUG},
    }
    defaults = {
        "out": None,
        "data": None,
        "workers": None,
        "formats": ("html", "pdf"),
        "timeout": 600,
        "log_level": logging.WARNING,
    }
    return values[key][layer] if layer != "default" else defaults[key]


@pytest.mark.parametrize("key", list(LAYERS))
@pytest.mark.parametrize(
    "given",
    [
        (),
        ("file",),
        ("env",),
        ("file", "env"),
        ("cli", "file"),
        ("cli", "env"),
        ("cli", "env", "file"),
    ],
    ids="+".join,
)
def test_each_setting_comes_from_the_highest_layer_that_gives_it(
    key, given, project, seen, monkeypatch
):
    command, option, in_file, in_env, on_line = LAYERS[key]
    if "file" in given:
        write(project / "pyproject.toml", f"[tool.myanmar-brief]\n{key} = {in_file}\n")
    if "env" in given:
        monkeypatch.setenv(config.ENVIRONMENT[key], in_env)
    argv = [command] + (["plan.yaml"] if command == "batch" else [])
    argv += [option, on_line] if "cli" in given else []

    assert main(argv) == 0
    top = next((layer for layer in ("cli", "env", "file") if layer in given), "default")
    assert seen[0][FIELD[key]] == expected(key, top, project)

    # brief config says the same, and where it came from.
    shown = config_json(*([option, on_line] if "cli" in given else []))["settings"][key]
    source = {
        "cli": "command line",
        "env": f"${config.ENVIRONMENT[key]}",
        "file": f"{project / 'pyproject.toml'} [tool.myanmar-brief]",
        "default": "default",
    }[top]
    assert shown["source"] == source
    value = expected(key, top, project)
    if key == "log_level":
        value = logging.getLevelName(value)
    if value is not None:
        plain = list if isinstance(value, tuple) else str if isinstance(value, Path) else None
        assert shown["value"] == (plain(value) if plain else value)


def test_defaults_shown_are_those_the_library_uses(project):
    settings = config_json()["settings"]
    assert settings["out"] == {"value": str(paths.REPORTS_DIR), "source": "default"}
    assert settings["data"] == {"value": str(paths.DATA_DIR), "source": "default"}
    assert settings["workers"]["source"] == "default"
    from helpers.batch.executors import default_workers

    assert settings["workers"]["value"] == default_workers()


def test_quiet_and_verbose_on_the_command_line_beat_the_level_of_the_file_and_environment(
    project, seen, monkeypatch
):
    write(project / "brief.toml", 'log_level = "debug"\n')
    monkeypatch.setenv("BRIEF_LOG_LEVEL", "critical")
    assert main(["render", "-q"]) == 0
    assert main(["render", "-v"]) == 0
    assert main(["render"]) == 0
    assert [c["level"] for c in seen] == [logging.ERROR, logging.INFO, logging.CRITICAL]
    assert config_json("-v")["settings"]["log_level"] == {"value": "INFO", "source": "command line"}


def test_a_level_of_error_from_the_file_makes_render_and_batch_quiet(project, monkeypatch):
    from helpers.pipeline import progress

    reporters = []

    class Result:
        ok, exit_code = True, 0

        def summary(self) -> str:
            return "plan.yaml: 0 job(s)"

    def fake(request, *, reporter=None):
        reporters.append(type(reporter))
        return Result()

    monkeypatch.setattr(render_module, "render", fake)
    monkeypatch.setattr(batch_module, "run_plan", fake)
    assert main(["render"]) == 0
    write(project / "brief.toml", 'log_level = "ERROR"\n')
    assert main(["render"]) == 0
    assert main(["batch", "plan.yaml"]) == 0
    assert reporters == [progress.PlainReporter, progress.QuietReporter, progress.QuietReporter]


def test_workers_from_a_setting_give_way_to_a_scheduler_on_the_command_line(
    project, seen, monkeypatch
):
    write(project / "brief.toml", "workers = 3\n")
    assert main(["batch", "plan.yaml", "--scheduler", "tcp://10.0.0.5:8786"]) == 0
    monkeypatch.setenv("BRIEF_WORKERS", "4")
    assert main(["batch", "plan.yaml", "--scheduler", "tcp://10.0.0.5:8786"]) == 0
    assert [(c["workers"], c["scheduler"]) for c in seen] == [(None, "tcp://10.0.0.5:8786")] * 2


def test_a_bad_value_in_the_environment_is_a_usage_error_naming_the_variable(
    project, seen, monkeypatch, capsys
):
    monkeypatch.setenv("BRIEF_WORKERS", "many")
    assert main(["batch", "plan.yaml"]) == 2
    assert "(env var: 'BRIEF_WORKERS'): 'many' is not a valid" in capsys.readouterr().err
    monkeypatch.setenv("BRIEF_FORMATS", "docx")
    assert main(["render"]) == 2
    assert "(env var: 'BRIEF_FORMATS'): 'docx': choose html, pdf" in capsys.readouterr().err
    assert seen == []


# -- sources: a search path, in the same order ---------------------------------------------------


def test_source_folders_are_searched_command_line_then_environment_then_file_then_default(
    project, monkeypatch
):
    from helpers.data import validation

    write(project / "brief.toml", 'sources = ["texts", "/abs/texts"]\n')
    monkeypatch.setenv(paths.SOURCES_ENV, os.pathsep.join(["/env/a", "/env/b"]))
    searched = []

    def fake_validate(data_dir=None, sources=None):
        searched.append(paths.source_dirs(sources))
        return validation.Report(Path("data"))

    monkeypatch.setattr(validation, "validate", fake_validate)
    assert main(["validate", "--sources", "/cli"]) == 0
    order = [Path("/cli"), Path("/env/a"), Path("/env/b"), project / "texts", Path("/abs/texts")]
    assert searched == [[*order, paths.source_dirs()[-1]]]
    # The environment is as it was once the command is over.
    assert os.environ[paths.SOURCES_ENV] == os.pathsep.join(["/env/a", "/env/b"])

    shown = config_json("--sources", "/cli")["settings"]["sources"]
    assert shown["value"] == [str(p) for p in searched[0]]
    label = f"{project / 'brief.toml'}"
    assert shown["source"] == [
        "command line",
        "$BRIEF_SOURCES",
        "$BRIEF_SOURCES",
        label,
        label,
        "default",
    ]


def test_the_file_source_folders_reach_the_kernels_environment_during_a_render(
    project, seen, monkeypatch
):
    monkeypatch.delenv(paths.SOURCES_ENV, raising=False)
    write(project / "pyproject.toml", '[tool.myanmar-brief]\nsources = "texts"\n')
    assert main(["render"]) == 0
    assert main(["batch", "plan.yaml"]) == 0
    assert [c["sources_env"] for c in seen] == [str(project / "texts")] * 2
    assert paths.SOURCES_ENV not in os.environ


# -- the project file ----------------------------------------------------------------------------


def test_relative_paths_in_the_file_are_taken_from_its_folder_not_the_working_directory(
    project, seen
):
    write(project / "brief.toml", 'out = "reports"\ndata = "../shared-data"\n')
    assert Path.cwd() == project / "sub"
    assert main(["render"]) == 0
    assert seen[0]["out_dir"] == project / "reports"
    assert seen[0]["data_dir"] == project.parent / "shared-data"


def test_a_home_relative_path_in_the_file_is_expanded(project, seen, monkeypatch):
    monkeypatch.setenv("HOME", str(project / "home"))
    write(project / "brief.toml", 'out = "~/briefs"\n')
    assert main(["render"]) == 0
    assert seen[0]["out_dir"] == project / "home" / "briefs"


def test_brief_toml_wins_over_the_pyproject_table_in_the_same_folder(project, seen, capsys):
    write(project / "pyproject.toml", '[tool.myanmar-brief]\nout = "from-pyproject"\n')
    write(project / "brief.toml", 'out = "from-brief-toml"\n')
    assert main(["render"]) == 0
    assert seen[0]["out_dir"] == project / "from-brief-toml"
    assert main(["config"]) == 0
    text = capsys.readouterr().out
    assert f"project file: {project / 'brief.toml'}\n" in text
    assert f"({project / 'pyproject.toml'} [tool.myanmar-brief] is ignored" in text
    assert config_json()["ignored"] == str(project / "pyproject.toml")


def test_the_nearest_folder_with_settings_wins_and_a_pyproject_without_the_table_is_passed_over(
    project, seen
):
    write(project / "brief.toml", "timeout = 11\n")
    write(project / "sub" / "pyproject.toml", '[project]\nname = "x"\n')
    assert main(["render"]) == 0
    write(project / "sub" / "pyproject.toml", "[tool.myanmar-brief]\ntimeout = 22\n")
    assert main(["render"]) == 0
    assert [c["timeout"] for c in seen] == [11, 22]


def test_a_broken_pyproject_of_another_project_above_is_none_of_briefs_business(project, seen):
    write(project / "pyproject.toml", "[project\nname = 'other'\n")
    assert main(["render"]) == 0
    assert config.find_project_file() is None


def test_an_unknown_key_is_a_usage_error_naming_the_file_and_key_before_anything_runs(
    project, seen, capsys
):
    write(project / "pyproject.toml", '[tool.myanmar-brief]\noutt = "x"\nworkers = 2\n')
    for argv in (["render"], ["batch", "plan.yaml"], ["config"], ["validate"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{project / 'pyproject.toml'} [tool.myanmar-brief]: 1 problem(s):" in err
        assert "unknown key 'outt' (did you mean 'out'?)" in err
        assert "the keys are: out, data, sources, workers, formats, timeout, log_level" in err
    assert seen == []


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('workers = "2"', "workers = '2': expected a whole number, at least 1"),
        ("workers = 0", "workers = 0: expected a whole number, at least 1"),
        ("timeout = true", "timeout = True: expected a whole number of seconds, at least 1"),
        ("out = 5", "out = 5: expected a folder, as text"),
        ("sources = [1]", "sources = [1]: expected a folder or a list of folders, as text"),
        ('formats = ["docx"]', "formats = ['docx']: unknown output format(s) 'docx'"),
        ('log_level = "loud"', "log_level = 'loud': unknown level 'loud'; choose from: DEBUG"),
    ],
)
def test_a_wrong_type_or_value_is_a_usage_error_naming_the_file_key_and_what_is_allowed(
    project, seen, capsys, line, says
):
    write(project / "brief.toml", line + "\n")
    assert main(["render"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {project / 'brief.toml'}: 1 problem(s):\n")
    assert says in err
    assert seen == []


def test_every_problem_of_the_file_is_listed_at_once():
    with pytest.raises(UsageError) as caught:
        config.read_project_file(_tmp_file('outt = 1\nworkers = "x"\ntimeout = 0\n'))
    assert "3 problem(s)" in str(caught.value)


def _tmp_file(text: str) -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return write(folder / "brief.toml", text)


def test_the_table_copied_into_brief_toml_is_explained(project, capsys):
    write(project / "brief.toml", '[tool.myanmar-brief]\nout = "x"\n')
    assert main(["config"]) == 2
    assert "in brief.toml the keys stand at the top" in capsys.readouterr().err


def test_a_file_that_is_not_toml_is_a_usage_error_naming_it(project, seen, capsys):
    write(project / "brief.toml", "out = \n")
    assert main(["render"]) == 2
    assert f"error: {project / 'brief.toml'}: not valid TOML: " in capsys.readouterr().err
    (project / "brief.toml").write_bytes(b'out = "\xff"\n')
    assert main(["render"]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert seen == []


def test_the_table_must_be_a_table(project, capsys):
    write(project / "pyproject.toml", '[tool]\nmyanmar-brief = "out"\n')
    assert main(["config"]) == 2
    assert "[tool.myanmar-brief] must be a table of settings" in capsys.readouterr().err


def test_the_library_reads_the_same_file(project):
    write(project / "brief.toml", 'formats = "pdf,html"\nsources = "texts"\nlog_level = "info"\n')
    found = config.find_project_file()
    assert found is not None and found.path == project / "brief.toml"
    assert dict(found.settings) == {
        "formats": ("pdf", "html"),
        "sources": (project / "texts",),
        "log_level": "INFO",
    }


# -- brief config ----------------------------------------------------------------------------


def test_brief_config_prints_each_setting_its_value_and_where_it_came_from(
    project, monkeypatch, capsys
):
    write(project / "pyproject.toml", '[tool.myanmar-brief]\nout = "briefs"\nworkers = 2\n')
    monkeypatch.setenv("BRIEF_DATA", "/srv/data")
    monkeypatch.setenv("BRIEF_CACHE", "/srv/cache")
    monkeypatch.delenv(paths.SOURCES_ENV, raising=False)
    assert main(["config", "--timeout", "90"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = f"{project / 'pyproject.toml'} [tool.myanmar-brief]"
    assert lines[0] == f"project file: {table}"
    rows = [line.split() for line in lines[1:]]
    assert rows == [
        ["out", str(project / "briefs"), *table.split()],
        ["data", "/srv/data", "$BRIEF_DATA"],
        ["sources", str(paths.source_dirs()[-1]), "default"],
        ["workers", "2", *table.split()],
        ["formats", "html,pdf", "default"],
        ["timeout", "90", "command", "line"],
        ["log_level", "WARNING", "default"],
        ["pdf_variant", "pdf/ua-1", "default"],
        *[[key, "None", "default"] for key in ("smtp", "smtp_user", "from", "base_url")],
        ["recipients", "None", "default"],
        ["cache", "/srv/cache", "$BRIEF_CACHE"],
    ]


def test_brief_config_without_a_project_file_says_so(project, capsys):
    assert main(["config"]) == 0
    assert capsys.readouterr().out.startswith(
        "project file: none (brief.toml, or pyproject.toml with [tool.myanmar-brief], in "
        f"{project / 'sub'} or above)\n"
    )
    assert config_json()["project_file"] is None


def test_brief_config_json_gives_every_setting_with_its_value_and_source(project):
    write(project / "brief.toml", 'formats = ["pdf"]\n')
    shown = config_json("--workers", "4")
    assert shown["project_file"] == str(project / "brief.toml")
    assert list(shown["settings"]) == [s.key for s in config.SETTINGS] + ["cache"]
    assert shown["settings"]["formats"] == {"value": ["pdf"], "source": str(project / "brief.toml")}
    assert shown["settings"]["workers"] == {"value": 4, "source": "command line"}
    assert shown["settings"]["timeout"] == {"value": 600, "source": "default"}


# -- logs ------------------------------------------------------------------------------------


def test_log_lines_are_plain_and_timestamped_and_the_loggers_are_restored(capsys):
    import re

    helpers_log = logging.getLogger("helpers")
    before = (helpers_log.level, helpers_log.propagate, list(helpers_log.handlers))
    with logs.logging_to_stderr("INFO"):
        logging.getLogger("helpers.pipeline.render").info("zygote started")
        logging.getLogger("papermill").info("Executing notebook")
        logging.getLogger("helpers.kernels").debug("not shown")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO helpers\.pipeline\.render: zygote started", err[0]
    )
    assert err[1].endswith(" INFO papermill: Executing notebook")
    assert (helpers_log.level, helpers_log.propagate, list(helpers_log.handlers)) == before


def test_at_warning_papermill_and_nbconvert_stay_silent_as_brief_says_it_better(capsys):
    with logs.logging_to_stderr("WARNING"):
        logging.getLogger("papermill").error("Kernel died")
        logging.getLogger("traitlets").warning("template not found")
        logging.getLogger("helpers.kernels").warning("zygote slow")
    err = capsys.readouterr().err
    assert "Kernel died" not in err and "template" not in err
    assert err.endswith(" WARNING helpers.kernels: zygote slow\n")
