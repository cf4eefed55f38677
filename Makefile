# Two commands set up a fresh machine: `make run` (the bot) and `make test` (the tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run console test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# 78 (EX_CONFIG) is `run` explaining how to get a token: advice, not a failure of make.
run: install
	@$(BIN)/archive-bot run || [ $$? -eq 78 ]

console: install
	$(BIN)/archive-bot console

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.dialog_throughput
	$(BIN)/python -m bench.summary_scale
	$(BIN)/python -m bench.reminder_fanout

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
