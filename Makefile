# Every target works from a fresh clone: the virtual environment is created on demand.
# The dev environment pins torch's CPU wheel; users get torch>=2.2 from pyproject.toml.
VENV := .venv
PYTHON := $(VENV)/bin/python
TORCH_DEV := torch==2.13.0
export OMP_NUM_THREADS ?= 1

.PHONY: install demo test lint format clean

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet $(TORCH_DEV) -e '.[test,dask]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(PYTHON) examples/demo.py

test: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pytest -q

lint: install
	$(PYTHON) -m ruff check .

format: install
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
