# make run   set up, migrate, seed the demo alliance and serve the hub on $(HOST):$(PORT)
# make test  set up and run the whole test suite (SQLite and PostgreSQL)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
DATABASE_URL ?= sqlite:///instance/xietong.sqlite
export HOST PORT DATABASE_URL

.PHONY: run test lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV) || { apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed
	$(BIN)/flask --app wsgi client demo
	@echo "Xietong is serving on http://$(HOST):$(PORT)/  (FHIR API: http://$(HOST):$(PORT)/fhir/metadata)"
	@echo 'A first call: TOKEN=$$($(BIN)/python -m hub.auth.demo_token county-1 --url http://$(HOST):$(PORT)) && curl -H "Authorization: Bearer $$TOKEN" http://$(HOST):$(PORT)/fhir/Patient'
	@echo "Sign in to the web pages: create an account with '$(BIN)/flask --app wsgi user add --help'"
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .

bench: $(VENV)/.installed
	$(BIN)/python bench/fhir_core.py

clean:
	rm -rf $(VENV) instance .pytest_cache
