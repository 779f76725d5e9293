"""Training eCeLLM: YAML recipes parsed by TRL, SFTTrainer + LoRA, one linear flow (:func:`train`)."""

from ecellm.training.config import ECeLLMArguments
from ecellm.training.recipes import Recipe, RecipeError, load_recipe, shipped_recipes
from ecellm.training.run import TrainResult, run, train
from ecellm.training.targets import TargetModuleError

__all__ = [
    "ECeLLMArguments",
    "Recipe",
    "RecipeError",
    "TargetModuleError",
    "TrainResult",
    "load_recipe",
    "run",
    "shipped_recipes",
    "train",
]
