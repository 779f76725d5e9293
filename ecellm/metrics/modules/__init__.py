"""``evaluate`` modules, one folder per metric family, loadable offline with ``evaluate.load(<folder>)``.

Each module is a thin wrapper over :func:`ecellm.metrics.score`; this file holds what they share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MODULES_DIR = Path(__file__).resolve().parent

CITATION = """\
@inproceedings{peng2024ecellm,
  title     = {eCeLLM: Generalizing Large Language Models for E-commerce from Large-scale,
               High-quality Instruction Data},
  author    = {Peng, Bo and Ling, Xinyi and Chen, Ziru and Sun, Huan and Ning, Xia},
  booktitle = {Proceedings of the 41st International Conference on Machine Learning},
  year      = {2024},
  eprint    = {2402.08831},
  archivePrefix = {arXiv}
}
"""

HOMEPAGE = "https://arxiv.org/abs/2402.08831"

MODES_DOC = """\
    mode (`str`): "strict" (default: invalid answers count as wrong, corrected normalisations) or
        "reference" (reproduces the paper's evaluator, quirks included).
    ood (`bool`): score as an out-of-domain test setting (default False)."""


def metric_info(description: str, inputs_description: str, references: Any = None, **extra: Any) -> Any:
    """The ``evaluate.MetricInfo`` every module declares: string predictions, the references' feature
    (strings unless given), the eCeLLM citation and homepage."""
    import datasets
    import evaluate

    features = datasets.Features({"predictions": datasets.Value("string"),
                                  "references": references or datasets.Value("string")})
    return evaluate.MetricInfo(description=description, citation=CITATION, inputs_description=inputs_description,
                               features=features, homepage=HOMEPAGE, **extra)


def module_dir(family: str) -> Path:
    """The folder of one family's module (``<family>/<family>.py``)."""
    path = MODULES_DIR / family
    if not (path / f"{family}.py").is_file():
        raise FileNotFoundError(f"no evaluate module for family {family!r} under {MODULES_DIR}")
    return path


def task_for(config_name: str | None, task: str | None, default: str | None, family: str) -> str:
    """The task a module call scores: explicit ``task=``, else the load-time config name, else a default."""
    chosen = task or (config_name if config_name not in (None, "default") else None) or default
    if chosen is None:
        raise ValueError(f"the {family} module serves several tasks: pass task=... to compute() "
                         "or load it with ecellm.metrics.load_module(<task>)")
    return chosen


def compute(family: str, default: str | None, config_name: str | None, predictions: list, references: list,
            task: str | None = None, **kw: Any) -> dict[str, Any]:
    """Score through :func:`ecellm.metrics.score` (the modules' whole ``_compute``)."""
    from ecellm.metrics.core import score

    return score(task_for(config_name, task, default, family), predictions, references, **kw)
