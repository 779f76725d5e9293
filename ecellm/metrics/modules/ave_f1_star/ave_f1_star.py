"""ave_f1_star: Recall*, Precision*, F1* of ECInstruct attribute value extraction."""

import evaluate

from ecellm.metrics.modules import MODES_DOC, compute, metric_info

_DESCRIPTION = """\
Recall*, Precision* and F1* over (attribute, value, source) triples for ECInstruct
Attribute_Value_Extraction. Predictions and references are JSON lists of
{"attribute", "value", "source"} objects. Reference mode reproduces the paper's evaluator (after its
2025 precision fix): exact case-sensitive matching in-domain, a two-way substring match out of domain,
many-to-many hits. Strict mode normalises case and whitespace, deduplicates, matches one-to-one,
rejects empty OOD substrings and counts non-list JSON as invalid.
"""

_KWARGS_DESCRIPTION = f"""
Args:
    predictions (`list` of `str`): JSON lists of attribute/value/source objects.
    references (`list` of `str`): gold JSON lists.
{MODES_DOC}
Returns:
    score (`float`): F1*; also n, invalid, recall, precision, f1, hits, gold_count, pred_count.
Examples:
    >>> import json
    >>> from ecellm.metrics import load_module
    >>> metric = load_module("AVE")
    >>> gold = json.dumps([{{"attribute": "sleeve style", "value": "long sleeve", "source": "product title"}}])
    >>> answer = json.dumps([{{"attribute": "sleeve style", "value": "Long Sleeve", "source": "product title"}}])
    >>> metric.compute(predictions=[answer], references=[gold])["score"]
    1.0
    >>> metric.compute(predictions=[answer], references=[gold], mode="reference")["score"]
    0.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AveF1Star(evaluate.Metric):
    """F1* for the ECInstruct attribute value extraction task."""

    def _info(self) -> evaluate.MetricInfo:
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION)

    def _compute(self, predictions, references, task=None, mode="strict", ood=False):
        return compute("ave_f1_star", "AVE", self.config_name, predictions, references, task=task, mode=mode,
                       ood=ood)
