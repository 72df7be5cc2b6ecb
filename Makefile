# Every target sets itself up: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run run-distributed test lint fmt bench bench-quick profile migrate token venv docs topics chaos fuzz demo

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## Start all five services in one process on the embedded database and bus.
run: $(STAMP)
	$(BIN)/python -m allinone

## The production shape: a broker, one process per service, a router on :8000 (REPLICAS="alerts=2").
run-distributed: $(STAMP)
	$(BIN)/python -m distributed $(foreach r,$(REPLICAS),--replicas $(r))

## Debian's Chromium and CJK fonts for the browser tests (as root, the way CI runs).
## The fonts are checked on their own: a machine with chromium but no CJK font draws the
## Chinese report as boxes.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
$(CHROMIUM) $(CJK_FONT):
	@echo "installing Debian's chromium and fonts-noto-cjk for the browser tests…"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null

# Two worker processes (pytest-xdist), one test file per worker at a time; TEST_WORKERS=0: one.
TEST_WORKERS ?= 2

## The whole suite against real PostgreSQL (TEST_DATABASE_URL, or a throw-away embedded server).
test: $(STAMP) $(CHROMIUM) $(CJK_FONT)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Apply every service's pending migrations (embedded database unless DATABASE_URL is set).
migrate: $(STAMP)
	$(BIN)/python -m allinone migrate

## Print a development token: make token ROLE=supervisor SUB=alice
token: $(STAMP)
	$(BIN)/python -m shared.kit.tokens --role $(or $(ROLE),specialist) --sub $(or $(SUB),dev-user)

bench: $(STAMP)
	$(BIN)/python -m bench

## The same table with smaller sizes (under 2 minutes); written to bench/results/quick.json.
bench-quick: $(STAMP)
	BENCH_QUICK=1 $(BIN)/python -m bench

## bench-quick with py-spy attached to the servers; where each figure's time goes (bench/PROFILES.md).
profile: $(STAMP)
	BENCH_QUICK=1 BENCH_PROFILE=1 $(BIN)/python -m bench
	$(BIN)/python -m bench.profiling

## Regenerate the event catalogue (docs/events): JSON Schema per event version + AsyncAPI 3.
docs: $(STAMP)
	$(BIN)/python -m shared.contract.catalogue write

## Print the Kafka topics every service needs (TOPIC_PREFIX, KAFKA_* settings apply).
topics: $(STAMP)
	@$(BIN)/python -m allinone topics

## Kill -9 harness over the embedded log and Kafka: faults, heal, check (10,000 events, 100+ kills per bus).
## BUS=embedded|kafka runs one bus; CPU_HOG=N keeps N busy loops running to show load does not change the verdict.
chaos: $(STAMP)
	$(BIN)/python -m chaos --bus $(or $(BUS),both) $(if $(CPU_HOG),--cpu-hog $(CPU_HOG))

## schemathesis against every service: every check, every phase (examples, coverage, fuzzing,
## stateful over the OpenAPI links); make test runs a short version (10 examples per route).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(or $(EXAMPLES),200) $(BIN)/python -m pytest -s tests/fuzz/test_openapi.py tests/fuzz/every_phase.py

## The seed campaign through all five services (its own embedded system, or DEMO_BASE_URL).
demo: $(STAMP)
	$(BIN)/python -m demo
