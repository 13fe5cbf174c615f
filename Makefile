# The only commands a newcomer needs: `make run`, `make test`, `make bench`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck bench eval setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (found %s)" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $(STAMP)

## With DISCORD_TOKEN set (environment or .env): the bot. Without: the sandbox on the bundled catalogue.
run: $(STAMP)
	$(BIN)/python -m bot start

test: $(STAMP)
	$(BIN)/ruff check bot cogs tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

eval: $(STAMP)
	$(BIN)/python -m benchmarks.evaluate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
