"""The proof's grid: its size, its pruning by selection signature and all-pairs cover, the
Letter subset and the CI sample (helpers.proof.grid). In-process; no kernel."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers.data.dataset import load
from helpers.params import PARTNERS
from helpers.proof import grid
from helpers.report.selection import select


@pytest.fixture(scope="module")
def dataset():
    return load()


@pytest.fixture(scope="module")
def defence_grid():
    return grid.full_grid(["defence"])


@pytest.fixture(scope="module")
def pruned(defence_grid, dataset):
    return grid.prune(defence_grid, dataset)


def test_the_full_grid_crosses_every_factor():
    points = grid.full_grid()
    views, papers = len(grid.TIME_VIEWS), len(grid.PAPERS)
    # brief: 4 themes alone and all themes; the other notebooks have no themes.
    assert len(points) == 3 * 2 * views * papers * (5 + 1 + 1)
    assert len({p.key for p in points}) == len(points)
    brief = [p for p in points if p.notebook == "brief"]
    assert {tuple(p.parameters.get("themes", ["all"])) for p in brief} == {
        ("defence",),
        ("energy",),
        ("economy",),
        ("regional",),
        ("all",),
    }


def test_the_time_views_cut_before_on_and_after_the_source_and_mid_month():
    views = grid.TIME_VIEWS
    cuts = sorted(v["as_of"] for v in views.values() if "as_of" in v)
    assert cuts[0] < dt.date(2024, 3, 2) == cuts[1] < cuts[2]
    ends = {v["end"] for v in views.values() if "end" in v and "start" not in v}
    assert {dt.date(2023, 10, 1), dt.date(2023, 10, 15), dt.date(2023, 10, 31)} <= ends


def test_the_paper_is_not_part_of_a_signature(dataset):
    a4 = grid.Point.of("brief", {"partner": "China"})
    letter = grid.Point.of("brief", {"partner": "China", "paper": "Letter"})
    sel = select(dataset, a4.params())
    assert grid.signature(a4, sel) == grid.signature(letter, sel)


def test_cuts_on_and_after_the_source_give_one_signature_and_a_window_another(dataset):
    def sig(values):
        point = grid.Point.of("defence", values)
        return grid.signature(point, select(dataset, point.params()))

    on = sig({"partner": "Russia", "as_of": dt.date(2024, 3, 2)})
    assert sig({"partner": "Russia", "as_of": dt.date(2024, 6, 30)}) == on
    assert sig({"partner": "Russia", "end": dt.date(2023, 10, 15)}) != on
    assert sig({"partner": "China", "as_of": dt.date(2024, 3, 2)}) != on


def test_pruning_keeps_distinct_briefs_covering_every_pair(pruned, defence_grid, dataset):
    a4 = [p for p in pruned.points if "paper" not in p.parameters]
    assert pruned.full == len(defence_grid)
    assert len(a4) < pruned.distinct < pruned.full / 2
    by_key = {p.key: p for p in defence_grid}
    covered = set().union(*(grid._pairs(by_key[k]) for p in a4 for k in pruned.stands_for[p.key]))
    wanted = set().union(*(grid._pairs(p) for p in defence_grid if "paper" not in p.parameters))
    assert covered == wanted
    sigs = {grid.signature(p, select(dataset, p.params())) for p in a4}
    assert len(sigs) == len(a4)


def test_pruning_adds_the_longest_and_shortest_brief_per_partner_on_letter(pruned):
    letters = [p for p in pruned.points if p.parameters.get("paper") == "Letter"]
    assert {p.parameters["partner"] for p in letters} == set(PARTNERS)
    assert 3 <= len(letters) <= 6


def test_every_signature_keeps_more_than_the_cover(defence_grid, dataset, pruned):
    every = grid.prune(defence_grid, dataset, pairwise=False)
    assert every.distinct == pruned.distinct
    assert len([p for p in every.points if "paper" not in p.parameters]) == every.distinct


def test_the_sample_covers_every_rule_territory():
    points = grid.sample()
    assert 15 <= len(points) <= 25
    values = [p.parameters for p in points]
    assert {p.notebook for p in points} == set(grid.NOTEBOOKS)
    assert {v["partner"] for v in values} == set(PARTNERS)
    assert any(v.get("include_undated") is False for v in values)
    assert any(v.get("as_of", dt.date.max) < dt.date(2024, 3, 2) for v in values)
    assert any("end" in v and "start" not in v and v["end"].day == 15 for v in values)
    assert any(v.get("start") == dt.date(2022, 1, 1) for v in values)
    assert any(v.get("paper") == "Letter" for v in values)
    for point in points:
        point.params()  # every sample point is a valid brief
