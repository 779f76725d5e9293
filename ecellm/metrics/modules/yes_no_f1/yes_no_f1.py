"""yes_no_f1: F1 of the class "yes" for the ECInstruct yes/no tasks (PM, PSI, AP)."""

import evaluate

from ecellm.metrics.modules import MODES_DOC, compute, metric_info

_DESCRIPTION = """\
F1 of the positive class "yes" (plus accuracy, precision, recall, specificity, NPV) for the
ECInstruct binary tasks Product_Matching, Product_Substitute_Identification and
Answerability_Prediction. An answer is valid iff, lower-cased and stripped, it is exactly "yes" or
"no". Reference mode drops invalid answers from every denominator, as the eCeLLM evaluator does;
strict mode keeps them as wrong answers.
"""

_KWARGS_DESCRIPTION = f"""
Args:
    predictions (`list` of `str`): model answers ("yes", "No", ...); anything else is invalid.
    references (`list` of `str`): gold answers, "yes" or "no".
    task (`str`): PM, PSI or AP (all three score identically; default PM).
{MODES_DOC}
Returns:
    score (`float`): F1 of "yes"; also n, invalid, accuracy, precision, recall, f1, specificity, npv, kept.
Examples:
    >>> from ecellm.metrics import load_module
    >>> metric = load_module("PM")
    >>> result = metric.compute(predictions=["Yes", "no", "No."], references=["yes", "no", "yes"])
    >>> round(result["score"], 3), result["invalid"]
    (0.667, 1)
    >>> result = metric.compute(predictions=["Yes", "no", "No."], references=["yes", "no", "yes"],
    ...                         mode="reference")
    >>> result["f1"], result["kept"]
    (1.0, 2.0)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class YesNoF1(evaluate.Metric):
    """F1 of "yes" for the ECInstruct yes/no tasks."""

    def _info(self) -> evaluate.MetricInfo:
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, task=None, mode="strict", ood=False):
        return compute("yes_no_f1", "PM", self.config_name, predictions, references, task=task, mode=mode,
                       ood=ood)
