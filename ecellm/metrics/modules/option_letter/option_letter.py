"""option_letter: accuracy and macro-F1 over option letters (ECInstruct PRP, SA, MPC)."""

import evaluate

from ecellm.metrics.modules import MODES_DOC, compute, metric_info

_DESCRIPTION = """\
Accuracy and macro precision/recall/F1 over option letters for the ECInstruct multiple-choice tasks
Product_Relation_Prediction (headline macro-F1), Sentiment_Analysis (macro-F1) and
Multiclass_Product_Classification (accuracy). Reference mode reads the first character of the answer
(any of A-E), drops invalid answers and macro-averages over the classes present; strict mode accepts
only the task's letters (alone or followed by ":", ".", ")", "]" or a space), counts invalid answers
as wrong and macro-averages over the task's options.
"""

_KWARGS_DESCRIPTION = f"""
Args:
    predictions (`list` of `str`): model answers ("B", "B: positive", ...).
    references (`list` of `str`): gold answers (a letter or the full option string).
    task (`str`): PRP, SA or MPC (required unless the module was loaded for a task).
{MODES_DOC}
Returns:
    score (`float`): macro-F1 (PRP, SA) or accuracy (MPC); also n, invalid, accuracy, precision,
    recall, f1, kept.
Examples:
    >>> from ecellm.metrics import load_module
    >>> metric = load_module("SA")
    >>> gold = ["A", "B", "C", "B", "E", "B"]
    >>> answers = ["A", "B: positive", "c: neutral", "Answer: B", "E", "D"]
    >>> round(metric.compute(predictions=answers, references=gold)["score"], 3)
    0.5
    >>> round(metric.compute(predictions=answers, references=gold, mode="reference")["score"], 3)
    0.542
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class OptionLetter(evaluate.Metric):
    """Option-letter classification metrics for the ECInstruct multiple-choice tasks."""

    def _info(self) -> evaluate.MetricInfo:
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, task=None, mode="strict", ood=False):
        return compute("option_letter", None, self.config_name, predictions, references, task=task, mode=mode,
                       ood=ood)
