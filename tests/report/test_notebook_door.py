"""In a notebook, the brief behaves as on the command line (issue 16).

An unknown name in the parameters cell is an error, a bad ``data_dir`` says what to change in
the notebook, ``dir(helpers)`` shows the public API, a cell run again keeps its figure's
number, and opening the brief leaves its title block in the notebook for the exporters.
"""

from __future__ import annotations

import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

import helpers
from helpers import params as P
from helpers.errors import ParameterError
from helpers.report.brief import Brief, open_brief, title_block


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
