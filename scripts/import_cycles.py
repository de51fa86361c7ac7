"""List the modules of a package that import each other, directly or round a longer loop.

    python scripts/import_cycles.py [PACKAGE ...]   # default: the whole package, helpers

Reads the import graph with grimp (import-linter's graph library), which counts every import
statement in a module: at its top, inside a function, and under ``if TYPE_CHECKING:`` alike
(``build_graph(..., exclude_type_checking_imports=False)``, its default, said here on purpose).
Prints each pair of modules that import each other, then each longer loop, and exits 1 if
there is any.
"""

from __future__ import annotations

import sys

import grimp


def _loops(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module) & modules:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                group.append(other)
                if other == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def main(packages: list[str]) -> int:
    graph = grimp.build_graph("helpers", exclude_type_checking_imports=False)
    modules = {
        module for package in packages for module in graph.find_descendants(package) | {package}
    }
    pairs = sorted(
        (a, b)
        for a in modules
        for b in graph.find_modules_directly_imported_by(a) & modules
        if a < b and graph.direct_import_exists(importer=b, imported=a)
    )
    for a, b in pairs:
        print(f"{a} <-> {b}")
    loops = [group for group in _loops(graph, modules) if len(group) > 2]
    for group in loops:
        print("loop: " + " -> ".join(group))
    if not pairs and not loops:
        print(f"no import cycle in {', '.join(packages)}")
    return 1 if pairs or loops else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["helpers"]))
