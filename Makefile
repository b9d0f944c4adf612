# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REPLICATIONS ?= 20

.PHONY: run run-baseline run-business-case run-calibration test lint setup setup-dev validate benchmark clean app browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=77"  # 77: pyproject.toml's licence (also for setup.py build_ext --inplace)

# the compiled model core is rebuilt when its source changes (sim/core.py)
CORE := setup.py $(foreach m,streams child eventlog eventqueue capacity sampling pathway,sim/$(m).py sim/$(m).pxd)

$(VENV)/.installed: pyproject.toml $(CORE) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dask,sensitivity,app]'
	@$(BIN)/python -c "import sim.core as c; print('carepath model core:', c.kind(), '(' + c.reason() + ')')"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(CORE) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,sensitivity,app]'
	@$(BIN)/python -c "import sim.core as c; print('carepath model core:', c.kind(), '(' + c.reason() + ')')"
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

## make run: set up, then on the shipped defaults: the baseline forecast, the business case, and a
## calibration from the shipped synthetic example data, into results/ (see results/README.md)
run: run-baseline run-business-case run-calibration
	@echo "Done: results/baseline, results/business_case (open report.html), results/calibration"

run-baseline: setup
	$(BIN)/carepath run --params experiments/baseline.yaml --replications $(REPLICATIONS) --out results/baseline

run-business-case: setup
	$(BIN)/carepath experiment experiments/business_case.yaml --draws 40 --out results/business_case  # the risk analysis: 40 parameter draws (docs/business_case.md, section 6)

run-calibration: setup
	$(BIN)/carepath calibrate --ssda903 calibration/example_data/ssda903 \
		--cin calibration/example_data/cin_census/csv --contacts calibration/example_data/contacts/contacts.csv \
		--extract-date 2022-03-31 --out results/calibration

## make test: set up with the test tools, check the code with ruff, and run the test suite
test: setup-dev lint browser
	$(BIN)/python -m pytest -q -n 2  # two test processes (pytest-xdist): the suite in about 5 minutes on 2 cores

## make app: the what-if web app on http://127.0.0.1:8050/ (scenarios and runs kept in carepath_app/; docs/app.md)
APP_PORT ?= 8050
app: setup
	$(BIN)/carepath app --port $(APP_PORT) --data carepath_app

## make browser: Chromium and its driver from Debian's packages, for the app's browser tests (tests/e2e), when missing
browser:
	@sh .ci/install-browser

## make lint: ruff's checks (configured in pyproject.toml)
lint: setup-dev
	$(BIN)/ruff check .

## make validate: regenerate docs/validation.md (model against the council's published figures)
validate: setup
	$(BIN)/carepath validate --params experiments/baseline.yaml --replications 20 --out docs/validation.md

## make benchmark: speed of one replication against bare SimPy (results go in docs/benchmarks.md)
benchmark: setup
	$(BIN)/python benchmarks/bench_replication.py

clean:
	rm -rf $(VENV) results/baseline results/business_case results/calibration
