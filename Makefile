# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
# Test processes (pytest-xdist); each has its own PostgreSQL database and Redis db.
TEST_WORKERS ?= 2
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test lint format bench bench-load bench-http fuzz clean lock validation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	@if [ "$(DEMO_SSO)" = "1" ]; then $(MAKE) --no-print-directory $(VENV)/.dev; fi
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo ""
	@echo "  LIMS on http://127.0.0.1:$(PORT)"
	@echo "  demo logins (password demo-pass-123): tech (technician), doctor and doctor2 (clinicians, each seeing their own patients), qa (QA), admin (admin)"
	@echo ""
	@if [ "$(DEMO_PRINTERS)" = "1" ]; then \
		echo "  demo printers: ZPL printer emulators on 127.0.0.1:9101 (tubes) and :9102 (bags), and the clinic's :9103"; \
		$(BIN)/python -m lims.printers.emulator --port 9101 --port 9102 --port 9103 & \
	fi; \
	if [ "$(DEMO_SSO)" = "1" ]; then \
		echo "  demo single sign-on (docs/sso.md): a test OpenID provider on 127.0.0.1:9400; Sign in with Demo IdP as tech, qa or newcomer"; \
		$(BIN)/python -m tests.oidc_provider --port 9400 & \
		export OIDC_ISSUER=http://127.0.0.1:9400 OIDC_CLIENT_ID=lims-demo OIDC_CLIENT_SECRET=demo-secret \
			OIDC_PROVIDER_NAME="Demo IdP" OIDC_LINK_CLAIM=preferred_username OIDC_ROLES_CLAIM=groups \
			OIDC_ROLE_MAP=lims-lab=technician,lims-qa=qa; \
	fi; \
	$(BIN)/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app

test: $(VENV)/.dev
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# BENCH_DATABASE_URL picks the database (default: a SQLite file in the temp directory).
BENCH_UNITS ?= 100000
bench: $(VENV)/.dev
	$(BIN)/python -m bench.seed --units $(BENCH_UNITS) --if-empty
	$(BIN)/python -m bench.run

# The request at the HTTP edge against a bare Flask + gunicorn + driver app on the same database
# and gunicorn settings, wrk alternating the two sides (bench/http.py; needs wrk). Writes the
# table into docs/performance.md. BENCH_DATABASE_URL picks the database, as for `make bench`.
HTTP_WORKERS ?= 2
HTTP_THREADS ?= 1
bench-http: $(VENV)/.dev
	$(BIN)/python -m bench.http --units $(BENCH_UNITS) --workers $(HTTP_WORKERS) --threads $(HTTP_THREADS) --write docs/performance.md

# Load with faults: 32 scan stations for 60 s on PostgreSQL with Redis, gunicorn, a Celery worker
# and beat (bench/load.py). LOAD_FAULT: none, postgres-restart (stops this machine's cluster for a
# few seconds), redis-down or worker-kill.
LOAD_FAULT ?= none
bench-load: $(VENV)/.dev
	$(BIN)/python -m bench.load --fault $(LOAD_FAULT)

# The API fuzzed from its own OpenAPI document (tests/fuzz, schemathesis, in process) on the
# demo data in the PostgreSQL database of LIMS_TEST_DATABASE_URL: FUZZ_EXAMPLES examples per
# operation, role and mode, every boundary case, state machines along the links. Prints the
# requests made, the failures (must be none) and whether the ledger still verifies.
FUZZ_EXAMPLES ?= 25
fuzz: $(VENV)/.dev
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) LIMS_REQUIRE_SERVICES=1 $(BIN)/pytest -q tests/fuzz

# The validation report (docs/product.md §12): the marked tests (TEST_WORKERS processes; PostgreSQL and Redis
# variants when LIMS_TEST_DATABASE_URL / LIMS_TEST_REDIS_URL are set), the performance qualification over HTTP on a
# scratch database, the installation qualification; HTML, PDF and JSON in build/validation/, and the report kept in
# the app's database for QA's signed approval (Audit → Validation reports). Exit 1 when it is not clean.
validation: $(VENV)/.dev
	$(FLASK) validation report --workers $(TEST_WORKERS)

# The lock files: every dependency, transitive ones too, compiled from the *.in files.
PIP_COMPILE := $(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links
lock: $(VENV)/.dev
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) .pytest_cache
