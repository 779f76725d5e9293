"""Benchmark: training throughput of our recipe vs the reference configuration, same model, same rows.

* reference: what the paper's Alpaca-LoRA script does: ``transformers.Trainer``, micro-batch 1 with
  gradient accumulation, a seq2seq collator padding to a multiple of 8, no packing, full-vocabulary
  logits on every position, the prompt masked in the labels.
* ours: the XS recipe's flow: ``ECellmSFTTrainer`` (TRL's ``SFTTrainer`` whose fused LM head projects only
  the answer positions, on CPU too), the XS recipe's padding-free micro-batches (4 rows), same effective
  batch (8) and LoRA. Also shown: length-grouped padded batches, and stock TRL (its fused head scores every position on
  CPU) to show what that change is worth.

Both train the same LoRA (r 16, alpha 16, dropout 0.1, the seven projections) on the same rows of the
embedded ECInstruct sample, one after the other in one process, and report trained tokens/s:
non-padding tokens (prompt + answer + EOS) divided by the Trainer's ``train_runtime``.

Usage: ``python benchmarks/bench_train.py [--model tiny|smollm2|PATH] [--rows 64] [--lm-head]``
(``tiny`` = a random 2-layer Llama, hidden 64, with the real SmolLM2 tokenizer).
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import tempfile
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    Trainer,
    TrainingArguments,
)

from ecellm.offline_models import build_tiny_model, resolve_model_path
from ecellm.training.data import load_rows, to_prompt_completion
from ecellm.training.recipes import load_recipe

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
BATCH = 8


def reference_features(data: Dataset, tokenizer) -> Dataset:
    """The reference's way: tokenize prompt + answer, append EOS, mask the prompt's tokens."""

    def encode(row: dict) -> dict:
        prompt = tokenizer(row["prompt"])["input_ids"]
        full = tokenizer(row["prompt"] + row["completion"])["input_ids"] + [tokenizer.eos_token_id]
        labels = [-100] * len(prompt) + full[len(prompt):]
        return {"input_ids": full, "attention_mask": [1] * len(full), "labels": labels}

    return data.map(encode, remove_columns=data.column_names)


def run_reference(model_path: str, data: Dataset, tokenizer, out: Path, head: bool = False) -> float:
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    targets = TARGETS + ["lm_head"] * head  # the paper adapts the head: full logits through its LoRA
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.1, target_modules=targets,
                                             task_type="CAUSAL_LM"))
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=1, gradient_accumulation_steps=BATCH,
                             learning_rate=1e-4, lr_scheduler_type="cosine", num_train_epochs=1, use_cpu=True,
                             bf16=False, report_to="none", save_strategy="no", logging_steps=1, seed=42,
                             disable_tqdm=True)
    collator = DataCollatorForSeq2Seq(tokenizer, pad_to_multiple_of=8, padding=True, label_pad_token_id=-100)
    trainer = Trainer(model=model, args=args, train_dataset=reference_features(data, tokenizer),
                      data_collator=collator)
    return trainer.train().metrics["train_runtime"]


def run_ours(model_path: str, data: Dataset, tokenizer, out: Path, stock_trl: bool = False,
             micro_batch: int | None = None, head: bool = False, **batching) -> float:
    from trl import SFTTrainer, get_peft_config

    from ecellm.training.trainer import ECellmSFTTrainer

    micro_batch = micro_batch or load_recipe("XS").training.per_device_train_batch_size
    recipe = load_recipe("XS", {**batching, "output_dir": str(out), "per_device_train_batch_size": micro_batch,
                                "gradient_accumulation_steps": BATCH // micro_batch, "learning_rate": 1e-4,
                                "num_train_epochs": 1, "effective_batch_size": None,
                                "eval_strategy": "no", "save_strategy": "no", "disable_tqdm": True,
                                "lora_target_modules": TARGETS, "max_length": None})
    trainer_class = SFTTrainer if stock_trl else ECellmSFTTrainer
    extra = {"output_head": "lm_head"} if head else {}  # as ecellm.train does for a recipe naming lm_head
    trainer = trainer_class(model=model_path, args=recipe.training, train_dataset=data, processing_class=tokenizer,
                            peft_config=get_peft_config(recipe.model), **extra)
    return trainer.train().metrics["train_runtime"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny", help="tiny, smollm2, or a model folder")
    parser.add_argument("--rows", type=int, default=64, help="training rows (a multiple of 8)")
    parser.add_argument("--lm-head", action="store_true",
                        help="both sides also LoRA-adapt lm_head, as the paper does (models with an untied head)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    model_path = {"tiny": lambda: str(build_tiny_model(work / "tiny")),
                  "smollm2": lambda: resolve_model_path("HuggingFaceTB/SmolLM2-135M-Instruct")}.get(
        args.model, lambda: args.model)()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    recipe = load_recipe("XS")
    rows = load_rows("sample", "default", ("train",), recipe.ecellm)["train"].shuffle(seed=0).select(range(args.rows))
    data = to_prompt_completion(rows, "alpaca")
    tokens = sum(len(tokenizer(r["prompt"] + r["completion"])["input_ids"]) + 1 for r in data)

    head = args.lm_head
    results = {"reference": run_reference(model_path, data, tokenizer, work / "ref", head),
               "ours_padding_free": run_ours(model_path, data, tokenizer, work / "pf", padding_free=True, head=head),
               "ours_micro_batch_8": run_ours(model_path, data, tokenizer, work / "pf8", micro_batch=8,
                                              padding_free=True, head=head),
               "ours_length_grouped": run_ours(model_path, data, tokenizer, work / "lg", padding_free=False,
                                               train_sampling_strategy="group_by_length", head=head)}
    if not head:  # stock TRL refuses a head adapter
        results["ours_padding_free_stock_trl_head"] = run_ours(model_path, data, tokenizer, work / "pfs",
                                                               stock_trl=True, padding_free=True)
    report = {"model": args.model, "rows": args.rows, "lm_head_adapted": head, "trained_tokens": tokens,
              "threads": torch.get_num_threads(),
              "cpu": platform.processor() or platform.machine()}
    for name, seconds in results.items():
        report[name] = {"seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}
    for name in results.keys() - {"reference"}:
        report[name]["speedup_vs_reference"] = round(results["reference"] / results[name], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
