"""The package's layout: short functions, and each module saying what it owns."""

from __future__ import annotations

import ast

from helpers import paths

#: Longest function body, in lines (docstring excluded), before it is cut along its sections.
MAX_FUNCTION_LINES = 80


def _functions():
    for path in sorted(paths.PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield path, node


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    lines = node.end_lineno - node.lineno + 1
    first = node.body[0]
    value = getattr(first, "value", None)
    if (
        isinstance(first, ast.Expr)
        and isinstance(value, ast.Constant)
        and isinstance(value.value, str)
    ):
        lines -= first.end_lineno - first.lineno + 1
    return lines


def test_no_function_is_longer_than_eighty_lines():
    long = [
        f"{path.relative_to(paths.PACKAGE_DIR)}:{node.lineno} {node.name} ({_body_lines(node)})"
        for path, node in _functions()
        if _body_lines(node) > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_every_module_opens_with_what_it_owns():
    bare = [
        str(path.relative_to(paths.PACKAGE_DIR))
        for path in sorted(paths.PACKAGE_DIR.rglob("*.py"))
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert bare == []
