#!/usr/bin/env bash
# Build llama-cpp-python once, portably, and install it from a cache keyed by its build flags.
#
# Why: llama-cpp-python compiles from source, and its default (GGML_NATIVE=ON) targets the
# build machine's CPU: a wheel built on one machine dies with "Illegal instruction" on
# another. pip's own wheel cache is keyed by the source archive, not by the flags, so it
# would happily hand such a wheel to the next machine. We never let pip build it: we build
# the wheel here with fixed flags into a folder named after (version, flags), and install
# from that folder with --no-index.
#
# Usage: scripts/llama_wheel.sh PYTHON
set -euo pipefail
PY="${1:?usage: llama_wheel.sh PYTHON}"
VERSION="0.3.36"
# Portable x86-64: every CPU variant of the ggml CPU backend is built as a loadable module
# and the best one for the running CPU is chosen at load time (distill.llm.local loads them).
# GGML_NATIVE=OFF keeps the build machine's CPU out of every compile flag.
FLAGS="${DISTILL_LLAMA_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON}"
KEY="$(printf '%s|%s|%s' "$VERSION" "$FLAGS" "$(uname -m)" | sha256sum | cut -c1-16)"
CACHE="${DISTILL_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/distill/wheels}/llama-cpp-python-$VERSION-$KEY"

if "$PY" -c "import llama_cpp, json, pathlib, sys; \
p = pathlib.Path(llama_cpp.__file__).parent / 'distill_build.json'; \
sys.exit(0 if p.exists() and json.loads(p.read_text()).get('key') == '$KEY' else 1)" 2>/dev/null; then
    exit 0  # already installed with these flags
fi

if ! ls "$CACHE"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "Building llama-cpp-python $VERSION portably (about 10-20 min, once per machine cache): $FLAGS"
    tmp="$(mktemp -d)"
    CMAKE_ARGS="$FLAGS" "$PY" -m pip wheel --no-cache-dir --no-deps \
        "llama-cpp-python==$VERSION" -w "$tmp"
    mkdir -p "$CACHE"
    mv "$tmp"/llama_cpp_python-*.whl "$CACHE"/
    printf '{"version": "%s", "flags": "%s", "key": "%s"}\n' "$VERSION" "$FLAGS" "$KEY" > "$CACHE/build.json"
    rm -rf "$tmp"
fi
"$PY" -m pip install --quiet --force-reinstall --no-deps --no-index --find-links "$CACHE" \
    "llama-cpp-python==$VERSION"
# dependencies of llama-cpp-python come from the index as usual
"$PY" -m pip install --quiet "llama-cpp-python==$VERSION" --find-links "$CACHE" --no-index 2>/dev/null \
    || "$PY" -m pip install --quiet numpy typing-extensions diskcache jinja2
cp "$CACHE/build.json" "$("$PY" -c 'import llama_cpp, pathlib; print(pathlib.Path(llama_cpp.__file__).parent)')/distill_build.json"
