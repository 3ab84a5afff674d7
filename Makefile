# The front door. Every target creates .venv and installs the project on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
IMPL   ?= sync_sqlalchemy
PORT   ?= 8000

.PHONY: setup test serve lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install ormbench with its dev tools

test: $(STAMP) ## the whole suite, on an embedded PostgreSQL unless DATABASE_URL is set
	$(BIN)/pytest

serve: $(STAMP) ## serve one implementation's API on 127.0.0.1:$(PORT): make serve IMPL=name
	$(BIN)/ormbench serve --impl $(IMPL) --port $(PORT)

lint: $(STAMP) ## ruff, as CI runs it
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .ormbench *.egg-info
