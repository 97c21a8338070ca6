# Two commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow lint-imports clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py $(PROJECT)

lint-imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

test: $(STAMP) lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

test-slow: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
