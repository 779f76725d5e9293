"""The SR pointwise probe (benchmarks/sr_pointwise_probe.py): its training rows (one right and some wrong
candidates, answered yes/no) and its cached yes-minus-no margins must be right for its table to mean anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from sr_pointwise_probe import INSTRUCTION, POINTWISE_TASK, pointwise_prompt, pointwise_rows, shared_prefix

ROW = {"task": "Sequential_Recommendation", "setting": "IND_Diverse_Instruction", "output": "B",
       "input": str(["1st: Fluke meter. Tools.", "2nd: Duck tape. Tapes."]),
       "options": ["A: Caulk gun. Tools.", "B: Fluke probe. Tools.", "C: Glue. Adhesives.", "D: Saw. Tools."]}


def test_training_rows_are_the_right_candidate_and_distinct_wrong_ones():
    rows = pointwise_rows(ROW, negatives=2, rng=np.random.default_rng(0))
    assert [r["output"] for r in rows] == ["yes", "no", "no"]
    candidates = [r["input"].rsplit("Candidate: ", 1)[1] for r in rows]
    assert candidates[0] == "Fluke probe. Tools." and len(set(candidates)) == 3
    assert set(candidates[1:]) <= {"Caulk gun. Tools.", "Glue. Adhesives.", "Saw. Tools."}
    assert rows[0]["input"].startswith("Purchase history:\n- Fluke meter. Tools.\n- Duck tape. Tapes.\nCandidate: ")
    assert all(r["task"] == POINTWISE_TASK and r["options"] is None and r["instruction"] == INSTRUCTION
               for r in rows)


def test_more_negatives_than_wrong_candidates_takes_them_all():
    rows = pointwise_rows(ROW, negatives=10, rng=np.random.default_rng(0))
    assert [r["output"] for r in rows].count("no") == 3


def test_the_shared_prefix_stops_at_the_first_difference():
    assert shared_prefix([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert shared_prefix([[7, 8], [7, 8, 9]]) == 2


def test_the_cached_margins_equal_one_forward_pass_per_prompt(tmp_path):
    """The history's cache shared by a right-padded batch of candidates must give each candidate's yes-minus-no
    margin exactly as its own full prompt does (padding or positions off by one would not)."""
    import torch
    from sr_overlap_baseline import parse_row
    from sr_pointwise_probe import margins

    from ecellm.engines.model_loader import describe_model, load_model
    from ecellm.offline_models import build_tiny_model

    loaded = load_model(describe_model(str(build_tiny_model(tmp_path / "tiny"))), device="cpu", dtype="float32")
    model, tokenizer = loaded.model, loaded.tokenizer
    history, options, _ = parse_row(ROW)
    fast = margins(model, tokenizer, history, options, tokenizer.eos_token_id)
    yes, no = (tokenizer(a, add_special_tokens=False).input_ids[0] for a in ("yes", "no"))
    with torch.inference_mode():
        slow = []
        for option in options:
            ids = torch.tensor([tokenizer(pointwise_prompt(history, option)).input_ids])
            last = torch.log_softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1)
            slow.append(float(last[yes] - last[no]))
    assert np.allclose(fast, slow, atol=1e-4) and len(set(np.round(slow, 6))) > 1


def test_the_task_folder_loads_and_states_the_probes_instruction(benchmark_task):
    from ecinstruct.instructions import load_instructions

    task = benchmark_task("sr_pointwise")
    assert task.name == POINTWISE_TASK and task.code == "SRY" and not task.has_options
    assert load_instructions()["SRY"].seed == INSTRUCTION


def test_the_probe_writes_rows_and_scores_real_rows_end_to_end(tmp_path):
    """The whole probe on the embedded sample's SR rows with the tiny random model: one pick per row, the
    yardsticks are the rows' own, and no file is written over."""
    from sr_pointwise_probe import main

    from ecellm.offline_models import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    data = Path(__file__).resolve().parents[1] / "ecinstruct" / "data" / "sample" / "dataset.jsonl"
    out, train = tmp_path / "probe.json", tmp_path / "train.jsonl"
    main(["--data", str(data), "--rows", "3", "--model", str(model), "--out", str(out)])
    result = json.loads(out.read_text())
    hits = result["hits"]["margin"]
    assert result["rows"] == 3 and abs(result["chance"] - 1 / 20) < 1e-9 and 0 <= result["overlap_rule"] <= 1
    assert len(hits) == 3 and set(hits) <= {0.0, 1.0} and result["readings"]["margin"]["hr1"] == sum(hits) / 3
    main(["--data", str(data), "--rows", "2", "--write-rows", str(train), "--negatives", "3"])
    written = [json.loads(line) for line in train.read_text().splitlines()]
    assert [w["output"] for w in written] == ["yes", "no", "no", "no"] * 2
    for given in (["--out", str(out)], ["--write-rows", str(train)]):
        with pytest.raises(SystemExit):
            main(["--data", str(data), "--rows", "2", "--model", str(model), *given])
    assert json.loads(out.read_text()) == result


def test_the_layout_holds_every_row_and_each_sr_row_asked_twice(tmp_path, benchmark_task):
    """The generalist's training source (``--write-layout``): the source's rows untouched, and each SR training and
    validation row as its right candidate (yes) and one other (no); SR's test rows stay in the letter form only."""
    from sr_pointwise_probe import main

    import ecinstruct
    from ecinstruct.hub_layout import read_counts

    benchmark_task("sr_pointwise")
    data = Path(__file__).resolve().parents[1] / "ecinstruct" / "data" / "sample" / "dataset.jsonl"
    main(["--data", str(data), "--write-layout", str(tmp_path / "layout")])
    counts = {(code, split): n for (_, code, split), n in read_counts(tmp_path / "layout").items()}
    source = ecinstruct.load(str(data))
    for split in source:
        for code in set(source[split]["task_code"]):
            assert counts[(code, split)] == source[split]["task_code"].count(code)
    assert counts[("SRY", "train")] == 2 * counts[("SR", "train")] > 0
    assert counts[("SRY", "validation")] == 2 * counts[("SR", "validation")] > 0
    assert not [key for key in counts if key[0] == "SRY" and key[1].startswith("test")]
    written = ecinstruct.load(str(tmp_path / "layout"))["train"]
    sry = [r for r in written if r["task_code"] == "SRY"]
    assert [r["output"] for r in sry[:4]] == ["yes", "no", "yes", "no"]
    with pytest.raises(SystemExit):  # never written over
        main(["--data", str(data), "--write-layout", str(tmp_path / "layout")])
