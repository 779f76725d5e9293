"""In-training task evaluation: generate on a small validation subset and log the task metrics.

It runs whenever the Trainer evaluates (``eval_strategy``: every ``eval_steps`` or each epoch) and adds
``eval_task_<CODE>`` (headline metric per task), ``eval_task_score`` (their mean) and
``eval_task_invalid`` (share of unparseable answers) to the evaluation metrics, so that
``metric_for_best_model: task_score`` selects the best checkpoint by the task metrics instead of the loss.
Every process generates the same greedy answers (sharded setups such as ZeRO-3 need all ranks in
``generate`` anyway), so every rank takes the same best-checkpoint decision.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

import torch
from transformers import TrainerCallback

logger = logging.getLogger(__name__)


def _scorer():
    """``ecellm.metrics.score``, or an exact-match stand-in when the metrics package is unavailable."""
    try:
        from ecellm.metrics import score

        return score
    except ImportError as err:
        logger.warning("ecellm.metrics unavailable (%s); task evaluation falls back to exact match", err)

        def exact_match(task, predictions, references, **_: Any) -> dict:
            hits = sum(p.strip() == r.strip() for p, r in zip(predictions, references, strict=True))
            return {"score": hits / max(len(references), 1), "n": len(references), "invalid": 0}

        return exact_match


def _score_kwargs(code: str) -> dict:
    if code != "AG":
        return {}
    try:  # BERTScore's paper model needs the Hub; the MiniLM wheel keeps the proxy metric offline and fast
        from ecinstruct.scoring.generation import offline_encoder

        model_type, num_layers = offline_encoder()
        return {"model_type": model_type, "num_layers": num_layers, "progress": False}
    except (ImportError, FileNotFoundError):
        return {}


class TaskEvalCallback(TrainerCallback):
    """Generate answers for ``rows`` at each evaluation and add the task metrics to the eval metrics."""

    def __init__(self, trainer, rows, prompt_format: str, max_new_tokens: int = 100, batch_size: int = 8):
        from ecinstruct.prompts import to_prompt_completion

        self.trainer = trainer
        self.prompt_format = prompt_format
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.prompts = [to_prompt_completion(r, prompt_format)["prompt"] for r in rows]
        self.references = list(rows["output"])
        self.tasks = list(rows["task_code"])
        self.option_labels = list(rows["option_labels"]) if "option_labels" in rows.column_names else None
        self.score = _scorer()
        self._failed: set[str] = set()

    def on_evaluate(self, args, state, control, metrics: dict | None = None, **kwargs):
        results = self.evaluate()
        if metrics is not None:
            metrics.update(results)  # the Trainer picks the best checkpoint from this very dict
        self.trainer.log(dict(results))
        return control

    def evaluate(self) -> dict[str, float]:
        predictions = self.generate()
        by_task: dict[str, list[int]] = defaultdict(list)
        for i, code in enumerate(self.tasks):
            by_task[code].append(i)
        results, invalid, n = {}, 0, 0
        for code, idx in by_task.items():
            scored = self._score_task(code, idx, predictions)
            if scored is None:
                continue
            results[f"eval_task_{code}"] = float(scored["score"])
            invalid += int(scored.get("invalid", 0))
            n += int(scored.get("n", len(idx)))
        finite = [v for v in results.values() if not math.isnan(v)]
        results["eval_task_score"] = sum(finite) / len(finite) if finite else float("nan")
        results["eval_task_invalid"] = invalid / n if n else float("nan")
        return results

    def _score_task(self, code: str, idx: list[int], predictions: list[str]) -> dict | None:
        labels = [self.option_labels[i] for i in idx] if self.option_labels and code == "QPR" else None
        if labels and any(lab is None for lab in labels):
            labels = None
        try:
            return self.score(code, [predictions[i] for i in idx], [self.references[i] for i in idx],
                              mode="strict", option_labels=labels, **_score_kwargs(code))
        except Exception as err:  # one task's scorer (e.g. BERTScore offline) must not stop training
            if code not in self._failed:
                logger.warning("task evaluation: cannot score %s (%s: %s); it is left out", code,
                               type(err).__name__, err)
                self._failed.add(code)
            return None

    @torch.no_grad()
    def generate(self) -> list[str]:
        from ecinstruct.prompts import clean_generation

        trainer = self.trainer
        model = trainer.accelerator.unwrap_model(trainer.model)
        tokenizer = trainer.processing_class
        was_training, side = model.training, tokenizer.padding_side
        model.eval()
        tokenizer.padding_side = "left"  # generation continues the prompt: pad on the left
        answers: list[str] = []
        try:
            for start in range(0, len(self.prompts), self.batch_size):
                batch = self._encode(self.prompts[start:start + self.batch_size]).to(model.device)
                out = model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id)
                new = out[:, batch["input_ids"].shape[1]:]
                answers += [clean_generation(t, self.prompt_format)
                            for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
        finally:
            tokenizer.padding_side = side
            model.train(was_training)
        return answers

    def _encode(self, prompts: list):
        tokenizer = self.trainer.processing_class
        if isinstance(prompts[0], list):  # conversational prompts: the chat template's generation prompt
            return tokenizer.apply_chat_template(prompts, add_generation_prompt=True, padding=True,
                                                 return_tensors="pt", return_dict=True)
        return tokenizer(prompts, padding=True, return_tensors="pt")
