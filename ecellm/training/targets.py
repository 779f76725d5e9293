"""LoRA target modules: map legacy names, check every target exists, count what gets adapted.

PEFT only fails when *no* target matches; a list where some names match nothing silently trains fewer
layers. That is how the reference's Phi-2 list (``Wqkv, out_proj, fc1, fc2, linear``, names of the old
remote-code Phi) adapts only the MLPs of today's native ``PhiForCausalLM``. Here every target must match
at least one module, and the adapted-module count is checked again after PEFT wraps the model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import torch
from torch import nn

from ecellm.errors import TrainingError

logger = logging.getLogger(__name__)

# Old module names → the names in the current transformers implementation, per model_type.
LEGACY_TARGETS: dict[str, dict[str, tuple[str, ...]]] = {
    "phi": {"Wqkv": ("q_proj", "k_proj", "v_proj"), "out_proj": ("dense",), "linear": ("lm_head",)},
}
# PEFT shorthands that are resolved by PEFT itself (never an empty match).
PEFT_SHORTHANDS = ("all-linear",)


class TargetModuleError(TrainingError):
    """A LoRA target that matches no module of the model."""


def linear_module_names(model: nn.Module) -> list[str]:
    """Qualified names of the modules LoRA can adapt here (linear layers, quantized ones included)."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]


def _matches(name: str, target: str) -> bool:
    # PEFT's rule for a list of names: the full name, or its last dotted components.
    return name == target or name.endswith(f".{target}")


def normalize_targets(targets: str | Sequence[str] | None) -> list[str] | str | None:
    """A single plain name (``ModelConfig`` turns a one-item list into a string) back into a list.

    A string that is not a plain name stays a string: PEFT reads it as a regular expression.
    """
    if isinstance(targets, str) and (targets in PEFT_SHORTHANDS or not re.fullmatch(r"[\w.]+", targets)):
        return targets
    if isinstance(targets, str):
        return [targets]
    return list(targets) if targets is not None else None


def map_legacy_targets(model_type: str, targets: list[str], names: Sequence[str]) -> list[str]:
    """Replace target names that exist only in an old implementation of ``model_type`` by today's names."""
    legacy = LEGACY_TARGETS.get(model_type, {})
    mapped: list[str] = []
    for target in targets:
        if target in legacy and not any(_matches(n, target) for n in names):
            logger.warning("LoRA target %r does not exist in today's %s implementation; using %s instead",
                           target, model_type, ", ".join(legacy[target]))
            mapped.extend(t for t in legacy[target] if t not in mapped)
        elif target not in mapped:
            mapped.append(target)
    return mapped


def count_matches(targets: list[str] | str, names: Sequence[str]) -> dict[str, int]:
    """Modules matched per target (a regex string counts as one target)."""
    if isinstance(targets, str):
        return {targets: sum(1 for n in names if re.fullmatch(targets, n))}
    return {t: sum(1 for n in names if _matches(n, t)) for t in targets}


def validate_targets(model: nn.Module, targets: str | Sequence[str] | None, model_type: str = "") -> list[str] | str:
    """Resolved targets for ``model``; raises :class:`TargetModuleError` if any target matches nothing."""
    resolved = normalize_targets(targets)
    if resolved is None or resolved in PEFT_SHORTHANDS:
        if resolved is None:
            raise TargetModuleError("lora_target_modules is empty; list the modules to adapt (e.g. q_proj, "
                                    "k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, lm_head) or 'all-linear'")
        return resolved
    names = linear_module_names(model)
    if isinstance(resolved, list):
        resolved = map_legacy_targets(model_type, resolved, names)
    counts = count_matches(resolved, names)
    missing = [t for t, n in counts.items() if n == 0]
    if missing:
        available = sorted({n.rsplit(".", 1)[-1] for n in names})
        raise TargetModuleError(
            f"LoRA target(s) {missing} match no linear module of this {model_type or type(model).__name__} model, "
            f"so those layers would silently not be trained. Linear module names here: {', '.join(available)}. "
            "Fix lora_target_modules in the recipe."
        )
    logger.info("LoRA targets %s adapt %d modules", counts, sum(counts.values()))
    return resolved


def expected_count(model: nn.Module, targets: list[str] | str) -> int:
    """How many modules PEFT should wrap (0 for shorthands, which PEFT resolves itself)."""
    if targets in PEFT_SHORTHANDS:
        return 0
    names = linear_module_names(model)
    if isinstance(targets, str):
        return sum(1 for n in names if re.fullmatch(targets, n))
    return sum(1 for n in names if any(_matches(n, t) for t in targets))


def adapts_output_head(model: nn.Module, targets: list[str] | str) -> bool:
    """Whether ``targets`` include the output head (``lm_head``); PEFT shorthands never do."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is None or targets in PEFT_SHORTHANDS:
        return False
    name = next(n for n, m in model.named_modules() if m is head)
    if isinstance(targets, str):
        return re.fullmatch(targets, name) is not None
    return any(_matches(name, t) for t in targets)


def split_output_head(model: nn.Module, targets: list[str] | str) -> tuple[list[str] | str, str | None]:
    """``targets`` without the output head, and the head's module name when they adapt it.

    The head is adapted separately (see :mod:`ecellm.training.trainer`). A head whose weight is tied to the
    input embeddings is refused: merging its LoRA would change the embeddings too.
    """
    if not adapts_output_head(model, targets):
        return targets, None
    head = model.get_output_embeddings()
    name = next(n for n, m in model.named_modules() if m is head)
    if isinstance(targets, str):
        raise TargetModuleError(f"the target pattern {targets!r} matches the output head {name!r}; list the "
                                "modules instead (e.g. [q_proj, v_proj, lm_head]) so the head can be adapted")
    text_config = model.config.get_text_config()
    if getattr(text_config, "tie_word_embeddings", False):
        raise TargetModuleError(f"{name!r} shares its weight with the input embeddings (tie_word_embeddings) in "
                                f"{type(model).__name__}: a LoRA there cannot be merged without changing the "
                                f"embeddings. Remove {name!r} from lora_target_modules")
    return [t for t in targets if not _matches(name, t)], name


def adapted_count(model: nn.Module) -> int:
    """Modules carrying a LoRA adapter after PEFT wrapped the model."""
    from peft.tuners.lora import LoraLayer

    return sum(1 for m in model.modules() if isinstance(m, LoraLayer))


def meta_model(config) -> nn.Module:
    """The architecture of ``config`` built on the meta device: module names and shapes, no memory, no weights."""
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)
