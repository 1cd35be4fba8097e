# `make run` sets everything up and runs Seatwise; `make test` sets everything up and runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

CHROMIUM ?= /usr/bin/chromium
FONT    := /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf

.PHONY: run test install system-packages pg-check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

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

# The suite runs on SQLite and on PostgreSQL; without PostgreSQL it fails, it never skips.
pg-check: $(STAMP)
	@$(BIN)/python -c "import psycopg, sys; \
	psycopg.connect('$(PG_URL)', connect_timeout=5).close()" 2>/dev/null \
	|| { echo "error: PostgreSQL is not reachable at $(PG_URL); the tests need it (start it and run again)" >&2; exit 1; }

test: $(STAMP) system-packages pg-check
	SEATWISE_TEST_PG_URL='$(subst postgresql:,postgresql+psycopg:,$(PG_URL))' $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) seatwise.db seatwise.db-wal seatwise.db-shm .pytest_cache .hypothesis
