"""Metric families of the ECInstruct tasks: answer parsers and plain scoring functions.

Each task's :class:`~ecinstruct.tasks.base.Task` carries one scorer (``task.scorer``); every scorer
implements both readings of ``docs/metrics.md``: ``"reference"`` (the reference evaluator's numbers, quirks included,
minus its crashes) and ``"strict"`` (invalid answers count as wrong, corrected normalisations).

Result keys: ``score`` (the headline), ``n`` (items), ``invalid`` and per family
binary ``accuracy, precision, recall, f1, specificity, npv, kept``;
option letters ``accuracy, precision, recall, f1`` (macro) ``, kept``; SR ``hr@1, kept``;
QPR ``ndcg, invalid_tokens, empty_rankings`` (+ strict ``duplicate_tokens, invalid_items``);
AVE ``recall, precision, f1, hits, gold_count, pred_count``;
AG ``precision, recall, f1, empty, bleurt, bleurt_failures`` (+ model metadata).
"""

from ecinstruct.scoring.base import MODES, Mode, ReferenceQuirkWarning, Scorer, check_mode
from ecinstruct.scoring.binary import YesNoScorer
from ecinstruct.scoring.extraction import ExtractionScorer
from ecinstruct.scoring.generation import GenerationScorer, offline_encoder
from ecinstruct.scoring.letter import SingleLetterScorer
from ecinstruct.scoring.multiclass import OptionLetterScorer
from ecinstruct.scoring.ranking import RankingScorer

__all__ = [
    "MODES",
    "ExtractionScorer",
    "GenerationScorer",
    "Mode",
    "OptionLetterScorer",
    "RankingScorer",
    "ReferenceQuirkWarning",
    "Scorer",
    "SingleLetterScorer",
    "YesNoScorer",
    "check_mode",
    "offline_encoder",
]
