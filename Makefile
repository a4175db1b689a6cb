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

# All benchmarks (issue 7) on the real servers, each appending its dated row to
# docs/benchmarks.md; sized to finish in about 8 minutes on the 2-core machine. The servers
# are the test servers (FUPIN_PG_DURABLE unset: fsync off), see docs/benchmarks.md.
BENCH = $(VENV)/bin/python
bench: $(STAMP)
	bash deploy/servers.sh up
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BENCH) bench/registry_import.py --households 50000 --small 10000 --naive 1000
	$(BENCH) bench/monitoring_sweep.py --households 300000 --events 6000 --paced 500
	$(BENCH) bench/funds_ledger.py --entries 1000000 --writes 1000
	$(BENCH) bench/event_pipeline.py --rates 1000,250 --seconds 10 --burst 10000 --raw 20000
	$(BENCH) bench/rest.py --households 20000 --seconds 10 --connections 4
	$(BENCH) bench/registry_stats.py --households 290000 --people 1000000
	$(BENCH) bench/scale_out.py --events 40000 --partitions 6
