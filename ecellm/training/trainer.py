"""TRL's ``SFTTrainer``, made to train the paper's recipe efficiently: answer positions only, adapted head.

1. The LM head projects only supervised positions on every device. TRL's fused LM head does so on Triton
   devices (CUDA/XPU) but on any other device scores *every* position, to keep tile shapes fixed for graph
   compilers (Neuron). On an eager CPU that costs a vocabulary-sized projection (forward, and again in the
   backward) plus entropy for each prompt token the loss then masks out: prompt-masked training became
   slower than the reference's plain cross-entropy (measured: 0.91x on SmolLM2-135M, 0.32x on the tiny
   model). For the duration of each ``compute_loss`` we let TRL take its compact path on CPU too; the
   kernel itself is untouched. Loss, gradients and metrics are the same numbers (tested).
2. A LoRA adapter on the output head (the paper adapts ``lm_head``). TRL computes the loss from
   ``lm_head.weight`` directly, so it refuses such an adapter. Here the head's LoRA is added to the same
   adapter after TRL set the model up, and the loss then runs the model's own forward with a boolean
   ``logits_to_keep`` = the supervised positions: the head module (with its adapter and dropout) projects
   only those, and the cross-entropy is TRL's (sum over answer tokens / answer tokens in the batch).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Iterator

import torch
from trl import SFTTrainer

logger = logging.getLogger(__name__)

COMPACT_DEVICES = ("cuda", "xpu", "cpu")  # eager devices: no recompilation when the number of positions changes


@contextlib.contextmanager
def compact_fused_head() -> Iterator[None]:
    """Make TRL's fused LM head select supervised positions on CPU as it does on CUDA."""
    from trl.trainer import utils as trl_utils

    original = getattr(trl_utils, "_use_triton", None)
    if original is None:  # TRL changed its internals: keep its behaviour rather than guess
        logger.warning("trl.trainer.utils._use_triton not found; the LM head scores every position on CPU")
        yield
        return
    trl_utils._use_triton = lambda device: device.type in COMPACT_DEVICES or original(device)
    try:
        yield
    finally:
        trl_utils._use_triton = original


def add_head_adapter(peft_model, head_name: str) -> None:
    """Add a LoRA on the output head to the model's ``default`` adapter, with the same r/alpha/dropout."""
    from peft import LoraConfig, inject_adapter_in_model

    configs = peft_model.peft_config  # shared with the tuner: injection writes into it, restored below
    main = configs["default"]
    head = LoraConfig(r=main.r, lora_alpha=main.lora_alpha, lora_dropout=main.lora_dropout, bias=main.bias,
                      use_rslora=main.use_rslora, init_lora_weights=main.init_lora_weights,
                      target_modules=[head_name])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
        inject_adapter_in_model(head, peft_model.get_base_model(), adapter_name="default")
    main.target_modules = {*main.target_modules, head_name}
    configs["default"] = main
    # PEFT counts lm_head as an embedding layer and would also save the whole frozen head with every
    # checkpoint (~260 MB for Mistral-7B); the base model has it, so only the LoRA weights are saved.
    peft_model.save_pretrained = functools.partial(peft_model.save_pretrained, save_embedding_layers=False)


class ECellmSFTTrainer(SFTTrainer):
    """``SFTTrainer`` whose loss projects only answer positions through the LM head on every device, and
    which can train a LoRA on the output head (``output_head``: its module name, e.g. ``lm_head``)."""

    def __init__(self, *args, output_head: str | None = None, loss_length_power: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.output_head = output_head
        self.loss_length_power = loss_length_power
        if output_head is not None:
            add_head_adapter(self.model, output_head)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.output_head is not None or self.loss_length_power != 1.0:
            return self._adapted_head_loss(model, inputs, return_outputs, num_items_in_batch)
        # Under torch.compile keep TRL's fixed shapes: a varying number of positions would recompile.
        compact = contextlib.nullcontext() if self.args.torch_compile else compact_fused_head()
        with compact:
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)

    def _adapted_head_loss(self, model, inputs, return_outputs, num_items_in_batch):
        """Next-token cross-entropy on answer tokens (token mean, or rows weighted by their answer length to a
        power), the head run as a module on those positions only (and so with its adapter, if it has one)."""
        labels = inputs["labels"]
        # Position t predicts token t+1: keep the positions whose next token is supervised (a boolean
        # ``logits_to_keep`` makes the model return only those rows of logits, flattened).
        keep = torch.nn.functional.pad(labels[:, 1:] != -100, (0, 1), value=False)
        forward = {k: v for k, v in inputs.items() if k != "labels"}
        outputs = model(**forward, use_cache=False, logits_to_keep=keep)
        logits, targets = outputs.logits.float(), labels[:, 1:][keep[:, :-1]]
        mask = torch.ones_like(targets, dtype=torch.bool)
        if self.loss_length_power != 1.0:
            loss = self._row_weighted_loss(logits, targets, keep, inputs, num_items_in_batch)
        else:
            loss = self._token_mean_loss(logits, targets, num_items_in_batch)
        self._log_token_metrics(logits.detach(), targets, mask, inputs)
        return (loss, outputs) if return_outputs else loss

    def _token_mean_loss(self, logits: torch.Tensor, targets: torch.Tensor, num_items_in_batch) -> torch.Tensor:
        """TRL's loss: summed over answer tokens, divided by the answer tokens of the whole accumulated batch."""
        total = torch.nn.functional.cross_entropy(logits, targets, reduction="sum")
        tokens = targets.numel() if num_items_in_batch is None else num_items_in_batch
        loss = total / torch.as_tensor(tokens).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # like TRL: DDP averages the gradients across ranks
        return loss

    def _row_weighted_loss(self, logits: torch.Tensor, targets: torch.Tensor, keep: torch.Tensor, inputs,
                           num_items_in_batch) -> torch.Tensor:
        """Each row's answer tokens averaged first, then the rows, row r weighted by ``n_r ** power`` (``n_r`` its
        answer tokens). Power 0: a one-token "yes" weighs as much as a 40-token answer; power 1 would be the token
        mean. With the token mean (TRL's), a generalist batch is mostly the long answers of the generative tasks,
        and the classification tasks' few answer tokens barely move the model; with power 0 the long answers'
        tokens are each worth 1/40 of a "yes" and the generative tasks are learned less."""
        rows = row_index(inputs, keep.shape)[keep]
        per_token = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
        _, rows, counts = torch.unique(rows, return_inverse=True, return_counts=True)
        weights = counts.to(per_token.dtype).pow(self.loss_length_power)
        total = (per_token * (weights / counts)[rows]).sum()
        norm = weights.sum()
        scaled = self.loss_is_scaled_for_ga if getattr(self, "loss_is_scaled_for_ga", None) is not None else (
            self.model_accepts_loss_kwargs and num_items_in_batch is not None) or self.compute_loss_func is not None
        if scaled:  # the Trainer will not divide by the accumulation steps: do it here, as TRL's token mean does
            norm = norm * self.current_gradient_accumulation_steps
        return total / norm.clamp(min=1e-12)

    def _log_token_metrics(self, logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, inputs) -> None:
        """The metrics TRL logs: mean entropy and top-1 accuracy over answer tokens, trained tokens so far."""
        mode = "train" if self.model.training else "eval"
        log_probs = logits.log_softmax(dim=-1)
        entropy = -(log_probs.exp() * log_probs).sum(dim=-1)
        gather = self.accelerator.gather_for_metrics
        valid = gather(mask.sum()).sum()
        entropy_sum = gather((entropy * mask).sum()).sum()
        correct = gather(((logits.argmax(dim=-1) == targets) & mask).sum()).sum()
        self._metrics[mode]["entropy"].append((entropy_sum / valid).item() if valid > 0 else 0.0)
        self._metrics[mode]["mean_token_accuracy"].append((correct / valid).item() if valid > 0 else 0.0)
        if mode == "train":
            local = inputs["attention_mask"].sum() if "attention_mask" in inputs else inputs["position_ids"].numel()
            self._total_train_tokens += int(gather(torch.as_tensor(local, device=mask.device)).sum())
        self._metrics[mode]["num_tokens"] = [self._total_train_tokens]


def row_index(inputs, shape: torch.Size) -> torch.Tensor:
    """The row each position belongs to, shaped like the batch: padded batches have one row per line; a
    padding-free (or packed) line holds several rows, each starting where ``position_ids`` restarts at 0."""
    batch, length = shape
    line = torch.arange(batch, device=inputs["input_ids"].device).unsqueeze(1).expand(batch, length)
    positions = inputs.get("position_ids")
    if positions is None:
        return line
    starts = torch.cumsum((positions == 0).long(), dim=1)
    return line * (length + 1) + starts
