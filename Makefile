# The two commands of the README. Both set up (or update) .venv first.
VENV ?= .venv
BIN := $(VENV)/bin
SHOPS ?= demo taobao shopify
LANG_RUN ?=

.PHONY: setup playbook test lint format sample notebooks bench bench-large clean

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

## Regenerate data/sample/ from helpers.datasets.sample (deterministic), then re-execute the notebooks.
sample: setup
	$(BIN)/python -m helpers.datasets.sample_shops data/sample
	$(MAKE) notebooks

## Re-execute the committed notebooks in order on the demo shop (what nbval compares against).
notebooks: setup
	@cd playbook && for f in [0-9][0-9]_*.py; do \
	  ../$(BIN)/jupytext -q --to ipynb $$f && \
	  MPLBACKEND=module://matplotlib_inline.backend_inline ../$(BIN)/jupyter nbconvert --log-level WARN --to notebook --execute --inplace $${f%.py}.ipynb || exit 1; done

## The scale and peer benchmarks (see bench/README.md; ~1 h on 2 cores, best on a quiet machine).
bench: setup
	$(BIN)/python bench/bench_scale.py --sizes demo,10k,100k,1M
	$(BIN)/python bench/bench_peers.py

## A client's first contact with a large shop: generate, cold load, first run (~40 min; 24 GB
## machine). A step whose processes pass 21 GiB is stopped (30M's first run does, see RESULTS).
bench-large: setup
	$(BIN)/python bench/bench_scale.py --sizes 10M,30M --cold --max-rss-gb 21

clean:
	rm -rf reports .pytest_cache
