# `make run` sets everything up and runs Seatwise; `make test` sets everything up and runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test install pg-check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/seatwise db upgrade
	$(BIN)/seatwise demo seed
	$(BIN)/seatwise serve --host $(HOST) --port $(PORT)

# The suite runs on SQLite and on PostgreSQL; without PostgreSQL it fails, it never skips.
pg-check: $(STAMP)
	@$(BIN)/python -c "import psycopg, sys; \
	psycopg.connect('$(PG_URL)', connect_timeout=5).close()" 2>/dev/null \
	|| { echo "error: PostgreSQL is not reachable at $(PG_URL); the tests need it (start it and run again)" >&2; exit 1; }

test: $(STAMP) pg-check
	SEATWISE_TEST_PG_URL='$(subst postgresql:,postgresql+psycopg:,$(PG_URL))' $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) seatwise.db seatwise.db-wal seatwise.db-shm .pytest_cache .hypothesis
