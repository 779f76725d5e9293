"""One home per concept: the scoring path, the evaluation options, the training summary, atomic writes,
the results reader."""

from __future__ import annotations

import json

import pytest

from ecellm.artifacts import SUMMARY_FILE, TrainingSummary, is_adapter
from ecellm.evaluation.config import EvalConfig
from ecellm.evaluation.errors import EvaluationError
from ecellm.evaluation.results import Results, ResultsFormatError, read_results_json
from ecellm.evaluation.scoring import ScoringOptions, option_labels, read_answers, score_rows
from ecellm.metrics import score
from ecinstruct.atomic import atomic_write_bytes
from ecinstruct.tasks import get_task

PRP_OPTIONS = json.dumps(list(get_task("PRP").options))


def _prp_rows(golds: list[str]) -> list[dict]:
    return [{"id": f"r{i}", "output": g, "options": PRP_OPTIONS} for i, g in enumerate(golds)]


def test_score_rows_flexible_reading_equals_the_scorer_reading_flexible():
    task = get_task("PRP")
    rows = _prp_rows(["A", "B", "C", "A"])
    answers = ["The answer is A.", "B", "I think option C fits", "no idea"]
    entry, verdicts = score_rows(task, "test_ind", "flexible", answers, rows, ScoringOptions(n_resamples=20),
                                 verdicts=True)
    direct = score(task, answers, [r["output"] for r in rows], mode="flexible",
                   options=[list(task.options)] * len(rows))
    assert entry["score"] == pytest.approx(direct["score"])
    assert entry["n"] == 4 and entry["invalid"] == direct["invalid"]
    assert [v["answer"] for v in verdicts] == read_answers(task, "flexible", answers, rows)
    read = read_answers(task, "flexible", answers, rows)
    assert [v["correct"] for v in verdicts] == [a == r["output"] for a, r in zip(read, rows, strict=True)]
    assert [v["correct"] for v in verdicts][:2] == [True, True] and verdicts[3]["correct"] is False


def test_score_rows_without_resamples_has_no_interval_and_strict_reads_the_text_as_is():
    task = get_task("PRP")
    entry, verdicts = score_rows(task, "test_ind", "strict", ["A", "maybe B"], _prp_rows(["A", "B"]),
                                 ScoringOptions(n_resamples=0))
    assert verdicts is None
    assert (entry["ci_low"], entry["ci_high"]) == (None, None)
    assert entry["invalid"] == 1


def test_option_labels_follow_what_the_scorer_declares():
    rows = [{"output": "x", "option_labels": ["E", "S"]}]
    assert option_labels(get_task("QPR"), rows) == [["E", "S"]]
    assert option_labels(get_task("PRP"), rows) is None
    assert option_labels(get_task("QPR"), [{"output": "x"}]) is None


def test_eval_config_from_keywords_yaml_and_flags(tmp_path):
    config = EvalConfig.from_kwargs(model="m", tasks=["PM", "SA"], modes=("strict",), published=False, out=tmp_path)
    assert (config.tasks, config.modes, config.show_published, config.out) == ("PM,SA", "strict", False, str(tmp_path))
    assert config.published_source() is False
    with pytest.raises(EvaluationError, match="unknown evaluation option"):
        EvalConfig.from_kwargs(model="m", batchsize=4)

    good = tmp_path / "eval.yaml"
    good.write_text("model: runs/xs\ntasks: PM\nbatch_size: 4\nmethod: loglik\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: runs/xs\nbatchsize: 4\n", encoding="utf-8")
    assert EvalConfig.from_yaml(good).batch_size == 4
    with pytest.raises(EvaluationError, match="batchsize"):
        EvalConfig.from_yaml(bad)

    from dataclasses import fields

    from ecellm.cli import build_parser

    parser = build_parser()
    args, _ = parser.parse_known_args(["eval", "--eval-config", str(good), "--tasks", "SA", "--no-chart"])
    explicit = {f.name for f in fields(EvalConfig) if getattr(args, f.name, None) != args.parser.get_default(f.name)}
    merged = EvalConfig.from_args(args, explicit)
    assert (merged.model, merged.tasks, merged.batch_size, merged.method, merged.chart) == (
        "runs/xs", "SA", 4, "loglik", False)


def test_training_summary_round_trips_and_is_found_from_a_merged_folder(tmp_path):
    doc = {"prompt_format": "mistral", "base_model": "org/base", "custom": {"a": 1}, "train_rows": 12}
    (tmp_path / SUMMARY_FILE).write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "merged").mkdir()
    found = TrainingSummary.find(tmp_path / "merged")
    assert found.prompt_format == "mistral" and found.train_rows == 12
    assert found.to_dict() == doc and list(found.to_dict()) == list(doc)
    found.save(tmp_path / "copy")
    assert json.loads((tmp_path / "copy" / SUMMARY_FILE).read_text(encoding="utf-8")) == doc
    assert TrainingSummary.find(tmp_path / "nowhere" / "deeper") is None
    assert not is_adapter(tmp_path)
    (tmp_path / "adapter_config.json").write_text("{}", encoding="utf-8")
    assert is_adapter(tmp_path)


def test_atomic_write_leaves_the_old_file_and_no_temporary_on_failure(tmp_path):
    target = atomic_write_bytes(tmp_path / "f.txt", b"old")


    with pytest.raises(TypeError):
        atomic_write_bytes(target, object())  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_results_reader_and_explicit_method_fallback(tmp_path):
    with pytest.raises(ResultsFormatError, match="no such results file"):
        read_results_json(tmp_path / "missing.json")
    entries = [{"task": "AVE", "split": "test_ind", "mode": "strict", "method": "generate", "score": 0.5},
               {"task": "PM", "split": "test_ind", "mode": "strict", "method": "loglik", "score": 0.7},
               {"task": "PM", "split": "test_ind", "mode": "strict", "method": "loglik_norm", "score": 0.6}]
    results = Results(meta={"method": "loglik"}, entries=entries)
    assert results.score("PM") == 0.7
    assert results.score("AVE") == 0.5  # generated in a log-likelihood run: found under generate
    assert results.score("PM", method="loglik_norm") == 0.6
    with pytest.raises(KeyError):
        results.get("AVE", method="loglik")
