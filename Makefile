# Herald: `make run` starts the whole stack on embedded defaults; `make test` runs every check.
# Both create the virtual environment and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
BENCH_ARGS ?=
RUN_ARGS ?=
CHAOS_ARGS ?=
CAPACITY_ARGS ?=

.PHONY: install run test test-kafka lint format schemas clean bench bench-smoke capacity chaos chaos-short

install: $(STAMP)

# Two extras, each for one purpose: local (emulators, local stack, embedded broker and PostgreSQL)
# runs Herald on one machine, dev checks the code; the tests start the local pieces, so both.
$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "==> creating the virtual environment in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing Herald and its dependencies into $(VENV) (about a minute the first time)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,local]'
	@touch $(STAMP)
	@echo "==> installed"

run: $(STAMP)
	@$(PY) -m services.devstack $(RUN_ARGS)

lint: $(STAMP)
	@echo "==> ruff (style, bugs, and bandit's security checks as rules S)"
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@echo "==> mypy"
	@$(PY) -m mypy contracts shared services tests
	@echo "==> import-linter (layers, independent services, pure domain; contracts in pyproject.toml)"
	@$(VENV)/bin/lint-imports --no-cache --no-logo
	@echo "==> pip-audit (known vulnerabilities; says so and passes when PyPI cannot answer)"
	@$(PY) -m tests.security.dependency_audit

test: lint
	@echo "==> pytest"
	@$(PY) -m pytest $(PYTEST_ARGS)

# The integration and end-to-end suites on Apache Kafka (a KRaft node started by the session; the
# first run fetches Kafka's jars through Maven), then the smoke benchmark on it.
test-kafka: $(STAMP)
	@echo "==> pytest on Apache Kafka (integration + e2e)"
	@HERALD_TEST_BROKER=kafka $(PY) -m pytest tests/integration tests/e2e $(PYTEST_ARGS)
	@echo "==> smoke benchmark on Apache Kafka"
	@$(PY) -m tests.benchmarks.pipeline --smoke --broker kafka $(BENCH_ARGS)

# The whole pipeline under load (minutes; writes bench-results/latest/). BENCH_ARGS: see --help.
bench: $(STAMP)
	@$(PY) -m tests.benchmarks.pipeline $(BENCH_ARGS)

# Seconds of tiny load: checks the benchmark still produces figures and loses nothing (CI).
bench-smoke: $(STAMP)
	@$(PY) -m tests.benchmarks.pipeline --smoke $(BENCH_ARGS)

# deploy/CAPACITY.md from the newest full runs under bench-results/ (make bench, and --broker kafka
# for the broker's figure): cores, replicas, partitions, brokers, PostgreSQL. CAPACITY_ARGS: --help.
capacity: $(STAMP)
	@$(PY) -m tests.benchmarks.capacity $(CAPACITY_ARGS)

# The fault suite: each scenario on its own stack (15-20 min); prints sent, delivered, lost and
# duplicates per scenario and fails if any push is lost. CHAOS_ARGS: scenario names, --broker kafka.
chaos: $(STAMP)
	@$(PY) -m tests.chaos $(CHAOS_ARGS)

# Its short form (CI, a few minutes): the quicker scenarios, smaller, none still awaiting a fix.
chaos-short: $(STAMP)
	@$(PY) -m tests.chaos --short $(CHAOS_ARGS)

format: $(STAMP)
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

schemas: $(STAMP)
	@$(PY) -m contracts.export

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
