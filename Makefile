# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
BIN := $(VENV)/bin
RUN_DIR ?= out/sample
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
# Byte-compile at install: a process that may not write .pyc files (PYTHONDONTWRITEBYTECODE)
# would otherwise compile pandas, SciPy and lifevalue itself on every start (over a second).
export UV_COMPILE_BYTECODE := 1

.PHONY: run test install install-dev lint typecheck pytest bench clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9

install: $(UV)
	$(UV) sync --frozen --no-dev --inexact
	$(BIN)/python -m compileall -q src/lifevalue

install-dev: $(UV)
	$(UV) sync --frozen --extra dev --inexact
	$(BIN)/python -m compileall -q src/lifevalue

run: install
	mkdir -p $(RUN_DIR)
	$(BIN)/lifevalue sample --customers 20000 --seed 7 --out $(RUN_DIR)/orders.csv
	$(BIN)/lifevalue analyze $(RUN_DIR)/orders.csv --out $(RUN_DIR) --report $(RUN_DIR)/report.html
	@echo "Report: $(abspath $(RUN_DIR))/report.html"

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install-dev
	$(BIN)/mypy src

pytest: install-dev
	$(BIN)/pytest -q

test: lint typecheck pytest

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
