# Two commands on a fresh machine:
#   make demo   create .venv, install StyGig (serving dependencies only, no torch), run the demo
#   make test   create .venv, install StyGig with export (torch, open_clip) and test extras, run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test clean

demo: $(VENV)/.installed-base
	$(BIN)/stygig demo --serve

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml scripts/install-system-deps.sh tests/axe/package-lock.json | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[export,test]'
	bash scripts/install-system-deps.sh
	touch $@ $(VENV)/.installed-base

clean:
	rm -rf $(VENV) stygig-demo .pytest_cache tests/axe/node_modules
