"""Hardening (issue 7): bad input, hostile data and faults, each one a test.

Every failure mode must end in a clear message, the right exit code, and nothing lost. The
table in ``docs/hardening.md`` lists each case with the test that covers it. Concurrency and
the soak (they need ``brief batch``) are in ``tests/test_hardening_batch.py``.

Fast tests drive :func:`helpers.cli.main` with the kernel replaced by :class:`KernelGuard`,
which records what would have been injected and checks it the way papermill would write it,
so no kernel starts. Tests marked ``slow`` start real kernels, WeasyPrint and Chromium.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import csv
import errno
import hashlib
import html
import io
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

import nbformat
import psutil
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from nbformat.v4 import new_code_cell, new_notebook

from helpers import execute as execute_module
from helpers import params as P
from helpers import paths, publish
from helpers.cli import main
from helpers.errors import ExecutionError

CHROMIUM = Path("/usr/bin/chromium")
FIELDS = tuple(P.BriefParams.model_fields)
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# -- helpers -------------------------------------------------------------------------------------


def brief(*argv: object) -> tuple[int, str]:
    """Run ``brief ARGV`` in this process; return the exit code and what went to stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def injected_values(notebook: Path, parameters: dict) -> dict:
    """Parameterize ``notebook`` exactly as papermill does, then read the injected cell back.

    Fails (``AssertionError``) if the cell is anything but one plain assignment of a literal
    per parameter; otherwise ``exec``-s it, so a break-out would also run (and leave the
    canary file), and returns the names it bound.
    """
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(notebook)), dict(parameters), language="python")
    [cell] = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    tree = ast.parse(cell.source)
    literal = {}
    for statement in tree.body:
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        [target] = statement.targets
        assert isinstance(target, ast.Name), ast.dump(statement)
        literal[target.id] = ast.literal_eval(statement.value)
    namespace: dict = {}
    exec(compile(tree, "<injected-parameters>", "exec"), namespace)  # noqa: S102
    assert {k: namespace[k] for k in literal} == literal
    return literal


class KernelGuard:
    """Stands in for :func:`helpers.execute.execute_notebook` and for every way to a kernel.

    Records each call and checks the injection (:func:`injected_values`); problems are kept
    in ``problems`` because the render pipeline turns any exception into exit 5. Then it
    stops the run with an ExecutionError, so an accepted request exits 5 and a rejected one
    must exit before reaching it.
    """

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.problems: list[str] = []

    def __call__(self, notebook, output_path, parameters=None, **kwargs):
        self.calls.append(dict(parameters or {}))
        try:
            if injected_values(Path(notebook), dict(parameters or {})) != parameters:
                self.problems.append(f"injected values differ from {parameters!r}")
        except Exception as exc:  # an assertion from the check, or a syntax error
            self.problems.append(f"{type(exc).__name__}: {exc}")
        raise ExecutionError("stopped by the test where the kernel would start")

    @contextlib.contextmanager
    def installed(self) -> Iterator[KernelGuard]:
        from jupyter_client.manager import AsyncKernelManager, KernelManager

        def refuse(*args, **kwargs):
            self.problems.append("a kernel manager tried to start a kernel")
            raise AssertionError("a kernel was started")

        with (
            mock.patch.object(execute_module, "execute_notebook", self),
            mock.patch.object(AsyncKernelManager, "start_kernel", refuse),
            mock.patch.object(KernelManager, "start_kernel", refuse),
        ):
            yield self


@contextlib.contextmanager
def guarded_run(root: Path) -> Iterator[tuple[KernelGuard, Path, Path]]:
    """A fresh output folder and canary path under ``root``, with the kernel guarded."""
    work = Path(tempfile.mkdtemp(dir=root))
    guard = KernelGuard()
    with guard.installed():
        yield guard, work / "out", work / "CANARY"
    shutil.rmtree(work, ignore_errors=True)


def plant(text: str, canary: Path) -> str:
    return text.replace("CANARY", str(canary))


# Strings written to break out of papermill's `name = "value"` line, or to mean something to
# a later stage (HTML, Jinja, LaTeX, format strings). CANARY becomes the canary file's path.
BREAKOUTS = [
    '"',
    "'",
    "\\",
    '\\"',
    '"""',
    "'''",
    "\\n",
    "\n",
    "\r",
    "\x00",
    "\u2028",
    "\x85",
    '"\n__import__("os").system("touch CANARY")\n"',
    "\\\n__import__('os').system('touch CANARY')",
    "\n__import__('os').system('touch CANARY')",
    "')\n__import__('os').system('touch CANARY')#",
    '"""; __import__("os").system("touch CANARY"); """',
    '\\"; __import__("os").system("touch CANARY"); #',
    "</script><script>document.title='PWNED'</script>",
    "{{ 7*7 }}",
    "${7*7}",
    "%(x)s {0}",
    "\\input{/etc/passwd}",
]
TEXT = st.lists(
    st.one_of(st.sampled_from(BREAKOUTS), st.text(max_size=8)), min_size=1, max_size=6
).map("".join)
# Unicode White_Space (what pydantic strips), not Python's isspace: that also counts \x1c-\x1f.
WHITE_SPACE = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f"
)


def title_is_acceptable(value: str) -> bool:
    """The schema's rule for a title, restated: 1-160 characters, no control character."""
    text = value.strip(WHITE_SPACE)
    return 1 <= len(text) <= 160 and not re.search(r"[\x00-\x1f\x7f]", text)


# -- parameters: names -----------------------------------------------------------------------

NAMES = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
    st.sampled_from(
        [
            *keyword.kwlist,
            "__import__",
            "__builtins__",
            "get_ipython",
            "helpers",
            "os",
            "𝐭𝐢𝐭𝐥𝐞",  # NFKC makes Python read this as `title`
            "ｔｉｔｌｅ",
            "TITLE",
            "title ",
            " title",
            "title\n",
            "x\nimport os",
            "title=1;import os;x",
            "as_of\n__import__('os').system('touch CANARY')\nx",
            "",
        ]
    ),
).filter(lambda name: name not in FIELDS)


@FAST
@given(name=NAMES, route=st.sampled_from(["-p", "-f"]))
def test_unknown_or_malformed_parameter_names_exit_4_before_a_kernel_starts(
    tmp_path, name, route
):
    with guarded_run(tmp_path) as (guard, out, canary):
        name = plant(name, canary)
        if route == "-p":
            args = ["-p", name, "x"]
        else:
            params_file = out.parent / "params.yaml"
            params_file.write_text(yaml.safe_dump({name: "x"}), encoding="utf-8")
            assume(yaml.safe_load(params_file.read_text(encoding="utf-8")) == {name: "x"})
            args = ["-f", params_file]
        code, err = brief("render", "brief", *args, "--out", out)

        assert code == 4, err
        assert "unknown parameter" in err or "is not a valid name" in err
        assert repr(name)[:20] in err
        assert guard.calls == [] and guard.problems == []
        assert not out.exists()
        assert not canary.exists()


# -- parameters: values ----------------------------------------------------------------------


@FAST
@given(title=TEXT, route=st.sampled_from(["-p", "-f"]))
def test_a_title_is_refused_with_exit_4_or_reaches_the_kernel_literally(tmp_path, title, route):
    with guarded_run(tmp_path) as (guard, out, canary):
        title = plant(title, canary)
        if route == "-p":
            args = ["-p", "title", title]
        else:
            params_file = out.parent / "params.yaml"
            params_file.write_text(yaml.safe_dump({"title": title}), encoding="utf-8")
            assume(yaml.safe_load(params_file.read_text(encoding="utf-8")) == {"title": title})
            args = ["-f", params_file]
        code, err = brief("render", "brief", *args, "--out", out)

        if title_is_acceptable(title):
            assert code == 5, err  # the guard stopped it where the kernel would start
            [injected] = guard.calls
            assert injected["title"] == title.strip(WHITE_SPACE)
            assert guard.problems == []
        else:
            assert code == 4, err
            assert "parameter 'title'" in err
            assert guard.calls == []
            assert not out.exists()
        assert not canary.exists()


def _not(values: tuple, strategy: st.SearchStrategy) -> st.SearchStrategy:
    return strategy.filter(lambda v: not (isinstance(v, str) and v.strip(WHITE_SPACE) in values))


LISTS = st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3)
DICTS = st.dictionaries(st.text(max_size=5), st.integers(), min_size=1, max_size=2)
NUMBERS = st.one_of(st.integers(), st.floats())
BOOL_WORDS = ("0", "1", "true", "false", "yes", "no", "on", "off", "t", "f", "y", "n")
# For each parameter, values of a type (or in a range) it does not take.
WRONG = {
    "title": st.one_of(NUMBERS, st.booleans(), LISTS, DICTS, st.dates()),
    "as_of": st.one_of(
        NUMBERS, st.booleans(), LISTS, DICTS, st.none(), st.integers().map(str), st.just("")
    ),
    "start": st.one_of(NUMBERS, st.booleans(), LISTS, DICTS, st.integers().map(str)),
    "end": st.one_of(NUMBERS, st.booleans(), LISTS, DICTS, st.sampled_from(["0", "86400"])),
    "partner": st.one_of(
        NUMBERS,
        st.booleans(),
        LISTS,
        DICTS,
        st.none(),
        st.text().filter(lambda s: s.strip(WHITE_SPACE).lower() not in ("russia", "china", "india")),
    ),
    "paper": st.one_of(
        NUMBERS, st.booleans(), LISTS, DICTS, st.none(), _not(("A4", "Letter"), st.text())
    ),
    "include_undated": st.one_of(
        st.integers().filter(lambda n: n not in (0, 1)),
        st.floats().filter(lambda f: f not in (0.0, 1.0)),
        LISTS,
        DICTS,
        st.none(),
        st.text().filter(lambda s: s.strip(WHITE_SPACE).lower() not in BOOL_WORDS),
    ),
    "max_rows": st.one_of(
        st.booleans(),
        st.integers().filter(lambda n: not 1 <= n <= 200),
        st.floats().filter(lambda f: not (f == f and f.is_integer() and 1 <= f <= 200)),
        st.sampled_from(["1e3", "0x10", "twenty", "", "20.5"]),
        LISTS,
        DICTS,
        st.none(),
    ),
    "themes": st.one_of(
        NUMBERS,
        st.booleans(),
        DICTS,
        st.none(),
        st.just([]),
        st.just(","),
        st.lists(st.text(max_size=8), min_size=1, max_size=3).filter(
            lambda xs: any(x.strip(WHITE_SPACE) not in P.THEMES for x in xs)
        ),
    ),
    "data_dir": st.one_of(NUMBERS, st.booleans(), LISTS, DICTS),
}
assert set(WRONG) == set(FIELDS)


@FAST
@given(case=st.sampled_from(sorted(WRONG)).flatmap(lambda f: st.tuples(st.just(f), WRONG[f])))
def test_values_of_the_wrong_type_or_out_of_range_exit_4_naming_the_parameter(tmp_path, case):
    name, value = case
    with guarded_run(tmp_path) as (guard, out, canary):
        params_file = out.parent / "params.yaml"
        params_file.write_text(yaml.safe_dump({name: value}), encoding="utf-8")
        code, err = brief("render", "brief", "-f", params_file, "--out", out)

        assert code == 4, err
        assert f"'{name}" in err
        assert guard.calls == []
        assert not out.exists()


DATES = st.one_of(st.none(), st.dates())


@FAST
@given(as_of=st.dates(), start=DATES, end=DATES, max_rows=st.integers(-500, 500))
def test_the_window_and_row_limit_are_checked_exactly_as_documented(
    tmp_path, as_of, start, end, max_rows
):
    args = ["-p", "as_of", as_of.isoformat(), "-p", "max_rows", str(max_rows)]
    args += ["-p", "start", start.isoformat() if start else "None"]
    args += ["-p", "end", end.isoformat() if end else "None"]
    expected = (
        1 <= max_rows <= 200
        and (start is None or start <= as_of)
        and (end is None or end <= as_of)
        and (start is None or end is None or start <= end)
    )
    with guarded_run(tmp_path) as (guard, out, _):
        code, err = brief("render", "brief", *args, "--out", out)
        if expected:
            assert code == 5, err
            [injected] = guard.calls
            assert injected["as_of"] == as_of.isoformat()
            assert injected["start"] == (start.isoformat() if start else None)
            assert injected["max_rows"] == max_rows
            assert guard.problems == []
        else:
            assert code == 4, err
            assert guard.calls == []


def test_a_number_is_not_a_date_even_though_pydantic_would_read_it_as_unix_time(tmp_path):
    with guarded_run(tmp_path) as (guard, out, _):
        code, err = brief("render", "brief", "-p", "as_of", "0", "--out", out)
    assert code == 4
    assert "parameter 'as_of' = '0'" in err and "YYYY-MM-DD" in err
    assert guard.calls == []


def test_a_huge_value_is_named_without_being_echoed_whole(tmp_path):
    with guarded_run(tmp_path) as (guard, out, _):
        code, err = brief("render", "brief", "-p", "title", "x" * 100_000, "--out", out)
    assert code == 4
    assert "parameter 'title'" in err and "100000 characters" in err
    assert len(err) < 1000


def test_binary_values_from_python_are_refused_not_decoded(tmp_path):
    from helpers.errors import ParameterError

    with pytest.raises(ParameterError, match=r"parameter 'title' = b'hello': binary"):
        P.validate_parameters("brief", {"title": b"hello"})


# -- parameters: YAML files ------------------------------------------------------------------

YAML_FILES = {
    "!!binary": ("title: !!binary aGVsbG8=\n", 2, "tag"),
    "!!python/object/apply": (
        "title: !!python/object/apply:os.system ['touch CANARY']\n",
        2,
        "tag",
    ),
    "!!python/name": ("title: !!python/name:os.system\n", 2, "tag"),
    "!!python/object/new": (
        "title: !!python/object/new:subprocess.Popen [[touch, CANARY]]\n",
        2,
        "tag",
    ),
    "top-level apply": ("!!python/object/apply:os.system ['touch CANARY']\n", 2, "tag"),
    "!!set": ("title: !!set {a: null}\n", 2, "tag"),
    "local tag": ("title: !shout hello\n", 2, "tag"),
    "alias": ("x: &t hello\ntitle: *t\n", 2, "alias"),
    "billion laughs": (
        'x0: &x0 ["defence", "energy", "defence", "energy", "defence", "energy"]\n'
        + "".join(
            f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]\n" for i in range(1, 9)
        ).replace("x8: ", "themes: "),
        2,
        "alias",
    ),
    "not a mapping": ("- title\n- x\n", 2, "mapping"),
    "nul in data_dir": ('data_dir: "a\\0b"\n', 4, "data_dir"),
    "nul in title": ('title: "a\\0b"\n', 4, "title"),
}


@pytest.mark.parametrize("case", list(YAML_FILES))
def test_parameters_files_with_tags_aliases_or_odd_bytes_are_refused_before_a_kernel(
    tmp_path, case
):
    text, expected, word = YAML_FILES[case]
    with guarded_run(tmp_path) as (guard, out, canary):
        params_file = out.parent / "params.yaml"
        params_file.write_text(plant(text, canary), encoding="utf-8")
        started = time.monotonic()
        code, err = brief("render", "brief", "-f", params_file, "--out", out)
        assert time.monotonic() - started < 20  # an alias bomb must not hang the run
        assert code == expected, err
        assert word in err
        assert str(params_file) in err or expected == 4
        assert guard.calls == []
        assert not out.exists()
        assert not canary.exists()


def test_a_parameters_file_that_is_not_utf8_is_a_usage_error(tmp_path):
    with guarded_run(tmp_path) as (guard, out, _):
        params_file = out.parent / "params.yaml"
        params_file.write_bytes(b'title: "\xff\xfe"\n')
        code, err = brief("render", "brief", "-f", params_file, "--out", out)
    assert code == 2, err
    assert "UTF-8" in err and str(params_file) in err
    assert guard.calls == []


def test_a_data_dir_parameter_that_is_not_a_folder_is_a_parameter_error(tmp_path):
    with guarded_run(tmp_path) as (guard, out, _):
        code, err = brief(
            "render", "brief", "-p", "data_dir", tmp_path / "nowhere", "--out", out
        )
    assert code == 4, err
    assert "data_dir" in err and "nowhere" in err
    assert guard.calls == []
