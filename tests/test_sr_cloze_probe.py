"""The SR cloze probe (benchmarks/sr_cloze_probe.py): its three readings of the candidates' log-likelihoods, its
prompt (no option list, no letters) and its paired bootstrap must be right for its table to mean anything."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from sr_cloze_probe import CLOZE_TASK, INSTRUCTION, bootstrap, choose, history_prompt, prompts, readings, write_rows

from ecinstruct.answers.constraint import LogLik


def test_each_reading_can_pick_another_candidate():
    """A long likely title wins the sum; a short one with a better per-token rate wins per token; the one the
    history raises most wins PMI."""
    with_history = [LogLik(-6.0, 6), LogLik(-4.0, 2), LogLik(-5.0, 5)]
    without = [LogLik(-5.5, 6), LogLik(-3.0, 2), LogLik(-9.0, 5)]
    scores = readings(with_history, without)
    assert np.allclose(scores["per_token"], [-1.0, -2.0, -1.0])
    assert np.allclose(scores["pmi"], [-0.5, -1.0, 4.0])
    assert choose(scores) == {"sum": 1, "per_token": 0, "pmi": 2}


def test_the_prompt_holds_the_history_but_no_candidates_or_letters():
    prompt = history_prompt(["1st: Fluke meter. Tools.", "2nd: Duck tape. Tapes."])
    assert "- Fluke meter. Tools.\n- Duck tape. Tapes.\n" in prompt
    assert "1st" not in prompt and "A:" not in prompt and prompt.endswith("bought:")


def test_the_bootstrap_ci_holds_the_mean_and_its_p_agrees():
    hits = np.array([1.0] * 30 + [0.0] * 70)
    delta, low, high, p = bootstrap(hits, np.full(100, 0.05))
    assert abs(delta - 0.25) < 1e-9 and low <= delta <= high and low > 0 and p < 0.05
    delta, low, high, p = bootstrap(np.array([1.0, 0.0] * 50), np.array([0.0, 1.0] * 50))
    assert delta == 0.0 and low < 0 < high and p > 0.05


def test_the_alpaca_form_with_and_without_the_history():
    """PMI's second prompt is the same template with the history left out, nothing else changed."""
    with_history, without = prompts(["1st: Fluke meter.", "2nd: Duck tape."], "alpaca")
    assert INSTRUCTION in with_history and "- Fluke meter.\n- Duck tape." in with_history
    assert with_history.endswith("### Response:\n") and without.endswith("### Response:\n")
    assert without == with_history.replace("- Fluke meter.\n- Duck tape.", "")


def test_training_rows_answer_with_the_right_items_text(tmp_path):
    """--write-rows: the right candidate's text (no letter) is the answer; no option list, no letters."""
    import json

    row = {"task": "Sequential_Recommendation", "setting": "IND_Diverse_Instruction", "output": "B",
           "input": str(["1st: Fluke meter. Tools.", "2nd: Duck tape. Tapes."]),
           "options": ["A: Caulk gun. Tools.", "B: Fluke probe. Tools.", "C: Glue. Adhesives."]}
    write_rows([row], tmp_path / "rows.jsonl")
    (written,) = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert written["output"] == "Fluke probe. Tools." and written["options"] is None
    assert written["input"] == "- Fluke meter. Tools.\n- Duck tape. Tapes." and written["split"] == "train"
    assert written["task"] == CLOZE_TASK


def test_the_cloze_task_folder_loads_and_states_the_probes_instruction(benchmark_task):
    """The training rows' task is a folder beside the probe; its seed instruction is the one the rows carry."""
    from ecinstruct.instructions import load_instructions

    task = benchmark_task("sr_cloze")
    assert task.name == CLOZE_TASK and task.code == "SRC" and not task.has_options
    assert load_instructions()["SRC"].seed == INSTRUCTION


def test_the_probe_scores_real_rows_end_to_end(tmp_path):
    """The whole probe on the embedded sample's SR test rows with the tiny random model: every reading gets a
    hit rate from one choice per row, the yardsticks are the rows' own, and the file is never written over."""
    import json

    import pytest
    from sr_cloze_probe import main

    from ecellm.offline_models import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    data = Path(__file__).resolve().parents[1] / "ecinstruct" / "data" / "sample" / "dataset.jsonl"
    out = tmp_path / "probe.json"
    main(["--data", str(data), "--rows", "3", "--model", str(model), "--prompt-format", "alpaca", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["rows"] == 3 and abs(result["chance"] - 1 / 20) < 1e-9 and 0 <= result["overlap_rule"] <= 1
    for reading in ("sum", "per_token", "pmi"):
        hits = result["hits"][reading]
        assert len(hits) == 3 and set(hits) <= {0.0, 1.0}
        assert result["readings"][reading]["hr1"] == sum(hits) / 3
    with pytest.raises(SystemExit):
        main(["--data", str(data), "--rows", "3", "--model", str(model), "--out", str(out)])
    assert json.loads(out.read_text()) == result
