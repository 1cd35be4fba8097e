# `make run` sets everything up and runs Seatwise; `make test` sets everything up and runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
# One worker more than cores: a good part of the suite waits on real servers, browsers and killed processes.
JOBS   ?= $(shell echo $$(( $$(nproc) + 1 )))

CHROMIUM ?= /usr/bin/chromium
FONT    := /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf

UV_VERSION := 0.13.9
UV     := $(BIN)/uv
UV_PIP := $(UV) pip --quiet
LOCK   := requirements.lock
# Every dependency (runtime and the test extra) at the exact version in $(LOCK), for this Python on Linux x86_64.
LOCK_TARGET := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu

.PHONY: run test lint install lock lock-upgrade system-packages pg-check bench clean

install: $(STAMP)

# The venv and a pinned uv in it; a new UV_VERSION makes a new venv.
$(VENV)/.uv-$(UV_VERSION):
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

# Exactly the locked set (uv pip sync removes anything else), then Seatwise itself, editable, without
# letting it pull in anything: a fresh clone gets the same Babel as everyone else.
$(STAMP): $(LOCK) pyproject.toml $(VENV)/.uv-$(UV_VERSION)
	$(UV_PIP) sync --python $(BIN)/python --compile-bytecode $(LOCK)
	$(UV_PIP) install --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Re-resolve after a change to pyproject.toml, keeping every pin that still fits.
lock: $(VENV)/.uv-$(UV_VERSION)
	$(UV) pip compile --quiet pyproject.toml --extra test $(LOCK_TARGET) -o $(LOCK)

# Every dependency at its newest release that pyproject.toml allows.
lock-upgrade: $(VENV)/.uv-$(UV_VERSION)
	$(UV) pip compile --quiet --upgrade pyproject.toml --extra test $(LOCK_TARGET) -o $(LOCK)

# Debian's Chromium for the browser tests (Playwright's own download cannot work here) and the
# Liberation Sans font the invoice PDFs are set in.
system-packages:
	@if [ ! -x $(CHROMIUM) ] || [ ! -f $(FONT) ]; then \
		echo "installing Debian packages chromium and fonts-liberation"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium fonts-liberation; \
	fi

run: $(STAMP) system-packages
	$(BIN)/seatwise db upgrade
	$(BIN)/seatwise demo seed
	$(BIN)/seatwise serve --host $(HOST) --port $(PORT)

# The suite runs on SQLite and on PostgreSQL; without PostgreSQL it fails, it never skips. Only the server
# must be there: the tests make their databases through its `postgres` maintenance database.
pg-check: $(STAMP)
	@$(BIN)/python -c "import psycopg, sys; \
	psycopg.connect('$(PG_URL)', dbname='postgres', connect_timeout=5).close()" 2>/dev/null \
	|| { echo "error: PostgreSQL is not reachable at $(PG_URL); the tests need it (start it and run again)" >&2; exit 1; }

# One pytest-xdist worker per core, each on its own SQLite files and its own PostgreSQL database
# (<db>_gw0, <db>_gw1…, made and dropped by the session); the tests of one xdist_group share a worker.
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: the suite starts a hundred Python
# processes (CLI, servers, billing runs killed on purpose), and each would compile Seatwise anew.
# Guard rails before any test: lint and formatting, types, and the dependency contracts (.importlinter).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint system-packages pg-check
	env -u PYTHONDONTWRITEBYTECODE \
	SEATWISE_TEST_PG_URL='$(subst postgresql:,postgresql+psycopg:,$(PG_URL))' $(BIN)/python -m pytest -q \
		-n $(JOBS) --dist loadgroup

clean:
	rm -rf $(VENV) seatwise.db seatwise.db-wal seatwise.db-shm .pytest_cache .hypothesis .mypy_cache .ruff_cache
