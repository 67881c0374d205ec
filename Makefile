# Two commands for a newcomer: `make run` (the portal with demo data) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The camera scanner's QR decoder (zxing-wasm from npm), served from our own static files.
VENDOR := frontend/static/frontend/vendor
ZXING := node_modules/zxing-wasm

.PHONY: run test bench bench-http messages clean

$(VENV)/.base-installed: requirements/base.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/base.lock
	touch $@

$(VENV)/.dev-installed: requirements/dev.lock $(VENV)/.base-installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.lock
	touch $@

var:
	mkdir -p var

# Only the files the browser loads (the ES module, its shared chunk, the .wasm) and the licence;
# collectstatic ignores the dot-file stamp.
$(VENDOR)/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/zxing-wasm/reader
	cp $(ZXING)/LICENSE $(ZXING)/dist/es/share.js $(VENDOR)/zxing-wasm/
	cp $(ZXING)/dist/es/reader/index.js $(ZXING)/dist/reader/zxing_reader.wasm $(VENDOR)/zxing-wasm/reader/
	touch $@

## make run: the portal on SQLite (var/db.sqlite3) with demo data at http://127.0.0.1:8000
run: $(VENV)/.base-installed var $(VENDOR)/.installed
	DEBUG=true $(BIN)/python manage.py migrate --no-input
	DEBUG=true SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py load_demo
	@# The mail worker beside the development server; it writes the mails into var/mail/ instead of sending them.
	DEBUG=true SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend \
		$(BIN)/python manage.py deliver_mail --loop --interval 2 & \
	worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=true SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: the whole suite on SQLite; with DATABASE_URL=postgres://... on PostgreSQL
test: $(VENV)/.dev-installed var $(VENDOR)/.installed
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

## make bench: the benchmark on a large generated dataset in var/bench.sqlite3 (or BENCH_DATABASE_URL)
bench: $(VENV)/.dev-installed var
	DEBUG=true DATABASE_URL=$${BENCH_DATABASE_URL:-sqlite:///$(CURDIR)/var/bench.sqlite3} \
		$(BIN)/python manage.py bench $(BENCH_ARGS)

## make bench-http: the teacher pages and the API under gunicorn and wrk, against a bare Django view
bench-http: $(VENV)/.dev-installed var $(VENDOR)/.installed
	@command -v wrk >/dev/null || { echo "wrk is missing (Debian: apt-get install wrk)" >&2; exit 1; }
	DEBUG=true DATABASE_URL=$${BENCH_DATABASE_URL:-sqlite:///$(CURDIR)/var/bench.sqlite3} \
		$(BIN)/python manage.py bench_http $(BENCH_ARGS)

## make messages: refresh the translation catalogues after changing strings (needs gettext)
messages: $(VENV)/.dev-installed
	DEBUG=true $(BIN)/python manage.py makemessages --locale de --no-obsolete --ignore '.venv/*' --ignore 'var/*' --ignore 'tests/*' --ignore 'test-results/*'
	DEBUG=true $(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) var/test-db*.sqlite3* var/test-media test-results node_modules $(VENDOR)
