"""One YAML reading for ``-f`` parameters files and plans: the same text, the same values."""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path

import pytest

from helpers.batch import runner
from helpers.cli import main
from helpers.errors import ParameterError, UsageError
from helpers.pipeline import render
from helpers.yamlfile import parse_yaml, read_text, read_yaml


def parse(text: str, kind: str = "plan") -> object:
    return parse_yaml(textwrap.dedent(text), kind=kind, source="p.yaml")


def refusal(text: str, kind: str = "plan") -> str:
    with pytest.raises(UsageError) as caught:
        parse(text, kind)
    assert caught.value.exit_code == 2
    return str(caught.value)


# -- what is built --------------------------------------------------------------------------------


def test_plain_values_are_built_as_yaml_reads_them_and_dates_as_the_text_written():
    assert parse(
        """
        text: China
        quoted: "007"
        whole: 20
        decimal: 2.5
        flag: false
        nothing: null
        empty:
        date: 2023-09-30
        time: 2023-09-30 10:00:00
        not_a_day: 2023-02-30
        list: [defence, 2023-09-30]
        """
    ) == {
        "text": "China",
        "quoted": "007",
        "whole": 20,
        "decimal": 2.5,
        "flag": False,
        "nothing": None,
        "empty": None,
        "date": "2023-09-30",
        "time": "2023-09-30 10:00:00",
        "not_a_day": "2023-02-30",
        "list": ["defence", "2023-09-30"],
    }


def test_an_empty_document_is_none_and_two_documents_are_not_valid_yaml():
    assert parse("") is None
    assert parse("# only a comment\n") is None
    assert "p.yaml is not valid YAML: expected a single document" in refusal("a: 1\n---\nb: 2\n")


# -- what is refused ------------------------------------------------------------------------------


def test_every_problem_is_listed_at_once_in_the_order_of_the_text_with_line_and_column():
    message = refusal(
        """\
        title: !!binary aGk=
        max_rows: 010
        include_undated: no
        partner: China
        partner: India
        """
    )
    assert message.splitlines() == [
        "plan p.yaml:",
        "  line 1, column 8: the tag '!!binary' is not allowed in a plan; use plain YAML values "
        "(text, numbers, true/false, null, dates, lists and mappings)",
        "  line 2, column 11: 010 is read by YAML as the number 8; write 8, or quote it ('010') "
        "if you mean text",
        "  line 3, column 18: no is read by YAML as false; write false, or quote it ('no') if "
        "you mean text",
        "  line 5, column 1: the key 'partner' is given twice in one mapping (first on line 4); "
        "give it once",
    ]


def test_a_key_given_twice_is_refused_in_any_mapping_also_when_spelled_differently():
    message = refusal(
        """\
        jobs:
          - {notebook: brief, grid: {partner: [China], partner: [India]}}
        1: one
        1.0: the same key to Python
        """
    )
    assert "line 2, column 48: the key 'partner' is given twice" in message
    assert "line 4, column 1: the key '1.0' is given twice in one mapping (first on line 3)" in (
        message
    )


def test_anchors_are_refused_even_when_never_used():
    message = refusal("title: &t Hello\n", kind="parameters file")
    assert message.endswith(
        "line 1, column 8: the anchor &t is not needed: a parameters file may not use anchors "
        "and aliases"
    )


def test_an_alias_bomb_is_refused_at_once_without_being_expanded():
    bomb = "x0: &x0 [a, b, c, d]\n"
    bomb += "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]\n" for i in range(1, 12))
    started = time.monotonic()
    message = refusal(bomb)
    assert time.monotonic() - started < 2
    assert message.count("used again through an alias") == 11  # one line per anchored value
    assert "line 1, column 5: this value is used again through an alias (*name), 9 times" in (
        message
    )


def test_a_python_tag_is_refused_and_never_constructed(tmp_path):
    canary = tmp_path / "owned"
    message = refusal(f"title: !!python/object/apply:os.system ['touch {canary}']\n")
    assert "the tag '!!python/object/apply:os.system' is not allowed in a plan" in message
    assert not canary.exists()


def test_a_file_that_cannot_be_read_or_is_not_utf8_is_named(tmp_path):
    with pytest.raises(UsageError, match=r"cannot read plan .*nope\.yaml"):
        read_text(tmp_path / "nope.yaml", kind="plan")
    odd = tmp_path / "odd.yaml"
    odd.write_bytes(b'title: "\xff"\n')
    with pytest.raises(UsageError, match=r"parameters file .*odd\.yaml is not UTF-8 text"):
        read_yaml(odd, kind="parameters file")


# -- the same text as a -f file and as a plan ---------------------------------------------------

SAME_TEXT = {
    "plain values": "partner: China\nmax_rows: 20\ninclude_undated: false\n",
    "a date": "as_of: 2023-09-30\nend: 2023-06-30\n",
    "a date as a title": "title: 2023-09-30\n",
    "quoted text": 'title: "007"\ninclude_undated: "no"\n',
    "a list": "themes: [energy, defence]\n",
    "null": "start: null\ntitle: ~\n",
    "a number as a title": "title: 5\n",
    "a wrong value": "partner: France\n",
    "an unknown parameter": "sleep: 10\n",
    "a number YAML reads unlike it looks": "title: 007\n",
    "a boolean YAML reads unlike it looks": "include_undated: no\n",
    "a key given twice": "partner: China\npartner: India\n",
    "a tag": "title: !!binary aGk=\n",
    "an alias": "themes: &t [energy]\nother: *t\n",
    "an anchor": "title: &t Hello\n",
}


@pytest.fixture
def no_data_check(monkeypatch):
    from helpers.data import validation

    monkeypatch.setattr(validation, "ensure_valid", lambda data_dir=None, sources=None: None)


def as_params_file(folder: Path, text: str) -> dict | Exception:
    """The parameters ``brief render brief -f FILE`` would inject, or its error."""
    path = folder / "params.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        [job] = render.prepare(["brief"], params_file=path, out_dir=folder, check_data=False)
    except (UsageError, ParameterError) as exc:
        return exc
    return job.parameters


def as_plan(folder: Path, text: str) -> dict | Exception:
    """The parameters ``brief batch`` would inject for the same mapping as a job's parameters."""
    path = folder / "plan.yaml"
    path.write_text(
        "version: 1\njobs:\n  - notebook: brief\n    parameters:\n"
        + textwrap.indent(text, " " * 6),
        encoding="utf-8",
    )
    try:
        [item] = runner.prepare_batch(path, out_dir=folder)
    except (UsageError, ParameterError) as exc:
        return exc
    return item.job.parameters


def problems(error: Exception) -> tuple[type, list[str]]:
    """An error's kind and its problems, without where each file puts them: the file's name
    and kind, the lines and columns (a plan's parameters are indented further down), and the
    job or notebook a parameter problem is about."""
    text = str(error)
    if isinstance(error, UsageError):
        found = re.findall(r"line \d+, column \d+: (.*)", text)
        found = [re.sub(r"a (plan|parameters file)\b", "a FILE", p) for p in found]
        found = [re.sub(r"on line \d+", "on line N", p) for p in found]
        # Advice only a plan can follow.
        found = [p.replace(", or put what every job shares in 'defaults'", "") for p in found]
        return UsageError, found
    return ParameterError, [text.removeprefix("brief.ipynb: ").split("): ", 1)[-1]]


@pytest.mark.parametrize("case", list(SAME_TEXT))
def test_the_same_yaml_as_a_params_file_and_as_a_plan_gives_the_same_parameters_or_error(
    tmp_path, no_data_check, case
):
    text = SAME_TEXT[case]
    (tmp_path / "f").mkdir()
    (tmp_path / "plan").mkdir()
    from_file = as_params_file(tmp_path / "f", text)
    from_plan = as_plan(tmp_path / "plan", text)
    if isinstance(from_file, Exception) or isinstance(from_plan, Exception):
        assert isinstance(from_file, Exception) and isinstance(from_plan, Exception), (
            from_file,
            from_plan,
        )
        assert problems(from_file) == problems(from_plan)
        assert problems(from_file)[1]  # the problem is named, not lost in normalising
    else:
        assert from_file == from_plan


@pytest.mark.parametrize(
    ("yaml_text", "name", "value"),
    [
        ('title: "007"\n', "title", "007"),
        ('include_undated: "no"\n', "include_undated", "no"),
        ("include_undated: false\n", "include_undated", "false"),
        ("as_of: 2023-09-30\n", "as_of", "2023-09-30"),
        ("title: 2023-09-30\n", "title", "2023-09-30"),
        ("max_rows: 20\n", "max_rows", "20"),
        ("themes: [energy, defence]\n", "themes", "energy,defence"),
    ],
)
def test_a_value_in_a_params_file_checks_as_the_same_text_given_with_p(
    tmp_path, no_data_check, yaml_text, name, value
):
    from_file = as_params_file(tmp_path, yaml_text)
    [from_p] = render.prepare(["brief"], parameters={name: value}, check_data=False)
    assert from_file == from_p.parameters


def test_a_key_given_twice_in_a_params_file_exits_2_naming_the_file_line_and_key(tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("partner: China\nmax_rows: 20\npartner: India\n", encoding="utf-8")
    assert main(["render", "brief", "-f", str(params), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"parameters file {params} is not valid YAML:" in err
    assert (
        "line 3, column 1: the key 'partner' is given twice in one mapping (first on line 1)"
        in (err)
    )
    assert not (tmp_path / "out").exists()


def test_a_key_given_twice_in_a_plan_exits_2_naming_the_file_line_and_key(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\njobs: [{notebook: brief}]\njobs: []\n", encoding="utf-8")
    assert main(["batch", str(plan), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"plan {plan}:" in err
    assert "line 3, column 1: the key 'jobs' is given twice in one mapping (first on line 2)" in err
    assert not (tmp_path / "out").exists()
