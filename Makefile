# Two commands are all the set-up there is on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo check test fuzz bench bench-plan bench-prune bench-tui bench-registry bench-cli bench-storage screenshots clean

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

# mypy cannot follow the editable install's import hook, so it reads the package through links laid
# out as pyproject's package-dir installs it: build/mypy-path/ocitree/core -> core, and so on.
MYPY_PATH := build/mypy-path
$(MYPY_PATH)/ocitree: pyproject.toml
	rm -rf $@ && mkdir -p $@
	cd $@ && ln -s ../../../ocitree/*.py ../../../core ../../../tui ../../../sample_data .

# The type checker, configured in pyproject.toml: strict on core/, basic on tui/ and sample_data/.
check: $(VENV)/.installed-test | $(MYPY_PATH)/ocitree
	$(BIN)/python -m mypy

# The type checker first, then every test; the slowest 10 are listed at the end.
test: check
	$(BIN)/python -m pytest --durations=10

# The fuzz tests with a long budget (not in CI; `make test` runs them briefly): FUZZ_EXAMPLES cases
# per reader. The statistics at the end say how many cases each test tried.
FUZZ_EXAMPLES ?= 5000
fuzz: $(VENV)/.installed-test
	OCITREE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/functional/test_fuzz_readers.py -q -p no:cacheprovider --hypothesis-show-statistics

# Benchmarks measure; they are not tests. Each prints a table and writes bench/results/*.json.
bench: bench-plan bench-prune bench-tui bench-registry bench-cli bench-storage

bench-plan: $(VENV)/.installed-test
	$(BIN)/python -m bench.plan_bench

# A prune by rule on a million artifacts: from the loaded registry to the one plan (issue 12).
bench-prune: $(VENV)/.installed-test
	$(BIN)/python -m bench.prune_bench

bench-tui: $(VENV)/.installed-test
	$(BIN)/python -m bench.tui_bench

bench-registry: $(VENV)/.installed-test
	$(BIN)/python -m bench.registry_bench --rounds 5

# Whole processes as a user starts them, against floors measured in the same run (issue 10).
bench-cli: $(VENV)/.installed-test
	$(BIN)/python -m bench.cli_bench

bench-storage: $(VENV)/.installed-test
	$(BIN)/python -m bench.storage_bench

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache

# The README's pictures and one per step of docs/demo.md (docs/screenshots/*.svg), drawn by
# Textual from the demo registry; tests/functional/test_screenshots.py fails when they are out of date.
screenshots: $(VENV)/.installed-test
	$(BIN)/python -m tests.helpers.screenshots
