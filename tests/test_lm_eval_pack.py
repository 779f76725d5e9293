"""The lm-evaluation-harness task pack (`ecinstruct export-lm-eval`) through the real lm-eval.

A tiny model runs the pack on the small sample's test rows; lm-eval's own logged samples, converted to the input
of `ecellm score`, must score as lm-eval reported, its log-likelihood accuracy must equal `ecellm eval --method
loglik` on the same rows, and every prompt must be the one `ecellm eval` sends.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from scripted_model import build_scripted_model

from ecellm.evaluation.harness import predictions_from_samples
from ecinstruct.lm_eval_pack import GROUP, MC_GROUP, has_choices, metric_names, write_lm_eval_pack
from ecinstruct.prompts import build_prompt
from ecinstruct.tasks import TASKS, get_task

needs_lm_eval = pytest.mark.skipif(importlib.util.find_spec("lm_eval") is None,
                                   reason="lm-eval is not installed: pip install 'ecellm[lmeval]' (make install does)")
LIMIT = 2  # rows per subtask: the small sample has 3 test_ind and 2 test_ood rows per task
YES_NO = ("ecinstruct_pm", "ecinstruct_psi", "ecinstruct_ap")


def _subtasks() -> dict[str, tuple[str, str]]:
    """``{lm-eval task: (task code, split)}`` of every generation subtask."""
    out = {}
    for task in TASKS:
        for split in ("test_ind", "test_ood") if task.has_ood else ("test_ind",):
            out[f"{GROUP}_{task.config_name}_{split[5:]}"] = (task.code, split)
    return out


SUBTASKS = _subtasks()
MC_SUBTASKS = {f"{name}_mc": pair for name, pair in SUBTASKS.items() if has_choices(get_task(pair[0]))}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from ecellm.offline_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="module")
def pack(tmp_path_factory, built_folder) -> Path:
    out = tmp_path_factory.mktemp("lm_eval") / "pack"
    write_lm_eval_pack(out, built_folder)
    return out


def _run_lm_eval(model: Path, pack: Path, tasks: list[str]) -> dict:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    return simple_evaluate(model="hf", model_args=f"pretrained={model},dtype=float32", tasks=tasks,
                           task_manager=TaskManager(include_path=str(pack)), limit=LIMIT, log_samples=True,
                           bootstrap_iters=0, batch_size=8, device="cpu")


@pytest.fixture(scope="module")
def harness(tiny, pack) -> dict:
    """The tiny random model on every subtask (its answers are noise: invalid, except AG's free text)."""
    return _run_lm_eval(tiny, pack, [GROUP, MC_GROUP])


@pytest.fixture(scope="module")
def answering(tmp_path_factory, pack) -> dict:
    """A tiny model that always answers "Yes.": invalid in the strict reading, "yes" in the flexible one."""
    model = build_scripted_model(tmp_path_factory.mktemp("models") / "yes", "Yes.")
    return _run_lm_eval(model, pack, list(YES_NO))


def _ecellm_score(harness: dict, subtasks: dict[str, tuple[str, str]], tmp_path: Path) -> dict:
    """`ecellm score` of lm-eval's logged samples: ``{(task, split, reading): entry}``."""
    from ecellm.evaluation.score_file import ScoreOptions, score_predictions

    # as lm-eval writes them with --log_samples: one JSON line per sample, JSON-safe
    logged = [json.loads(json.dumps(sample, default=str)) for name in subtasks for sample in harness["samples"][name]]
    records = predictions_from_samples(logged)
    assert [(r["task"], r["split"]) for r in records] == [pair for name, pair in subtasks.items()
                                                          for _ in harness["samples"][name]]
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    scored = score_predictions(ScoreOptions(predictions=str(path), modes="strict,flexible", n_resamples=0))
    return {(e["task"], e["split"], e["mode"]): e for e in scored.entries}


def _assert_same_scores(harness: dict, subtasks: dict[str, tuple[str, str]], tmp_path: Path) -> None:
    entries = _ecellm_score(harness, subtasks, tmp_path)
    assert len(entries) == 2 * len(subtasks)
    for name, (code, split) in subtasks.items():
        reported = harness["results"][name]
        for metric, (reading, kind) in metric_names(get_task(code)).items():
            assert reported[f"{metric},none"] == pytest.approx(entries[(code, split, reading)][kind], abs=1e-9), \
                (name, metric)


def test_the_pack_has_every_task_with_ind_and_ood_and_the_closed_answer_tasks_as_multiple_choice(pack,
                                                                                                  built_folder):
    names = {p.stem for p in pack.glob("*.yaml")}
    assert set(SUBTASKS) | set(MC_SUBTASKS) <= names
    assert len({code for code, _ in SUBTASKS.values()}) == 10
    assert {code for code, _ in MC_SUBTASKS.values()} == {"PRP", "PM", "SA", "SR", "MPC", "PSI", "AP"}
    text = (pack / f"{GROUP}_pm_ind.yaml").read_text()
    assert f'dataset_path: "{built_folder.resolve()}"' in text and "dataset_name: pm" in text
    assert "test_split: test_ind" in text and "f1_strict" in text and "f1_flexible" in text


def test_export_cli_writes_the_pack_and_refuses_a_missing_source(tmp_path, built_folder, capsys):
    from ecinstruct.cli import main

    assert main(["export-lm-eval", str(tmp_path / "pack"), "--data", str(built_folder)]) == 0
    assert "--include_path" in capsys.readouterr().out
    assert (tmp_path / "pack" / "utils.py").is_file() and not (tmp_path / "pack" / "data").exists()
    assert main(["export-lm-eval", str(tmp_path / "pack"), "--data", str(built_folder)]) == 0  # our own: replaced
    hub = tmp_path / "hub"
    assert main(["export-lm-eval", str(hub), "--data", "someone/ECInstruct-layout"]) == 0
    assert 'dataset_path: "someone/ECInstruct-layout"' in (hub / f"{GROUP}_sa_ood.yaml").read_text()
    assert main(["export-lm-eval", str(tmp_path / "bad"), "--data", str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_without_data_the_pack_reads_the_embedded_sample(tmp_path):
    out = tmp_path / "pack"
    assert "utils.py" in write_lm_eval_pack(out)
    assert f'dataset_path: "{(out / "data").resolve()}"' in (out / f"{GROUP}_ag_ood.yaml").read_text()
    assert sorted(p.name for p in (out / "data" / "data" / "default").glob("pm-*.parquet")) == [
        "pm-test_ind.parquet", "pm-train.parquet", "pm-validation.parquet"]


def test_a_published_file_is_built_into_the_pack(tmp_path, sample_file):
    out = tmp_path / "pack"
    write_lm_eval_pack(out, sample_file)
    assert (out / "data" / "README.md").is_file()
    assert f'dataset_path: "{(out / "data").resolve()}"' in (out / f"{GROUP}_qpr_ind.yaml").read_text()
    assert "ecinstruct_qpr_ind_mc.yaml" not in {p.name for p in out.iterdir()}  # a ranking: no single choice


@needs_lm_eval
def test_every_subtask_runs_and_reports_both_readings(harness):
    results = harness["results"]
    for name, (code, _) in SUBTASKS.items():
        for metric in metric_names(get_task(code)):
            assert isinstance(results[name][f"{metric},none"], float), (name, metric)
        assert results[name]["sample_len"] == LIMIT
    for name in MC_SUBTASKS:
        assert 0.0 <= results[name]["acc,none"] <= 1.0


@needs_lm_eval
def test_prompts_are_byte_identical_to_ecellm_evals(harness):
    for name in [*SUBTASKS, *MC_SUBTASKS]:
        for sample in harness["samples"][name]:
            prompt = sample["arguments"][0][0]
            assert prompt == build_prompt(sample["doc"], "alpaca"), name
            assert prompt.endswith("### Response:\n")


@needs_lm_eval
def test_lm_eval_scores_equal_ecellm_score_on_its_logged_samples(harness, tmp_path):
    _assert_same_scores(harness, SUBTASKS, tmp_path)


@needs_lm_eval
def test_strict_and_flexible_readings_side_by_side_equal_ecellm_score(answering, tmp_path):
    subtasks = {name: pair for name, pair in SUBTASKS.items() if name.rsplit("_", 1)[0] in YES_NO}
    _assert_same_scores(answering, subtasks, tmp_path)
    for name in subtasks:
        assert all(s["filtered_resps"][0] == "Yes." for s in answering["samples"][name])
        reported = answering["results"][name]
        assert (reported["invalid_strict,none"], reported["invalid_flexible,none"]) == (1.0, 0.0)
        golds = {s["doc"]["output"] for s in answering["samples"][name]}
        assert reported["f1_strict,none"] == 0.0 and (reported["f1_flexible,none"] > 0) == ("yes" in golds)


@needs_lm_eval
def test_loglik_accuracy_equals_ecellm_eval_loglik_on_the_same_rows(harness, tiny, built_folder, tmp_path):
    from ecellm.evaluation.run import evaluate

    codes = sorted({code for code, _ in MC_SUBTASKS.values()})
    ours = evaluate(str(tiny), str(built_folder), method="loglik", tasks=",".join(codes), splits="test_ind,test_ood",
                    max_samples=LIMIT, prompt_format="alpaca", modes="strict", n_resamples=1, published=False,
                    chart=False, progress=False, out=tmp_path / "eval", dtype="float32", device="cpu")
    for name, (code, split) in MC_SUBTASKS.items():
        logged = harness["samples"][name]
        rows = ours.samples[(code, split)]
        assert [s["doc"]["id"] for s in logged] == [r["id"] for r in rows]
        for sample, row in zip(logged, rows, strict=True):
            assert sample["arguments"][0][0] == row["prompt"]
            assert [c for _, c in sample["arguments"]] == row["loglik"]["candidates"]
            # lm-eval moves the prompt's trailing newline into every continuation: one shared extra term per row
            shift = [theirs - mine for (theirs, _), mine in zip(sample["filtered_resps"], row["loglik"]["logprobs"],
                                                                 strict=True)]
            assert shift == pytest.approx([shift[0]] * len(shift), abs=1e-4)
        assert predictions_from_samples(logged) == []  # log-likelihood samples are not predictions to score
        accuracy = sum(r["methods"]["loglik"]["strict"]["correct"] for r in rows) / len(rows)
        assert harness["results"][name]["acc,none"] == pytest.approx(accuracy, abs=1e-6), name
