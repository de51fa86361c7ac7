"""The data package itself: its descriptor, its files and their fingerprint.

A leaf: it imports nothing of the package but :mod:`helpers.paths`, so loading
(:mod:`~helpers.data.dataset`), validating (:mod:`~helpers.data.validation`) and the quick
check (:mod:`~helpers.data.quick`) can all use it without importing one another in a circle.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from helpers import paths

#: The tables of a data folder, in schema order.
TABLES = (
    "sources",
    "actors",
    "places",
    "events",
    "projects",
    "supplies",
    "assessments",
    "relations",
    "judgments",
)
#: Tables a data folder may leave out: a missing file reads as a table with no rows.
OPTIONAL_TABLES = frozenset({"judgments"})


def schema_path() -> Path:
    """The canonical Data Package descriptor that every data folder is checked against."""
    return paths.DATA_DIR / "datapackage.json"


def load_descriptor() -> dict:
    """The Data Package descriptor (``data/datapackage.json``) as a dict."""
    return json.loads(schema_path().read_text(encoding="utf-8"))


def read_records(path: Path) -> list[tuple[int, list[str]]]:
    """Every record of a CSV file, the header first, each with the line it ends on."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        return [(reader.line_num, values) for values in reader]


def present_resources(descriptor: dict, data_dir: Path) -> dict:
    """The descriptor less the optional resources (:data:`OPTIONAL_TABLES`) absent from a folder."""
    kept = [
        resource
        for resource in descriptor["resources"]
        if resource["name"] not in OPTIONAL_TABLES or (data_dir / resource["path"]).is_file()
    ]
    return descriptor | {"resources": kept}


def fingerprint(data_dir: Path | str | None = None) -> str:
    """SHA-256 over the schema and every CSV of a data folder, in schema order."""
    data_dir = Path(data_dir) if data_dir is not None else paths.DATA_DIR
    digest = hashlib.sha256()
    descriptor = load_descriptor()
    digest.update(
        (paths.DATA_DIR / "datapackage.json").read_bytes()
    )  # the canonical schema is part of what the data means
    for resource in descriptor["resources"]:
        file = data_dir / resource["path"]
        digest.update(resource["path"].encode())
        digest.update(file.read_bytes() if file.is_file() else b"<missing>")
    return digest.hexdigest()


def file_digests(data_dir: Path | str | None = None) -> dict[str, str]:
    """The sha256 of each file of a data folder that the schema names, by file name."""
    data_dir = Path(data_dir) if data_dir is not None else paths.DATA_DIR
    out = {}
    for resource in load_descriptor()["resources"]:
        file = data_dir / resource["path"]
        if file.is_file():
            out[resource["path"]] = hashlib.sha256(file.read_bytes()).hexdigest()
    return out
