"""Batch plans: read safely, checked like parameters, expanded into jobs in the order written."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers import paths
from helpers.batch import plan
from helpers.errors import ParameterError, UsageError
from helpers.params import validate_parameters


def parse(text: str, **kwargs) -> plan.Plan:
    return plan.parse_plan(textwrap.dedent(text), **kwargs)


def jobs_of(text: str, **kwargs) -> list[plan.PlanJob]:
    return plan.expand(parse(text, **kwargs))


# -- the example plan ----------------------------------------------------------------------------


def test_the_example_plan_is_valid_and_is_a_realistic_morning_run():
    example = plan.load_plan(paths.PLANS_DIR / "daily.yaml")
    jobs = plan.expand(example)
    checked = plan.check_parameters(jobs)

    assert 1 <= len(jobs) <= 12
    runs = {
        (job.name, p["partner"], p["as_of"], p["end"], p["paper"])
        for job, p in zip(jobs, checked, strict=True)
    }
    assert len(runs) == len(jobs)
    for partner in ("Russia", "China", "India"):
        assert ("brief", partner, "2024-03-02", None, "A4") in runs
    assert ("defence", "Russia", "2024-03-02", None, "A4") in runs
    assert ("energy_trade", "Russia", "2024-03-02", None, "A4") in runs
    # A hindsight brief (events to 30 September 2023, as the report of 2 March 2024 tells
    # them) pairs with the source-date brief; a brief known by then would know nothing.
    assert ("brief", "Russia", "2024-03-02", "2023-09-30", "A4") in runs
    assert any(paper == "Letter" for *_, paper in runs)


# -- expansion -----------------------------------------------------------------------------------


def test_a_grid_gives_every_combination_in_the_order_written():
    jobs = jobs_of(
        """
        version: 1
        jobs:
          - notebook: defence
            grid: {partner: [Russia, China, India], paper: [A4, Letter]}
        """
    )
    assert [j.given for j in jobs] == [
        {"partner": partner, "paper": paper}
        for partner in ("Russia", "China", "India")
        for paper in ("A4", "Letter")
    ]
    assert jobs[0].label == "jobs[0] (defence, partner=Russia, paper=A4)"


def test_parameter_sets_times_the_grid_on_top_of_defaults_where_the_job_wins():
    jobs = jobs_of(
        """
        version: 1
        defaults: {paper: Letter, max_rows: 10}
        jobs:
          - notebook: brief
            parameters: [{}, {paper: A4}]
            grid: {partner: [China, India]}
        """
    )
    assert [j.given for j in jobs] == [
        {"paper": "Letter", "max_rows": 10, "partner": "China"},
        {"paper": "Letter", "max_rows": 10, "partner": "India"},
        {"paper": "A4", "max_rows": 10, "partner": "China"},
        {"paper": "A4", "max_rows": 10, "partner": "India"},
    ]
    # The label names what tells the job apart, not the defaults every job shares.
    assert jobs[2].label == "jobs[0] (brief, paper=A4, partner=China)"


def test_an_entry_with_no_parameters_is_one_job_with_the_defaults_and_a_mapping_is_one_set():
    jobs = jobs_of(
        """
        version: 1
        jobs:
          - notebook: brief
          - notebook: defence
            parameters: {partner: China}
        """
    )
    assert [(j.name, j.given) for j in jobs] == [("brief", {}), ("defence", {"partner": "China"})]
    assert jobs[0].label == "jobs[0] (brief, defaults)"
    assert jobs[0].notebook == (paths.NOTEBOOKS_DIR / "brief.ipynb").resolve()


def test_formats_and_timeout_default_to_those_of_brief_render():
    loaded = parse("version: 1\njobs: [{notebook: brief}]\n")
    assert loaded.formats == ("html", "pdf")
    assert loaded.timeout == 600
    loaded = parse("version: 1\nformats: [html]\ntimeout: null\njobs: [{notebook: brief}]\n")
    assert (loaded.formats, loaded.timeout) == (("html",), None)


def test_a_notebook_path_is_relative_to_the_plan_file(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = new_notebook(cells=[new_code_cell("partner = 'Russia'")])
    nbformat.write(nb, folder / "custom.ipynb")
    plan_file = tmp_path / "plans" / "p.yaml"
    plan_file.parent.mkdir()
    plan_file.write_text("version: 1\njobs: [{notebook: ../nbs/custom.ipynb}]\n")
    [job] = plan.expand(plan.load_plan(plan_file))
    assert job.notebook == (folder / "custom.ipynb").resolve()
    assert job.name == "custom"


def test_aliases_are_refused_as_they_can_expand_without_bound():
    laughs = "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n"
    laughs += "".join(
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n"
        for a, b in zip("abcdefg", "bcdefgh", strict=True)
    )
    laughs += "jobs: [{notebook: brief, parameters: {title: *h}}]\n"
    with pytest.raises(UsageError, match=r"used again through an alias \(\*name\)") as caught:
        plan.parse_plan(laughs)
    # One line per anchored value, saying how often it is used again, not one per use.
    message = str(caught.value)
    assert message.count("used again through an alias") == 8
    assert "line 2, column 4: this value is used again through an alias (*name), 9 times" in message


# -- YAML's surprises ----------------------------------------------------------------------------


def test_dates_are_given_to_the_schema_as_the_iso_text_they_were_written_as():
    [unquoted, quoted, title] = jobs_of(
        """
        version: 1
        jobs:
          - notebook: brief
            parameters:
              - {as_of: 2023-09-30}
              - {as_of: "2023-09-30"}
              - {title: 2023-09-30}
        """
    )
    assert unquoted.given == quoted.given == {"as_of": "2023-09-30"}
    assert title.given == {"title": "2023-09-30"}
    [a, b, c] = plan.check_parameters([unquoted, quoted, title])
    assert a == b
    assert a["as_of"] == "2023-09-30"
    assert c["title"] == "2023-09-30"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("007", "007 is read by YAML as the number 7; write 7, or quote it ('007')"),
        ("010", "010 is read by YAML as the number 8"),
        ("1_000", "1_000 is read by YAML as the number 1000"),
        ("0x1F", "0x1F is read by YAML as the number 31"),
        ("no", "no is read by YAML as false; write false, or quote it ('no')"),
        ("On", "On is read by YAML as true"),
    ],
)
def test_values_yaml_reads_unlike_they_look_are_refused_with_line_and_column(value, says):
    text = f"version: 1\njobs:\n  - notebook: brief\n    parameters: {{title: {value}}}\n"
    with pytest.raises(UsageError) as caught:
        plan.parse_plan(text, source="p.yaml")
    assert f"plan p.yaml:\n  line 4, column 25: {says}" in str(caught.value)


def test_the_same_values_quoted_or_spelled_plainly_are_accepted():
    [title, rows, flag] = jobs_of(
        """
        version: 1
        jobs:
          - notebook: brief
            parameters: [{title: "007"}, {max_rows: 7}, {include_undated: false}]
        """
    )
    assert (title.given, rows.given, flag.given) == (
        {"title": "007"},
        {"max_rows": 7},
        {"include_undated": False},
    )


def test_python_tags_are_refused_and_never_constructed(tmp_path):
    marker = tmp_path / "owned"
    text = f"version: 1\njobs:\n  - notebook: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(UsageError, match=r"line 3, column 15: the tag '!!python/object/apply"):
        plan.parse_plan(text)
    assert not marker.exists()


@pytest.mark.parametrize("tag", ["!include other.yaml", "!!binary aGVsbG8=", "!!set {a, b}"])
def test_tags_other_than_plain_values_are_refused(tag):
    with pytest.raises(UsageError, match="is not allowed in a plan"):
        plan.parse_plan(
            f"version: 1\njobs:\n  - notebook: brief\n    parameters: {{title: {tag}}}\n"
        )


# -- malformed plans: exit 2, naming the entry -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs: [unclosed\n", "is not valid YAML"),
        ("", "is empty"),
        ("- notebook: brief\n", "must be a mapping with 'version' and 'jobs', not a list"),
        ("version: 2\njobs: [{notebook: brief}]\n", "version: 2 is not a plan version"),
        ("jobs: [{notebook: brief}]\n", "the plan: 'version' is missing"),
        ("version: 1\njobs: []\n", "jobs: give at least one job"),
        ("version: 1\njob: []\n", "unknown key 'job'; a plan takes: version, defaults,"),
        (
            "version: 1\njobs: [{notebook: brief}, {notebook: defence, parms: {}}]\n",
            "jobs[1]: unknown key 'parms'; an entry takes: notebook, parameters, grid",
        ),
        ("version: 1\njobs: [{parameters: {}}]\n", "jobs[0]: 'notebook' is missing"),
        ("version: 1\njobs: [{notebook: 5}]\n", "jobs[0].notebook: Input should be a valid str"),
        (
            "version: 1\njobs: [{notebook: brief}, {notebook: defence, grid: {}}]\n",
            "jobs[1].grid: empty; give each parameter a list of values",
        ),
        (
            "version: 1\njobs: [{notebook: defence, grid: {partner: []}}]\n",
            "jobs[0].grid: 'partner': an empty list gives no jobs",
        ),
        (
            "version: 1\njobs: [{notebook: defence, grid: {partner: China}}]\n",
            "jobs[0].grid.partner: give each parameter a list of values",
        ),
        (
            "version: 1\njobs: [{notebook: defence, parameters: []}]\n",
            "jobs[0].parameters: an empty list gives no jobs",
        ),
        (
            "version: 1\njobs: [{notebook: defence, parameters: [China]}]\n",
            "jobs[0].parameters[0]: give a mapping of parameter names to values",
        ),
        ("version: 1\nformats: [docx]\njobs: [{notebook: brief}]\n", "formats[0]: Input should"),
        ("version: 1\ntimeout: 0\njobs: [{notebook: brief}]\n", "timeout: Input should be greater"),
    ],
)
def test_malformed_plan_is_a_usage_error_naming_the_entry(text, message):
    with pytest.raises(UsageError) as caught:
        plan.expand(plan.parse_plan(text, source="p.yaml"))
    assert caught.value.exit_code == 2
    assert "p.yaml" in str(caught.value)
    assert message in str(caught.value)


def test_every_structural_problem_is_listed_at_once():
    with pytest.raises(UsageError) as caught:
        parse("version: 1\nextra: 1\njobs: [{notebook: brief, grid: {}}, {notebook: x, y: 1}]\n")
    message = str(caught.value)
    assert "unknown key 'extra'" in message
    assert "jobs[0].grid: empty" in message
    assert "jobs[1]: unknown key 'y'" in message


def test_unknown_notebook_names_the_entry_and_lists_the_known_ones():
    with pytest.raises(UsageError) as caught:
        jobs_of("version: 1\njobs: [{notebook: brief}, {notebook: brif}]\n")
    message = str(caught.value)
    assert "jobs[1].notebook: unknown notebook 'brif'; known notebooks: " in message
    for known in paths.report_notebooks():
        assert known.stem in message


def test_missing_plan_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cannot read plan"):
        plan.load_plan(tmp_path / "nope.yaml")


def test_a_parameter_in_both_a_set_and_the_grid_is_refused():
    with pytest.raises(UsageError, match=r"jobs\[0\]: 'partner' given in parameters\[1\] and in"):
        jobs_of(
            """
            version: 1
            jobs:
              - notebook: brief
                parameters: [{}, {partner: China}]
                grid: {partner: [India]}
            """
        )


def test_a_plan_that_expands_to_too_many_jobs_is_refused(monkeypatch):
    monkeypatch.setattr(plan, "MAX_JOBS", 5)
    with pytest.raises(UsageError, match="expands to 6 jobs, more than 5"):
        jobs_of(
            """
            version: 1
            jobs: [{notebook: brief, grid: {max_rows: [1, 2, 3], paper: [A4, Letter]}}]
            """
        )


# -- parameters: exit 4, naming the job ------------------------------------------------------


def test_a_bad_value_is_a_parameter_error_naming_the_job():
    jobs = jobs_of(
        """
        version: 1
        jobs:
          - notebook: brief
          - notebook: defence
            grid: {partner: [Russia, France]}
        """
    )
    with pytest.raises(ParameterError) as caught:
        plan.check_parameters(jobs)
    assert caught.value.exit_code == 4
    [line] = str(caught.value).splitlines()
    assert line.startswith("jobs[1] (defence, partner=France): parameter 'partner' = 'France': ")


def test_every_parameter_problem_is_listed_once_with_how_many_jobs_share_it():
    jobs = jobs_of(
        """
        version: 1
        defaults: {themes: [energy]}
        jobs:
          - notebook: brief
          - notebook: defence
            grid: {partner: [Russia, China, India]}
          - notebook: brief
            parameters: {max_rows: 0}
        """
    )
    with pytest.raises(ParameterError) as caught:
        plan.check_parameters(jobs)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("jobs[1] (defence, partner=Russia): unknown parameter 'themes'")
    assert lines[0].endswith("(and 2 more of jobs[1])")
    assert lines[1].startswith("jobs[2] (brief, max_rows=0): parameter 'max_rows' = 0")


def test_checked_parameters_are_what_validate_parameters_gives_for_the_same_values():
    jobs = jobs_of(
        "version: 1\njobs: [{notebook: brief, parameters: {partner: china, themes: [energy]}}]\n"
    )
    [checked] = plan.check_parameters(jobs)
    notebook = Path(paths.NOTEBOOKS_DIR / "brief.ipynb")
    assert checked == validate_parameters(notebook, {"partner": "china", "themes": ["energy"]})
    assert checked["partner"] == "China"


def test_a_plan_names_the_output_files_per_entry_or_for_all():
    from helpers.batch.runner import prepare_batch

    text = """
        version: 1
        name: "{notebook}-{partner}"
        jobs:
          - notebook: brief
            grid: {partner: [China]}
          - notebook: defence
            name: "defence-{as_of}"
        """
    jobs = jobs_of(text)
    assert [job.file_name for job in jobs] == ["{notebook}-{partner}", "defence-{as_of}"]
    built = prepare_batch(parse(text))
    assert [item.job.file_stem for item in built] == ["brief-China", "defence-2024-03-02"]
    said = r"jobs\[0\] \(brief, partner=China\): --name '\{notebook\}/x'.*folder separator"
    with pytest.raises(UsageError, match=said):
        prepare_batch(parse(text.replace("{notebook}-{partner}", "{notebook}/x")))


def test_deliver_names_who_receives_an_entrys_editions_and_is_checked():
    jobs = jobs_of(
        """
        version: 1
        jobs:
          - notebook: brief
            grid: {partner: [Russia, China]}
            deliver: [desk@example.org, ana@example.org]
          - notebook: defence
        """
    )
    assert [job.deliver for job in jobs] == [
        ("desk@example.org", "ana@example.org"),
        ("desk@example.org", "ana@example.org"),
        (),
    ]
    with pytest.raises(UsageError, match=r"jobs\[0\]\.deliver"):
        parse(
            """
            version: 1
            jobs:
              - notebook: brief
                deliver: [not an address]
            """
        )
