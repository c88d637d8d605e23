# The two commands of the README: `make demo` (the main job on the embedded default: a morning
# at a Harbin loading site, through Kafka; the same on every run, see README) and
# `make test` (the whole suite, as CI runs it). Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bench-engines bench-page vendor-leaflet install clean

# setup.py and the binding's source too: an edit to the C++ rebuilds hazmat.routing._cch at the next make
$(STAMP): pyproject.toml setup.py routing/cch/_cch.cpp $(wildcard routing/cch/*.h)
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

# The page's map library, from the npm registry at a pinned version (its sha512 checked and recorded
# in api/static/leaflet/VERSION); committed, so running the page needs neither npm nor a build.
LEAFLET_VERSION ?= 1.9.4
vendor-leaflet:
	./scripts/vendor_leaflet.sh $(LEAFLET_VERSION)

# The operations map in headless Chromium: 2,000 vehicles reporting every 10 s, time to apply each
# second's updates (needs chromium and chromium-driver, like the page test).
bench-page: $(STAMP)
	$(BIN)/python benchmarks/bench_page.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
