# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= results/baseline
REPLICATIONS ?= 20

.PHONY: run test setup setup-dev validate benchmark clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

setup-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'

## make run: set up and run the baseline forecast on the shipped Nottingham-like defaults into results/
run: setup
	$(BIN)/carepath run --params experiments/baseline.yaml --replications $(REPLICATIONS) --out $(OUT)

## make test: set up with the test tools and run the test suite
test: setup-dev
	$(BIN)/python -m pytest -q

## make validate: regenerate docs/validation.md (model against the council's published figures)
validate: setup
	$(BIN)/carepath validate --params experiments/baseline.yaml --replications 20 --out docs/validation.md

## make benchmark: speed of one replication against bare SimPy (results go in docs/benchmarks.md)
benchmark: setup
	$(BIN)/python benchmarks/bench_replication.py

clean:
	rm -rf $(VENV) results/baseline
