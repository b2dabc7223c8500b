# Égide — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi

.PHONY: run test test-pg test-browser test-multiserver test-api migrations-roundtrip lint format translations demo db clean help

help:
	@echo "make run    — installe, migre la base SQLite, charge la démo et lance http://127.0.0.1:5000 (+ le worker)"
	@echo "make test   — lance toute la suite de tests (SQLite)"
	@echo "make test-pg, make test-browser, make test-api (schemathesis), make test-multiserver, make lint, make translations, make migrations-roundtrip"

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d translations --statistics

db: $(STAMP) translations
	$(BIN)/flask db upgrade

demo: db
	$(BIN)/flask keys init  # the evidence store's key ring (instance/keys), idempotent
	$(BIN)/flask demo load

# The web server and, beside it, the background jobs' worker (core.jobs): one command, one Ctrl+C.
run: demo
	@$(BIN)/flask signing init  # the PDF signing certificate and the packs' key, once (idempotent)
	@echo ""
	@echo "Égide : http://127.0.0.1:5000  (Ctrl+C pour arrêter ; les tâches de fond tournent à côté)"
	@$(BIN)/flask worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	$(BIN)/flask run --host 127.0.0.1 --port 5000

test: $(STAMP) translations
	$(BIN)/pytest

test-pg: $(STAMP) translations
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest

test-browser: $(STAMP) translations
	$(BIN)/pytest -m browser tests/browser

# Two gunicorn servers and a worker over one PostgreSQL database and Redis (tests/scale, issue 13).
test-multiserver: $(STAMP) translations
	$(BIN)/pytest -m multiserver tests/scale

test-api: $(STAMP) translations
	$(BIN)/pytest -m api_fuzz tests/api -p no:randomly

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # layers, no domain in reports or core, independent domains, no import cycle (pyproject.toml)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance/egide.sqlite3 instance/audit_anchors.jsonl .pytest_cache .ruff_cache
