"""hit_rate_at_1: HR@1 of ECInstruct sequential recommendation (one letter among A-T)."""

import evaluate

from ecellm.metrics.modules import MODES_DOC, compute, metric_info

_DESCRIPTION = """\
HR@1 for ECInstruct Sequential_Recommendation: the answer must be exactly one of the 20 candidate
letters A-T (after stripping). Reference mode computes it over the valid answers only (the paper's
evaluator); strict mode over all items, an invalid answer being a miss.
"""

_KWARGS_DESCRIPTION = f"""
Args:
    predictions (`list` of `str`): model answers (a letter A-T).
    references (`list` of `str`): gold letters.
    lenient (`bool`): also accept "K: <item text>" (off by default; reported in the result).
{MODES_DOC}
Returns:
    score (`float`): HR@1; also n, invalid, hr@1, kept.
Examples:
    >>> from ecellm.metrics import load_module
    >>> metric = load_module("SR")
    >>> answers, gold = ["K", "B", " C ", "K: Zinus Ultima", "k"], ["K", "A", "C", "K", "K"]
    >>> metric.compute(predictions=answers, references=gold)["score"]
    0.4
    >>> round(metric.compute(predictions=answers, references=gold, mode="reference")["score"], 3)
    0.667
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class HitRateAt1(evaluate.Metric):
    """HR@1 for the ECInstruct sequential recommendation task."""

    def _info(self) -> evaluate.MetricInfo:
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, task=None, mode="strict", ood=False, lenient=None):
        return compute("hit_rate_at_1", "SR", self.config_name, predictions, references, task=task, mode=mode,
                       ood=ood, lenient=lenient)
