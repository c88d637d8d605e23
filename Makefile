# The two commands of the README: `make demo` (the main job on the embedded default: a morning
# at a Harbin loading site, through Kafka; the same on every run, see README) and
# `make test` (the whole suite, as CI runs it). Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bench-engines install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hazmat demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_checks.py
	$(BIN)/python benchmarks/bench_check_cli.py
	$(BIN)/python benchmarks/bench_kafka.py
	$(BIN)/python benchmarks/bench_routes.py
	$(BIN)/python benchmarks/bench_monitor.py

# The stream engine (docs/decisions/0001-stream-engine.md): the worker on Quix Streams against its
# floor and the pure work; py-spy (the profiles) is no project dependency, so it goes into this venv only.
bench-engines: $(STAMP)
	$(BIN)/pip install --quiet py-spy
	$(BIN)/python benchmarks/bench_engines.py --profile

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
