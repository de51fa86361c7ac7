"""Which published edition a new one is compared with, and comparing two published runs.

An output folder holds at most one published edition per run folder (a run folder is one set
of parameters), so the editions of a series are the run folders of its notebook whose
parameters differ only in the edition fields (:data:`helpers.params.EDITION_FIELDS`).
:func:`previous_edition` picks the one a new edition follows: of those that end no later than
the new one, the one that ends latest; when that is the run folder being rendered again (a
change in the data is a new edition of the same run), the version it replaces. A previous
edition that cannot be read gives a warning and no comparison; none at all makes the new one
the first of its series.

:func:`diff` compares two published runs (``brief diff A B``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.data.package import file_digests
from helpers.errors import UsageError
from helpers.jsonfile import JSONFileError
from helpers.ledger import (
    FIRST,
    MADE_FROM,
    Changes,
    Edition,
    EditionSummary,
    EditionUnreadable,
    compare,
    edition_of_manifest,
    made_from_changes,
    read_edition,
)
from helpers.params import EDITION_FIELDS, SINCE_FIELD
from helpers.pipeline.manifest import canonical_json, code_fingerprint, read_manifest, sha256_file
from helpers.pipeline.publish import check_notebook_name, published_run

__all__ = [
    "Previous",
    "check_since",
    "diff",
    "edition_date",
    "is_edition_date",
    "made_from",
    "manifest_path",
    "previous_edition",
    "series_key",
    "series_parameters",
]


def made_from(notebook: Path, data_dir: Path | None) -> dict[str, str]:
    """What a brief is made from besides its facts (:data:`helpers.ledger.MADE_FROM`), each
    by its sha256: the notebook, brief's code and templates, and the data's sources, actors
    and places tables, whole."""
    tables = file_digests(data_dir)
    found = {"notebook": sha256_file(notebook), "code": code_fingerprint()}
    for table in MADE_FROM[2:]:
        found[table] = tables.get(f"{table}.csv", "")
    return found


def series_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that name a series: all but the edition fields and ``since``."""
    return {k: v for k, v in parameters.items() if k not in EDITION_FIELDS and k != SINCE_FIELD}


def series_key(notebook: str, parameters: Mapping[str, Any]) -> str:
    """A short hash naming a series: its notebook and :func:`series_parameters`."""
    text = canonical_json({"notebook": notebook, "parameters": series_parameters(parameters)})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def edition_date(parameters: Mapping[str, Any]) -> str:
    """The last day an edition covers: ``end`` if set, else ``as_of`` (YYYY-MM-DD)."""
    return str(parameters.get("end") or parameters.get("as_of") or "")


def manifest_path(given: str | Path) -> Path:
    """A run folder's ``manifest.json``, or the file itself; UsageError if neither exists."""
    path = Path(given)
    if path.is_dir():
        path = path / "manifest.json"
    if not path.is_file():
        raise UsageError(
            f"--since {given}: no such run folder or manifest.json; give a published run "
            "folder, its manifest.json, or the date (YYYY-MM-DD) of an edition"
        )
    return path


@dataclass(frozen=True)
class Previous:
    """What a new edition is compared with: ``since`` as the notebook takes it (a manifest
    path, ``"first"`` or None), the edition itself when read, and a warning when one could
    not be read."""

    since: str | None
    edition: Edition | None = None
    warning: str | None = None

    def record(self, current: Mapping[str, Any] | None) -> dict[str, Any]:
        """The manifest's account of the comparison (:meth:`summary`), as JSON."""
        return self.summary(current).to_json()

    def summary(self, current: Mapping[str, Any] | None) -> EditionSummary:
        """The comparison of ``current`` (this edition's ledger) with the previous edition:
        ``since`` (the previous edition's run, date and publication time, ``"first"``, or
        None), the counts of ``changes``, and ``made_from_changed``: what the brief is made
        from besides its facts that changed (:func:`helpers.ledger.made_from_changes`)."""
        if self.edition is None:
            return EditionSummary(FIRST if self.since == FIRST else None)
        if current is None:
            return EditionSummary(self.edition.reference())
        try:
            now = Edition.of(current)
        except (KeyError, TypeError, AttributeError, ValueError):
            now = None
        if now is None or now.too_large:  # nothing was compared
            return EditionSummary()
        return EditionSummary(
            self.edition.reference(),
            compare(self.edition, now).counts(),
            tuple(made_from_changes(self.edition, now)),
        )


def _candidates(out_dir: Path, notebook: str, key: str) -> list[tuple[Path, dict | None]]:
    """The run folders brief published of ``notebook`` in the series ``key``
    (:func:`~helpers.pipeline.publish.published_run`: a plain folder, a copy of a run, is none
    of them): each manifest path with the manifest (None when it cannot be read)."""
    folder = Path(out_dir) / check_notebook_name(notebook)
    found: list[tuple[Path, dict | None]] = []
    if not folder.is_dir():
        return found
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not published_run(folder, entry):
            continue
        path = entry / "manifest.json"
        try:
            manifest: dict | None = read_manifest(path)
        except FileNotFoundError:
            continue
        except JSONFileError:
            manifest = None
        if manifest is not None and (
            series_key(notebook, manifest.get("parameters") or {}) != key
            or manifest.get("notebook") not in (None, notebook)
            or manifest.get("run") not in (None, entry.name)
        ):
            continue
        found.append((path, manifest))
    return found


def previous_edition(
    out_dir: Path,
    notebook: str,
    run: str,
    parameters: Mapping[str, Any],
    *,
    since: str | None = None,
) -> Previous:
    """The edition a new run of ``notebook`` with ``parameters`` follows.

    Parameters
    ----------
    out_dir, notebook, run
        Where the new edition will be published: ``<out_dir>/<notebook>/<run>``.
    parameters
        Its parameters.
    since
        ``--since``: a run folder or manifest, or the date (YYYY-MM-DD) of an edition of the
        series in ``out_dir``; default: the edition that ends latest, no later than this one.
    """
    key = series_key(notebook, parameters)
    if since is not None and not is_edition_date(since):
        check_since(since, notebook, parameters)
        return _read(manifest_path(since))
    own = Path(out_dir) / notebook / run / "manifest.json"
    date = edition_date(parameters)
    dated: list[tuple[str, str, Path, dict | None]] = []
    for path, manifest in _candidates(out_dir, notebook, key):
        if manifest is None:
            if path == own and since is None:  # this run folder: the same series and day
                dated.append((date, "", path, None))
            continue
        then = edition_date(manifest.get("parameters") or {})
        if (since is not None and then == since) or (since is None and then <= date):
            dated.append((then, str(manifest.get("created_at") or ""), path, manifest))
    if not dated:
        if since is not None:
            return Previous(
                None,
                warning=f"--since {since}: no edition of this series ends "
                f"on that day in {out_dir}; the brief has no 'Since' box",
            )
        return Previous(FIRST)
    # The edition that ends latest; on one day (the run folder rendered again), the last
    # published.
    *_, path, manifest = max(dated, key=lambda item: (item[0], item[1], str(item[2])))
    return _read(path, manifest)


def check_since(since: str, notebook: str, parameters: Mapping[str, Any]) -> None:
    """A UsageError if ``--since`` names a run of another series than ``notebook`` with
    ``parameters``: comparing the brief on China with an edition of the brief on Russia would
    print every difference between the two as news and corrections. A run that cannot be
    read is left to :func:`previous_edition`, which warns."""
    try:
        manifest = read_manifest(manifest_path(since))
    except (OSError, JSONFileError):
        return
    theirs = str(manifest.get("notebook") or "?")
    ours = series_key(notebook, parameters)
    if theirs != notebook or series_key(theirs, manifest.get("parameters") or {}) != ours:
        others = series_parameters(manifest.get("parameters") or {})
        shown = ", ".join(f"{k} = {v}" for k, v in sorted(others.items())) or "defaults"
        raise UsageError(
            f"--since {since}: an edition of another series ({theirs[:40]}: {shown[:200]}); "
            "an edition is compared only with an earlier edition of its own series (the same "
            "notebook and parameters, apart from as_of and end)"
        )


def is_edition_date(text: str) -> bool:
    """True when ``--since`` names an edition by its date (YYYY-MM-DD), not by its run."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _read(path: Path, manifest: dict | None = None) -> Previous:
    try:
        edition = (
            edition_of_manifest(manifest, str(path)) if manifest is not None else read_edition(path)
        )
    except EditionUnreadable as exc:
        return Previous(None, warning=f"previous edition not compared: {exc}")
    return Previous(str(path), edition)


def diff(a: str | Path, b: str | Path) -> Changes:
    """What run ``b`` shows that run ``a`` did not (``brief diff A B``).

    Raises
    ------
    UsageError
        Either run cannot be read as an edition.
    """
    editions = []
    for given in (a, b):
        try:
            editions.append(read_edition(given))
        except EditionUnreadable as exc:
            raise UsageError(f"cannot compare: {exc}") from None
    return compare(editions[0], editions[1])
