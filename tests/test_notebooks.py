"""The report notebooks: thin, stripped, and run under papermill with several parameter sets."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from helpers import paths
from helpers.pipeline.execute import execute_notebook

NOTEBOOKS = [p.stem for p in paths.report_notebooks()]


def test_there_is_a_main_brief_and_two_thematic_notebooks():
    assert set(NOTEBOOKS) == {"brief", "defence", "energy_trade"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_thin_and_committed_without_outputs(name):
    nb = nbformat.read(paths.notebook_path(name), as_version=4)
    assert nb.metadata.kernelspec.name == paths.KERNEL_NAME
    tags = [cell.metadata.get("tags", []) for cell in nb.cells]
    assert sum("parameters" in t for t in tags) == 1
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            tree = ast.parse(cell.source)
            assert not any(
                isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Lambda)
                for node in ast.walk(tree)
            ), cell.source
            body = [
                n
                for n in tree.body
                if not isinstance(n, ast.AnnAssign | ast.Import | ast.ImportFrom)
            ]
            assert len(body) <= 1, f"one helper call per cell: {cell.source!r}"
        else:
            assert not re.search(r"\d", cell.source), f"number typed into prose: {cell.source!r}"


def run(name: str, tmp_path, **parameters) -> str:
    """Execute a notebook and return the HTML its cells displayed."""
    out = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.ipynb"
    nb = execute_notebook(paths.notebook_path(name), out, parameters, timeout=300)
    html = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html.append(output.get("data", {}).get("text/html", ""))
    return "\n".join(html)


@pytest.mark.kernels
@pytest.mark.parametrize("name", ["defence", "energy_trade"])
def test_thematic_notebook_runs_with_defaults_and_for_china(name, tmp_path):
    default = run(name, tmp_path)
    china = run(name, tmp_path, partner="China")
    assert "<figure" in default and "Sources" in default
    assert default != china
    # The China brief keeps the report's thesis and its Russian context.
    assert "reduce its reliance on China" in china and "Russia" in china


@pytest.mark.kernels
def test_main_brief_text_follows_the_parameters(tmp_path):
    default = run("brief", tmp_path)
    before = run("brief", tmp_path, as_of="2023-09-30")
    hindsight = run("brief", tmp_path, end="2023-09-30")
    china = run("brief", tmp_path, partner="China")
    energy = run("brief", tmp_path, themes=["energy"], title="Energy only", max_rows=3)

    for text in ("Sittwe Naval Base", "US$35 million", "660 MW", "more than 8 million barrels"):
        assert text in default, text
    # Known by 30 September 2023: the only source, of 2 March 2024, was not yet published.
    assert "No source in the data had been published by 30 September 2023" in before
    assert "8 million barrels" not in before and "Sittwe Naval Base" not in before
    # The same date as a hindsight cut: the events to then, as the later report tells them.
    assert "more than 8 million barrels" in hindsight and "US$35 million" not in hindsight
    assert "Hindsight view" in hindsight
    # For China: the thesis, and Russia's deals as the context that explains it.
    assert "reduce its reliance on China" in china
    assert "The report records no defence cooperation between Myanmar and China" in china
    assert "US$35 million" in china
    # Themes select sections.
    assert "Energy and infrastructure projects" in energy
    assert "Defence cooperation" not in energy
