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
from helpers.errors import DataValidationError

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
    """The Data Package descriptor (``data/datapackage.json``) as a dict.

    Raises
    ------
    DataValidationError
        The file is missing, not UTF-8, not JSON, or not a descriptor with resources; the
        message says where (exit 3, like any other problem with the data).
    """
    path = schema_path()
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataValidationError([f"{path}: cannot be read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise DataValidationError([f"{path}: not UTF-8 text: {exc}"]) from None
    except ValueError as exc:  # json.JSONDecodeError names the line and column
        raise DataValidationError(
            [f"{path}: not valid JSON: {exc}; restore it with git checkout -- {path.name}"]
        ) from None
    resources = descriptor.get("resources") if isinstance(descriptor, dict) else None
    if not isinstance(resources, list) or not all(
        isinstance(r, dict) and "name" in r and "path" in r for r in resources
    ):
        raise DataValidationError(
            [
                f"{path}: not a Data Package descriptor (a 'resources' list, each with a "
                "name and a path)"
            ]
        )
    return descriptor


def read_records(path: Path) -> list[tuple[int, list[str]]]:
    """Every record of a CSV file, the header first, each with the line it ends on.

    A UTF-8 byte order mark at the start (spreadsheet programs add one) is read past, as
    Frictionless and pandas read past it: kept, it became part of the first column's name,
    and every id of the table went missing.
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
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
