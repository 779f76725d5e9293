"""The model card's "How to use" runs: its Predictor code and its `ecellm predict` command, on a local model
standing in for the Hub repository (no Hub here)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shlex

from scripted_model import HAS_XGRAMMAR, build_scripted_model

from ecellm.cli import main
from ecellm.publishing import ModelCardInputs, render_model_card

REPO_ID = "my-org/eCeLLM-XS"


def _blocks(text: str, language: str) -> list[str]:
    how_to = text.split("## How to use", 1)[1].split("### With transformers only", 1)[0]
    return [block.split("```", 1)[0] for block in how_to.split(f"```{language}\n")[1:]]


def test_card_how_to_use_runs(tmp_path, monkeypatch):
    text = render_model_card(ModelCardInputs(repo_id=REPO_ID, base_model="HuggingFaceTB/SmolLM2-135M-Instruct"))
    model = str(build_scripted_model(tmp_path / "model", "yes"))

    (code,) = _blocks(text, "python")
    assert f'Predictor("{REPO_ID}")' in code
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code.replace(REPO_ID, model), "card", "exec"), {})
    # The stand-in model answers "yes" (PSI: True); sentiment is decoded inside its labels, so it gives one.
    first, *sentiments = printed.getvalue().splitlines()
    assert first == "True True" and len(sentiments) == 2
    if not HAS_XGRAMMAR:  # generated freely, "yes" is no sentiment label
        assert sentiments == ["None yes", "None yes"]
        sentiments = []
    labels = ("very positive", "positive", "neutral", "negative", "very negative")
    assert all(line.rsplit(" ", 2)[0].split(" ")[0] in {label.split()[0] for label in labels} for line in sentiments)

    (shell,) = _blocks(text, "bash")
    commands = [line for line in shell.replace("\\\n", " ").splitlines() if line.startswith("ecellm predict")]
    assert len(commands) == 1 and "ecellm serve" in shell
    monkeypatch.chdir(tmp_path)
    with open("products.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerows([["product_name", "details", "wanted"],
                          ["Trailmark 2-Person Dome Tent, Forest Green", "Two doors, full rainfly.", "Color"],
                          ["Kelso Burr Coffee Grinder", "", "Material"]])
    argv = shlex.split(commands[0].replace(REPO_ID, model))[1:]
    assert main([*argv, "--no-progress", "--max-new-tokens", "4"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "attributes.jsonl").read_text().splitlines()]
    assert [(r["row"], r["task"], r["raw"]) for r in rows] == [(0, "AVE", "yes"), (1, "AVE", "yes")]
