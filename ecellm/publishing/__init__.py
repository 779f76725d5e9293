"""Publishing eCeLLM models: the model card (``model_card.md`` beside :mod:`ecellm.publishing.model_card`) and
the evaluation scores it shows (:mod:`ecellm.publishing.scores`). Staging and upload: :mod:`ecellm.publish`."""

from ecellm.publishing.model_card import ModelCardInputs, render_model_card
from ecellm.publishing.scores import Score, load_results, scores_from_results

__all__ = ["ModelCardInputs", "Score", "load_results", "render_model_card", "scores_from_results"]
