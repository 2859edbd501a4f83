# The two commands of the README. Both set up (or update) .venv first.
VENV ?= .venv
BIN := $(VENV)/bin
SHOPS ?= demo taobao shopify
LANG_RUN ?=

.PHONY: setup playbook test lint format sample bench clean

setup:
	@bash scripts/setup.sh

## Run the whole playbook on every sample shop: reports/<shop>/index.html
playbook: setup
	@for s in $(SHOPS); do $(BIN)/playbook run data/sample/$$s --out reports/$$s $(LANG_RUN) || exit 1; done
	@echo "open reports/demo/index.html"

## Lint, format check, unit tests, then nbval over the committed notebooks.
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	MPLBACKEND=Agg $(BIN)/python -m pytest -n 2 -q
	$(BIN)/python -m pytest -q --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg playbook/*.ipynb -p no:randomly

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Regenerate data/sample/ from helpers.sample (deterministic) and re-execute the notebooks.
sample: setup
	$(BIN)/python -m helpers.sample_shops data/sample

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf reports .pytest_cache
