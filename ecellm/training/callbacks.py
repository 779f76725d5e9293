"""In-training task evaluation: generate on a small validation subset and log the task metrics.

It runs whenever the Trainer evaluates (``eval_strategy``: every ``eval_steps`` or each epoch) and adds
``eval_task_<CODE>`` (headline metric per task), ``eval_task_score`` (their mean) and
``eval_task_invalid`` (share of unparseable answers) to the evaluation metrics, so that
``metric_for_best_model: task_score`` selects the best checkpoint by the task metrics instead of the loss.
Answers come from the engine layer's decode loop
(:class:`ecellm.engines.transformers_engine.TransformersEngine`, the evaluation's own) and are scored by the
evaluation's one scoring path (:func:`ecellm.evaluation.scoring.score_rows`, strict reading, no bootstrap). Every
process generates the same greedy answers (sharded setups such as ZeRO-3 need all ranks in the forward passes
anyway), so every rank takes the same best-checkpoint decision.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from typing import Any

import torch
from transformers import TrainerCallback

from ecellm.evaluation.scoring import MemoPairScorer, ScoringOptions, answer, score_rows

logger = logging.getLogger(__name__)


def _pair_scorer(tasks: list) -> MemoPairScorer | None:
    """The offline MiniLM encoder for tasks scored with one: the paper's encoder needs the Hub, and the
    in-training number is a proxy that must stay offline and fast. ``None``: the scorer's own default."""
    if not any(t.scorer.needs_encoder for t in tasks):
        return None
    from ecellm.evaluation.scoring import resolve_encoder

    try:
        return MemoPairScorer(resolve_encoder("offline"))
    except (ImportError, FileNotFoundError):
        return None


class TaskEvalCallback(TrainerCallback):
    """Generate answers for ``rows`` at each evaluation and add the task metrics to the eval metrics."""

    def __init__(self, trainer, rows, prompt_format: str, max_new_tokens: int = 100, batch_size: int = 8):
        from ecinstruct.tasks import get_task

        self.trainer = trainer
        self.prompt_format = prompt_format
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.rows = [dict(r) for r in rows]
        self.tasks = [get_task(r["task_code"]) for r in self.rows]
        self.options = ScoringOptions(n_resamples=0, pair_scorer=_pair_scorer(self.tasks))
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
        for i, task in enumerate(self.tasks):
            by_task[task.code].append(i)
        results, invalid, n = {}, 0, 0
        for code, idx in by_task.items():
            scored = self._score_task(code, idx, predictions)
            if scored is None:
                continue
            results[f"eval_task_{code}"] = float(scored["score"])
            invalid += int(scored["invalid"])
            n += int(scored["n"])
        finite = [v for v in results.values() if not math.isnan(v)]
        results["eval_task_score"] = sum(finite) / len(finite) if finite else float("nan")
        results["eval_task_invalid"] = invalid / n if n else float("nan")
        return results

    def _score_task(self, code: str, idx: list[int], predictions: list[str]) -> dict[str, Any] | None:
        task = self.tasks[idx[0]]
        try:
            entry, _ = score_rows(task, "validation", "strict", [predictions[i] for i in idx],
                                  [self.rows[i] for i in idx], self.options)
        except Exception as err:  # one task's scorer (e.g. BERTScore offline) must not stop training
            if code not in self._failed:
                logger.warning("task evaluation: cannot score %s (%s: %s); it is left out", code,
                               type(err).__name__, err)
                self._failed.add(code)
            return None
        return {**entry, "score": float("nan") if entry["score"] is None else entry["score"]}

    @torch.no_grad()
    def generate(self) -> list[str]:
        """Strict answers of every row, greedy, through the transformers engine's continuous-batching decode loop."""
        from ecellm.engines.generation_settings import GenerationSettings
        from ecellm.engines.model_loader import LoadedModel
        from ecellm.engines.prompt_formats import adds_special_tokens, render_prompt
        from ecellm.engines.transformers_engine import TransformersEngine

        trainer = self.trainer
        model = trainer.accelerator.unwrap_model(trainer.model)
        tokenizer = trainer.processing_class
        was_training = model.training
        model.eval()
        prompts = [render_prompt(r, self.prompt_format, tokenizer) for r in self.rows]
        settings = GenerationSettings(max_new_tokens=self.max_new_tokens)
        loaded = LoadedModel(spec=None, model=model, tokenizer=tokenizer, device=str(model.device), dtype="")
        engine = TransformersEngine(loaded, settings, add_special_tokens=adds_special_tokens(self.prompt_format),
                                    stop_strings=settings.stop_strings(self.prompt_format), max_rows=self.batch_size)
        try:
            outputs = engine.generate(prompts, self.max_new_tokens, seed=0)
        finally:
            model.train(was_training)
        return [answer(p, o.text, self.prompt_format, "strict") for p, o in zip(prompts, outputs, strict=True)]
