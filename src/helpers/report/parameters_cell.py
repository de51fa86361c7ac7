"""Which names a report notebook's parameters cell sets, read from the kernel's input history.

A report notebook opens its brief with ``helpers.open_brief("brief", globals())``. The
namespace holds the analyst's own variables too (``x = 1`` in a scratch cell), so checking
every name in it against the notebook's parameters would reject a cell run again after some
scratch work. What is checked instead is what the *parameters cell* sets, as IPython recorded
it in its input history (``In``): a misspelt ``partnr = "China"`` there is still an error, a
scratch variable elsewhere is not.

The parameters cell is found from the source of the cells run before the current one, the
latest first:

* papermill's injected cell (its first line is ``# Parameters``), with the notebook's own
  parameters cell run just before it;
* otherwise, the latest cell that is nothing but assignments to names (as a parameters cell
  is) and sets at least one of the notebook's parameters. A scratch ``x = 1`` sets none, so it
  is passed over; a scratch ``partner = "China"`` is such a cell, and its names are checked.

Outside a kernel, for a namespace that is not the kernel's, or when no such cell is in the
history, :func:`parameter_names` returns ``None`` and every plain value in the namespace is
checked, as before.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from IPython import get_ipython

#: The first line of the cell papermill injects (``papermill.translators``, Python).
INJECTED_HEADER = "# Parameters"


def assigned_names(source: str) -> list[str] | None:
    """The names a cell of assignments only sets, in order; ``None`` for any other cell
    (one that calls, imports, defines, or assigns to an attribute or an item).

    Examples
    --------
    >>> assigned_names('partner: str = "Russia"  # the partner\\nmax_rows = 15')
    ['partner', 'max_rows']
    >>> assigned_names("brief.timeline()") is None
    True
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                parts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
                if not all(isinstance(part, ast.Name) for part in parts):
                    return None
                names += [part.id for part in parts]
        else:
            return None
    return names or None


def is_injected(source: str) -> bool:
    """True for the parameters cell papermill injects."""
    return source.lstrip().startswith(INJECTED_HEADER)


def names_in_history(history: Sequence[str], parameters: Collection[str]) -> set[str] | None:
    """The names the parameters cell set, from the sources of the cells run so far.

    Parameters
    ----------
    history
        The cells' sources in the order they ran, the current cell left out (IPython's
        ``In[:-1]``: its first entry is empty).
    parameters
        The notebook's parameters (its schema's fields).

    Returns
    -------
    set of str or None
        ``None`` when no cell of the history is a parameters cell.
    """
    for i in range(len(history) - 1, -1, -1):
        names = assigned_names(history[i])
        if names is None:
            continue
        if is_injected(history[i]):
            before = assigned_names(history[i - 1]) if i > 0 else None
            own = before if before and not set(before).isdisjoint(parameters) else []
            return {*names, *own}
        if not set(names).isdisjoint(parameters):
            return set(names)
    return None


def parameter_names(namespace: Mapping[str, Any], parameters: Collection[str]) -> set[str] | None:
    """In a kernel, and for the kernel's own namespace (a cell's ``globals()``): the names its
    parameters cell set (:func:`names_in_history`). Otherwise ``None``."""
    shell = get_ipython()
    if shell is None or namespace is not getattr(shell, "user_ns", None):
        return None
    # input_hist_parsed is In: the cells' Python source, magics already translated; its last
    # entry is the cell running now (the one opening the brief).
    history = list(shell.history_manager.input_hist_parsed)
    return names_in_history(history[:-1], parameters)
