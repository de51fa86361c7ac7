"""Load a data folder into typed pandas DataFrames.

The types come from ``data/datapackage.json``: dates become ``datetime64``, enums become
categoricals with the schema's categories (in the schema's order), integers and numbers become
nullable ``Int64`` / ``Float64``, booleans the nullable ``boolean`` dtype and text ``string``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from helpers import paths
from helpers.data.package import (
    OPTIONAL_TABLES,
    TABLES,
    file_digests,
    fingerprint,
    load_descriptor,
)
from helpers.data.validation import ensure_valid

if TYPE_CHECKING:
    import pandas as pd
# pandas is imported where frames are made, not here: importing this module stays cheap.

__all__ = ["MADE_KEPT", "TABLES", "Dataset", "file_digests", "fingerprint", "load", "typed_frame"]

#: Datasets this process made, by folder and content (:func:`fingerprint`, the schema and
#: every CSV): the same bytes give the same frames, so :func:`load` hands out those again, in
#: frames of the caller's own (:meth:`Dataset.copied`). The typing costs about 0.05 s a load;
#: a kernel forked from ``brief serve``'s zygote finds the package's data made
#: (:mod:`helpers.report.first_use`). The last :data:`MADE_KEPT` folders are kept.
MADE_KEPT = 2
_MADE: OrderedDict[tuple[Path, str], Dataset] = OrderedDict()
_MADE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Dataset:
    """Every table of a data folder, typed, plus where it came from."""

    data_dir: Path
    fingerprint: str
    sources: pd.DataFrame
    actors: pd.DataFrame
    places: pd.DataFrame
    events: pd.DataFrame
    projects: pd.DataFrame
    supplies: pd.DataFrame
    assessments: pd.DataFrame
    relations: pd.DataFrame
    judgments: pd.DataFrame
    #: id -> name maps, built on first use (a copy of a Dataset starts without them).
    _name_cache: dict = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name, in schema order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in TABLES}

    def actor_names(self) -> dict[str, str]:
        """Map each actor id to its display name (a new dict; built once per dataset)."""
        return dict(self._names("actors", "actor_id"))

    def place_names(self) -> dict[str, str]:
        """Map each place id to its name (a new dict; built once per dataset)."""
        return dict(self._names("places", "place_id"))

    def source_labels(self) -> dict[str, str]:
        """Map each source id to the short name a reader sees in the notes ('Report')."""
        return dict(self._names("sources", "source_id", "label"))

    def _names(self, table: str, key: str, column: str = "name") -> dict[str, str]:
        if (table, column) not in self._name_cache:
            frame = getattr(self, table)
            self._name_cache[table, column] = dict(zip(frame[key], frame[column], strict=True))
        return self._name_cache[table, column]

    def copied(self) -> Dataset:
        """The same data in frames of its own: a change to one (pandas copies on write)
        never reaches the other."""
        return dataclasses.replace(
            self, **{name: frame.copy(deep=False) for name, frame in self.tables().items()}
        )

    @property
    def source_date(self) -> pd.Timestamp:
        """The latest publication date among the sources: what the data knows up to."""
        return self.sources["published"].max()


def _dtype_for(field: dict):
    import pandas as pd  # noqa: PLC0415

    kind = field.get("type", "string")
    enum = field.get("constraints", {}).get("enum")
    if enum is not None:
        return pd.CategoricalDtype(categories=enum, ordered=False)
    return {
        "integer": "Int64",
        "number": "Float64",
        "boolean": "boolean",
        "string": "string",
    }.get(kind)


def typed_frame(path: Path, schema: dict, *, missing_ok: bool = False) -> pd.DataFrame:
    """Read one CSV as strings and convert each column to the dtype its schema field names.

    With ``missing_ok``, a file that does not exist reads as a table with no rows.
    """
    import pandas as pd  # noqa: PLC0415

    names = [field["name"] for field in schema["fields"]]
    if missing_ok and not path.is_file():
        frame = pd.DataFrame({name: pd.Series(dtype=str) for name in names})
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    for field in schema["fields"]:
        name = field["name"]
        column = frame[name]
        if field.get("type") == "date":
            frame[name] = pd.to_datetime(column, format="%Y-%m-%d")
        elif field.get("type") == "boolean":
            frame[name] = column.str.lower().map({"true": True, "false": False}).astype("boolean")
        elif field.get("type") in ("integer", "number"):
            frame[name] = pd.to_numeric(column).astype(_dtype_for(field))
        else:
            frame[name] = column.astype(_dtype_for(field))
    return frame


def load(
    data_dir: Path | str | None = None,
    *,
    validate: bool = True,
    sources: Iterable[Path] | None = None,
) -> Dataset:
    """Load a data folder into a :class:`Dataset` of typed DataFrames.

    Parameters
    ----------
    data_dir
        A folder with the CSV files that ``data/datapackage.json`` names. Default: the
        package's own ``data/``. Any folder that follows the same schema works.
    validate
        Check the folder first (schema and project rules) and raise
        :class:`~helpers.errors.DataValidationError` listing every problem.
    sources
        Extra folders to search for source texts when checking evidence.

    Returns
    -------
    Dataset
    """
    data_dir = Path(data_dir) if data_dir is not None else paths.DATA_DIR
    if validate:
        ensure_valid(data_dir, sources)
    key = (data_dir.resolve(), fingerprint(data_dir))
    with _MADE_LOCK:
        made = _MADE.get(key)
    if made is None:
        descriptor = load_descriptor()
        frames = {
            resource["name"]: typed_frame(
                data_dir / resource["path"],
                resource["schema"],
                missing_ok=resource["name"] in OPTIONAL_TABLES,
            )
            for resource in descriptor["resources"]
        }
        made = Dataset(data_dir=key[0], fingerprint=key[1], **frames)
        with _MADE_LOCK:
            _MADE[key] = made
            while len(_MADE) > MADE_KEPT:
                _MADE.popitem(last=False)
    return made.copied()
