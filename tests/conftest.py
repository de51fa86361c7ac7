"""Shared fixtures: the shipped data, copies to break, and figure clean-up."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import psutil
import pytest

import helpers
from helpers import paths

# Validation results are cached per data version; keep the tests' cache out of the user's.
os.environ["BRIEF_CACHE"] = tempfile.mkdtemp(prefix="brief-cache-")

ARTICLE = "article-2024-03-02.txt"
#: The source article, found where the project looks for it (``$BRIEF_SOURCES``, then
#: ``../shared/source``); None on a machine without it, such as a user's clone.
SOURCE_FILE = paths.find_source_file(ARTICLE)
#: For tests that need the article's text: they skip, and say why, where it is absent.
needs_source = pytest.mark.skipif(
    SOURCE_FILE is None,
    reason=f"source text {ARTICLE} not found in "
    f"{', '.join(str(d) for d in paths.source_dirs())}: evidence cannot be checked",
)


#: The markers by what a test starts (pyproject.toml lists them): each costs seconds to
#: minutes, so ``-m "not slow"`` skips every test that carries one of them.
COSTS = ("kernels", "browser", "cluster", "install")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``slow`` means any cost: added to each test marked by what it starts, before ``-m``."""
    for item in items:
        if any(item.get_closest_marker(cost) for cost in COSTS):
            item.add_marker(pytest.mark.slow)


def child_processes(pid: int | None = None) -> list:
    """Descendants of a process, less multiprocessing's resource tracker.

    A spawn process pool (``brief batch``) starts Python's resource tracker once per
    process; it lives as long as the process that started it, by design, and is no kernel.
    """
    out = []
    for proc in psutil.Process(pid).children(recursive=True):
        try:
            if "multiprocessing.resource_tracker" not in " ".join(proc.cmdline()):
                out.append(proc)
        except psutil.NoSuchProcess:
            continue
    return out


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def dataset():
    """The shipped data package, loaded and validated once."""
    return helpers.load()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped CSVs, to break on purpose."""
    target = tmp_path / "data"
    shutil.copytree(paths.DATA_DIR, target)
    return target
