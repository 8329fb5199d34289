# The two commands of the README:  `make run` (simulated HAT) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCENARIO ?= examples/scenarios/household.toml

.PHONY: run test check lint typecheck imports pytest bench bench-quick image hardware screens clean

$(BIN)/scc: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/scc

## Run the whole appliance on the simulated HAT (OLED + buttons in the browser, Modbus, P1, web).
run: $(BIN)/scc
	$(BIN)/scc run --simulate $(SCENARIO)

## Everything CI checks: lint, types, import rules, tests.
test: check

check: lint typecheck imports pytest

lint: $(BIN)/scc
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/scc
	$(BIN)/mypy

imports: $(BIN)/scc
	$(BIN)/lint-imports

pytest: $(BIN)/scc
	$(BIN)/pytest -q $(PYTEST_ARGS)

## Benchmarks: tables on the terminal, JSON in bench/results/ (bench-quick: a few minutes).
bench: $(BIN)/scc
	$(BIN)/python -m bench

bench-quick: $(BIN)/scc
	$(BIN)/python -m bench --quick

screens: $(BIN)/scc
	$(BIN)/scc screens --out docs/screens

image:
	$(MAKE) -C image

hardware: $(BIN)/scc
	$(MAKE) -C hardware

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build dist
