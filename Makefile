# FieldProof. Quick start: `make run`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test lint bench clean

install: $(STAMP)

# Re-installs only when the dependency list changes (idempotent).
$(STAMP): backend/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "FieldProof needs Python >= 3.11"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e 'backend[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/fieldproof serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check backend/src tests bench
	$(BIN)/mypy --config-file backend/pyproject.toml backend/src

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
