"""What the data and the time view say a brief should hold (helpers.proof.expect), on the
shipped data. In-process; no kernel."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers.data.dataset import load
from helpers.params import SCHEMAS
from helpers.proof.expect import expected


@pytest.fixture(scope="module")
def dataset():
    return load()


def _expect(dataset, notebook="brief", **values):
    return expected(dataset, SCHEMAS[notebook].model_validate(values))


def test_undated_left_out_drops_every_kind_it_touches(dataset):
    got = _expect(dataset, partner="India", include_undated=False)
    assert len(got.dropped["projects"]) == 6
    assert "ev-sittwe-port" in got.dropped["events"]
    assert "su-sukhoi" in got.dropped["supplies"]
    assert "sittwe-port" in got.dropped["places"]
    assert "projects:pr-sittwe-port" in got.outside


def test_a_fact_tied_to_an_excluded_event_follows_it(dataset):
    got = _expect(dataset, end=dt.date(2023, 10, 15))
    # The naval visit of October 2023 is possibly outside a cut on 15 October; the undated
    # procurement linked to it, its supply, and the judgment resting on them go with it.
    assert "events:ev-naval-visit" in got.outside
    assert {"events:ev-naval-procurement", "supplies:su-naval-equipment"} <= got.outside
    assert "assessments:as-defence-acceleration" in got.outside
    assert "projects:pr-deep-sea-port" in got.date_unknown


def test_a_notebook_s_fixed_themes_are_not_omissions_but_a_theme_parameter_s_are(dataset):
    assert _expect(dataset, "defence").dropped == {}
    assert "projects" in _expect(dataset, "brief", themes=["defence"]).dropped


def test_the_default_brief_drops_nothing_and_knows_one_source(dataset):
    got = _expect(dataset)
    assert got.dropped == {} and got.outside == set() and got.sources == 1
    assert got.partner_rows["defence"] > 0
