"""Reading the YAML that users write: ``brief render -f`` parameters files and batch plans.

One reading for both, so that the same text gives the same values, or the same refusal, in a
parameters file and in a plan. The text is composed into YAML nodes and every node is checked
before any value is built; a file that breaks a rule is a :class:`~helpers.errors.UsageError`
(exit 2) listing every problem at once, each with its line and column:

* a tag other than a plain value (``!!python/object/apply:...``, ``!!binary``, ``!!set``,
  ``!include``): it would build objects, bytes or sets, or ask for a file;
* an anchor or an alias (``&name``, ``*name``): a few lines of aliases can expand to billions
  of values (the "billion laughs");
* a key given twice in one mapping: YAML would keep the last one without a word;
* a plain value that YAML reads unlike it looks: ``007``, ``010``, ``0x1F``, ``1_000`` and
  ``1:30`` are numbers to YAML (``010`` is 8), ``yes``, ``no``, ``on`` and ``off`` booleans.
  Written plainly (``7``, ``false``) or quoted (``"007"``, ``"no"``) they are accepted.

What is left is built by PyYAML's safe constructor: text, whole and decimal numbers,
``true``/``false``, ``null``, lists and mappings. A date or time is given back as the text it
was written as, so a parameter schema reads it as it reads ``-p`` text: ``as_of: 2023-09-30``
is ``-p as_of 2023-09-30``, and ``title: 2023-09-30`` is a title.

Why these rules and not "every value is text": a number or ``true`` written plainly in YAML is
one, and the schemas judge it as one (``max_rows: 7`` is 7, ``title: 5`` is not a title);
only the forms where YAML 1.1 would silently read something other than what the reader sees
are refused, so that nothing is guessed either way.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from helpers.errors import UsageError

__all__ = ["MAX_BYTES", "parse_yaml", "read_text", "read_yaml"]

#: The largest parameters file or plan read, in bytes (the shipped plan is under 2 KiB).
MAX_BYTES = 1 << 20

_YAML = "tag:yaml.org,2002:"
#: Tags a file may carry: plain values, lists and mappings. ``!!binary`` would hand the schema
#: bytes, ``!!set`` a set, ``!!python/...`` anything at all.
_PLAIN_TAGS = frozenset(
    _YAML + name for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)
#: A whole number as it looks: YAML 1.1 reads ``010`` as 8, ``0x1F`` as 31, ``1_000`` as 1000.
_PLAIN_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
#: YAML 1.1 booleans that do not look like ``true`` or ``false``.
_YAML11_BOOLS = frozenset({"yes", "no", "on", "off"})


class _Loader(yaml.SafeLoader):
    """The safe loader, noting each anchored node's anchor, with dates and times as text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.anchored: dict[int, tuple[str, Any]] = {}  # id(node) -> (anchor, node)

    def compose_node(self, parent: Any, index: Any) -> Any:
        anchor = None if self.check_event(yaml.AliasEvent) else self.peek_event().anchor
        node = super().compose_node(parent, index)
        if anchor is not None:
            self.anchored[id(node)] = (anchor, node)
        return node


def _timestamp_as_text(loader: _Loader, node: Any) -> str:
    return loader.construct_scalar(node)


_Loader.add_constructor(_YAML + "timestamp", _timestamp_as_text)


def read_text(path: Path | str, *, kind: str) -> str:
    """The text of ``path``, or a :class:`UsageError` naming the ``kind`` of file and why not.

    Parameters
    ----------
    path
        The file.
    kind
        What the file is, for messages: ``"plan"``, ``"parameters file"``.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # /dev/zero has no end; a plan needs no megabyte
    except OSError as exc:
        raise UsageError(f"cannot read {kind} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(
            f"{kind} {path} is larger than {MAX_BYTES // 1024:,} KiB; a {kind} is a few lines "
            "of YAML"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{kind} {path} is not UTF-8 text: {exc}") from None


def read_yaml(
    path: Path | str, *, kind: str, header: str | None = None, alias_hint: str = ""
) -> Any:
    """Read a YAML file by the rules of this module: :func:`read_text`, then :func:`parse_yaml`."""
    text = read_text(path, kind=kind)
    return parse_yaml(text, kind=kind, source=str(path), header=header, alias_hint=alias_hint)


def parse_yaml(
    text: str, *, kind: str, source: str, header: str | None = None, alias_hint: str = ""
) -> Any:
    """Check and build one YAML document by the rules of this module.

    Parameters
    ----------
    text
        The YAML.
    kind, source
        What the text is (``"plan"``, ``"parameters file"``) and where it came from, for
        messages.
    header
        The line before the list of problems. Default: ``"<kind> <source>:"``.
    alias_hint
        Advice added where an alias is refused (a plan has ``defaults`` for shared values).

    Returns
    -------
    Any
        ``None`` for an empty document; otherwise plain values, lists and mappings.

    Raises
    ------
    UsageError
        The text is not YAML, or breaks a rule; every problem is listed with its line and
        column.
    """
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise UsageError(f"{kind} {source} is not valid YAML: {exc}") from None
        if root is None:
            return None
        problems = _Check(loader, kind, alias_hint).problems(root)
        if problems:
            lines = [header or f"{kind} {source}:", *problems]
            raise UsageError("\n  ".join(lines))
        try:
            return loader.construct_document(root)
        except yaml.YAMLError as exc:  # a key that cannot be one, such as a list
            raise UsageError(f"{kind} {source} is not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _in_order(found: list[tuple[Any, str]]) -> list[str]:
    """``(node, problem)`` pairs as ``line L, column C: problem``, in the order of the text."""
    found = sorted(found, key=lambda pair: (pair[0].start_mark.line, pair[0].start_mark.column))
    return [
        f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}: {text}"
        for node, text in found
    ]


class _Check:
    """One walk over the nodes of a document, collecting every problem in document order."""

    def __init__(self, loader: _Loader, kind: str, alias_hint: str) -> None:
        self._loader = loader
        self._kind = kind
        self._alias_hint = alias_hint
        self._found: list[tuple[Any, str]] = []  # (node, problem)
        self._reused: dict[int, int] = {}  # id(node) -> times it is reached again

    def problems(self, root: Any) -> list[str]:
        """Every problem under ``root``: the nodes', then the anchors' and aliases'."""
        stack = [root]
        seen: set[int] = set()
        while stack:
            node = stack.pop()
            if id(node) in seen:
                # Composing makes an alias the very node its anchor names: counting visits
                # says how often each value is used again, without ever expanding one.
                self._reused[id(node)] = self._reused.get(id(node), 0) + 1
                continue
            seen.add(id(node))
            stack.extend(reversed(self._children(node)))
        return _in_order(self._found) + self._anchor_problems()

    def _children(self, node: Any) -> list[Any]:
        """Check one node; return the nodes under it that are still to be checked."""
        if node.tag not in _PLAIN_TAGS:
            tag = node.tag.replace(_YAML, "!!", 1)
            self._problem(
                node,
                f"the tag {tag!r} is not allowed in a {self._kind}; use plain "
                "YAML values (text, numbers, true/false, null, dates, lists and mappings)",
            )
            return []  # nothing under a refused tag is built, or worth checking
        if isinstance(node, yaml.ScalarNode):
            self._check_scalar(node)
            return []
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        self._check_keys(node)
        return [part for pair in node.value for part in pair]

    def _problem(self, node: Any, text: str) -> None:
        self._found.append((node, text))

    def _check_scalar(self, node: Any) -> None:
        if node.style is not None:  # quoted or block text is text
            return
        value = node.value
        if node.tag == _YAML + "int" and not _PLAIN_INT.fullmatch(value):
            number = yaml.safe_load(value)
            self._problem(
                node,
                f"{value} is read by YAML as the number {number}; "
                f"write {number}, or quote it ('{value}') if you mean text",
            )
        elif node.tag == _YAML + "bool" and value.lower() in _YAML11_BOOLS:
            meaning = "true" if value.lower() in ("yes", "on") else "false"
            self._problem(
                node,
                f"{value} is read by YAML as {meaning}; write {meaning}, "
                f"or quote it ('{value}') if you mean text",
            )

    def _check_keys(self, node: Any) -> None:
        """A key given twice in one mapping: YAML would keep the last value silently."""
        first: dict[Any, Any] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag not in _PLAIN_TAGS:
                continue  # refused as a tag, or not a key at all (building it says so)
            # Keys as Python sees them: `1`, `1.0` and `true` are one key, as in a dict.
            value = self._loader.construct_object(key)
            if value in first:
                line = first[value].start_mark.line + 1
                self._problem(
                    key,
                    f"the key {key.value!r} is given twice in one mapping "
                    f"(first on line {line}); give it once",
                )
            else:
                first[value] = key

    def _anchor_problems(self) -> list[str]:
        found: list[tuple[Any, str]] = []
        for key, (anchor, node) in self._loader.anchored.items():
            times = self._reused.get(key, 0)
            said = (
                f"this value is used again through an alias (*name), {times:,} "
                f"time{'s' if times > 1 else ''}; write it out{self._alias_hint}"
                if times
                else f"the anchor &{anchor} is not needed"
            )
            found.append((node, f"{said}: a {self._kind} may not use anchors and aliases"))
        return _in_order(found)
