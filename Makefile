# `make run` and `make test` do all set-up themselves on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.example.toml

.PHONY: run test chat lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/lapor --config $(CONFIG) serve

chat: $(VENV)/.installed
	$(BIN)/lapor --config $(CONFIG) chat

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed-test
	$(BIN)/python bench/bench_pipeline.py
	$(BIN)/python bench/bench_suggest.py
	$(BIN)/python bench/bench_classifier.py
	$(BIN)/python bench/bench_stats.py
	$(BIN)/python bench/bench_public.py
	$(BIN)/python bench/bench_webhook.py
	$(BIN)/python bench/bench_conversation.py
# bench/bench_scale.py (PostgreSQL + Redis, several workers, a 100,000-message soak) takes
# about 40 minutes: run it by hand.

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
