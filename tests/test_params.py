"""Parameter schemas: conversion, rules across fields, and the notebooks kept in step."""

from __future__ import annotations

import datetime as dt

import papermill
import pytest

from helpers import params as P
from helpers import paths
from helpers.cli import main
from helpers.errors import ParameterError

NOTEBOOKS = sorted(P.SCHEMAS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_cell_and_schema_declare_the_same_names_defaults_and_help(name):
    inspected = papermill.inspect_notebook(str(paths.notebook_path(name)))
    model = P.SCHEMAS[name]
    assert set(inspected) == set(model.model_fields)
    defaults = P.validate_parameters(paths.notebook_path(name), {})
    for pname, info in inspected.items():
        field = model.model_fields[pname]
        assert info["help"] == field.description, pname
        literal = eval(info["default"])  # the cell's plain literal
        if pname == P.SINCE_FIELD:  # injected by brief render when the brief runs, not here
            assert literal is None and pname not in defaults
            continue
        assert P.check(model, {pname: literal}).injectable()[pname] == defaults[pname], pname


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_has_a_schema_named_in_its_metadata(name):
    assert P.schema_for(paths.notebook_path(name)) is P.SCHEMAS[name]


def test_command_line_strings_are_converted_by_the_schema_not_guessed():
    values = P.validate_parameters(
        "brief",
        {
            "title": "007",
            "as_of": "2023-09-30",
            "max_rows": "20",
            "include_undated": "false",
            "themes": "defence, energy",
            "partner": "china",
            "start": "None",
        },
    )
    assert values["title"] == "007"
    assert values["as_of"] == "2023-09-30"
    assert values["max_rows"] == 20
    assert values["include_undated"] is False
    assert values["themes"] == ["defence", "energy"]
    assert values["partner"] == "China"
    assert values["start"] is None


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"as_of": "2024-13-01"}, ["'as_of'", "2024-13-01", "YYYY-MM-DD"]),
        ({"partner": "France"}, ["'partner'", "France", "Russia, China or India"]),
        (
            {"themes": "defence,space"},
            ["'themes.1'", "space", "defence, energy, economy, regional"],
        ),
        ({"max_rows": "0"}, ["'max_rows'", "greater than or equal to 1"]),
        ({"paper": "A3"}, ["'paper'", "A3", "A4 or Letter"]),
        ({"colour": "red"}, ["unknown parameter 'colour'", "this notebook takes"]),
        ({"title": "line\nbreak"}, ["'title'", "U+000A at position 5", "not allowed"]),
        ({"title": "Russia \u202egnik"}, ["'title'", "U+202E at position 8", "text-direction"]),
        ({"start": "2024-01-01", "end": "2023-12-31"}, ["start (2024-01-01)", "end (2023-12-31)"]),
        ({"end": "2024-06-01"}, ["end (2024-06-01)", "as_of (2024-03-02)"]),
        ({"start": "2024-04-01"}, ["start (2024-04-01)", "as_of"]),
    ],
)
def test_invalid_parameter_is_named_with_its_value_and_what_is_allowed(raw, words):
    with pytest.raises(ParameterError) as caught:
        P.validate_parameters(paths.notebook_path("brief"), raw)
    for word in words:
        assert word in str(caught.value)
    assert caught.value.exit_code == 4


def test_name_that_is_not_an_identifier_is_rejected():
    with pytest.raises(ParameterError, match="not a valid name"):
        P.validate_parameters("brief", {"x\nimport os": "1"})


def test_themes_are_only_for_the_main_brief():
    with pytest.raises(ParameterError, match="unknown parameter 'themes'"):
        P.validate_parameters("defence", {"themes": "defence"})


def test_notebook_validation_cell_fails_the_same_way_as_the_command_line():
    namespace = {"as_of": "2024-13-01", "partner": "Russia", "unrelated": object()}
    with pytest.raises(ParameterError, match="'as_of'"):
        P.from_namespace("brief", namespace)
    assert P.from_namespace("brief", {"as_of": "2023-09-30"}).as_of == dt.date(2023, 9, 30)


def test_default_title_names_the_partner():
    assert "China" in P.check(P.BriefParams, {"partner": "China"}).display_title
    assert P.check(P.BriefParams, {"title": "Mine"}).display_title == "Mine"


def test_params_command_prints_type_default_and_help(capsys):
    assert main(["params", "brief"]) == 0
    out = capsys.readouterr().out
    assert "as_of" in out and "date (YYYY-MM-DD)" in out and "'2024-03-02'" in out
    assert "integer (>= 1, <= 200)" in out
    assert main(["params", "no-such-notebook"]) == 2
