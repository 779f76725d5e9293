"""Can the training flow learn at all? Train on a few real rows until they are memorised, then score those rows.

The sanity check behind the fine-tuning results: the package's own training flow (recipe, prompt masking, EOS,
the head adapter, padding-free batches) on ``--rows`` closed-answer training rows at a high constant learning
rate for ``--steps`` optimizer steps, then the same rows answered by log-likelihood and by free generation. A
flow that learns reaches ~100% on its own training rows with the training loss near 0; a defect in masking,
labels or EOS keeps it at the class prior. The test suite runs it with the tiny random model
(``tests/test_overfit.py``); with SmolLM2 on real rows it is a benchmark:

    .venv/bin/python benchmarks/overfit_check.py --data runs/reproduce/data --out runs/overfit     # ~10 min here
    .venv/bin/python benchmarks/overfit_check.py --tiny --out runs/overfit-tiny                    # seconds
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

logger = logging.getLogger("overfit_check")
SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"


def chosen_rows(data: str, tasks: list[str], rows: int, seed: int) -> list[dict]:
    """The rows the training run draws (same function, same seed): ``rows / len(tasks)`` per task, answers
    balanced."""
    import ecinstruct
    from ecellm.training.data import resolve_source, select_train_rows

    train = ecinstruct.load(resolve_source(data), "default")["train"].filter(lambda r: r["task_code"] in tasks)
    return [dict(r) for r in select_train_rows(train, rows // len(tasks), True, seed)]


def accuracy(model_dir: Path, rows: list[dict], method: str) -> dict[str, float]:
    """Share of ``rows`` answered exactly (strict form) by the trained model, per task and overall."""
    from ecellm.engines.prompt_formats import adds_special_tokens, render_prompt
    from ecellm.evaluation.scoring import read_answers
    from ecellm.inference.predictor import Predictor, Prepared
    from ecinstruct.tasks import get_task

    predictor = Predictor(model_dir, method=method, max_new_tokens=16)
    items = []
    for row in rows:
        prompt = render_prompt(row, predictor.prompt_format, predictor.tokenizer)
        n = len(predictor.tokenizer(prompt, add_special_tokens=adds_special_tokens(predictor.prompt_format))
                ["input_ids"])
        task = get_task(row["task_code"])
        items.append(Prepared(task, {}, row, prompt, n, predictor.method_for(task, row)))
    predictions = predictor.run(items)
    hits: dict[str, list[bool]] = {}
    for row, p in zip(rows, predictions, strict=True):
        (gold,) = read_answers(get_task(row["task_code"]), "flexible", [row["output"]], [row])  # "A: ..." → "A"
        hits.setdefault(row["task_code"], []).append(p.valid and p.answer == gold)
    out = {code: sum(h) / len(h) for code, h in sorted(hits.items())}
    out["all"] = sum(sum(h) for h in hits.values()) / len(rows)
    return out


def run(args: argparse.Namespace) -> dict:
    import ecellm

    out = args.out.resolve()
    base = SMOLLM2
    if args.tiny:
        from ecellm.offline_models import build_tiny_model

        base = str(build_tiny_model(out / "tiny-base"))
    tasks = args.tasks.split(",")
    started = time.perf_counter()
    result = ecellm.train(
        "XS", model_name_or_path=base, dataset_name=args.data, tasks=tasks, train_samples_per_task=args.rows //
        len(tasks), balance_answers=True, max_train_samples=None, learning_rate=args.lr,
        lr_scheduler_type="constant", warmup_steps=0, max_steps=args.steps, lora_dropout=0.0, eval_strategy="no",
        save_strategy="no", output_dir=str(out / "model"), seed=args.seed, logging_steps=1,
        use_peft=not args.full)
    seconds = time.perf_counter() - started
    rows = chosen_rows(args.data, tasks, args.rows, args.seed)
    history = [e["loss"] for e in result.summary.get("log_history") or [] if "loss" in e]
    report = {"model": base, "adapter": "full fine-tuning" if args.full else "LoRA (XS)", "rows": len(rows),
              "steps": args.steps, "learning_rate": args.lr,
              "train_seconds": round(seconds, 1), "final_train_loss": result.metrics.get("train_loss"),
              "first_logged_loss": history[0] if history else None, "last_logged_losses": history[-5:],
              "accuracy_loglik": accuracy(out / "model", rows, "loglik"),
              "accuracy_generate": accuracy(out / "model", rows, "generate")}
    (out / "overfit.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="sample", help="an ECInstruct source (a built folder; default: the sample)")
    parser.add_argument("--tasks", default="PM,SA")
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps (batch 8)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("runs/overfit"))
    parser.add_argument("--tiny", action="store_true", help="the tiny random model (tests)")
    parser.add_argument("--full", action="store_true", help="full fine-tuning instead of the recipe's LoRA (a "
                        "random tiny model has nothing for a low-rank update to build on)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
