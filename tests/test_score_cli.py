"""`ecellm score`: predictions made elsewhere scored like `ecellm eval` scores its own (same numbers), references
joined from --data, CSV/Parquet inputs, one-line errors naming line and field, and `ecellm compare` on the output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecellm.cli import main
from ecellm.evaluation import evaluate
from ecellm.evaluation.compare import compare

N_RESAMPLES = "50"
EVAL = {"max_new_tokens": 6, "n_resamples": int(N_RESAMPLES), "bertscore_model": "offline", "progress": False,
        "batch_size": 8, "prompt_format": "alpaca", "published": False, "chart": False}
SCORE = ["--n-resamples", N_RESAMPLES, "--bertscore-model", "offline", "--prompt-format", "alpaca", "--no-chart"]


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory, built_folder):
    from ecellm.offline_models import build_tiny_model

    model = build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")
    return evaluate(str(model), str(built_folder), out=tmp_path_factory.mktemp("eval") / "run", **EVAL)


@pytest.fixture(scope="module")
def data_rows(built_folder) -> dict[str, dict]:
    import ecinstruct

    dataset = ecinstruct.load(str(built_folder), "default")
    return {row["id"]: row for split in ("test_ind", "test_ood") for row in dataset[split]}


@pytest.fixture(scope="module")
def exported(eval_run, data_rows) -> list[dict]:
    """The eval's samples as a predictions file would hold them (SR's options from the data, for its reading)."""
    rows = []
    for samples in eval_run.samples.values():
        for s in samples:
            row = {"id": s["id"], "task": s["task"], "split": s["split"], "prompt": s["prompt"], "prediction": s["raw"],
                   "reference": s["gold"]}
            if s.get("option_labels"):
                row["option_labels"] = s["option_labels"]
            if data_rows[s["id"]].get("options"):
                row["options"] = data_rows[s["id"]]["options"]
            rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def entries(folder: Path) -> dict[tuple, dict]:
    doc = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return {(e["task"], e["split"], e["mode"], e["method"]): e for e in doc["results"]}


def numbers(entry: dict) -> tuple:
    return (entry["n"], entry["invalid"], entry["score"], entry["ci_low"], entry["ci_high"], entry["metrics"],
            entry["metrics_ci"])


def assert_same_scores(folder: Path, eval_run) -> None:
    got = entries(folder)
    want = {(e["task"], e["split"], e["mode"], e["method"]): e for e in eval_run.entries}
    assert set(got) == set(want)
    for key, entry in want.items():
        assert numbers(got[key]) == numbers(entry), key


def run(*argv: str) -> int:
    return main(["-q", *argv])


def test_scores_equal_the_eval_scores_of_the_same_predictions(eval_run, exported, tmp_path):
    out = tmp_path / "scored"
    assert run("score", str(write_jsonl(tmp_path / "p.jsonl", exported)), "--out", str(out), *SCORE) == 0
    assert_same_scores(out, eval_run)
    sample = json.loads((out / "samples" / "PM.test_ind.jsonl").read_text().splitlines()[0])
    assert set(sample["verdict"]) == {"strict", "reference", "flexible"}
    assert set(sample["verdict"]["flexible"]) == {"read_as", "valid", "correct"}
    assert (out / "results.md").read_text().startswith("# ECInstruct evaluation: p")


def test_references_joined_from_data_by_id(eval_run, exported, built_folder, tmp_path):
    bare = [{k: r[k] for k in ("id", "task", "split", "prompt", "prediction")} for r in exported]
    out = tmp_path / "joined"
    assert run("score", str(write_jsonl(tmp_path / "bare.jsonl", bare)), "--data", str(built_folder), "--out",
               str(out), *SCORE) == 0
    assert_same_scores(out, eval_run)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_csv_and_parquet_inputs_score_the_same(eval_run, exported, tmp_path, suffix):
    import pandas as pd

    frame = pd.DataFrame([{**r, **{k: json.dumps(r[k]) for k in ("options", "option_labels") if k in r}}
                          for r in exported])
    path = tmp_path / f"p.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path, index=False)
    out = tmp_path / suffix
    assert run("score", str(path), "--out", str(out), *SCORE) == 0
    assert_same_scores(out, eval_run)


GOOD = {"id": "x1", "task": "PM", "split": "test_ind", "prediction": "yes", "reference": "yes"}


@pytest.mark.parametrize(("lines", "extra", "expected"), [
    ([GOOD, {k: v for k, v in GOOD.items() if k != "task"}], [], 'line 2: missing field "task"'),
    ([GOOD, {**GOOD, "id": "x2", "task": "XYZ"}], [], "line 2: unknown task 'XYZ' in field \"task\""),
    ([GOOD, {**GOOD, "id": "x2", "split": "test_ood"}], [], "line 2: split 'test_ood' in field \"split\""),
    ([{k: v for k, v in GOOD.items() if k != "reference"}], [], 'line 1: missing field "reference"'),
    ([{**GOOD, "reference": "maybe"}], [], "line 1: field \"reference\" 'maybe' is not a PM answer"),
    ([GOOD, {**GOOD, "id": "x1"}], [], "line 2: id 'x1' of PM test_ind was already given on line 1"),
    ([{**GOOD, "task": "QPR", "reference": "A,B"}], [], 'line 1: missing field "option_labels"'),
    ([GOOD, '{"id": "x2", "task": "PM", "split": "te'], [], "line 2: is not valid JSON"),
    ([GOOD, {**GOOD, "id": "no-such-id", "reference": None}], ["--data"], "line 1: unknown id 'x1' in field \"id\""),
    ([{k: v for k, v in GOOD.items() if k != "id"} | {"prompt": "p"}], ["--data"], 'line 1: missing field "id"'),
])
def test_bad_input_is_one_line_naming_line_and_field(tmp_path, capsys, built_folder, lines, extra, expected):
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    args = [str(path), *(["--data", str(built_folder)] if extra else []), "--n-resamples", "10", "--no-chart"]
    assert run("score", *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert f"predictions.jsonl {expected}" in err


def test_modes_subset_and_bad_mode(tmp_path, capsys):
    source = write_jsonl(tmp_path / "p.jsonl", [GOOD])
    out = tmp_path / "two"
    assert run("score", str(source), "--out", str(out), "--modes", "strict,flexible", "--n-resamples", "10",
               "--no-chart") == 0
    assert {key[2] for key in entries(out)} == {"strict", "flexible"}
    assert json.loads((out / "results.json").read_text())["scoring"]["modes"] == ["strict", "flexible"]
    assert run("score", str(source), "--modes", "strict,loose") == 2
    assert "unknown scoring mode(s) ['loose']" in capsys.readouterr().err


def test_a_prompt_stands_in_for_the_id(tmp_path):
    rows = [{"prompt": f"Are these the same? {i}", "task": "PM", "split": "test_ind", "prediction": answer,
             "reference": "yes"} for i, answer in enumerate(["Yes, same product.", "I cannot tell."])]
    out = tmp_path / "by-prompt"
    assert run("score", str(write_jsonl(tmp_path / "p.jsonl", rows)), "--out", str(out), "--n-resamples", "10",
               "--no-chart") == 0
    samples = [json.loads(line) for line in (out / "samples" / "PM.test_ind.jsonl").read_text().splitlines()]
    assert all(s["id"].startswith("prompt-") for s in samples) and samples[0]["id"] != samples[1]["id"]
    assert [s["verdict"]["flexible"] for s in samples] == [{"read_as": "yes", "valid": True, "correct": True},
                                                          {"read_as": None, "valid": False, "correct": False}]
    flexible = entries(out)[("PM", "test_ind", "flexible", "generate")]
    assert (flexible["invalid"], flexible["metrics"]["accuracy"]) == (1, 0.5)


def test_verbose_shows_the_traceback(tmp_path, capsys):
    path = write_jsonl(tmp_path / "predictions.jsonl", [{k: v for k, v in GOOD.items() if k != "task"}])
    assert main(["-v", "score", str(path)]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_never_writes_over_a_folder_it_did_not_create(tmp_path, capsys):
    source = write_jsonl(tmp_path / "p.jsonl", [GOOD])
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert run("score", str(source), "--out", str(out), "--n-resamples", "10", "--no-chart") == 2
    assert "already holds files this command did not write" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    fresh = tmp_path / "fresh"
    for _ in range(2):  # its own output is replaced on a rerun
        assert run("score", str(source), "--out", str(fresh), "--n-resamples", "10", "--no-chart") == 0
    assert entries(fresh)[("PM", "test_ind", "strict", "generate")]["score"] == 1.0


def test_compare_reads_two_score_outputs(exported, tmp_path, capsys):
    closed = [r for r in exported if r["task"] in ("PM", "SA", "QPR")]
    perfect = [{**r, "prediction": r["reference"]} for r in closed]
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("score", str(write_jsonl(tmp_path / "a.jsonl", closed)), "--out", str(a), *SCORE) == 0
    assert run("score", str(write_jsonl(tmp_path / "b.jsonl", perfect)), "--out", str(b), *SCORE) == 0
    capsys.readouterr()
    assert run("compare", str(a), str(b), "--n-resamples", N_RESAMPLES) == 0
    assert "Paired bootstrap" in capsys.readouterr().out
    rows = compare(a, b, n_resamples=int(N_RESAMPLES))
    assert {(r["task"], r["split"]) for r in rows} == {(r["task"], r["split"]) for r in closed}
    for r in rows:  # the paired numbers are each output's own strict scores
        assert r["score_a"] == pytest.approx(entries(a)[(r["task"], r["split"], "strict", "generate")]["score"])
        assert r["score_b"] == pytest.approx(entries(b)[(r["task"], r["split"], "strict", "generate")]["score"])
        assert r["delta"] == pytest.approx(r["score_b"] - r["score_a"])
    assert all(r["score_b"] == pytest.approx(1.0) for r in rows if r["task"] in ("PM", "QPR"))
