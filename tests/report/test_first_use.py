"""The zygote's sample brief: it fills the caches a first brief fills, and leaves nothing else."""

from __future__ import annotations

import os
import threading

from matplotlib import font_manager

from helpers import paths
from helpers.report import first_use


def _open_files() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return sorted(found)


def test_the_sample_brief_leaves_no_open_file_thread_or_font():
    threads = threading.active_count()
    before = _open_files()

    assert first_use.make_sample_brief()

    assert set(_open_files()) <= set(before)  # the fonts it opened are closed again
    assert threading.active_count() == threads
    assert font_manager._get_font.cache_info().currsize == 0


def test_a_sample_brief_that_cannot_be_made_only_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "no-data")
    before = _open_files()

    assert first_use.make_sample_brief() is False

    assert "no sample brief" in capsys.readouterr().err
    assert set(_open_files()) <= set(before)


def test_open_fonts_leaves_the_house_theme_undone():
    import matplotlib as mpl

    before = dict(mpl.rcParams)
    first_use.open_fonts()
    assert dict(mpl.rcParams) == before
