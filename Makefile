# Every target works from a fresh clone: the virtual environment is created on demand.
# The dev environment pins torch's CPU wheel; users get torch>=2.2 from pyproject.toml.
VENV := .venv
PYTHON := $(VENV)/bin/python
TORCH_DEV := torch==2.13.0
export OMP_NUM_THREADS ?= 1

.PHONY: install demo test lint format docs clean

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet $(TORCH_DEV) -e '.[test,dask,skops,onnx]'
	touch $@

install: $(VENV)/.installed

# The docs extra on top of the dev environment; its own stamp, so that
# `make test` does not install Sphinx.
$(VENV)/.installed-docs: pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet $(TORCH_DEV) -e '.[test,dask,skops,onnx,docs]'
	touch $@

demo: install
	$(PYTHON) examples/demo.py

test: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pytest -q

# HTML in docs/_build/html; runs the gallery's examples, and fails on any
# warning. SKVAE_DOCS_PLOT=0 skips running the examples.
docs: $(VENV)/.installed-docs
	$(PYTHON) -m sphinx -W --keep-going -b html docs docs/_build/html

lint: install
	$(PYTHON) -m ruff check .

format: install
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	rm -rf docs/_build docs/auto_examples docs/generated docs/sg_execution_times.rst
