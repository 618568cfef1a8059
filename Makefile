# The two commands a newcomer needs:  make lab   and   make test
# Both create/use a local virtualenv (.venv) so nothing is assumed installed.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: lab test test-unit images doctor clean strip lint venv

venv: $(STAMP)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,hub]'
	touch $(STAMP)

## JupyterLab on the setup notebook
lab: venv
	$(PY) -m helpers doctor || true
	$(PY) -m jupyter lab notebooks/00_setup.ipynb

## The whole suite: base images, unit tests, engine tests, every check both ways, every notebook.
## Most of it waits on containers, so it runs in TEST_WORKERS processes (pytest-xdist; one
## exercise or one notebook per worker at a time, each worker with its own run id); then the
## tests marked ``serial``: the hub and the browser test side by side (neither sweeps the
## host engine's runs), then the ownership sweep and the leak check alone, last.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(4, len(os.sched_getaffinity(0)) + 1))')
PYTEST = $(PY) -m pytest -p no:cacheprovider
## TEST_DURATIONS=0 lists every test's time; TEST_JUNIT_DIR=DIR writes parallel.xml, serial.xml and alone.xml there.
TEST_DURATIONS ?= 25
TEST_JUNIT_DIR ?=
junit = $(if $(TEST_JUNIT_DIR),--junitxml=$(TEST_JUNIT_DIR)/$(1).xml)
test: venv lint
	$(PY) -m helpers images --quiet
	@export SHIPSHAPE_RUN_ID="$${SHIPSHAPE_RUN_ID:-pytest-$$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')}" \
	        SHIPSHAPE_SUITE_TMP="$$(mktemp -d -t pytest-suite-XXXXXX)"; \
	 echo "[test] parallel phase: $(TEST_WORKERS) workers, run id $$SHIPSHAPE_RUN_ID"; \
	 $(PYTEST) tests notebooks --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
	     --doctest-modules helpers -m "not serial" -n $(TEST_WORKERS) --dist loadscope \
	     --durations=$(TEST_DURATIONS) $(call junit,parallel); parallel=$$?; \
	 echo "[test] serial phase: the hub and the browser test side by side"; \
	 $(PYTEST) tests -m "serial and (hub or ui)" -n 2 --dist loadfile \
	     --durations=$(TEST_DURATIONS) $(call junit,serial); serial=$$?; \
	 echo "[test] serial phase: the ownership sweep, then the leak check, alone"; \
	 $(PYTEST) tests -m "serial and not hub and not ui" \
	     --durations=$(TEST_DURATIONS) $(call junit,alone); alone=$$?; \
	 test $$parallel -eq 0 && test $$serial -eq 0 && test $$alone -eq 0 && rm -rf "$$SHIPSHAPE_SUITE_TMP"

## Quick: no engine needed
test-unit: venv
	$(PY) -m pytest tests/unit --doctest-modules helpers

images: venv
	$(PY) -m helpers images

doctor: venv
	$(PY) -m helpers doctor

clean: venv
	$(PY) -m helpers clean

strip: venv
	$(PY) tools/nb.py strip notebooks/*.ipynb

## ruff lint + format over the code, and notebooks valid and without outputs
LINTED = helpers tests tools benchmarks hub notebooks
lint: venv
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) tools/nb.py check notebooks/*.ipynb
