# Two entry points for a new machine: `make serve` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

STATIC := src/cloudatlas/server/static
ORT_DIST := node_modules/onnxruntime-web/dist
VENDOR := $(STATIC)/vendor/ort
NPM := npm --no-audit --no-fund --loglevel=error

.PHONY: serve test install install-dev browser node vendor bench clean-venv

serve: $(VENV)/.installed vendor
	$(BIN)/cloudatlas serve --host $(HOST) --port $(PORT)

# node_modules/.dev first: it installs axe-core too, and vendor then copies from that install.
test: $(VENV)/.installed-dev browser node_modules/.dev vendor
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run_all.py

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Runtime only (no torch): the web app, predict, evaluate and the data tools.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# Everything: training (torch, timm), tests and the browser driver.
$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[train,dev]'
	touch $@ $(VENV)/.installed

# Browser tests use Debian's Chromium (Playwright's own download cannot work offline).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# The page runs the model in the browser with onnxruntime-web (from npm, pinned in package-lock.json).
# Only the files the page loads are copied into static/vendor (gitignored), with a gzip copy of the
# 14 MB WebAssembly binary that the server sends to browsers that accept it (about 3.7 MB).
vendor: $(VENDOR)/.copied

$(VENDOR)/.copied: node_modules/.runtime
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cp $(ORT_DIST)/ort.wasm.bundle.min.mjs $(ORT_DIST)/ort-wasm-simd-threaded.wasm $(VENDOR)/
	gzip -9 -k -n $(VENDOR)/ort-wasm-simd-threaded.wasm
	touch $@

# The runtime only (serve), unless the full install (test) is already up to date.
node_modules/.runtime: package-lock.json | node
	@if [ node_modules/.dev -nt package-lock.json ]; then :; else $(NPM) ci --omit=dev; fi
	touch $@

# Everything in package.json, axe-core included (the page tests run it).
node_modules/.dev: package-lock.json | node
	$(NPM) ci
	touch $@

node:
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }

clean-venv:
	rm -rf $(VENV)
