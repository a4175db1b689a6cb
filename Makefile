# The two set-up commands of the README, and a few conveniences.
#   make run    the whole platform on the embedded runtime (SQLite + embedded event log)
#   make test   the whole test suite, with real PostgreSQL and Kafka started by deploy/

PORT ?= 8000
VENV ?= .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
STAMP := $(VENV)/.installed

.PHONY: run test servers servers-down lint bench

$(STAMP): pyproject.toml
	bash deploy/venv.sh "$(PYTHON)" "$(VENV)"
	touch $@

run: $(STAMP)
	$(VENV)/bin/fupin dev --port $(PORT)

test: $(STAMP)
	bash deploy/servers.sh up
	$(VENV)/bin/pytest -p no:cacheprovider

servers:
	bash deploy/servers.sh up

servers-down:
	bash deploy/servers.sh down

lint: $(STAMP)
	$(VENV)/bin/ruff check shared services tests bench
