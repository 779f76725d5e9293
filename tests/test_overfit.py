"""The training flow can learn: a few sample rows, trained at a high constant learning rate, are memorised.

A defect in what the loss sees (the prompt unmasked, the answer masked, labels shifted, EOS missing, a frozen
model) keeps the model at the answer prior, and this test then fails: it needs every training row answered
right by log-likelihood and by free generation. The tiny random model is trained fully (a random network gives
a low-rank adapter nothing to build on); ``benchmarks/overfit_check.py`` runs the same check with SmolLM2 + LoRA.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_tiny_model_memorises_its_training_rows(tmp_path):
    out = tmp_path / "overfit"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "overfit_check.py"), "--tiny", "--full", "--out",
                    str(out), "--rows", "8", "--steps", "60", "--lr", "3e-3"], check=True, cwd=REPO, timeout=900)
    report = json.loads((out / "overfit.json").read_text())
    assert report["rows"] == 8
    assert report["accuracy_loglik"] == {"PM": 1.0, "SA": 1.0, "all": 1.0}
    assert report["accuracy_generate"]["all"] == 1.0
    assert report["last_logged_losses"][-1] < 0.5 * report["first_logged_loss"]
