"""The quick schema check: prove a large data folder valid without Frictionless.

Frictionless reads every cell through Python objects: 10 s for 66,000 rows here. Most folders
are valid, and proving that needs far less: every distinct value of a column checked once
against its type and constraints, keys compared as sets. :func:`schema_holds` does that, for
the parts of a Table Schema that ``data/datapackage.json`` uses, and is stricter than
Frictionless wherever the two could differ. When it cannot prove the folder valid,
Frictionless checks it (:func:`helpers.data.validation.check_schema`) and words every problem.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import re
from collections.abc import Sequence
from pathlib import Path

from helpers.data.package import read_records

_TYPE_PATTERNS = {
    "integer": re.compile(r"-?[0-9]+"),
    "number": re.compile(r"-?[0-9]+(?:\.[0-9]+)?"),
    "date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
}
#: Frictionless's default true and false values for booleans.
_BOOLEAN_TEXTS = frozenset({"true", "True", "TRUE", "1", "false", "False", "FALSE", "0"})
_RESOURCE_KEYS = frozenset(
    {"name", "path", "profile", "title", "description", "format", "mediatype", "encoding", "schema"}
)
_SCHEMA_KEYS = frozenset({"fields", "primaryKey", "foreignKeys", "missingValues"})
_FIELD_KEYS = frozenset({"name", "type", "description", "title", "constraints"})
_STRING_CONSTRAINTS = frozenset({"required", "pattern", "enum", "minLength", "maxLength"})
_NUMBER_CONSTRAINTS = frozenset({"required", "minimum", "maximum"})


class _Unproven(Exception):
    """The quick check cannot vouch for this folder; Frictionless must look."""


def schema_holds(
    data_dir: Path,
    descriptor: dict,
    records: dict[str, list[tuple[int, list[str]]]] | None = None,
) -> bool:
    """Whether every rule of the Table Schemas provably holds, without Frictionless.

    ``True`` means Frictionless would report nothing for this folder. ``False`` means only
    that this quick check could not prove it: a problem, or something it does not handle
    (another type, constraint, dialect or encoding); :func:`check_schema` then decides.
    ``records`` holds each resource's file as :func:`read_records` read it, if already read.
    """
    try:
        columns: dict[str, dict[str, Sequence[str]]] = {}
        for resource in descriptor["resources"]:
            if records is not None and resource["name"] in records:
                rows = [values for _, values in records[resource["name"]]]
            else:
                rows = [values for _, values in read_records(data_dir / resource["path"])]
            columns[resource["name"]] = _checked_columns(resource, rows)
        types = {
            r["name"]: {f["name"]: f.get("type", "string") for f in r["schema"]["fields"]}
            for r in descriptor["resources"]
        }
        for resource in descriptor["resources"]:
            _check_keys(resource, columns, types)
    except (_Unproven, OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError, TypeError):
        return False
    return True


def _checked_columns(resource: dict, rows: list[list[str]]) -> dict[str, Sequence[str]]:
    """A resource's columns by name, after checking its header, rows, types and constraints."""
    if set(resource) - _RESOURCE_KEYS or resource.get("format", "csv") != "csv":
        raise _Unproven
    if str(resource.get("encoding", "utf-8")).lower() != "utf-8":
        raise _Unproven
    schema = resource["schema"]
    if set(schema) - _SCHEMA_KEYS:
        raise _Unproven
    fields = schema["fields"]
    names = [f["name"] for f in fields]
    missing = set(schema.get("missingValues", [""]))
    if not rows or rows[0] != names:  # a byte-order mark, too, fails here
        raise _Unproven
    body = rows[1:]
    if body and set(map(len, body)) != {len(names)}:
        raise _Unproven
    if missing == {""}:
        blank = not all(map(any, body))  # a row whose cells are all ""
    else:
        blank = any(all(cell in missing for cell in row) for row in body)
    if blank:
        raise _Unproven
    values = list(zip(*body, strict=True)) if body else [() for _ in names]
    out = {}
    for spec, column in zip(fields, values, strict=True):
        _check_field(spec, set(column), missing)
        out[spec["name"]] = column
    return out


def _check_field(field: dict, distinct: set[str], missing: set[str]) -> None:
    """Raise :class:`_Unproven` unless every distinct value of a column meets its field."""
    if set(field) - _FIELD_KEYS:
        raise _Unproven
    kind = field.get("type", "string")
    constraints = field.get("constraints", {})
    allowed = _STRING_CONSTRAINTS if kind == "string" else _NUMBER_CONSTRAINTS
    if kind in ("date", "boolean"):
        allowed = frozenset({"required"})
    if set(constraints) - allowed:
        raise _Unproven
    if constraints.get("required") and distinct & missing:
        raise _Unproven
    check = _VALUE_CHECKS.get(kind)
    if check is None:
        raise _Unproven
    check(distinct - missing, constraints, kind)


def _strings(values: set[str], constraints: dict, kind: str) -> None:
    pattern = constraints.get("pattern")
    enum = constraints.get("enum")
    shortest, longest = constraints.get("minLength"), constraints.get("maxLength")
    compiled = re.compile(pattern) if pattern is not None else None
    for value in values:
        if compiled is not None and not compiled.fullmatch(value):
            raise _Unproven
        if enum is not None and value not in enum:
            raise _Unproven
        if shortest is not None and len(value) < shortest:
            raise _Unproven
        if longest is not None and len(value) > longest:
            raise _Unproven


def _booleans(values: set[str], constraints: dict, kind: str) -> None:
    if values - _BOOLEAN_TEXTS:
        raise _Unproven


def _dates(values: set[str], constraints: dict, kind: str) -> None:
    for value in values:
        if not _TYPE_PATTERNS["date"].fullmatch(value):
            raise _Unproven
        dt.date.fromisoformat(value)  # ValueError for 2024-02-30


def _numbers(values: set[str], constraints: dict, kind: str) -> None:
    low, high = constraints.get("minimum"), constraints.get("maximum")
    for value in values:
        if not _TYPE_PATTERNS[kind].fullmatch(value):
            raise _Unproven
        number = decimal.Decimal(value)
        if low is not None and number < decimal.Decimal(str(low)):
            raise _Unproven
        if high is not None and number > decimal.Decimal(str(high)):
            raise _Unproven


#: How the distinct values of a column of each type are checked.
_VALUE_CHECKS = {
    "string": _strings,
    "boolean": _booleans,
    "date": _dates,
    "integer": _numbers,
    "number": _numbers,
}


def _one_field(value: str | list[str]) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    raise _Unproven


def _check_keys(
    resource: dict,
    columns: dict[str, dict[str, Sequence[str]]],
    types: dict[str, dict[str, str]],
) -> None:
    """Primary keys unique and present; every foreign key found where it points."""
    schema = resource["schema"]
    missing = set(schema.get("missingValues", [""]))
    own = columns[resource["name"]]
    own_types = types[resource["name"]]
    if schema.get("primaryKey"):
        key = _one_field(schema["primaryKey"])
        values = own[key]
        if own_types[key] != "string" or len(set(values)) != len(values) or set(values) & missing:
            raise _Unproven
    for foreign in schema.get("foreignKeys", []):
        name = _one_field(foreign["fields"])
        target = foreign["reference"]["resource"] or resource["name"]
        target_field = _one_field(foreign["reference"]["fields"])
        if own_types[name] != "string" or types[target][target_field] != "string":
            raise _Unproven
        # Frictionless looks values up among the referenced column's values, nulls aside.
        referenced = set(columns[target][target_field]) - missing
        if set(own[name]) - missing - referenced:
            raise _Unproven
