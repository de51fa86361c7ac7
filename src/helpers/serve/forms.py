"""HTML form fields from a notebook's pydantic schema, and a submitted form back to values.

:func:`fields` reads :data:`helpers.params.SCHEMAS`: a choice (``Literal``) is a select, a date
a date input, a boolean a checkbox, a list of choices a checkbox group, a bounded number a
number input with its bounds; each field's description is its help text and its default is
filled in. Each input's ``name`` is the parameter's name. :func:`values` turns a submitted form
into the raw values :func:`helpers.params.check` takes (the same conversion and messages as
``brief render -p``), and :func:`problems` files each message under its field.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from helpers.params import BaseParams, field_problems

__all__ = ["SERVER_SET", "FormField", "fields", "problems", "refused_server_set", "values"]

#: Parameters the server sets itself and a form never offers: the data folder is the
#: server's (``--data``), and the edition compared with is the previous published one.
SERVER_SET = ("data_dir", "since")


@dataclass
class FormField:
    """One input of a notebook's form."""

    name: str
    label: str
    kind: str  # "select", "date", "checkbox", "checkboxes", "number", "text"
    help: str
    value: Any = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    error: str | None = None
    checked: tuple[str, ...] = field(default_factory=tuple)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type inside ``X | None`` and whether ``None`` is allowed."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) == 1:
            return inner[0], True
    return annotation, False


def _base(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _shown(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def fields(model: type[BaseParams], given: Mapping[str, Any] | None = None) -> list[FormField]:
    """The form's inputs for ``model``, holding ``given`` values (else the defaults).

    Parameters
    ----------
    model
        A schema from :data:`helpers.params.SCHEMAS`.
    given
        Values a user submitted (as :func:`values` returns them), to show again with the
        problems beside them; default: the schema's defaults.
    """
    result = []
    for name, info in model.model_fields.items():
        if name in SERVER_SET:
            continue
        annotation, optional = _unwrap(info.annotation)
        annotation = _base(annotation)
        value = given[name] if given is not None and name in given else _shown(info.default)
        label = name.replace("_", " ").capitalize()
        item = FormField(
            name=name,
            label=label,
            kind="text",
            help=info.description or "",
            value=value,
            optional=optional,
        )
        origin = typing.get_origin(annotation)
        if origin is Literal:
            item.kind, item.choices = "select", tuple(str(a) for a in typing.get_args(annotation))
        elif origin is list:
            inner = _base(typing.get_args(annotation)[0])
            item.kind, item.choices = "checkboxes", tuple(str(a) for a in typing.get_args(inner))
            item.checked = tuple(str(v) for v in (value or ()))
        elif annotation is bool:
            item.kind = "checkbox"
            item.value = value in (True, "true", "on")
        elif annotation is dt.date:
            item.kind = "date"
        elif annotation is int:
            item.kind = "number"
            for meta in info.metadata:
                item.minimum = getattr(meta, "ge", None) or item.minimum
                item.maximum = getattr(meta, "le", None) or item.maximum
        else:
            item.max_length = 160
        if item.value is None:
            item.value = ""
        result.append(item)
    return result


def values(model: type[BaseParams], form: Any) -> dict[str, Any]:
    """The raw parameter values a submitted form gives, for :func:`helpers.params.check`.

    ``form`` is Starlette's ``FormData`` (or any mapping with ``getlist``). An unchecked
    checkbox is false; a checkbox group gives the list of the boxes checked (none: an empty
    list, which the schema refuses); an empty optional field is ``None``; a field the form did
    not send keeps the schema's default. Names the schema does not know are kept, so that
    :func:`helpers.params.check` refuses them as ``brief render`` does.
    """
    raw: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation, optional = _unwrap(info.annotation)
        annotation = _base(annotation)
        if name in SERVER_SET:
            if name in form:
                raw[name] = form.get(name)
            continue
        if typing.get_origin(annotation) is list:
            raw[name] = list(form.getlist(name))
        elif annotation is bool:
            raw[name] = name in form and form.get(name) not in ("", "false", "off")
        elif name in form:
            text = str(form.get(name))
            raw[name] = None if optional and not text.strip() else text
    for name in form:
        if name not in model.model_fields and not name.startswith("csrf"):
            raw[name] = form.get(name)
    return raw


def problems(model: type[BaseParams], raw: Mapping[str, Any], where: str) -> dict[str, str]:
    """Each field's problem with ``raw``, as :func:`helpers.params.check` words it; ``""`` is
    the key of problems of no one field (a window out of order, an unknown name)."""
    try:
        model.model_validate(dict(raw))
    except ValidationError as exc:
        found: dict[str, list[str]] = {}
        for name, message in field_problems(model, raw, exc):
            key = name if name in model.model_fields and name not in SERVER_SET else ""
            found.setdefault(key, []).append(f"{where}: {message}")
        return {key: "; ".join(lines) for key, lines in found.items()}
    return {}


def refused_server_set(raw: Mapping[str, Any]) -> list[str]:
    """Messages for parameters a form may not set (:data:`SERVER_SET`)."""
    return [
        f"parameter {name!r}: set by the server, not by a form"
        for name in SERVER_SET
        if raw.get(name) not in (None, "")
    ]


def describe_notebook(model: type[BaseParams]) -> str:
    """One line on what a notebook's brief is: its schema's docstring."""
    return (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
