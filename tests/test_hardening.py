"""Hardening (issue 7): bad input, hostile data and faults, each one a test.

Every failure mode must end in a clear message, the right exit code, and nothing lost. The
table in ``docs/hardening.md`` lists each case with the test that covers it. Concurrency and
the soak (they need ``brief batch``) are in ``tests/test_hardening_batch.py``, hostile data
in ``tests/test_hardening_data.py``.

Fast tests drive :func:`helpers.cli.main` with the kernel replaced by :class:`KernelGuard`,
which records what would have been injected and checks it the way papermill would write it,
so no kernel starts. Tests marked ``slow`` start real kernels, WeasyPrint and Chromium.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import errno
import hashlib
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
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook

from helpers import params as P
from helpers import paths
from helpers.cli import main
from helpers.errors import ExecutionError
from helpers.pipeline import execute as execute_module
from helpers.pipeline import publish

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

    nb = parameterize_notebook(
        load_notebook_node(str(notebook)),
        dict(parameters),
        kernel_name=paths.KERNEL_NAME,
        language="python",
    )
    [cell] = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    tree = ast.parse(cell.source)
    literal = {}
    for statement in tree.body:
        assert isinstance(statement, ast.Assign), ast.dump(statement)
        [target] = statement.targets
        assert isinstance(target, ast.Name), ast.dump(statement)
        literal[target.id] = ast.literal_eval(statement.value)
    namespace: dict = {}
    exec(compile(tree, "<injected-parameters>", "exec"), namespace)
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

        from helpers.kernels import forkserver as kernels

        with (
            mock.patch.object(execute_module, "execute_notebook", self),
            mock.patch.object(AsyncKernelManager, "start_kernel", refuse),
            mock.patch.object(KernelManager, "start_kernel", refuse),
            # No warm-kernel zygote either (render starts one beside the jobs by default).
            mock.patch.dict(os.environ, {"BRIEF_WARM_KERNELS": "0"}),
            mock.patch.object(kernels, "zygote_in_background", refuse),
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
    "\u202e",  # right-to-left override: "Russia \u202eanihC" prints as "Russia China"
    "\u2067",  # right-to-left isolate
]
TEXT = st.lists(
    st.one_of(st.sampled_from(BREAKOUTS), st.text(max_size=8)), min_size=1, max_size=6
).map("".join)
# Unicode White_Space (what pydantic strips), not Python's isspace: that also counts \x1c-\x1f.
WHITE_SPACE = "".join(
    c for c in map(chr, range(0x3001)) if c.isspace() and c not in "\x1c\x1d\x1e\x1f"
)


def title_is_acceptable(value: str) -> bool:
    """The schema's rule for a title, restated: 1-160 characters, no control character (C0,
    DEL, C1), no line or paragraph separator, and no bidirectional embedding, override or
    isolate: the rule the data's text follows too (issue 15)."""
    text = value.strip(WHITE_SPACE)
    return 1 <= len(text) <= 160 and not re.search(
        r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", text
    )


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
def test_unknown_or_malformed_parameter_names_exit_4_before_a_kernel_starts(tmp_path, name, route):
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
    # Not a date: YAML's dates reach the schema as the text they were written as, as in a plan
    # and from -p, so `title: 2000-01-01` is a title (test_yamlfile.py).
    "title": st.one_of(NUMBERS, st.booleans(), LISTS, DICTS),
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
        st.text().filter(
            lambda s: s.strip(WHITE_SPACE).lower() not in ("russia", "china", "india")
        ),
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
    # Set by brief render itself (--since): any value given is refused.
    "since": st.one_of(NUMBERS, st.booleans(), LISTS, DICTS, st.text(max_size=20)),
}
assert set(WRONG) == set(FIELDS)


@FAST
@given(case=st.sampled_from(sorted(WRONG)).flatmap(lambda f: st.tuples(st.just(f), WRONG[f])))
@example(("max_rows", True))  # pydantic alone reads true as 1
@example(("as_of", 0))  # ... and a number as Unix time
@example(("end", "86400"))
@example(("data_dir", 5))
@example(("themes", []))
def test_values_of_the_wrong_type_or_out_of_range_exit_4_naming_the_parameter(tmp_path, case):
    name, value = case
    with guarded_run(tmp_path) as (guard, out, _):
        params_file = out.parent / "params.yaml"
        params_file.write_text(yaml.safe_dump({name: value}), encoding="utf-8")
        code, err = brief("render", "brief", "-f", params_file, "--out", out)

        assert code == 4, err
        assert f"'{name}" in err
        assert guard.calls == []
        assert not out.exists()


# Mostly from one year around the source's date, so that every ordering of the three turns
# up often; sometimes from anywhere in 1-9999.
DAY = st.one_of(st.dates(min_value=dt.date(2023, 6, 1), max_value=dt.date(2024, 6, 30)), st.dates())
DATES = st.one_of(st.none(), DAY)


@FAST
@given(as_of=DAY, start=DATES, end=DATES, max_rows=st.integers(-500, 500))
@example(dt.date(2024, 3, 2), dt.date(2024, 1, 2), dt.date(2024, 1, 1), 15)  # start > end
@example(dt.date(2024, 3, 2), None, dt.date(2024, 3, 3), 200)  # end > as_of
@example(dt.date(2024, 3, 2), dt.date(2024, 3, 2), dt.date(2024, 3, 2), 1)  # all one day
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
    with guarded_run(tmp_path) as (_, out, _):
        code, err = brief("render", "brief", "-p", "title", "x" * 100_000, "--out", out)
    assert code == 4
    assert "parameter 'title'" in err and "100000 characters" in err
    assert len(err) < 1000


def test_binary_values_from_python_are_refused_not_decoded(tmp_path):
    from helpers.errors import ParameterError

    with pytest.raises(ParameterError, match=r"parameter 'title' = b'hello': binary"):
        P.validate_parameters("brief", {"title": b"hello"})


# -- parameters: YAML files ------------------------------------------------------------------

# Eight levels of nine aliases: 4 * 9**8 (some 170 million) values if expanded, from nine lines.
BILLION_LAUGHS = (
    'x0: &x0 ["defence", "energy", "defence", "energy"]\n'
    + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]\n" for i in range(1, 8))
    + f"themes: [{', '.join(['*x7'] * 9)}]\n"
)
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
    "billion laughs": (BILLION_LAUGHS, 2, "alias"),
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
        code, err = brief("render", "brief", "-p", "data_dir", tmp_path / "nowhere", "--out", out)
    assert code == 4, err
    assert "data_dir" in err and "nowhere" in err
    assert guard.calls == []


# -- faults ----------------------------------------------------------------------------------

MARK = "BRIEF_HARDENING_MARK"


@pytest.fixture
def mark(monkeypatch) -> str:
    """A value every process started from now on inherits, to find kernels that outlive a run."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK, value)
    return value


def survivors(value: str, wait: float = 10) -> list[str]:
    """Live processes started with ``MARK=value`` (kernels, their children), after a grace period.

    Matching on an inherited environment variable, not on ``ipykernel_launcher`` in a command
    line, keeps kernels of other runs on the same machine out of the count.
    """
    deadline = time.monotonic() + wait
    while True:
        found = []
        for process in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error):
                if process.pid == os.getpid() or process.status() == psutil.STATUS_ZOMBIE:
                    continue
                command = " ".join(process.cmdline())
                # multiprocessing's resource tracker (started by a batch's process pool) is one
                # per process and lives as long as it, by design; it is not a kernel.
                if "multiprocessing.resource_tracker" in command:
                    continue
                if process.environ().get(MARK) == value:
                    found.append(f"{process.pid} {command[:120]}")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def tree(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, hidden ones too; a symlink by its target."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_file():
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def temporaries(out: Path) -> list[Path]:
    """Temporary files anywhere, anything in ``.tmp/``, and versions no run link points to."""
    found = [p for p in out.rglob("*") if p.name.endswith((".tmp", ".link"))]
    found += list((out / publish.TMP_NAME).glob("*"))
    for versions in out.glob(f"*/{publish.VERSIONS_NAME}/*"):
        current = (versions.parent.parent / versions.name).resolve()
        found += [v for v in versions.iterdir() if v.resolve() != current]
    return found


def tiny_notebook(folder: Path, *sources: str, name: str = "tiny") -> Path:
    """A notebook on the main brief's schema: parameters, then ``sources``; no heavy import."""
    params = new_code_cell("title = None\npartner = 'Russia'")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, *(new_code_cell(s) for s in sources)])
    nb.metadata["brief"] = {"schema": "brief"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


GOOD = "print(f'the good report on {partner}')"


@pytest.fixture(scope="module")
def good_report(tmp_path_factory) -> Path:
    """A published report of the tiny notebook (HTML and PDF), rendered once for these tests."""
    folder = tmp_path_factory.mktemp("good")
    notebook = tiny_notebook(folder / "nbs", GOOD)
    code, err = brief("render", notebook, "--out", folder / "out", "--timeout", "60")
    assert code == 0, err
    return folder


def copy_of(good: Path, target: Path) -> tuple[Path, Path]:
    """A copy of the good report (links kept): the notebook and the output folder."""
    shutil.copytree(good, target, symlinks=True)
    return target / "nbs" / "tiny.ipynb", target / "out"


FAULTS = {
    "a cell raises": ("raise ValueError('boom')", [], 5, "raised ValueError: boom"),
    "sys.exit(0)": ("import sys; sys.exit(0)", [], 5, "raised SystemExit: 0"),
    "os._exit(0)": ("import os; os._exit(0)", [], 5, "the kernel died while running cell 2"),
    "SIGKILL": (
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
        [],
        5,
        "the kernel died while running cell 2",
    ),
    "timeout": ("import time; time.sleep(120)", ["--timeout", "3"], 5, "timed out after 3 s"),
}


@pytest.mark.kernels
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_notebook_exits_with_its_code_and_loses_nothing(
    tmp_path, good_report, mark, fault
):
    source, options, expected, message = FAULTS[fault]
    notebook, out = copy_of(good_report, tmp_path / "copy")
    before = tree(out / "tiny")
    tiny_notebook(notebook.parent, source, "print('never')")

    code, err = brief("render", notebook, "--out", out, *options)

    assert code == expected, err
    assert message in err
    assert tree(out / "tiny") == before
    assert temporaries(out) == []
    assert survivors(mark) == []
    [record] = (out / "_failed" / "tiny" / "default").glob("*.error.txt")
    assert message in record.read_text()  # the failed attempt is kept for debugging
    assert list(record.parent.glob("*.ipynb"))


def _fsync_failing_for(suffix: str):
    """``os.fsync`` that fails with ENOSPC for the temporary file of a ``suffix`` output."""
    real = os.fsync

    def fsync(fd):
        target = os.readlink(f"/proc/self/fd/{fd}") if isinstance(fd, int) else ""
        if re.search(rf"{re.escape(suffix)}\.[^/]*\.tmp$", target):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    return fsync


@pytest.mark.kernels
@pytest.mark.parametrize("fault", ["pdf engine fails", "disk full writing the pdf"])
def test_a_failing_pdf_or_disk_exits_6_and_loses_nothing(tmp_path, good_report, mark, fault):
    import weasyprint

    notebook, out = copy_of(good_report, tmp_path / "copy")
    before = tree(out / "tiny")
    tiny_notebook(notebook.parent, "print('a new report that never lands')")

    def broken(*args, **kwargs):
        raise RuntimeError("the PDF engine crashed")

    patch = (
        mock.patch.object(weasyprint.HTML, "write_pdf", broken)
        if fault == "pdf engine fails"
        else mock.patch.object(os, "fsync", _fsync_failing_for(".pdf"))
    )
    with patch:
        code, err = brief("render", notebook, "--out", out)

    assert code == 6, err
    if fault == "pdf engine fails":
        assert "WeasyPrint failed to render the PDF: RuntimeError: the PDF engine crashed" in err
    else:
        assert "No space left on device" in err and "free some space" in err
    assert "tiny/default in pdf" in err
    assert tree(out / "tiny") == before
    assert temporaries(out) == []
    assert survivors(mark) == []


def test_a_full_disk_seen_by_papermill_is_a_publishing_failure_not_a_notebook_one(
    tmp_path, monkeypatch
):
    from helpers.pipeline import render

    notebook = tiny_notebook(tmp_path / "nbs", GOOD)

    def full(*args, **kwargs):
        # What execute_notebook raises when papermill cannot save the notebook it runs.
        raise ExecutionError("tiny.ipynb: the run failed in cell 2: OSError: ...") from OSError(
            errno.ENOSPC, "No space left on device", "/out/.tmp/x/tiny.ipynb"
        )

    monkeypatch.setattr(execute_module, "execute_notebook", full)
    [job] = render.prepare([notebook], out_dir=tmp_path / "out", check_data=False)
    result = render.render_job(job)
    assert (result.status, result.phase, result.exit_code) == ("failed", "execute", 6)
    assert "No space left on device: /out/.tmp/x/tiny.ipynb" in result.error


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted under ``tmp_path`` (needs root and CAP_SYS_ADMIN), unmounted after."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_output_folder_exits_6_before_a_kernel_starts(tmp_path, tmpfs):
    notebook = tiny_notebook(tmp_path / "nbs", GOOD)
    out = tmpfs / "out"
    stage = publish.staging_dir(out, "old")  # a published report, made without a kernel
    (stage / "tiny.html").write_text("<p>the report readers have</p>", encoding="utf-8")
    publish.publish_run(stage, out, "tiny", "default")
    before = tree(out)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    with KernelGuard().installed() as guard:
        code, err = brief("render", notebook, "--out", out)
    assert code == 6, err
    assert "Read-only file system" in err and "choose a writable folder with --out" in err
    assert guard.calls == []
    assert tree(out) == before


@pytest.mark.kernels
def test_a_full_disk_exits_6_keeps_everything_and_the_next_run_recovers(
    tmp_path, good_report, tmpfs, mark
):
    notebook, out = copy_of(good_report, tmpfs / "copy")
    before = tree(out)
    filler = tmpfs / "filler"
    with open(filler, "wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()

    code, err = brief("render", notebook, "--out", out)

    assert code == 6, err
    assert "No space left on device" in err
    assert "could not write" in err  # the index, reported with the job, not instead of it
    assert "tiny/default in execute" in err
    assert tree(out) == before
    assert temporaries(out) == []
    assert survivors(mark) == []

    filler.unlink()
    code, err = brief("render", notebook, "--out", out)
    assert code == 0, err
    assert temporaries(out) == []


def test_the_survivor_probe_finds_a_marked_process(mark):
    # The control for every `survivors(mark) == []` above: a marked process is seen.
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert [line.split()[0] for line in survivors(mark, wait=0)] == [str(child.pid)]
    finally:
        child.kill()
        child.wait()
    assert survivors(mark) == []


KILL_WHILE_WRITING = """
import os, re, signal, sys
real = os.fsync

def fsync(fd):
    # SIGKILL this process halfway through writing the PDF: bytes written, not yet synced.
    if re.search(r"\\.pdf\\.[^/]*\\.tmp$", os.readlink(f"/proc/self/fd/{fd}")):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(fd)

os.fsync = fsync
from helpers.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.kernels
def test_killed_while_writing_the_pdf_leaves_the_old_report_and_no_temporaries(
    tmp_path, good_report, mark
):
    notebook, out = copy_of(good_report, tmp_path / "copy")
    before = tree(out / "tiny")
    tiny_notebook(notebook.parent, "print('a new report that never lands')")
    done = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_WRITING, "render", str(notebook), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -9, done.stderr
    assert " pdf" in done.stdout  # killed in the PDF phase, not before
    half_written = [p for p in temporaries(out) if p.name.endswith(".tmp")]
    assert half_written, "the kill should have left the half-written PDF in .tmp/"
    assert tree(out / "tiny") == before
    assert survivors(mark) == []
    with publish.locked(out):  # what the next run does first
        pass
    assert temporaries(out) == []
    assert tree(out / "tiny") == before


# -- hostile but valid parameters, through a real kernel -------------------------------------

HOSTILE_TITLES = [
    "He said \"no\" \\ it's <b>bold</b> </script><script>document.title='PWNED'</script>",
    "\\\" + __import__('os').system('touch CANARY') + \"",
    "{{ 7*7 }} ${7*7} \\input{/etc/passwd} $\\alpha$ [x](javascript:alert(1)) \"\"\" '''",
]


class Page(HTMLParser):
    """An HTML page as a browser would build it: its elements, and the text of each kind."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in ("img", "meta", "link", "br", "hr", "input"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data):
        for tag in set(self._open):
            self.texts.setdefault(tag, []).append(data)

    def text(self, tag: str = "html") -> str:
        return "".join(self.texts.get(tag, []))


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(path).pages)


def squeeze(text: str) -> str:
    """Without whitespace: PDF text extraction breaks lines where the layout did."""
    return re.sub(r"\s+", "", text)


def straight(text: str) -> str:
    """Quotes as typed: a brief prints data with curly quotes (one house style, issue 20),
    which is typography, not a change to the payload."""
    return text.translate(
        str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
    )


@pytest.mark.kernels
@pytest.mark.parametrize("number", range(len(HOSTILE_TITLES)))
def test_hostile_but_valid_titles_reach_the_kernel_html_and_pdf_literally(tmp_path, number, mark):
    canary = tmp_path / "CANARY"
    title = plant(HOSTILE_TITLES[number], canary)
    notebook = tiny_notebook(tmp_path / "nbs", "title")
    out = tmp_path / "out"

    code, err = brief("render", notebook, "-p", "title", title, "--out", out)

    assert code == 0, err
    [run] = [p for p in (out / "tiny").iterdir() if not p.name.startswith(".")]
    executed = nbformat.read(run / "tiny.ipynb", as_version=4)
    shown = executed.cells[-1].outputs[0]["data"]["text/plain"]
    assert ast.literal_eval(shown) == title  # the kernel got the very string
    source = (run / "tiny.html").read_text(encoding="utf-8")
    page = Page(source)
    assert page.text("h1") == title
    assert page.text("title") == title
    assert [tag for tag, _ in page.elements if tag in ("script", "b")] == []
    assert squeeze(title) in squeeze(pdf_text(run / "tiny.pdf"))
    assert title in Page((out / "index.html").read_text(encoding="utf-8")).text("td")
    assert not canary.exists()
    assert survivors(mark) == []


def dump_dom(page: Path, tmp_path: Path) -> str:
    """The DOM after Chromium loaded ``page`` and ran whatever scripts it would."""
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / ('profile-' + page.stem)}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout
