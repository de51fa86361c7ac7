"""A copy of ``data/`` scaled up with synthetic rows that pass the same schema and rules.

Used by ``benchmarks/run.py`` (case 4); also runnable on its own::

    .venv/bin/python benchmarks/synthetic.py 100 /tmp/data-100x

Every table but ``sources`` gets ``scale - 1`` synthetic copies of each of its rows, so a
folder at scale ``n`` holds about ``n`` times the rows. A synthetic row

* has a new id (``<id>-x<k>``), so primary keys stay unique;
* refers only to rows that exist (foreign keys point at the original rows, or, for the
  relations, events and assessments, partly at synthetic actors and events);
* keeps its original's ``source_id``, ``line`` and ``evidence``, so the fragment still stands on
  the cited line of the source text (an assessment copy is never the source's thesis: a source
  has one);
* is dated within the source's range with its original's precision (a day stays one day, a
  month runs from the 1st to the last day, a period keeps its length), never after the
  source's date; undated rows stay undated.

The result is deterministic for a given scale (a seeded generator).
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
#: Synthetic dates fall between this day and the source's date.
EARLIEST = dt.date(2015, 1, 1)
#: The source's publication date: no dated row may fall after it.
SOURCE_DATE = dt.date(2024, 3, 2)
#: Tables scaled, in an order where every table comes after the tables it refers to.
SCALED = ("actors", "places", "events", "projects", "supplies", "assessments", "relations")
#: The states a brief can be about, and the home country: synthetic actors never become one.
STATES = {"myanmar", "russia", "china", "india"}


def _read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (DATA / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(folder: Path, name: str, header: list[str], rows: list[dict[str, str]]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _last_day(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _redate(row: dict[str, str], rng: random.Random) -> None:
    """Move a dated row to a random time in range, keeping its precision and its length."""
    precision = row.get("date_precision", "")
    if precision not in ("day", "month", "period") or not row.get("date_start"):
        return
    start = dt.date.fromisoformat(row["date_start"])
    end = dt.date.fromisoformat(row["date_end"]) if row.get("date_end") else None
    span = (SOURCE_DATE - EARLIEST).days
    if precision == "day":
        day = EARLIEST + dt.timedelta(days=rng.randrange(span))
        row["date_start"] = day.isoformat()
        row["date_end"] = day.isoformat() if end else ""
    elif precision == "month":
        months = (SOURCE_DATE.year - EARLIEST.year) * 12 + SOURCE_DATE.month - EARLIEST.month
        index = rng.randrange(months)  # never the source's own month: its end is after the date
        first = dt.date(EARLIEST.year + index // 12, index % 12 + 1, 1)
        row["date_start"] = first.isoformat()
        row["date_end"] = _last_day(first).isoformat() if end else ""
    else:
        length = (end - start).days if end else 0
        day = EARLIEST + dt.timedelta(days=rng.randrange(span - length))
        row["date_start"] = day.isoformat()
        row["date_end"] = (day + dt.timedelta(days=length)).isoformat() if end else ""


def scale_data(scale: int, out: Path, *, seed: int = 2024) -> dict[str, int]:
    """Write ``data/`` scaled ``scale`` times into ``out``; return the row count per table.

    Parameters
    ----------
    scale
        1 copies the data as it is; ``n`` adds ``n - 1`` synthetic copies of each row.
    out
        The folder to write (created; existing CSVs in it are replaced).
    seed
        Seed of the generator that picks dates and references.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    rng = random.Random(f"{seed}-{scale}")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(DATA / "datapackage.json", out / "datapackage.json")
    shutil.copy2(DATA / "sources.csv", out / "sources.csv")
    counts = {"sources": sum(1 for _ in _read("sources")[1])}
    made: dict[str, list[dict[str, str]]] = {}
    for name in SCALED:
        header, rows = _read(name)
        key = header[0]
        synthetic: list[dict[str, str]] = []
        for k in range(1, scale):
            for row in rows:
                new = dict(row)
                new[key] = f"{row[key]}-x{k}"
                if name == "actors":
                    if row["actor_id"] in STATES:
                        new["kind"] = "institution"  # a state's agency, not another state
                        new["country_id"] = row["actor_id"]
                    new["name"] = f"{row['name']} ({k})"
                elif name == "places":
                    new["name"] = f"{row['name']} ({k})"
                elif name in ("events", "projects", "supplies"):
                    label = "title" if name == "events" else ("name" if name == "projects" else "")
                    if label:
                        new[label] = f"{row[label]} ({k})"
                    _redate(new, rng)
                    if name == "events" and row.get("related_event_id"):
                        new["related_event_id"] = rng.choice(
                            [row["related_event_id"], f"{row['related_event_id']}-x{k}"]
                        )
                if name == "assessments":
                    new["thesis"] = "false"  # a source has one thesis, not one per copy
                if name in ("relations", "assessments", "events"):
                    # Some ties between synthetic actors (of the same copy), so that the
                    # network and the selection see new nodes, not only repeated edges.
                    for column in ("actor_id", "other_id", "subject_id", "counterpart_id"):
                        value = row.get(column)
                        if value and value not in STATES and rng.random() < 0.5:
                            new[column] = f"{value}-x{k}"
                synthetic.append(new)
        made[name] = rows + synthetic
        _write(out, name, header, made[name])
        counts[name] = len(made[name])
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scale", type=int, help="how many times the original rows (1, 10, ...)")
    parser.add_argument("out", type=Path, help="folder to write")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    counts = scale_data(args.scale, args.out, seed=args.seed)
    print(f"{args.out}: {sum(counts.values())} rows ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
