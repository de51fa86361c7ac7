"""Loading: typed frames from the shipped data or any folder with the same schema."""

from __future__ import annotations

import pandas as pd
import pytest

import helpers
from helpers.data.dataset import fingerprint, load
from helpers.errors import DataValidationError


def test_tables_are_typed_from_the_schema(dataset):
    events = dataset.events
    assert events["date_start"].dtype.kind == "M"
    assert isinstance(events["date_precision"].dtype, pd.CategoricalDtype)
    assert list(events["date_precision"].cat.categories) == ["day", "month", "period", "undated"]
    assert str(events["value"].dtype) == "Float64"
    assert str(events["ongoing"].dtype) == "boolean"
    assert str(dataset.projects["line"].dtype) == "Int64"
    assert str(dataset.actors["name"].dtype) == "string"


def test_undated_rows_keep_missing_dates_not_made_up_ones(dataset):
    undated = dataset.events[dataset.events["date_precision"] == "undated"]
    assert len(undated) > 0
    assert undated["date_start"].isna().all() and undated["date_end"].isna().all()


def test_any_folder_with_the_same_schema_loads(data_copy):
    with (data_copy / "actors.csv").open("a", encoding="utf-8") as handle:
        handle.write(
            "thailand,Thailand,state,,,,art-2024-03-02,1,Myanmar faces intensified conflict\n"
        )
    loaded = load(data_copy)
    assert "thailand" in set(loaded.actors["actor_id"])
    assert loaded.fingerprint != fingerprint()


def test_invalid_folder_raises_with_every_problem(data_copy):
    text = (data_copy / "projects.csv").read_text(encoding="utf-8")
    (data_copy / "projects.csv").write_text(text.replace(",660,MW,", ",-660,GW,"), encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        load(data_copy)
    assert len(caught.value.problems) == 2
    assert caught.value.exit_code == 3


def test_fingerprint_is_stable_and_sensitive_to_one_byte(data_copy):
    assert fingerprint(data_copy) == fingerprint(data_copy)
    before = fingerprint(data_copy)
    path = data_copy / "sources.csv"
    path.write_text(path.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert fingerprint(data_copy) != before


def test_package_exports_load_and_validate():
    assert helpers.load is load
    assert helpers.validate().valid


def test_a_folder_loaded_again_gives_the_same_data_in_frames_of_its_own(data_copy):
    first = load(data_copy)
    first.events.loc[first.events.index[0], "title"] = "changed by the first caller"
    first.actors.loc[:, "name"] = "renamed by the first caller"

    second = load(data_copy)

    assert second.events.iloc[0]["title"] != "changed by the first caller"
    assert "renamed by the first caller" not in set(second.actors["name"])
    for name, frame in load(data_copy).tables().items():  # as made from the files
        pd.testing.assert_frame_equal(frame, getattr(second, name))
    assert second.actor_names() is not first.actor_names()


def test_a_folder_whose_bytes_changed_is_loaded_again(data_copy):
    before = load(data_copy)
    with (data_copy / "actors.csv").open("a", encoding="utf-8") as handle:
        handle.write(
            "thailand,Thailand,state,,,,art-2024-03-02,1,Myanmar faces intensified conflict\n"
        )
    after = load(data_copy)
    assert "thailand" in set(after.actors["actor_id"])
    assert "thailand" not in set(before.actors["actor_id"])
    assert after.fingerprint != before.fingerprint


def test_the_same_bytes_are_typed_once_per_process(data_copy, monkeypatch):
    from helpers.data import dataset as module

    load(data_copy)
    typed = []
    real = module.typed_frame
    monkeypatch.setattr(module, "typed_frame", lambda *a, **k: typed.append(a) or real(*a, **k))
    load(data_copy)
    assert typed == []
    with (data_copy / "actors.csv").open("a", encoding="utf-8") as handle:
        handle.write(
            "thailand,Thailand,state,,,,art-2024-03-02,1,Myanmar faces intensified conflict\n"
        )
    load(data_copy)
    assert len(typed) == len(module.load_descriptor()["resources"])
