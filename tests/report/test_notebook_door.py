"""In a notebook, the brief behaves as on the command line (issue 16).

An unknown name in the parameters cell is an error, a bad ``data_dir`` says what to change in
the notebook, ``dir(helpers)`` shows the public API, a cell run again keeps its figure's
number, and opening the brief leaves its title block in the notebook for the exporters.
Issue 24: an analyst's scratch variable is no parameter (the parameters cell is read from the
kernel's history), a section gives its figure and rows as well as its HTML, and opening or
drawing a brief leaves matplotlib's settings as they were.
"""

from __future__ import annotations

import re

import matplotlib as mpl
import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from matplotlib.figure import Figure

import helpers
from helpers import params as P
from helpers import paths
from helpers.errors import ParameterError
from helpers.report import narrative, theme
from helpers.report.brief import Brief, open_brief, title_block
from helpers.report.parameters_cell import names_in_history


def namespace(**values):
    """What a report notebook's namespace holds when its brief opens: its imports, IPython's
    own names, then the parameters cell."""
    from typing import Optional

    return {"Optional": Optional, "helpers": helpers, "In": [""], "Out": {}, "_": "", **values}


def test_an_unknown_name_in_the_parameters_cell_is_an_error_as_on_the_command_line(dataset):
    with pytest.raises(ParameterError) as caught:
        open_brief("brief", namespace(partnr="China", as_of="2024-03-02"), dataset)
    message = str(caught.value)
    assert message.startswith("brief.ipynb: unknown parameter 'partnr'; this notebook takes: ")
    assert "partner" in message.split("takes: ")[1]
    # Modules, types, IPython's history and private names are not parameters.
    assert open_brief("brief", namespace(partner="China"), dataset).params.partner == "China"


def test_a_data_dir_that_is_not_a_folder_says_what_to_change_in_the_notebook(tmp_path):
    with pytest.raises(ParameterError) as caught:
        open_brief("brief", namespace(data_dir=str(tmp_path / "nowhere")))
    message = str(caught.value)
    assert "set data_dir in the parameters cell" in message and "nowhere" in message
    assert "--data" not in message


def test_dir_of_helpers_shows_the_public_api_before_it_is_loaded():
    names = dir(helpers)
    assert {"open_brief", "load", "render", "validate", "Brief", "Dataset"} <= set(names)
    assert not {"importlib", "sys", "Any"} & set(names)  # the module's own imports stay out
    assert set(helpers.__all__) <= set(names)


def test_a_cell_run_again_keeps_the_number_of_its_figure(dataset):
    brief = Brief(P.check(P.BriefParams, {}), dataset)
    numbers = lambda html: re.findall(r"Figure (\d+)\.", str(html))  # noqa: E731
    first = numbers(brief.timeline())
    again = numbers(brief.timeline())  # the analyst runs the timeline cell again
    assert first == again == ["1"]
    assert numbers(brief.places()) == ["2"]  # the next figure is still the second
    assert numbers(brief.timeline()) == ["1"]


def test_opening_a_brief_in_a_kernel_leaves_its_title_block_in_the_notebook(dataset):
    shell = InteractiveShell.instance()
    shown = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: shown.append((data, metadata))
    try:
        brief = open_brief("brief", namespace(partner="India", paper="Letter"), dataset)
    finally:
        InteractiveShell.clear_instance()
    [(data, metadata)] = shown
    block = metadata[P.OUTPUT_METADATA_KEY][P.TITLE_BLOCK_KEY]
    expected = title_block(brief)
    assert block == expected and block["paper"] == "Letter"
    # The scope line lists the sections the brief shows, from its content.
    assert ["Sections", "defence, energy and infrastructure, trade, the region"] in block["scope"]
    assert block["title"] == "Myanmar\u2019s junta and India"
    assert block["as_of"] == "Known by 2 March 2024"
    assert data == {"text/plain": "Myanmar\u2019s junta and India: Known by 2 March 2024"}


# -- issue 24: notebook ergonomics -----------------------------------------------------------

FIELDS = tuple(P.BriefParams.model_fields)
PARAMETERS = 'title: Optional[str] = None  # Title\npartner: str = "Russia"  # Partner'
OPENING = 'brief = helpers.open_brief("brief", globals())'


def test_a_scratch_cell_in_the_history_is_not_the_parameters_cell():
    history = ["", "import helpers", PARAMETERS, OPENING, "x = 1\nnotes = 'to check'"]
    assert names_in_history(history, FIELDS) == {"title", "partner"}


def test_a_misspelt_name_in_the_parameters_cell_is_read_from_the_history():
    history = ["", "import helpers", PARAMETERS.replace("partner:", "partnr:"), "x = 1"]
    assert names_in_history(history, FIELDS) == {"title", "partnr"}
    # Run again, corrected: the latest parameters cell counts, not the one it replaced.
    assert names_in_history([*history, PARAMETERS], FIELDS) == {"title", "partner"}


def test_papermills_injected_cell_counts_with_the_notebooks_own_parameters_cell():
    injected = '# Parameters\npartnr = "China"\n'
    history = ["", "import helpers", PARAMETERS, injected]
    assert names_in_history(history, FIELDS) == {"title", "partner", "partnr"}
    assert names_in_history(["", "import helpers"], FIELDS) is None


def run_in_kernel(client, code: str) -> list[str]:
    """Run ``code`` as a cell; the errors it raised, as 'Name: message'."""
    outputs = []
    client.execute_interactive(code, output_hook=outputs.append, timeout=120)
    return [
        f"{m['content']['ename']}: {m['content']['evalue']}"
        for m in outputs
        if m["msg_type"] == "error"
    ]


@pytest.mark.slow
def test_in_a_kernel_the_opening_cell_runs_again_after_a_scratch_variable_but_not_a_typo():
    from jupyter_client.manager import start_new_kernel

    cells = nbformat.read(paths.notebook_path("brief"), 4).cells
    setup, parameters, opening = [c.source for c in cells if c.cell_type == "code"][:3]
    assert "open_brief" in opening and "partner:" in parameters
    manager, client = start_new_kernel(kernel_name=paths.KERNEL_NAME)
    try:
        assert run_in_kernel(client, setup) == run_in_kernel(client, parameters) == []
        assert run_in_kernel(client, opening) == []
        assert run_in_kernel(client, "x = 1\nseen = ['a list', 'as parameters hold']") == []
        assert run_in_kernel(client, opening) == []  # the same cell, run again
        # A misspelt name in the parameters cell is still an error, as on the command line.
        assert run_in_kernel(client, parameters.replace("partner:", "partnr:")) == []
        [error] = run_in_kernel(client, opening)
        assert error.startswith("ParameterError: brief.ipynb: unknown parameter 'partnr'")
        # ... and so is one in the cell papermill injects.
        assert run_in_kernel(client, parameters) == []
        assert run_in_kernel(client, "# Parameters\nthemse = ['energy']\n") == []
        [error] = run_in_kernel(client, opening)
        assert "unknown parameter 'themse'" in error
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_section_gives_its_figure_and_rows_as_well_as_its_html(dataset):
    brief = Brief(P.check(P.BriefParams, {}), dataset)
    timeline = brief.timeline()
    assert isinstance(timeline.figure, Figure) and timeline.figure.axes
    events = brief.selection.on_themes("events")
    assert list(timeline.rows.index.get_level_values("table").unique()) == ["events"]
    assert set(timeline.rows.loc["events"]["event_id"]) == set(events["event_id"])
    # Displayed as before: the HTML only, and a repr that names neither.
    assert timeline._repr_mimebundle_() == {"text/html": timeline._repr_html_()}
    assert "figure=" not in repr(timeline) and "rows=" not in repr(timeline)
    # A section without a chart: no figure, and the rows it cites.
    opening = brief.bottom_line()
    assert opening.figure is None
    stated = [str(r["assessment_id"]) for r in narrative.opening_rows(brief.selection)]
    assert list(opening.rows.loc["assessments"].index) == stated
    assert brief.places().rows.loc["places"].shape[0] == len(brief.selection.places)
    assert brief.judgments().rows.empty  # the shipped data holds no analyst judgment


def test_a_sections_rows_are_gathered_when_first_asked_for_and_then_kept(dataset):
    brief = Brief(P.check(P.BriefParams, {}), dataset)
    timeline, opening = brief.timeline(), brief.bottom_line()
    # Rendering a brief never asks for them: nothing is gathered until then.
    assert "rows" not in vars(timeline) and "rows" not in vars(opening)
    brief.key_points(), brief.sources()  # later sections change nothing a block shows
    rows = timeline.rows
    assert vars(timeline)["rows"] is rows and timeline.rows is rows
    assert set(rows.loc["events"]["event_id"]) == set(
        brief.selection.on_themes("events")["event_id"]
    )
    stated = [str(r["assessment_id"]) for r in narrative.opening_rows(brief.selection)]
    assert list(opening.rows.loc["assessments"].index) == stated
    with pytest.raises(AttributeError, match="no attribute 'columns'"):
        timeline.columns  # noqa: B018


def test_opening_and_drawing_a_brief_leave_matplotlibs_settings_as_they_were(dataset):
    with mpl.rc_context({"lines.linewidth": 7.0}):  # an analyst's own setting
        before = dict(mpl.rcParams)
        brief = open_brief("brief", namespace(), dataset)
        assert dict(mpl.rcParams) == before
        brief.timeline()
        brief.places()
        assert dict(mpl.rcParams) == before


def test_the_brief_draws_its_charts_as_under_the_session_wide_theme(dataset):
    params = P.check(P.BriefParams, {})
    scoped = str(Brief(params, dataset).timeline()) + str(Brief(params, dataset).places())
    with mpl.rc_context():
        theme.set_theme()  # what opening a brief did before issue 24, for the whole session
        session = str(Brief(params, dataset).timeline()) + str(Brief(params, dataset).places())
    assert scoped == session  # the same SVG, byte for byte
