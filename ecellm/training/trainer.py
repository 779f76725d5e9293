"""TRL's ``SFTTrainer`` with the LM head projecting only supervised positions on every device.

TRL's fused LM head scores only the positions whose label is not -100 on Triton devices (CUDA/XPU), but on
any other device it scores *every* position, to keep tile shapes fixed for graph compilers (Neuron). On an
eager CPU that costs a vocabulary-sized projection (done twice: forward, and again in the backward) plus
entropy for each prompt token the loss then masks out, which made our prompt-masked training slower than
the reference's plain cross-entropy (measured: 0.65x on SmolLM2-135M, 0.23x on the tiny model). For the
duration of each ``compute_loss`` we let TRL take its compact path on CPU too; the kernel itself is
untouched (it picks Triton or its PyTorch tiles from its own check). Loss, gradients and metrics are the
same numbers, the positions are only selected earlier (tested).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

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


class ECellmSFTTrainer(SFTTrainer):
    """``SFTTrainer`` whose loss projects only answer (supervised) positions through the LM head on CPU too."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        with compact_fused_head():
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
