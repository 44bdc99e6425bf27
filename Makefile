# grantpool: `make run` to try it, `make test` to check it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint fmt db-upgrade translations bench bench-slow-link clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d translations -f >/dev/null

db-upgrade: $(VENV)/.installed
	$(BIN)/flask db upgrade

# Development mail is printed in this terminal as soon as it is written (sign-in links
# and codes included); the demo's own mail stays in the outbox.
run: translations db-upgrade
	GRANTPOOL_MAIL_SEND_ON_COMMIT=false $(BIN)/flask grantpool seed-demo --if-empty --quiet
	$(BIN)/flask grantpool demo-logins
	$(BIN)/flask run --host 127.0.0.1 --port 5000

test: $(VENV)/.installed-test translations
	$(BIN)/pytest --durations=15 $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the message catalogues after changing user-facing strings.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

# Load-test on loopback at realistic scale (PostgreSQL by default); see bench/run.py.
bench: $(VENV)/.installed translations
	@command -v wrk >/dev/null || (command -v apt-get >/dev/null && apt-get install -y -qq wrk >/dev/null) || (echo "install wrk first" && false)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The applicant's pages in Chromium on an emulated 2G link: load time and bytes; see
# bench/browser.py. Needs Chromium (apt-get install chromium).
bench-slow-link: $(VENV)/.installed-test translations
	$(BIN)/python -m bench.browser --slow-link $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
