# Two commands are all the set-up there is on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test fuzz bench bench-plan bench-tui bench-registry bench-storage screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-installs only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,web]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/ocitree

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# The fuzz tests with a long budget (not in CI; `make test` runs them briefly): FUZZ_EXAMPLES cases
# per reader. The statistics at the end say how many cases each test tried.
FUZZ_EXAMPLES ?= 5000
fuzz: $(VENV)/.installed-test
	OCITREE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz_readers.py -q -p no:cacheprovider --hypothesis-show-statistics

# Benchmarks measure; they are not tests. Each prints a table and writes bench/results/*.json.
bench: bench-plan bench-tui bench-registry bench-storage

bench-plan: $(VENV)/.installed-test
	$(BIN)/python -m bench.plan_bench

bench-tui: $(VENV)/.installed-test
	$(BIN)/python -m bench.tui_bench

bench-registry: $(VENV)/.installed-test
	$(BIN)/python -m bench.registry_bench --rounds 5

bench-storage: $(VENV)/.installed-test
	$(BIN)/python -m bench.storage_bench

clean:
	rm -rf $(VENV) build *.egg-info

# The README's pictures and one per step of docs/demo.md (docs/screenshots/*.svg), drawn by
# Textual from the demo registry; tests/test_screenshots.py fails when they are out of date.
screenshots: $(VENV)/.installed-test
	$(BIN)/python -m tests.screenshots
