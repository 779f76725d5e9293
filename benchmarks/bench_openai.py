"""`--backend openai` against a local `vllm serve` (CPU): prompts/s at several request concurrencies.

Starts vLLM's OpenAI-compatible server on 127.0.0.1 with SmolLM2-135M fp32 (eager, 1 GiB KV cache), then sends
the same alpaca prompts as bench_generate.py through ``OpenAIEngine`` (completions API, greedy, 100 new tokens,
stop at the response marker) at each concurrency, and checks the texts agree across concurrencies.
Run from the vLLM venv:

    .venv-vllm/bin/python benchmarks/bench_openai.py --n-prompts 32 --concurrency 1,8,32
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def start_server(model: str, max_seqs: int, log: Path) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model, "--served-model-name",
           "smol", "--host", "127.0.0.1", "--port", str(port), "--dtype", "float32", "--enforce-eager",
           "--kv-cache-memory-bytes", str(2**30), "--max-model-len", "2048", "--max-num-seqs", str(max_seqs),
           "--disable-log-stats"]
    started = time.perf_counter()
    with log.open("w") as handle:
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "VLLM_LOGGING_LEVEL": "WARNING"})
    url = f"http://127.0.0.1:{port}/v1"
    while proc.poll() is None:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/models", timeout=2) as response:
            if response.status == 200:
                return proc, url, time.perf_counter() - started
        time.sleep(1)
    raise SystemExit(f"vllm server exited:\n{log.read_text()[-3000:]}")


def main() -> None:
    from bench_generate import sample_prompts

    from ecellm.engines.generation_settings import GenerationSettings
    from ecellm.engines.openai_engine import OpenAIEngine, OpenAIOptions
    from ecellm.offline_models import smollm2_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-prompts", type=int, default=32)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--max-new-tokens", type=int, default=100)
    parser.add_argument("--out", help="Write the rows as JSON here.")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    prompts = [p for _, p in sample_prompts(args.n_prompts)]
    log = Path("/tmp") / f"bench_openai_{os.getpid()}.log"
    proc, url, start_s = start_server(str(smollm2_dir()), max(levels), log)
    rows, texts = [], {}
    try:
        settings = GenerationSettings()
        for level in levels:
            backend = OpenAIEngine("smol", OpenAIOptions(base_url=url, concurrency=level), settings,
                                    stop_strings=settings.stop_strings("alpaca"))
            t = time.perf_counter()
            out = backend.generate(prompts, args.max_new_tokens, seed=0)
            seconds = time.perf_counter() - t
            texts[level] = [g.text for g in out]
            rows.append({"concurrency": level, "prompts": len(prompts), "seconds": round(seconds, 2),
                         "prompts_per_s": round(len(prompts) / seconds, 3),
                         "new_tokens_per_s": round(sum(g.new_tokens for g in out) / seconds, 1),
                         "same_texts_as_first": sum(a == b for a, b in zip(texts[levels[0]], texts[level],
                                                                           strict=True))})
            print(rows[-1], flush=True)
    finally:  # the server's engine runs in child processes: end its whole session, not just the server
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    print(f"\n{platform.processor() or platform.machine()}; server start {start_s:.0f} s\n")
    print("| concurrency | prompts/s | new tok/s | same texts as concurrency 1 |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['concurrency']} | {r['prompts_per_s']:.2f} | {r['new_tokens_per_s']:.1f} | "
              f"{r['same_texts_as_first']}/{r['prompts']} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"server_start_s": start_s, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
