# nbsteps: `make help` lists the targets. The two that matter: `make run` and `make test`.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Where the real corpus lives on the development machines (never committed).
CORPUS ?= ../shared/data/qanon/posts.json
# `make run SOURCE=path-or-url` fetches the corpus from elsewhere (a path is made absolute,
# since the notebook resolves relative paths from notebooks/).
SOURCE_ARG = $(if $(SOURCE),-p ingest.source=$(if $(wildcard $(SOURCE)),$(abspath $(SOURCE)),$(SOURCE)))

.PHONY: help install run test test-fast lint format constraints clean-runs dashboard bench

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The runner and its tools, plus what the example's notebooks import (the steps' requirements).
REQUIREMENTS := $(wildcard containers/requirements/*.txt)

$(BIN)/nbsteps: pyproject.toml constraints.txt $(REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]" $(addprefix -r ,$(REQUIREMENTS))
	@touch $@

install: $(BIN)/nbsteps ## create .venv with the exact pinned versions (constraints.txt)

run: install ## run the whole pipeline; SOURCE=file-or-url, ARGS="-p model.k=200" to override
	$(BIN)/nbsteps run all $(SOURCE_ARG) $(ARGS)

test: install ## every test (unit, nbval, real corpus, browser, containers); sets up Chromium, Docker, base image
	base_image="$$(scripts/prepare-tests.sh)" && BASE_IMAGE="$$base_image" $(BIN)/pytest $(ARGS)

test-fast: install ## the tests that need neither Docker, a browser nor ../shared (the corpus)
	$(BIN)/pytest -m "not containers and not browser and not shared" $(ARGS)

lint: install ## ruff, stripped notebooks, hadolint on the Dockerfiles
	$(BIN)/ruff check src tests notebooks benchmarks
	$(BIN)/nbstripout --verify notebooks/*.ipynb src/nbsteps/dashboard/*.ipynb
	$(BIN)/hadolint containers/Dockerfile src/nbsteps/templates/project/containers/Dockerfile

format: install ## fix what ruff can fix and strip notebook outputs
	$(BIN)/ruff check --fix src tests notebooks benchmarks
	$(BIN)/nbstripout notebooks/*.ipynb src/nbsteps/dashboard/*.ipynb

constraints: ## pin newly added names in constraints.txt (existing pins are kept)
	rm -rf /tmp/nbsteps-freeze && $(PYTHON) -m venv /tmp/nbsteps-freeze
	/tmp/nbsteps-freeze/bin/pip install --quiet -c constraints.txt -e ".[dev]" $(addprefix -r ,$(REQUIREMENTS))
	{ grep '^#' constraints.txt; /tmp/nbsteps-freeze/bin/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt

dashboard: install ## serve the dashboard on http://127.0.0.1:8866
	$(BIN)/nbsteps dashboard

bench: install ## measure the fast paths against the plain ones; prints a table, writes JSON
	$(BIN)/python benchmarks/run.py --corpus $(CORPUS) $(ARGS)

clean-runs: ## delete every run's data, executed notebooks and logs (asks first)
	@read -p "Delete everything in data/, outputs/ and logs/? [y/N] " answer && [ "$$answer" = y ]
	find data outputs logs -mindepth 1 ! -name .gitkeep -delete
