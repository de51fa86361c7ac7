"""Paths: a source checkout finds its own folders; an installed package finds what it shipped."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from helpers import paths


def test_a_checkout_finds_its_data_notebooks_and_reports_beside_src():
    assert paths.IS_CHECKOUT
    assert Path(__file__).resolve().parents[1] == paths.PROJECT_ROOT
    assert (paths.DATA_DIR / "datapackage.json").is_file()
    assert sorted(p.stem for p in paths.report_notebooks()) == ["brief", "defence", "energy_trade"]
    assert paths.REPORTS_DIR == paths.PROJECT_ROOT / "reports"


def test_brief_list_names_the_shipped_notebooks_plans_docs_and_where_sources_are_looked_for(
    capsys,
):
    from helpers.cli import main

    assert main(["list"]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"source checkout: {paths.PROJECT_ROOT}\n")
    for notebook in paths.report_notebooks():
        assert f"  {notebook.stem:<14} {notebook}" in said
    assert f"  {paths.PLANS_DIR / 'daily.yaml'}" in said
    assert f"  {paths.DOCS_DIR / 'plans.md'}" in said
    assert f"reports (default --out): {paths.REPORTS_DIR}" in said
    assert main(["list", "--json"]) == 0
    shipped = json.loads(capsys.readouterr().out)
    assert shipped["sources"][-1] == str(paths.DEFAULT_SOURCES_DIR)
    assert paths.doc("plans.md", "On a Dask cluster") == (
        f"{paths.DOCS_DIR / 'plans.md'}, 'On a Dask cluster'"
    )


def _shipped_tree(target: Path) -> Path:
    """What a source distribution holds: enough to build the wheel, nothing of the venv."""
    root = paths.PROJECT_ROOT
    target.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(root / name, target / name)
    for name in ("src", "data", "notebooks", "plans", "docs"):
        shutil.copytree(
            root / name,
            target / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints"),
        )
    return target


def _runtime_dependencies(site: str) -> list[Path]:
    """This environment's files of the installed package's dependencies, extras left out:
    what ``pip install myanmar-brief`` installs, top-level names in site-packages."""
    from importlib import metadata

    from packaging.requirements import Requirement

    [package] = metadata.distributions(name="myanmar-brief", path=[site])
    todo: list[tuple[metadata.Distribution, set[str]]] = [(package, set())]
    seen: set[str] = set()
    tops: set[str] = set()
    while todo:
        dist, extras = todo.pop()
        for line in dist.requires or []:
            wanted = Requirement(line)
            if wanted.marker and not any(
                wanted.marker.evaluate({"extra": extra}) for extra in extras | {""}
            ):
                continue
            key = f"{wanted.name.lower().replace('_', '-')}{sorted(wanted.extras)}"
            if key not in seen:
                seen.add(key)
                todo.append((metadata.distribution(wanted.name), set(wanted.extras)))
        if dist is not package:
            tops.update(Path(f).parts[0] for f in dist.files or [] if Path(f).parts[0] != "..")
    purelib = Path(sysconfig.get_paths()["purelib"])
    return sorted(purelib / top for top in tops if (purelib / top).exists())


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """``pip install .`` (not editable) into a new environment: its folder, and the
    environment variables to run it with, away from this checkout.

    The environment borrows this one's runtime dependencies (no download): links to their
    files, through a ``.pth`` file, and nothing of the extras ([lab]: JupyterLab, [dask]:
    distributed, [test]), as ``pip install myanmar-brief`` leaves it; the package itself is
    installed from a wheel built offline.
    """
    tmp_path = tmp_path_factory.mktemp("installed")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    source = _shipped_tree(tmp_path / "source")
    install = [python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    # pip, setuptools and the wheel build borrow all of this environment's packages.
    Path(site, "zz-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*install, source], check=True, cwd=tmp_path)
    deps = tmp_path / "dependencies"
    deps.mkdir()
    for found in _runtime_dependencies(site):
        (deps / found.name).symlink_to(found)
    Path(site, "zz-dependencies.pth").write_text(f"{deps}\n")
    kernel = [python, "-m", "ipykernel", "install", "--sys-prefix", "--name", paths.KERNEL_NAME]
    subprocess.run(kernel, check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The borrowed dependencies' own data files (nbconvert's base templates) stay in this
    # environment's share/jupyter, where pip would have put them in the new one.
    env["JUPYTER_PATH"] = str(Path(sys.prefix, "share", "jupyter"))
    return venv, env


@pytest.mark.install
@pytest.mark.kernels
def test_an_installed_package_renders_the_shipped_notebooks_from_another_directory(
    tmp_path, installed
):
    """``pip install .`` (not editable) into a new environment, then ``brief render`` elsewhere,
    with the runtime dependencies only."""
    venv, env = installed
    python = venv / "bin" / "python"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = subprocess.run(
        [python, "-c", "import helpers.paths as p; print(p.IS_CHECKOUT, p.PROJECT_ROOT)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    ).stdout.split()
    share = venv / "share" / "myanmar-brief"
    assert found == ["False", str(share)]
    # Finding one's way: what is shipped, and where (before: no command said it, the
    # source texts were looked for in <prefix>/share/shared/source, and messages named
    # docs/*.md files the wheel did not hold).
    listed = subprocess.run(
        [venv / "bin" / "brief", "list", "--json"],
        check=True,
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    shipped = json.loads(listed.stdout)
    assert shipped["installed"] is True
    assert sorted(shipped["notebooks"]) == ["brief", "defence", "energy_trade"]
    assert all(Path(p).is_file() for p in shipped["notebooks"].values())
    assert [Path(p).name for p in shipped["plans"].values()] == ["daily.yaml"]
    assert {"README.md", "plans.md", "scheduling.md"} <= set(shipped["docs"])
    assert all(Path(p).is_file() for p in shipped["docs"].values())
    assert shipped["sources"][-1] == str(share / "source")
    pointed = subprocess.run(
        [python, "-c", "from helpers.batch.cluster import SHARED; print(SHARED)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    ).stdout
    page = re.search(r"\((\S+\.md), 'On a Dask cluster'\)", pointed)
    assert page is not None and Path(page[1]).is_file(), pointed
    run = subprocess.run(
        [venv / "bin" / "brief", "render", "--to", "html"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    for notebook in ("brief", "defence", "energy_trade"):
        html = elsewhere / "reports" / notebook / "default" / f"{notebook}.html"
        assert "Bottom line" in html.read_text(encoding="utf-8")


@pytest.mark.install
def test_an_installed_package_without_the_dask_extra_says_to_install_it(tmp_path, installed):
    # Before: distributed was a runtime dependency. Now the lean install has neither it nor
    # JupyterLab, and a batch on a scheduler says which extra to install, as a usage error.
    venv, env = installed
    python = venv / "bin" / "python"
    for extra in ("distributed", "dask", "jupyterlab"):
        probe = [python, "-c", f"import {extra}"]
        missing = subprocess.run(probe, capture_output=True, text=True, cwd=tmp_path, env=env)
        assert f"No module named '{extra}'" in missing.stderr, (extra, missing.stderr)
    plan = tmp_path / "plan.yaml"
    plan.write_text("version: 1\nformats: [html]\njobs:\n  - notebook: brief\n", "utf-8")
    argv = [venv / "bin" / "brief", "batch", plan, "--out", tmp_path / "out"]
    argv += ["--scheduler", "tcp://127.0.0.1:8786"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 2, done.stderr
    assert "needs the [dask] extra (distributed is missing)" in done.stderr
    assert "pip install 'myanmar-brief[dask]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
