"""Why the old XS generalist collapsed to one answer on PM and SA: what its loss was made of.

For a built ECInstruct folder, per task: the training rows, their answer balance, the answer length in tokens
(with the EOS the training appends), and each task's share of the loss of a generalist run, (a) as the old
recipe drew it (``max_train_samples`` rows at random from the pool, every answer token weighted equally) and
(b) as the re-tuned XS draws it (the same rows per task, answers balanced, every row weighted equally). No model
runs: tokenizer and counting only, a few seconds.

    .venv/bin/python benchmarks/diagnose_collapse.py --data runs/reproduce/data --old-rows 800 --new-rows 100
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


def answer_tokens(tokenizer, outputs: list[str]) -> list[int]:
    return [len(tokenizer(o, add_special_tokens=False)["input_ids"]) + 1 for o in outputs]  # + the EOS


def shares(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values()) or 1.0
    return {k: v / total for k, v in weights.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a folder written by `ecinstruct build-raw`")
    parser.add_argument("--tasks", default="AVE,PM,SA,AG", help="the generalist's tasks")
    parser.add_argument("--old-rows", type=int, default=800, help="the old recipe's max_train_samples")
    parser.add_argument("--new-rows", type=int, default=100, help="the new recipe's rows per task")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    import ecinstruct
    from ecellm.offline_models import resolve_model_path
    from ecellm.training.data import has_closed_answers, select_train_rows

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(SMOLLM2))
    tasks = args.tasks.split(",")
    pool = ecinstruct.load(args.data, "default")["train"].filter(lambda r: r["task_code"] in tasks)
    old_idx = random.Random(args.seed).sample(range(len(pool)), min(args.old_rows, len(pool)))
    old = pool.select(old_idx)
    new = select_train_rows(pool, args.new_rows, True, args.seed)
    print("| task | pool rows | most frequent answer (share) | answer tokens (mean, + EOS) | old: rows | "
          "old: share of the loss (token mean) | new: rows | new: most frequent answer | new: share of the loss "
          "(row mean) |")
    print("|---|---|---|---|---|---|---|---|---|")
    old_tokens, new_rows = {}, {}
    stats = {}
    for code in tasks:
        mine = [o for t, o in zip(pool["task_code"], pool["output"], strict=True) if t == code]
        top, count = Counter(mine).most_common(1)[0]
        lengths = answer_tokens(tokenizer, mine)
        old_out = [o for t, o in zip(old["task_code"], old["output"], strict=True) if t == code]
        new_out = [o for t, o in zip(new["task_code"], new["output"], strict=True) if t == code]
        old_tokens[code] = float(sum(answer_tokens(tokenizer, old_out)))
        new_rows[code] = float(len(new_out))
        new_top, new_count = Counter(new_out).most_common(1)[0] if new_out else ("–", 0)
        closed = has_closed_answers(next(r for r in pool if r["task_code"] == code))
        stats[code] = (len(mine), f"`{top[:24]}` ({count / len(mine):.0%})" if closed else "– (open answers)",
                       sum(lengths) / len(lengths), len(old_out),
                       f"`{new_top[:24]}` ({new_count / max(1, len(new_out)):.0%})" if closed else "–", len(new_out))
    old_share, new_share = shares(old_tokens), shares(new_rows)
    for code in tasks:
        n, top, mean_len, n_old, new_top, n_new = stats[code]
        print(f"| {code} | {n} | {top} | {mean_len:.1f} | {n_old} | {old_share[code]:.1%} | {n_new} | {new_top} | "
              f"{new_share[code]:.1%} |")


if __name__ == "__main__":
    main()
