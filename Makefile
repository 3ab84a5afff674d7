# The front door. Every target creates .venv and installs the project on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT    ?= 8000
PROFILE ?= standard
IMPL    ?=
SCENARIO ?=
CACHE    ?= redis
USERS    ?= 20
DURATION ?= 30s
WORKERS  ?= 0

.PHONY: setup test test-cache serve bench check pytest-bench report load lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install ormbench with its dev tools

test: $(STAMP) ## the whole suite, on an embedded PostgreSQL unless DATABASE_URL is set
	$(BIN)/pytest

test-cache: $(STAMP) ## the contract suite against apps caching their stats: CACHE=redis|memory IMPL="x y"
	ORMBENCH_CACHE=$(CACHE) $(BIN)/pytest tests/contract $(foreach i,$(IMPL),--impl $(i))

serve: $(STAMP) ## serve one implementation's API on 127.0.0.1:$(PORT): make serve IMPL=name
	$(BIN)/ormbench serve --impl $(or $(IMPL),sync_sqlalchemy) --port $(PORT)

bench: $(STAMP) ## PROFILE=quick|standard|full SCENARIO="a b" IMPL="x y"; writes results/latest/
	$(BIN)/ormbench bench --profile $(PROFILE) \
		$(foreach s,$(SCENARIO),--scenario $(s)) $(foreach i,$(IMPL),--impl $(i))

check: $(STAMP) ## the quick profile against benchmarks/baseline.json: more SQL fails
	$(BIN)/ormbench check --baseline benchmarks/baseline.json

pytest-bench: $(STAMP) ## the scenarios as pytest-benchmark tests (quick data)
	$(BIN)/pytest tests/benchmarks --benchmark-only

report: $(STAMP) ## rewrite the report of results/latest (or DIR=...)
	$(BIN)/ormbench report $(or $(DIR),results/latest)

load: $(STAMP) ## IMPL=all|"x y" USERS=20 DURATION=30s WORKERS=0 (LOAD_ARGS="--fail-on p95=200ms"); results/load-*/
	$(BIN)/ormbench load $(foreach i,$(or $(IMPL),all),--impl $(i)) \
		--users $(USERS) --duration $(DURATION) --workers $(WORKERS) $(LOAD_ARGS)

lint: $(STAMP) ## ruff, as CI runs it
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .ormbench *.egg-info
