# Herald: `make run` starts the whole stack on embedded defaults; `make test` runs every check.
# Both create the virtual environment and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# pytest-xdist workers for make test and make test-kafka (tests/conftest.py keeps each module on one
# worker and every end-to-end stack on the same one); 0 runs in the session's own process.
TEST_WORKERS ?= 2
BENCH_ARGS ?=
RUN_ARGS ?=
CHAOS_ARGS ?=
CAPACITY_ARGS ?=

# deploy/ is checked offline by `make lint` with two things from the Go module proxy, fetched once
# into the venv: kustomize, built from its module, renders the overlays; KEDA's module holds the
# CRDs its ScaledObjects are checked against. Needs Go 1.22 or later the first time.
KUSTOMIZE_VERSION := v5.8.0
KEDA_VERSION := v2.18.3
DEPLOY_TOOLS := $(VENV)/deploy-tools
# Go from PATH, else where its installer puts it (a non-interactive shell may not have it on PATH).
GO ?= $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)
DEPLOY_TOOLS_STAMP := $(DEPLOY_TOOLS)/.kustomize-$(KUSTOMIZE_VERSION)-keda-$(KEDA_VERSION)
# The console serves htmx from its npm package (services/console/package.json, locked), installed
# here with npm ci; the browser tests drive Debian's Chromium, installed by `make chromium`.
CONSOLE_ASSETS := services/console/node_modules/.package-lock.json
CHROMIUM ?= /usr/bin/chromium

.PHONY: install run test chromium test-kafka lint format schemas clean bench bench-smoke capacity chaos chaos-short

install: $(STAMP) $(CONSOLE_ASSETS)

# Two extras, each for one purpose: local (emulators, local stack, embedded broker and PostgreSQL)
# runs Herald on one machine, dev checks the code; the tests start the local pieces, so both.
$(STAMP): pyproject.toml
	@test -x $(PY) || { echo "==> creating the virtual environment in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing Herald and its dependencies into $(VENV) (about a minute the first time)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,local]'
	@touch $(STAMP)
	@echo "==> installed"

$(CONSOLE_ASSETS): services/console/package.json services/console/package-lock.json
	@command -v npm >/dev/null || { echo "the console needs npm (Node.js) once, to install htmx"; exit 1; }
	@echo "==> installing the console's htmx (npm ci in services/console)"
	@npm ci --prefix services/console --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

# Debian's Chromium for the browser tests: quick when present; installed with apt-get when root.
# When it cannot be, the tests say why and skip, except under CI (CI=true), where they fail.
chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "==> installing Chromium (Debian) for the console's browser tests"; \
		{ apt-get install -y -q chromium >/dev/null 2>&1 \
			|| { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; } \
		|| echo "==> Chromium could not be installed: the browser tests will say so"; \
	else echo "==> no Chromium and no root apt-get to install it: the browser tests will say so"; fi

$(DEPLOY_TOOLS_STAMP): | $(STAMP)
	@test -x "$(GO)" || { echo "make lint needs Go (1.22 or later) once, to build kustomize"; exit 1; }
	@echo "==> building kustomize $(KUSTOMIZE_VERSION), fetching KEDA $(KEDA_VERSION)'s CRDs (Go module proxy; a minute, once)"
	@mkdir -p $(DEPLOY_TOOLS)/bin $(DEPLOY_TOOLS)/keda
	@GOBIN=$(abspath $(DEPLOY_TOOLS))/bin $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	@keda=$$($(GO) mod download -json github.com/kedacore/keda/v2@$(KEDA_VERSION) \
		| $(PY) -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') \
		&& install -m 644 $$keda/config/crd/bases/keda.sh_scaledobjects.yaml \
			$$keda/config/crd/bases/keda.sh_triggerauthentications.yaml $(DEPLOY_TOOLS)/keda/
	@touch $@

run: $(STAMP) $(CONSOLE_ASSETS)
	@$(PY) -m services.devstack $(RUN_ARGS)

lint: $(STAMP) $(DEPLOY_TOOLS_STAMP)
	@echo "==> ruff (style, bugs, and bandit's security checks as rules S)"
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@echo "==> mypy"
	@$(PY) -m mypy contracts shared services tests
	@echo "==> import-linter (layers, independent services, pure domain; contracts in pyproject.toml)"
	@$(VENV)/bin/lint-imports --no-cache --no-logo
	@echo "==> pip-audit (known vulnerabilities; says so and passes when PyPI cannot answer)"
	@$(PY) -m tests.security.dependency_audit
	@echo "==> deploy/ (compose file, rendered kustomize overlays, KEDA objects: schemas and Herald's rules)"
	@HERALD_DEPLOY_TOOLS=$(DEPLOY_TOOLS) $(PY) -m tests.deploy

test: lint chromium $(CONSOLE_ASSETS)
	@echo "==> pytest"
	@HERALD_DEPLOY_TOOLS=$(DEPLOY_TOOLS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The integration and end-to-end suites on Apache Kafka (a KRaft node started by each test
# worker's session; the first run fetches Kafka's jars through Maven), then the smoke benchmark.
test-kafka: $(STAMP) $(DEPLOY_TOOLS_STAMP) $(CONSOLE_ASSETS)
	@echo "==> pytest on Apache Kafka (integration + e2e)"
	@HERALD_TEST_BROKER=kafka $(PY) -m pytest tests/integration tests/e2e -m "not solo" -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
	@HERALD_TEST_BROKER=kafka $(PY) -m pytest tests/e2e -m solo $(PYTEST_ARGS)
	@echo "==> smoke benchmark on Apache Kafka"
	@$(PY) -m tests.benchmarks.pipeline --smoke --broker kafka $(BENCH_ARGS)

# The whole pipeline under load (minutes; writes bench-results/latest/). BENCH_ARGS: see --help.
bench: $(STAMP) $(CONSOLE_ASSETS)
	@$(PY) -m tests.benchmarks.pipeline $(BENCH_ARGS)

# Seconds of tiny load: checks the benchmark still produces figures and loses nothing (CI).
bench-smoke: $(STAMP) $(CONSOLE_ASSETS)
	@$(PY) -m tests.benchmarks.pipeline --smoke $(BENCH_ARGS)

# deploy/CAPACITY.md from the newest full runs under bench-results/ (make bench, and --broker kafka
# for the broker's figure): cores, replicas, partitions, brokers, PostgreSQL. CAPACITY_ARGS: --help.
capacity: $(STAMP)
	@$(PY) -m tests.benchmarks.capacity $(CAPACITY_ARGS)

# The fault suite: each scenario on its own stack (15-20 min); prints sent, delivered, lost and
# duplicates per scenario and fails if any push is lost. CHAOS_ARGS: scenario names, --broker kafka.
chaos: $(STAMP) $(CONSOLE_ASSETS)
	@$(PY) -m tests.chaos $(CHAOS_ARGS)

# Its short form (CI, a few minutes): the quicker scenarios, smaller, none still awaiting a fix.
chaos-short: $(STAMP) $(CONSOLE_ASSETS)
	@$(PY) -m tests.chaos --short $(CHAOS_ARGS)

format: $(STAMP)
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

schemas: $(STAMP)
	@$(PY) -m contracts.export

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
