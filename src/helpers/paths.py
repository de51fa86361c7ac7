"""Every path the package uses, derived once.

Where the shipped notebooks, data and plans are looked up:

* **a source checkout** (``src/helpers/`` two levels below a folder holding ``data/`` and
  ``notebooks/``): that folder, :data:`PROJECT_ROOT`; reports go to its ``reports/``;
* **an installed package** (``pip install .``): ``<prefix>/share/myanmar-brief/``, where the
  wheel puts ``data/``, ``notebooks/`` and ``plans/`` (``[tool.setuptools.data-files]``);
  reports go to ``reports/`` in the working directory.

Nothing else in the package spells out ``../data`` or ``reports/``; the way
cookiecutter-data-science's ``config.py`` derives the project root once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from helpers.errors import BriefError, UsageError

PACKAGE_DIR = Path(__file__).resolve().parent
#: Where a source checkout keeps the package: ``<root>/src/helpers``.
_CHECKOUT = PACKAGE_DIR.parents[1]
#: Where an installed package's shipped files are.
SHARE_DIR = Path(sys.prefix) / "share" / "myanmar-brief"


def _is_project(folder: Path) -> bool:
    return (folder / "data" / "datapackage.json").is_file() and (folder / "notebooks").is_dir()


#: True in a source checkout (an editable install included), False for an installed package.
IS_CHECKOUT = _is_project(_CHECKOUT)
#: The folder holding ``data/``, ``notebooks/`` and ``plans/``.
PROJECT_ROOT = _CHECKOUT if IS_CHECKOUT else SHARE_DIR

#: The curated data package shipped with the project.
DATA_DIR = PROJECT_ROOT / "data"
#: The report notebooks.
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
#: Where ``brief render`` and ``brief batch`` publish by default.
REPORTS_DIR = PROJECT_ROOT / "reports" if IS_CHECKOUT else Path.cwd() / "reports"
#: Where ``brief proof`` renders and reports by default: apart from the user's editions.
PROOF_DIR = REPORTS_DIR / "_proof"
#: nbconvert templates owned by the package.
TEMPLATES_DIR = PACKAGE_DIR / "templates"
#: Public-domain geodata the locator map draws (see ``geodata/README.md``).
GEODATA_DIR = PACKAGE_DIR / "geodata"
#: Example batch plans.
PLANS_DIR = PROJECT_ROOT / "plans"
#: The documentation messages point to (shipped with an installed package too).
DOCS_DIR = PROJECT_ROOT / "docs"
#: The folder of source texts searched last: ``../shared/source`` beside a checkout;
#: ``<prefix>/share/myanmar-brief/source`` beside the shipped data of an installed package.
DEFAULT_SOURCES_DIR = (
    PROJECT_ROOT.parent / "shared" / "source" if IS_CHECKOUT else SHARE_DIR / "source"
)

#: Environment variable naming extra folders (``os.pathsep``-separated) that hold source texts.
SOURCES_ENV = "BRIEF_SOURCES"
#: The Jupyter kernel the notebooks run on; ``make setup`` registers it.
KERNEL_NAME = "myanmar-brief"


def cache_dir() -> Path:
    """Where the package keeps what it may recompute: ``$BRIEF_CACHE``, else the XDG cache."""
    env = os.environ.get("BRIEF_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "myanmar-brief"


def source_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Folders searched, in order, for the source texts that ``sources.csv`` names.

    Parameters
    ----------
    extra
        Folders given on the command line or by the caller; searched first.

    Returns
    -------
    list of Path
        ``extra``, then the folders in ``$BRIEF_SOURCES``, then :data:`DEFAULT_SOURCES_DIR`
        (``../shared/source`` beside a checkout, ``<prefix>/share/myanmar-brief/source`` for
        an installed package). Folders that do not exist are kept; callers test for the file.
    """
    dirs: list[Path] = [Path(p) for p in extra or []]
    env = os.environ.get(SOURCES_ENV, "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs.append(DEFAULT_SOURCES_DIR)
    return dirs


def doc(name: str, section: str | None = None) -> str:
    """How a message names a page of the documentation: its path where this installation
    keeps it (``<prefix>/share/myanmar-brief/docs/plans.md`` for an installed package), and
    the section, as ``.../plans.md, 'On a Dask cluster'``."""
    where = str(DOCS_DIR / name) if name != "README.md" else str(PROJECT_ROOT / name)
    return f"{where}, {section!r}" if section else where


def shipped() -> dict[str, object]:
    """What this installation ships and where: for ``brief list``.

    Returns
    -------
    dict
        ``root`` (a checkout or ``<prefix>/share/myanmar-brief``), ``installed`` (bool),
        ``notebooks`` and ``plans`` (name -> path), ``data``, ``docs`` (name -> path),
        ``sources`` (the folders searched for source texts, in order) and ``reports`` (the
        default output folder).
    """
    readme = PROJECT_ROOT / "README.md"
    docs = {p.name: p for p in [readme, *sorted(DOCS_DIR.glob("*.md"))] if p.is_file()}
    return {
        "root": PROJECT_ROOT,
        "installed": not IS_CHECKOUT,
        "notebooks": {p.stem: p for p in report_notebooks()},
        "plans": {p.name: p for p in sorted(PLANS_DIR.glob("*.yaml"))},
        "data": DATA_DIR,
        "docs": docs,
        "sources": source_dirs(),
        "reports": REPORTS_DIR,
    }


def plain_file_name(name: str) -> bool:
    """Whether ``name`` names a file in a folder, not a path: no separator, not ``.``, ``..``,
    empty or holding a NUL byte."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00")


def find_source_file(name: str, extra: list[Path] | None = None) -> Path | None:
    """Return the first existing ``<dir>/<name>`` among :func:`source_dirs`, or ``None``.

    Only a plain file name (:func:`plain_file_name`) is looked up: an absolute path or one
    with ``..`` would read outside the source folders."""
    if not plain_file_name(name):
        return None
    for folder in source_dirs(extra):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def notebook_path(name: str | os.PathLike[str]) -> Path:
    """Resolve a notebook given as a path or as a bare name from ``notebooks/``.

    ``brief`` resolves to ``notebooks/brief.ipynb``; an existing path is returned as is.
    """
    path = Path(name)
    if path.suffix == ".ipynb" and path.exists():
        return path.resolve()
    stem = path.stem if path.suffix == ".ipynb" else path.name
    return NOTEBOOKS_DIR / f"{stem}.ipynb"


def report_notebooks() -> list[Path]:
    """The report notebooks, sorted by name."""
    return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def resolved(path: str | Path, *, what: str, error: type[BriefError] = UsageError) -> Path:
    """``path`` made absolute with every link followed, or ``error`` saying why not.

    A symbolic link loop (``a -> b -> a``) makes :meth:`pathlib.Path.resolve` raise
    RuntimeError (Python 3.11, 3.12) or OSError; a user who named such a folder gets a
    message naming it instead of a traceback.
    """
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError) as exc:
        raise error(f"{what} {path}: cannot be followed: {exc}") from None
