# The only commands a newcomer needs: `make run`, `make test`, `make bench` (`make bench-quick` for a first look).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOG    := $(VENV)/install.log

.PHONY: run test test-postgres lint typecheck bench bench-quick eval setup clean

setup: $(STAMP)

# Quiet unless it fails; then one line saying why (the whole log stays in .venv/install.log).
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (found %s)" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@mkdir -p $(VENV)
	@{ $(PYTHON) -m venv $(VENV) \
	  && $(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
	  && $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'; \
	} >$(LOG) 2>&1 || { \
	  echo "setup failed: $$(grep -m1 -E '^(ERROR|error):' $(LOG) || tail -n 1 $(LOG)) (full log: $(LOG))" >&2; exit 1; }
	@touch $(STAMP)

## With DISCORD_TOKEN set (environment or .env): the bot. Without: the sandbox on the bundled catalogue.
run: $(STAMP)
	@$(BIN)/python -m bot start

test: $(STAMP)
	$(BIN)/ruff check bot cogs emulator tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

## The suite again on PostgreSQL (TEST_DATABASE_URL, else a throwaway server from the machine's packages).
test-postgres: $(STAMP)
	TEST_ENGINE=postgresql $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

## Smaller sizes; what needs real data a clone does not hold (benchmarks/realdata.py) is left out, one line each.
bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

eval: $(STAMP)
	$(BIN)/python -m benchmarks.evaluate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
