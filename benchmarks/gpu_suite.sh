#!/usr/bin/env bash
# One command on a single GPU (<10 min): LoRA SFT tokens/s + MFU of a Mistral-7B-shaped model at 2048 tokens,
# vLLM and transformers-backend throughput on 15,253 prompts (timed fractions, extrapolated) -> one JSON.
#   bash benchmarks/gpu_suite.sh [OUT.json]            on the GPU machine, in the vLLM venv (make VLLM_SPEC=vllm
#                                                      TORCH_SPEC=torch vllm-env) so that all three parts run
#   bash benchmarks/gpu_suite.sh OUT.json --dry-run    tiny shapes on CPU (what the tests run)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs/gpu_suite.json}"
shift || true
PY="${PYTHON:-$( [ -x .venv-vllm/bin/python ] && echo .venv-vllm/bin/python || echo python )}"
exec timeout --kill-after=30 "${SUITE_TIMEOUT:-600}" "$PY" benchmarks/gpu_suite.py --out "$OUT" "$@"
