# The two commands of the README:
#   make demo   install everything into .venv and run the main job on the embedded defaults
#   make test   run the test suite (what CI runs)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint install clean

demo: $(STAMP)
	$(BIN)/distill tools
	$(BIN)/distill llm ping
	$(BIN)/distill demo
	$(BIN)/distill ask "Which phone has the worst battery reviews?"

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" ; rc=$$? ; [ $$rc -eq 5 ] && rc=0 ; exit $$rc

test-all: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

install: $(STAMP)

# torch is pinned in pyproject to the CPU build on this machine's disk; llama-cpp-python
# compiles once (~7 min) and pip caches the wheel afterwards.
$(STAMP): pyproject.toml examples/distill-prices/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -e ".[dev,ray]" -e examples/distill-prices
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
