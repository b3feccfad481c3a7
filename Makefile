# The two commands a new user types are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TOPOLOGY ?= lab/topologies/default.yml
SCENARIO ?=
PYTEST_ARGS ?=

.PHONY: setup demo test lint sanity unit lab-test lab-up lab-down lab-status lab-scenario bench help

help:
	@echo "make demo | make test | make lab-up [TOPOLOGY=file] [SCENARIO=name] | make lab-status | make lab-down"
	@echo "make lab-scenario SCENARIO=name | make unit | make lab-test | make lint | make sanity | make bench"

setup:
	scripts/setup.sh

demo: setup
	$(PY) -m lab.labctl up --topology $(TOPOLOGY) --scenario demo
	scripts/demo.sh

test: setup
	scripts/test.sh $(PYTEST_ARGS)

unit: setup
	$(PY) -m pytest -p no:cacheprovider --durations=15 -m "not lab" $(PYTEST_ARGS)

lab-test: setup
	$(PY) -m pytest -p no:cacheprovider --durations=15 -m lab $(PYTEST_ARGS)

bench: setup
	@for b in tests/bench/bench_*.py; do echo "==> $$b"; $(PY) $$b || exit 1; done

lint: setup
	scripts/lint.sh

sanity: setup
	scripts/sanity.sh

lab-up: setup
	$(PY) -m lab.labctl up --topology $(TOPOLOGY) $(if $(SCENARIO),--scenario $(SCENARIO))

lab-scenario: setup
	$(PY) -m lab.labctl scenario $(SCENARIO)

lab-status:
	$(PY) -m lab.labctl status

lab-down:
	@if [ -x $(PY) ]; then $(PY) -m lab.labctl down; else python3 -m lab.labctl down; fi
