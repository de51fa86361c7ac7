# Two commands do all the set-up on a fresh machine:
#   make briefs   install what the briefs need (JupyterLab too, to open them), register the
#                 kernel, render every notebook into reports/
#   make test     install the test tools too (and Dask), lint, run the whole test suite in
#                 parallel
# Each level of install leaves a stamp in the virtualenv, so it runs once (again only when
# pyproject.toml or scripts/system-deps.sh change); `make test` after `make briefs` adds only
# the test level.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
LAB_STAMP     := $(VENV)/.installed-lab
TEST_STAMP    := $(VENV)/.installed-test
# pytest-xdist's workers for `make test` (`auto`: one per core); `make test TEST_WORKERS=0`
# runs the suite in one process.
TEST_WORKERS  ?= auto

.PHONY: briefs install test test-fast test-soak lint format setup clean proof

# The runtime: Pango and fonts (Debian), the package and its dependencies, the kernel. Lean:
# no JupyterLab, no Dask (the [lab] and [dask] extras).
$(RUNTIME_STAMP): pyproject.toml scripts/system-deps.sh
	scripts/system-deps.sh runtime
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name myanmar-brief --display-name "Python (myanmar-brief)" >/dev/null
	touch $@

# JupyterLab, to open the notebooks (README, "Opening the notebooks in JupyterLab").
$(LAB_STAMP): $(RUNTIME_STAMP)
	$(BIN)/python -m pip install -q -e '.[lab]'
	touch $@

# The tests on top: Chromium, poppler-utils and npm (Debian), the [test] extras with JupyterLab
# (the doors' Jupyter server) and Dask (the cluster tests), and axe-core from npm into
# tests/node_modules (tests/package.json and its lock file).
$(TEST_STAMP): $(LAB_STAMP) tests/package.json tests/package-lock.json
	scripts/system-deps.sh test
	$(BIN)/python -m pip install -q -e '.[test,lab,dask]'
	cd tests && npm ci --no-audit --no-fund --silent
	touch $@

# What rendering needs and nothing else (no Chromium, no test tools): for the CI recipe in
# docs/scheduling.md and any machine that only renders.
install: $(RUNTIME_STAMP)

# Everything, for development.
setup: $(TEST_STAMP)

briefs: $(LAB_STAMP)
	$(BIN)/brief render

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py
	$(BIN)/python scripts/check_notebooks.py notebooks

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/nbstripout notebooks/*.ipynb

# The whole suite but the soak tests (100 jobs in a row, ~4 minutes; their 20-job versions
# run): `make test-soak` runs those. In parallel, one test file per worker at a time
# (--dist loadfile), so that a module's rendered briefs (module-scoped fixtures) are made
# once, not once per worker.
test: lint
	$(BIN)/pytest -m "not soak" -n $(TEST_WORKERS) --dist loadfile

test-soak: $(TEST_STAMP)
	$(BIN)/pytest -m soak

test-fast: $(TEST_STAMP)
	$(BIN)/pytest -m "not slow"

# The proof over the whole parameter grid, pruned (docs/proof.md): renders into reports/_proof/
# and checks every brief; exit 1 on any violation. `brief proof --sample` runs the CI sample.
proof: $(TEST_STAMP)
	$(BIN)/brief proof

clean:
	rm -rf $(VENV) reports/*/ reports/index.html reports/feed.xml .pytest_cache test-artifacts tests/node_modules

# Runs the cron, systemd and CI recipes of docs/scheduling.md as written, on plans/daily.yaml
# (about 2 minutes on 2 cores). The CI steps use this VENV instead of their `make install`; to
# run that step too (Debian packages, a new virtualenv and pip install in a clone), run the
# script: scripts/check-scheduling.sh (--help for its options).
.PHONY: check-scheduling
check-scheduling: $(RUNTIME_STAMP)
	VENV="$(abspath $(VENV))" scripts/check-scheduling.sh --reuse-venv

# The fork server (src/helpers/kernels) uses jupyter_client's, ipykernel's and pyzmq's
# internals, so pyproject.toml bounds them below their next major versions. This runs the
# kernel tests with the newest releases of the three, bounds ignored, in a throw-away
# virtualenv (left in place if a step fails, for a look; removed on success).
.PHONY: test-kernels-latest
test-kernels-latest: LATEST := $(VENV)-latest
test-kernels-latest:
	scripts/system-deps.sh runtime
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install -q --upgrade pip
	$(LATEST)/bin/python -m pip install -q -e '.[test]'
	$(LATEST)/bin/python -m pip install -q --upgrade jupyter_client ipykernel pyzmq
	$(LATEST)/bin/python -m pip list 2>/dev/null | grep -iE '^(jupyter.client|ipykernel|pyzmq) '
	$(LATEST)/bin/python -m ipykernel install --sys-prefix --name myanmar-brief --display-name "Python (myanmar-brief)" >/dev/null
	JUPYTER_PREFER_ENV_PATH=1 $(LATEST)/bin/pytest -p no:cacheprovider tests/kernels/test_kernels.py
	rm -rf $(LATEST)
