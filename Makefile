# Two commands do all the set-up on a fresh machine:
#   make briefs   install, register the kernel, render every notebook into reports/
#   make test     install with the test tools, lint, run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: briefs test test-fast lint format setup clean

$(STAMP): pyproject.toml scripts/system-deps.sh
	scripts/system-deps.sh test
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name myanmar-brief --display-name "Python (myanmar-brief)" >/dev/null
	touch $(STAMP)

setup: $(STAMP)

briefs: $(STAMP)
	$(BIN)/brief render

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/python scripts/check_notebooks.py notebooks

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/nbstripout notebooks/*.ipynb

test: lint
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

clean:
	rm -rf $(VENV) reports/*/ reports/index.html .pytest_cache test-artifacts
