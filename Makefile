# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench install migrate seed clean messages

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

## make demo: the app on embedded defaults (SQLite, filesystem broker), with
## demo data, a web server, a Celery worker and beat. Ctrl-C stops all three.
demo: migrate
	$(PY) manage.py seed_demo --mentees 200 --mentors 60
	$(PY) scripts/demo.py

## make test: the whole suite. Runs on whatever DATABASE_URL / CELERY_BROKER_URL
## say (SQLite and the embedded broker if unset; tests that need PostgreSQL,
## Redis or Chromium are then skipped and listed). .ci/run sets them all.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

## make lint: ruff, and import-linter's layer contracts (docs/architecture.md).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make bench: prints figures; needs PostgreSQL (BENCH_DATABASE_URL).
bench: $(STAMP)
	$(PY) tests/bench/run.py

## make messages: refresh the French catalogue from the marked strings, then compile
## it (needs GNU gettext). Translate the new or changed entries in
## locale/fr/LC_MESSAGES/django.po, run it again, and commit the .po and the .mo.
messages: $(STAMP)
	$(PY) manage.py makemessages -l fr --no-location --no-obsolete \
		-i '.venv/*' -i 'tests/*' -i 'staticfiles/*' -i 'var/*'
	$(PY) manage.py compilemessages -l fr

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles
