"""Editions of a series: the ledger of what an edition showed, and what changed since another.

A *series* is one notebook with one set of parameters apart from its edition fields
(:data:`helpers.params.EDITION_FIELDS`: ``as_of`` and ``end``, the dates that move from one
edition to the next). Each published run of a series is an *edition*. Its manifest keeps the
edition's *ledger* (the ``edition`` key): every fact the edition stands on, as its table, its
row id and a sha256 of the values the reader saw (:func:`fact`); the sources it used; and every
other row of the data with the reason it was not shown (outside the window, published after
the cut, another theme). Comparing two ledgers (:func:`compare`) needs nothing else: a fact
in the new one only is new; in both with another hash, changed; in the old one only, no longer
shown, because the new edition set it aside (its reason) or because the data no longer holds
it (withdrawn).

This module is plain Python on plain values, so that both sides use it: the kernel side builds
the ledger and the "Since the edition of ..." box (:mod:`helpers.report.since`), the
pipeline finds the previous edition and compares two manifests (``brief diff``,
:mod:`helpers.pipeline.series`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.jsonfile import JSONFileError, read_json_file

__all__ = [
    "FIRST",
    "LEDGER_VERSION",
    "Change",
    "Changes",
    "Edition",
    "EditionSummary",
    "EditionUnreadable",
    "compare",
    "counts_words",
    "fact",
    "made_from_changes",
    "read_edition",
]

#: Bumped when the ledger's layout or a fact's hashed values change meaning: ledgers of
#: another version are not compared (a warning says so).
LEDGER_VERSION = 1
#: Most facts an edition's ledger keeps one by one. A brief standing on more (a data folder
#: a thousand times the shipped one) keeps only their count: listing tens of thousands of
#: facts in the notebook and the manifest made such a brief five times slower, and no box
#: could list what changed among them anyway.
LEDGER_LIMIT = 2000
#: Per table, what the reader sees of a row, by kind of value: the columns each value is made
#: of. A fact's hash covers exactly these, and its source (source, line, fragment).
SHOWN: dict[str, dict[str, tuple[str, ...]]] = {
    "events": {
        "statement": ("title",),
        "who": ("actor_id", "counterpart_id", "place_id"),
        "date": ("date_start", "date_end"),
        "precision": ("date_precision", "ongoing"),
        "figure": ("value", "currency"),
        "modality": ("modality",),
    },
    "projects": {
        "statement": ("name", "sector"),
        "who": ("partner_id", "host_id", "place_id"),
        "figure": ("capacity", "capacity_unit"),
        "modality": ("status", "including"),
    },
    "supplies": {
        "statement": ("item", "category"),
        "who": ("supplier_id", "recipient_id"),
        "date": ("date_start", "date_end"),
        "precision": ("date_precision",),
        "figure": (
            "quantity_qualifier",
            "quantity",
            "quantity_unit",
            "value",
            "currency",
        ),
        "modality": ("modality", "including"),
    },
    "assessments": {
        "statement": ("statement",),
        "who": ("subject_id", "object_id", "context_id"),
        "modality": ("modality",),
    },
    "relations": {
        "statement": ("phrase",),
        "who": ("actor_id", "other_id"),
    },
    "judgments": {
        "statement": ("statement",),
        "modality": ("likelihood", "confidence"),
    },
}
#: The column of each table that holds the short label a list of changes shows.
LABELS = {
    "events": "title",
    "projects": "name",
    "supplies": "item",
    "assessments": "statement",
    "relations": "phrase",
    "judgments": "statement",
}
#: What a published brief is made from besides the facts its ledger lists, each recorded by a
#: sha256 under the ledger's ``made_from``: the notebook, brief's own code and templates, and
#: the tables whose rows the facts name (an actor's name, a place's position, a source's
#: grade are printed beside the facts, but a fact's hash covers only their ids). A change in
#: any of them changes what the reader sees, so an edition made from another is not "nothing
#: new" (``brief batch --only-changed``).
MADE_FROM = ("notebook", "code", "sources", "actors", "places")
#: Why a row the previous edition showed is not in this one, when this edition's data no
#: longer holds it.
WITHDRAWN = "withdrawn from the data"
#: ``since`` for the first edition of a series: the value of the notebook's ``since``
#: parameter that makes the box say "First edition", and the manifest's ``since`` for it.
FIRST = "first"


class EditionUnreadable(Exception):
    """A previous edition that cannot be compared with: missing, corrupt, or another format."""


def _text(value: Any) -> str:
    """A value as the reader sees it: text, dates as YYYY-MM-DD, nothing for missing."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    # pandas' Timestamp prints as "2023-10-01 00:00:00"
    if len(text) == 19 and text.endswith(" 00:00:00"):
        return text[:10]
    return text


def fact(table: str, row: Mapping[str, Any], row_id: str) -> dict[str, Any]:
    """One row as the ledger keeps it: table, id, label, the values shown, and their hash.

    Parameters
    ----------
    table
        A table of :data:`SHOWN`.
    row
        The row, as a mapping of column to value (missing values may be None or NaN).
    row_id
        Its id.
    """
    shown = {
        kind: " · ".join(t for t in (_text(row.get(c)) for c in columns) if t)
        for kind, columns in SHOWN[table].items()
    }
    shown["source"] = (
        f"{_text(row.get('source_id'))}, line {_text(row.get('line'))}: "
        f"{_text(row.get('evidence'))}"
    )
    digest = hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()
    return {
        "table": table,
        "id": str(row_id),
        "label": _text(row.get(LABELS[table])),
        "hash": digest,
        "shown": shown,
    }


@dataclass(frozen=True)
class Edition:
    """One edition's ledger, as :func:`read_edition` or the kernel side builds it."""

    #: The last day the edition covers (its window's end), YYYY-MM-DD.
    date: str
    #: What it knew by, YYYY-MM-DD.
    as_of: str
    #: Every fact it stands on, by ``(table, id)``.
    facts: dict[tuple[str, str], dict[str, Any]]
    #: The sources it used, by id: ``{"id", "label", "title", "published"}``.
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Every other row of its data, by ``(table, id)``: why it was not shown.
    set_aside: dict[tuple[str, str], str] = field(default_factory=dict)
    #: When it was published (UTC, ISO 8601), and its run folder (``notebook/run``), for a
    #: published edition.
    created_at: str = ""
    run: str = ""
    #: The number of facts, when there were more than :data:`LEDGER_LIMIT` (none are kept).
    too_large: int = 0
    #: What else the published brief was made from, beyond its facts, each by a sha256
    #: (:data:`MADE_FROM`): the pipeline records it, so that an edition whose facts are the
    #: same but whose actors' names, places or sources' grades changed is not "nothing new".
    made_from: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, ledger: Mapping[str, Any], *, created_at: str = "", run: str = "") -> Edition:
        """An edition from its ledger (the manifest's ``edition``).

        Raises
        ------
        ValueError
            A fact or a set-aside row of a table no edition shows, or a fact without its
            label or hash: a comparison would stop on it.
        """
        for item in (*ledger["facts"], *ledger.get("set_aside", [])):
            if item["table"] not in SHOWN:
                raise ValueError(
                    f"a fact of the table {str(item['table'])[:40]!r}, which no edition shows "
                    f"(tables: {', '.join(SHOWN)})"
                )
        for item in ledger["facts"]:
            if not isinstance(item.get("label"), str) or not isinstance(item.get("hash"), str):
                raise ValueError(f"fact {str(item.get('id'))[:40]!r} has no label or hash")
        return cls(
            date=str(ledger["date"]),
            as_of=str(ledger["as_of"]),
            facts={(f["table"], f["id"]): dict(f) for f in ledger["facts"]},
            sources={s["id"]: dict(s) for s in ledger.get("sources", [])},
            set_aside={(s["table"], s["id"]): s["reason"] for s in ledger.get("set_aside", [])},
            created_at=created_at,
            run=run,
            too_large=int(ledger.get("too_large") or 0),
            made_from={str(k): str(v) for k, v in (ledger.get("made_from") or {}).items()},
        )

    def ledger(self) -> dict[str, Any]:
        """The JSON-safe ledger, in a stable order (the manifest's ``edition``, in part)."""
        if self.too_large:
            return {
                "ledger_version": LEDGER_VERSION,
                "date": self.date,
                "as_of": self.as_of,
                "too_large": self.too_large,
                "facts": [],
                "sources": [self.sources[key] for key in sorted(self.sources)],
                "set_aside": [],
            }
        return {
            "ledger_version": LEDGER_VERSION,
            "date": self.date,
            "as_of": self.as_of,
            "facts": [self.facts[key] for key in sorted(self.facts)],
            "sources": [self.sources[key] for key in sorted(self.sources)],
            "set_aside": [
                {"table": t, "id": i, "reason": self.set_aside[t, i]}
                for t, i in sorted(self.set_aside)
            ],
        }

    def reference(self) -> dict[str, str]:
        """What a later edition records of this one: its run, date and publication time."""
        return {
            "run": self.run,
            "date": self.date,
            "as_of": self.as_of,
            "created_at": self.created_at,
        }


def read_edition(path: Path | str) -> Edition:
    """The edition a run folder or its ``manifest.json`` holds.

    The file is read as a regular file of bounded size and depth
    (:func:`helpers.jsonfile.read_json_file`): a FIFO, a device or a link is refused, not read.

    Raises
    ------
    EditionUnreadable
        Saying why: no such file, not a regular file, too large or too deep, not JSON, no
        ledger (a run from before editions), a ledger of another version, or a ledger that is
        not well formed (a fact of a table no edition shows, say).
    """
    path = Path(path)
    manifest_path = path / "manifest.json" if path.is_dir() else path
    try:
        manifest = read_json_file(manifest_path)
    except FileNotFoundError:
        raise EditionUnreadable(f"{manifest_path} does not exist") from None
    except JSONFileError as exc:
        raise EditionUnreadable(str(exc)) from None
    if not isinstance(manifest, dict):
        raise EditionUnreadable(f"{manifest_path} is not a manifest")
    return edition_of_manifest(manifest, str(manifest_path))


def edition_of_manifest(manifest: Mapping[str, Any], where: str = "manifest") -> Edition:
    """The edition a manifest (as a mapping) records; see :func:`read_edition`."""
    ledger = manifest.get("edition")
    if not isinstance(ledger, dict) or "facts" not in ledger:
        version = manifest.get("manifest_version")
        raise EditionUnreadable(
            f"{where} records no edition (manifest version {version}, from before editions)"
        )
    if ledger.get("ledger_version") != LEDGER_VERSION:
        raise EditionUnreadable(
            f"{where} has a ledger of version {ledger.get('ledger_version')!r}; "
            f"this version of brief reads version {LEDGER_VERSION}"
        )
    run = f"{manifest.get('notebook', '?')}/{manifest.get('run', '?')}"
    try:
        edition = Edition.of(ledger, created_at=str(manifest.get("created_at") or ""), run=run)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        why = str(exc) if type(exc) is ValueError else repr(exc)
        raise EditionUnreadable(f"{where} has a malformed ledger ({why})") from None
    if edition.too_large:
        raise EditionUnreadable(too_large(where, edition.too_large))
    return edition


def too_large(where: str, count: int) -> str:
    """Why an edition is not compared: it stands on more facts than the ledger keeps."""
    return (
        f"{where} stands on {count:,} facts, more than the {LEDGER_LIMIT:,} an edition "
        "compares one by one"
    )


@dataclass(frozen=True)
class Change:
    """One fact that is new, changed or no longer shown."""

    table: str
    id: str
    label: str
    #: For a changed fact: each value that changed, as ``(kind, old, new)``.
    fields: tuple[tuple[str, str, str], ...] = ()
    #: For a fact no longer shown: why (a reason of the selection, or :data:`WITHDRAWN`).
    reason: str = ""
    #: For a changed or withdrawn fact: what the previous edition showed.
    old: Mapping[str, str] = field(default_factory=dict)

    @property
    def correction(self) -> bool:
        """True for a fact a newsroom would correct: its value changed, or it was withdrawn."""
        return bool(self.fields) or self.reason == WITHDRAWN

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"table": self.table, "id": self.id, "label": self.label}
        if self.fields:
            out["changed"] = [{"value": k, "old": o, "new": n} for k, o, n in self.fields]
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Changes:
    """What an edition shows that the previous one did not, and the other way round."""

    since: Edition
    new: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = ()
    dropped: tuple[Change, ...] = ()
    new_sources: tuple[dict[str, Any], ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing is new, changed or gone, and no source is new."""
        return not (self.new or self.changed or self.dropped or self.new_sources)

    @property
    def corrections(self) -> tuple[Change, ...]:
        """Changed facts, and facts withdrawn from the data."""
        return (*self.changed, *(c for c in self.dropped if c.correction))

    def keys(self, kind: str) -> set[tuple[str, str]]:
        """``(table, id)`` of the ``new``, ``changed`` or ``dropped`` facts."""
        return {(c.table, c.id) for c in getattr(self, kind)}

    def counts(self) -> dict[str, int]:
        """How many facts are new, changed and no longer shown, and how many sources are new."""
        return {
            "new": len(self.new),
            "changed": len(self.changed),
            "dropped": len(self.dropped),
            "new_sources": len(self.new_sources),
        }

    def as_json(self) -> dict[str, Any]:
        """The comparison as JSON-safe values (``brief diff --json``)."""
        return {
            "since": self.since.reference(),
            "counts": self.counts(),
            "new": [c.as_json() for c in self.new],
            "changed": [c.as_json() for c in self.changed],
            "dropped": [c.as_json() for c in self.dropped],
            "new_sources": list(self.new_sources),
        }


def compare(previous: Edition, current: Edition) -> Changes:
    """What ``current`` shows that ``previous`` did not, and the other way round.

    A fact is matched by its table and row id; a changed hash is a changed fact, with each
    value that changed. A fact the previous edition showed and this one does not is dropped
    with the reason this edition set it aside, or :data:`WITHDRAWN` when its data no longer
    holds the row.
    """
    new, changed, dropped = [], [], []
    for key in sorted(current.facts):
        now = current.facts[key]
        then = previous.facts.get(key)
        if then is None:
            new.append(Change(key[0], key[1], now["label"]))
        elif then["hash"] != now["hash"]:
            old, shown = then.get("shown", {}), now.get("shown", {})
            fields = tuple(
                (kind, str(old.get(kind, "")), str(shown.get(kind, "")))
                for kind in sorted({*old, *shown})
                if old.get(kind, "") != shown.get(kind, "")
            )
            changed.append(Change(key[0], key[1], now["label"], fields=fields, old=old))
    for key in sorted(previous.facts):
        if key in current.facts:
            continue
        then = previous.facts[key]
        reason = current.set_aside.get(key, WITHDRAWN)
        dropped.append(
            Change(key[0], key[1], then["label"], reason=reason, old=then.get("shown", {}))
        )
    new_sources = tuple(
        current.sources[s] for s in sorted(current.sources) if s not in previous.sources
    )
    return Changes(previous, tuple(new), tuple(changed), tuple(dropped), new_sources)


def made_from_changes(previous: Edition, current: Edition) -> list[str]:
    """What the two editions were made from that differs, beyond their facts
    (:data:`MADE_FROM`): ``["actors"]``, say. A previous edition that recorded none (made by
    an older brief) cannot vouch that nothing differs: ``["not recorded"]``."""
    if not current.made_from:
        return []
    if not previous.made_from:
        return ["not recorded"]
    return [k for k in MADE_FROM if previous.made_from.get(k) != current.made_from.get(k)]


def day(iso: str) -> str:
    """'2024-03-02' as '2 March 2024' (text that is not a date is given back)."""
    try:
        date = dt.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{date.day} {date:%B %Y}"


def as_text(changes: Changes, *, title: str = "") -> str:
    """The comparison in plain lines (``brief diff``)."""
    since = changes.since
    head = (
        title
        or f"Since the edition of {day(since.date)} ({since.run}, published {since.created_at})"
    )
    lines = [head]
    if changes.empty:
        return "\n".join([*lines, "  Nothing new, changed or withdrawn."])
    lines.append(f"  {counts_words(changes.counts(), sources='always')}")
    for c in changes.new:
        lines.append(f"  + {c.table}/{c.id}: {c.label}")
    for c in changes.changed:
        lines.append(f"  ~ {c.table}/{c.id}: {c.label}")
        for kind, old, new in c.fields:
            lines.append(f"      {kind}: {old or '(none)'} -> {new or '(none)'}")
    for c in changes.dropped:
        lines.append(f"  - {c.table}/{c.id}: {c.label} ({c.reason})")
    for s in changes.new_sources:
        lines.append(f"  + source {s['id']}: {s.get('title') or s.get('label')}")
    return "\n".join(lines)


#: How :func:`counts_words` may say the new sources.
SOURCES_SAID = ("always", "if any", "counted", "never")


def counts_words(
    counts: Mapping[str, int], *, sources: str = "always", new_detail: str = ""
) -> str:
    """The counts of a comparison in words: ``4 new, 1 changed, 0 no longer shown``, and the
    new sources as ``sources`` says. Every account of a comparison words it here: ``brief
    diff``, the index, the batch's log and summary, the brief's "Since the edition of" box.

    Parameters
    ----------
    counts
        :meth:`Changes.counts` (or a manifest's ``changes``): ``new``, ``changed``,
        ``dropped`` and ``new_sources``.
    sources
        ``"always"``: ``, 0 new source(s)`` even when there is none (``brief diff``);
        ``"if any"``: the same, only when there is one (the index); ``"counted"``: ``, 1 new
        source`` or ``, 2 new sources``, only when there is one (the box); ``"never"``: not
        said (the batch's log).
    new_detail
        Said right after the count of new facts: `` (3 learned, 1 brought into view by the
        window)``, say.
    """
    if sources not in SOURCES_SAID:
        raise ValueError(f"sources={sources!r}: choose from {', '.join(SOURCES_SAID)}")
    words = (
        f"{counts['new']} new{new_detail}, {counts['changed']} changed, "
        f"{counts['dropped']} no longer shown"
    )
    n = counts.get("new_sources", 0)
    if sources == "always" or (sources == "if any" and n):
        words += f", {n} new source(s)"
    elif sources == "counted" and n:
        words += f", {n} new source{'s' if n > 1 else ''}"
    return words


@dataclass(frozen=True)
class EditionSummary:
    """What is said of an edition's comparison with the previous one, apart from its ledger:
    the manifest's ``since``, ``changes`` and ``made_from_changed`` (``edition`` key), which a
    run's result carries to the batch and the index, the feeds and the server read back.

    It crosses processes and files as JSON: :meth:`to_json` gives the manifest's keys, in
    their order, and :meth:`from_json` reads them back from a manifest's ``edition`` or a
    run's result (a value of the wrong type reads as missing).
    """

    #: The previous edition (:meth:`Edition.reference`: ``run``, ``date``, ``as_of``,
    #: ``created_at``), :data:`FIRST` for the first edition of a series, or None when the
    #: edition was compared with nothing.
    since: Mapping[str, str] | str | None = None
    #: :meth:`Changes.counts`; None when nothing was compared.
    changes: Mapping[str, int] | None = None
    #: What the two editions were made from that differs beyond their facts
    #: (:func:`made_from_changes`); None when it was not recorded.
    made_from_changed: tuple[str, ...] | None = None

    @property
    def first(self) -> bool:
        """True for the first edition of its series."""
        return self.since == FIRST

    @property
    def previous(self) -> Mapping[str, str] | None:
        """The previous edition's reference, when the edition was compared with one."""
        return self.since if isinstance(self.since, Mapping) else None

    def to_json(self) -> dict[str, Any]:
        """The manifest's keys: ``since`` and ``changes``, and ``made_from_changed`` when
        recorded."""
        since = dict(self.since) if isinstance(self.since, Mapping) else self.since
        out: dict[str, Any] = {
            "since": since,
            "changes": dict(self.changes) if self.changes is not None else None,
        }
        if self.made_from_changed is not None:
            out["made_from_changed"] = list(self.made_from_changed)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> EditionSummary:
        """The summary a manifest's ``edition`` (or a run's result) holds; an empty one for
        None."""
        data = data if isinstance(data, Mapping) else {}
        since = data.get("since")
        changes = data.get("changes")
        also = data.get("made_from_changed")
        return cls(
            since=since if isinstance(since, Mapping) or since == FIRST else None,
            changes=changes if isinstance(changes, Mapping) else None,
            made_from_changed=tuple(str(a) for a in also) if isinstance(also, list) else None,
        )


def pairs(items: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """``(table, id)`` pairs as JSON objects."""
    return [{"table": t, "id": i} for t, i in items]
