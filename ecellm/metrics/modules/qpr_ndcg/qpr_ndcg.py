"""qpr_ndcg: NDCG of ECInstruct query-product ranking, with graded ESCI gains."""

import datasets
import evaluate

from ecellm.metrics.modules import MODES_DOC, compute, metric_info
from ecinstruct.scoring.ranking import gold_ranking

_DESCRIPTION = """\
NDCG for ECInstruct Query_Product_Rank. Each item's reference is the list of ESCI labels of its
options (label of A first); gains E 1.0, S 0.1, C 0.01, I 0 are used as exponents (2^g - 1).
Reference mode reproduces the paper's evaluator: comma-split tokens read by their first character,
duplicates kept, IDCG from the predicted items only (naming only the best item scores ~1). Strict mode
trims tokens, accepts exact letters, ignores duplicates and normalises by the ideal ranking of all
gold items.
"""

_KWARGS_DESCRIPTION = f"""
Args:
    predictions (`list` of `str`): rankings such as "B,A,C".
    references (`list` of `list` of `str`): per item, the ESCI label (E, S, C, I) of option A, B, ...
{MODES_DOC}
Returns:
    score (`float`): mean NDCG; also n, invalid (items with an invalid token, at most n), ndcg,
    invalid_tokens (the reference's #invalid), invalid_items, empty_rankings (+ strict: duplicate_tokens).
Examples:
    >>> from ecellm.metrics import load_module
    >>> metric = load_module("QPR")
    >>> labels = [["S", "E", "C"], ["E", "S"], ["I", "E", "S", "C"]]
    >>> round(metric.compute(predictions=["B,A,C", "B", "A, B"], references=labels)["score"], 3)
    0.557
    >>> result = metric.compute(predictions=["B,A,C", "B", "A, B"], references=labels, mode="reference")
    >>> round(result["score"], 3), result["invalid"]
    (0.667, 1)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class QprNdcg(evaluate.Metric):
    """NDCG for the ECInstruct query-product ranking task."""

    def _info(self) -> evaluate.MetricInfo:
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION, references=datasets.Sequence(datasets.Value("string")))

    def _compute(self, predictions, references, task=None, mode="strict", ood=False):
        gold = [gold_ranking(labels) for labels in references]
        return compute("qpr_ndcg", "QPR", self.config_name, predictions, gold, task=task, mode=mode, ood=ood,
                       option_labels=references)
