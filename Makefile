# The two commands a newcomer needs: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint clean sample solve-sample screenshot

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Set up, create the SQLite database, load the sample region on first start, print demo tokens, serve the API.
run: $(STAMP)
	$(BIN)/placement serve

## Solve the sample region on the command line and print the plan.
solve-sample: $(STAMP)
	$(BIN)/placement solve data/sample --date 2026-11-23 --out plan.csv

## Set up and run the tests.
test: $(STAMP)
	$(BIN)/python -m pytest -q

## The README's screenshot of a coordinator's page (docs/screenshot-coordinator.png), in headless Chromium.
screenshot: $(STAMP)
	$(BIN)/python -m tests.web.screenshot docs/screenshot-coordinator.png

lint: $(STAMP)
	$(BIN)/ruff check matcher service placement_cli benchmarks attacks tests
	$(BIN)/ruff format --check matcher service placement_cli benchmarks attacks tests
	$(BIN)/mypy matcher service placement_cli attacks

## Regenerate the sample region from its seeded generator.
sample: $(STAMP)
	$(BIN)/placement generate --participants 200 --seed 1 data/sample

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis plan.csv

## Benchmarks (benchmarks/README.md): the engine against its peers, each method in its own process.
## bench: region and county, all scenarios (region default over five seeds), and the supervision-bound mid-size over
## five seeds (about an hour on 2 cores); writes benchmarks/RESULTS.md and results.png.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --sizes region,county,midsize --command "make bench"

## bench-full: adds nation (50,000 participants); about 40 more minutes.
bench-full: $(STAMP)
	$(BIN)/python -m benchmarks.run --sizes region,county,midsize,nation --command "make bench-full"

## bench-smoke: tiny instances, under a minute, report under benchmarks/runs/smoke (run by .ci/run).
bench-smoke: $(STAMP)
	$(BIN)/python -m benchmarks.run --smoke --command "make bench-smoke"

.PHONY: bench bench-full bench-smoke bench-service bench-service-plan

## Attacks (docs/reliability.md): every measurement of attacks/ but the load test (a few minutes; needs the local
## PostgreSQL for the PostgreSQL rows), then docs/reliability.md assembled from attacks/results/.
attack: $(STAMP)
	$(BIN)/python -m attacks --skip load

## load: 50 users asking for suggestions and taking seats for 2 minutes against `make run`'s server (not in CI).
load: $(STAMP)
	$(BIN)/python -m attacks load

.PHONY: attack load

## bench-service: suggestions over HTTP at county size (5,000 participants, 500 slots, 50 users on loopback,
## about 4 min); writes benchmarks/RESULTS-service.md.
bench-service: $(STAMP)
	$(BIN)/python -m benchmarks.service --command "make bench-service"

## bench-service-plan: a nation plan (50,000 participants) through the service, on the local pool and the Redis queue,
## beside `placement solve`, and its areas fanned out to two area workers (about 15 min; needs Redis, REDIS_URL
## below, and a PostgreSQL database to empty, BENCH_DATABASE_URL, or SQLite when unset); writes
## benchmarks/RESULTS-service-plan.md.
REDIS_URL ?= redis://127.0.0.1:6379/6
BENCH_DATABASE_URL ?=
bench-service-plan: $(STAMP)
	$(BIN)/python -m benchmarks.service_plan --redis-url $(REDIS_URL) --database-url "$(BENCH_DATABASE_URL)" \
		--command "make bench-service-plan"
