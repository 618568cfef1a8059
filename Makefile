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

## The whole suite: base images, unit tests, engine tests, every check both ways, every notebook
test: venv lint
	$(PY) -m helpers images --quiet
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
	    -p no:cacheprovider --durations=25 --doctest-modules helpers

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
