# grantpool: `make run` to try it, `make test` to check it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint fmt db-upgrade translations bench bench-slow-link clean messages lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installs exactly the versions the lock files name, each file checked against its hash, and
# reinstalls when a lock file (or pyproject.toml) changes. The lock files are made from
# pyproject.toml by `make lock`; `pip check` fails when pyproject.toml asks for something the
# lock does not hold (run `make lock` then).
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

$(VENV)/.installed-test: requirements-test.lock $(VENV)/.installed
	$(BIN)/pip install --quiet --require-hashes -r requirements-test.lock
	$(BIN)/pip check
	touch $@

# Regenerate both lock files from pyproject.toml, keeping every pin that still fits;
# `make lock LOCK_ARGS=--upgrade` (or `--upgrade-package flask`) moves pins forward. One
# resolution for Python 3.11 on every platform (`--universal`), with the hash of every file
# of each pinned release; the runtime lock is held to the test lock's versions.
UV_VERSION := 0.13.9
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock"
lock: | $(BIN)/python
	$(BIN)/pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml --extra test $(LOCK_FLAGS) $(LOCK_ARGS) \
		-o requirements-test.lock
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -c requirements-test.lock \
		-o requirements.lock

# A fuzzy entry is a guessed translation nobody has checked: it is not compiled (readers
# would see the English) and a catalogue marked fuzzy as a whole is skipped entirely, so
# either fails here rather than disappearing quietly. Remove the flag once checked.
translations: $(VENV)/.installed
	@if grep -Hn '^#,.*\bfuzzy\b' translations/*/LC_MESSAGES/*.po >&2; then \
		echo "fuzzy translations above: check each one and remove its fuzzy flag" >&2; \
		exit 1; \
	fi
	$(BIN)/pybabel compile -d translations --statistics

db-upgrade: $(VENV)/.installed
	$(BIN)/flask db upgrade

# Development mail is printed in this terminal as soon as it is written (sign-in links
# and codes included); the demo's own mail stays in the outbox.
run: translations db-upgrade
	GRANTPOOL_MAIL_SEND_ON_COMMIT=false $(BIN)/flask grantpool seed-demo --if-empty --quiet
	$(BIN)/flask grantpool demo-logins
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# Branch coverage of grantpool/ (settings in pyproject.toml [tool.coverage.*]); the whole
# suite fails under its floor. With PYTEST_ARGS (a file, -k …) the figure is only reported;
# PYTEST_ARGS=--no-cov leaves coverage out.
COV_ARGS = --cov $(if $(strip $(PYTEST_ARGS)),--cov-fail-under=0)
test: $(VENV)/.installed-test translations
	$(BIN)/pytest --durations=15 $(COV_ARGS) $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy grantpool

fmt: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the message catalogues after changing user-facing strings.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

# Load-test on loopback at realistic scale (PostgreSQL by default); see bench/run.py.
# Needs wrk, which this does not install: apt-get install wrk.
bench: $(VENV)/.installed translations
	@command -v wrk >/dev/null || { echo "make bench needs wrk: install it (apt-get install wrk) and run make bench again" >&2; exit 1; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The applicant's pages in Chromium on an emulated 2G link: load time and bytes; see
# bench/browser.py. Needs Chromium (apt-get install chromium).
bench-slow-link: $(VENV)/.installed-test translations
	$(BIN)/python -m bench.browser --slow-link $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage .coverage.* htmlcov
