"""Does a model learn SR when it judges one candidate at a time ("was this the next purchase? yes/no")?

SR asks for the letter of the next product among 20 candidates. SmolLM2-135M stays at chance there, trained or
not, and trained on the item's text (``sr_cloze_probe.py``) it gains nothing over its base (docs/results). This
probe asks a yes/no question per candidate instead, the pointwise form in which LLMs were tuned for
recommendation from a few hundred rows (TALLRec, Bao et al. 2023): the same kind of answer PM, the task the
generalist learns best, gives. The 20 candidates of a row are ranked by the model's log-probability of "yes" minus
that of "no" after the prompt that holds the history and that candidate (``margin``); the top one is the pick.
Its hit rate at 1 is compared with chance and the word-overlap rule on the same rows (paired bootstrap).

    .venv/bin/python benchmarks/sr_pointwise_probe.py --data runs/reproduce/data --split validation --rows 100

Trained in this form (a positive and ``--negatives`` of the row's other candidates per row, answers "yes"/"no";
the rows' task is the folder ``benchmarks/tasks/sr_pointwise``):

    .venv/bin/python benchmarks/sr_pointwise_probe.py --data runs/reproduce/data --split train --rows 300 \\
        --write-rows runs/sr_pointwise/train.jsonl
    ECINSTRUCT_TASK_PATH=benchmarks/tasks ecellm train --recipe XS --dataset_name runs/sr_pointwise/train.jsonl \\
        --tasks SRY --train_samples_per_task 600 --eval_strategy no --output_dir runs/sr_pointwise/model
    .venv/bin/python benchmarks/sr_pointwise_probe.py --data runs/reproduce/data --split validation --rows 100 \\
        --model runs/sr_pointwise/model
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sr_cloze_probe import summarise
from sr_overlap_baseline import item_text, load_sr_rows, overlap_hit, parse_row, refuse_existing

from ecellm.offline_models import SMOLLM2_ID
from ecellm.options import whole_number

logger = logging.getLogger("sr_pointwise_probe")
TASK_FOLDER = Path(__file__).resolve().parent / "tasks" / "sr_pointwise"
# The prompt a model is scored on is the one --write-rows trains: the task folder's seed instruction and input.
INSTRUCTION = json.loads((TASK_FOLDER / "instructions.json").read_text(encoding="utf-8"))["seed"]
POINTWISE_TASK = "Sequential_Recommendation_Pointwise"
PROMPT_FORMAT = "alpaca"  # what `ecellm train` renders these rows in (XS's prompt format)


@functools.cache
def _task_module():
    """The task folder's module, loaded once by path (it is not on the import path under a package name)."""
    spec = importlib.util.spec_from_file_location("sr_pointwise_task", TASK_FOLDER / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pointwise_input(history: list[str], candidate: str) -> str:
    """The row's input text: the task folder's own serialisation of the history and one candidate."""
    text, _ = _task_module().serialize({"history": [item_text(h) for h in history], "candidate": item_text(candidate)})
    return text


def pointwise_prompt(history: list[str], candidate: str) -> str:
    from ecinstruct.prompts import get_template

    return get_template(PROMPT_FORMAT).render(INSTRUCTION, [(pointwise_input(history, candidate), None, None)])


def pointwise_rows(row: dict, negatives: int, rng: np.random.Generator) -> list[dict]:
    """The right candidate with "yes" and ``negatives`` of the row's other candidates (drawn by ``rng``) with "no",
    in the SR row's split (published names: train, val)."""
    history, options, gold = parse_row(row)
    others = [i for i in range(len(options)) if i != gold]
    picked = [gold, *rng.choice(others, size=min(negatives, len(others)), replace=False).tolist()]
    return [{"instruction": INSTRUCTION, "input": pointwise_input(history, options[i]), "options": None,
             "output": "yes" if i == gold else "no", "task": POINTWISE_TASK, "setting": row["setting"],
             "split": row.get("split", "train"), "few_shot_example": None} for i in picked]


def shared_prefix(sequences: list[list[int]]) -> int:
    """Length of the token prefix every sequence shares (the history's prompt; its cache is filled once)."""
    shortest = min(len(s) for s in sequences)
    for i in range(shortest):
        if any(s[i] != sequences[0][i] for s in sequences):
            return i
    return shortest


@torch.inference_mode()
def margins(model, tokenizer, history: list[str], options: list[str], pad: int) -> np.ndarray:
    """log p("yes") − log p("no") after each candidate's prompt. The prompts share the history's tokens: those are
    prefilled once, and the candidates' own tokens run as one right-padded batch over that cache, each read at its
    last token (both answers are one token, so one forward pass scores them)."""
    from transformers import DynamicCache

    from ecellm.engines.decode import cache_kwargs

    prompts = [tokenizer(pointwise_prompt(history, o)).input_ids for o in options]
    cut = min(shared_prefix(prompts), min(len(p) for p in prompts) - 1)  # every candidate keeps a token
    answers = [tokenizer(a, add_special_tokens=False).input_ids for a in ("yes", "no")]
    if any(len(a) != 1 for a in answers):
        raise ValueError("the margin reads one token per answer; this tokenizer splits 'yes' or 'no'")
    cache = DynamicCache(config=model.config)
    model(input_ids=torch.tensor([prompts[0][:cut]]), logits_to_keep=1, **cache_kwargs(model, cache))
    rests = [p[cut:] for p in prompts]
    width = max(len(r) for r in rests)
    inputs = torch.full((len(rests), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rests), cut + width), dtype=torch.long)
    mask[:, :cut] = 1
    for row, rest in enumerate(rests):
        inputs[row, : len(rest)] = torch.tensor(rest)
        mask[row, cut : cut + len(rest)] = 1
    cache.batch_repeat_interleave(len(rests))
    positions = torch.arange(cut, cut + width).expand(len(rests), -1)
    logits = model(input_ids=inputs, attention_mask=mask, position_ids=positions, **cache_kwargs(model, cache)).logits
    last = torch.log_softmax(logits[torch.arange(len(rests)), [len(r) - 1 for r in rests]].float(), dim=-1)
    return (last[:, answers[0][0]] - last[:, answers[1][0]]).numpy()


def score_rows(rows: list[dict], model_name: str) -> tuple[dict[str, list[float]], dict]:
    """The ``margin`` pick's hit (1/0) per row, and the yardsticks' per-row values (word-overlap rule, chance)."""
    from tqdm.auto import tqdm

    from ecellm.engines.model_loader import describe_model, load_model

    torch.manual_seed(0)
    loaded = load_model(describe_model(model_name), device="cpu", dtype="float32")
    model, tokenizer = loaded.model, loaded.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    hits: dict[str, list[float]] = {"margin": []}
    yardsticks: dict[str, list[float]] = {"overlap_rule": [], "chance": []}
    for row in tqdm(rows, desc="SR rows"):
        history, options, gold = parse_row(row)
        hits["margin"].append(float(int(np.argmax(margins(model, tokenizer, history, options, pad))) == gold))
        yardsticks["overlap_rule"].append(overlap_hit(history, options, gold))
        yardsticks["chance"].append(1 / len(options))
    return hits, yardsticks


def write_rows(rows: list[dict], path: Path, negatives: int, seed: int) -> None:
    """Each SR row as its right candidate and ``negatives`` wrong ones, JSON lines ``ecellm train`` reads."""
    rng = np.random.default_rng(seed)
    lines = [json.dumps(r) for row in rows for r in pointwise_rows(row, negatives, rng)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    logger.info("wrote %d pointwise rows (%d SR rows, %d negative(s) each) to %s", len(lines), len(rows),
                negatives, path)


def write_layout(data: Path, out: Path, negatives: int, seed: int) -> None:
    """A Hub-layout folder that holds every row of the built folder ``data`` and, for each of its SR training and
    validation rows, the pointwise rows (task SRY): the source of a generalist that learns SR one candidate at a
    time beside the other tasks (``benchmarks/reproduce_small.py``). SR's test rows are left as they are."""
    import ecinstruct
    from ecinstruct.export import write_hub_layout
    from ecinstruct.tasks import TASKS, register_folder

    if "SRY" not in {t.code for t in TASKS}:  # not in ECINSTRUCT_TASK_PATH: registered so that the rows validate
        register_folder(TASK_FOLDER)
    loaded = ecinstruct.load(str(data), "default")
    rng = np.random.default_rng(seed)

    def rows():
        for split in loaded:
            yield from ({k: v for k, v in r.items() if k not in ("id", "task_code")} for r in loaded[split])
        for split in ("train", "validation"):
            for row in (r for r in loaded[split] if r["task_code"] == "SR"):
                yield from pointwise_rows(row, negatives, rng)

    write_hub_layout(rows(), out, inputs=[data], source_name=f"{data} with SR's rows asked one candidate at a time",
                     card_sections={"SR one candidate at a time (SRY)": (
                         f"Each SR training and validation row also appears as {1 + negatives} SRY rows: its "
                         f"history with the right candidate (yes) and {negatives} other candidate(s) (no), drawn "
                         f"with seed {seed} by benchmarks/sr_pointwise_probe.py.")})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a built ECInstruct folder (`ecinstruct build-raw`)")
    parser.add_argument("--split", default="test_ind")
    parser.add_argument("--rows", type=whole_number("--rows", 1), default=100, help="the first N SR rows")
    parser.add_argument("--model", default=SMOLLM2_ID, help="Hub id or folder of a causal LM (default SmolLM2-135M)")
    parser.add_argument("--out", type=Path, help="write the per-row hits and the summary here (JSON)")
    parser.add_argument("--write-rows", type=Path,
                        help="instead of scoring, write the rows in the pointwise form as JSON lines for training")
    parser.add_argument("--write-layout", type=Path,
                        help="instead of scoring, write a Hub-layout folder: every row of --data and the pointwise "
                             "rows (task SRY) of all its SR training and validation rows (--split, --rows unused)")
    parser.add_argument("--negatives", type=whole_number("--negatives", 1), default=1,
                        help="with --write-rows/--write-layout: wrong candidates written per row beside the right one "
                             "(default 1)")
    parser.add_argument("--seed", type=whole_number("--seed", 0), default=0,
                        help="with --write-rows/--write-layout: the seed that draws the wrong candidates")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    refuse_existing(parser, args.out, args.write_rows, args.write_layout)
    if args.write_layout is not None:
        return write_layout(args.data, args.write_layout, args.negatives, args.seed)
    rows = load_sr_rows(parser, args.data, args.split, args.rows)
    if args.write_rows is not None:
        return write_rows(rows, args.write_rows, args.negatives, args.seed)
    started = time.perf_counter()
    hits, yardsticks = score_rows(rows, args.model)
    summary = summarise(hits, yardsticks, {"model": args.model, "prompt_format": PROMPT_FORMAT, "split": args.split,
                                           "rows": len(rows),
                                           "minutes": round((time.perf_counter() - started) / 60, 1)})
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**summary, "hits": hits}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
