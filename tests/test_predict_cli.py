"""``ecellm predict``: CSV / JSONL / Parquet with a column map, bad rows by line, resume after a kill."""

from __future__ import annotations

import contextlib
import csv
import json
import logging
from pathlib import Path

import pytest
from scripted_model import build_scripted_model

from ecellm.cli import main

REVIEWS = ["Great value, works as described.", "Stopped charging after a week.", "It is fine.",
           "Love the colour.", "Arrived late but works.", "Two stars, the lid leaks.", "Exactly what I needed."]


@pytest.fixture(scope="module")
def model_a(tmp_path_factory) -> str:
    return str(build_scripted_model(tmp_path_factory.mktemp("m") / "a", "A"))


@pytest.fixture(scope="module")
def model_yes(tmp_path_factory) -> str:
    return str(build_scripted_model(tmp_path_factory.mktemp("m") / "yes", "yes"))


def predict(*args: str) -> int:
    return main(["predict", "--no-progress", "--max-new-tokens", "4", *args])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_csv_with_map_multiline_cells_and_a_bad_row(model_a, tmp_path, caplog):
    rows = [{"sku": "s1", "text": "Line one\nline two of the same review"}, {"sku": "s2", "text": ""},
            {"sku": "s3", "text": "Works."}]
    source = write_csv(tmp_path / "reviews.csv", rows)
    out = tmp_path / "sa.jsonl"
    with caplog.at_level(logging.WARNING):
        assert predict("--model", model_a, "--task", "SA", "--input", str(source), "--out", str(out),
                       "--map", "review=text") == 0
    got = read_jsonl(out)
    assert [(r["row"], r["line"]) for r in got] == [(0, 2), (1, 4), (2, 5)]  # row 0 spans lines 2-3
    assert got[0]["result"] == "very positive" and got[0]["valid"] and got[2]["result"] == "very positive"
    assert got[1]["error"].startswith("field 'review': is required") and not got[1]["valid"]
    assert "line 4: field 'review'" in caplog.text
    assert not (tmp_path / "sa.jsonl.partial").exists()


def test_jsonl_and_parquet_inputs(model_yes, tmp_path):
    import pandas as pd

    items = [{"q": "Does it fit a 17 inch laptop?", "reviews": ["Fits my 17 inch laptop.", "Roomy."]},
             {"q": "Is it waterproof?", "reviews": ["Survived the rain."]}]
    jsonl = tmp_path / "qa.jsonl"
    jsonl.write_text(json.dumps(items[0]) + "\n\n{not json\n" + json.dumps(items[1]) + "\n")
    out = tmp_path / "ap.jsonl"
    assert predict("--model", model_yes, "--task", "AP", "--input", str(jsonl), "--out", str(out),
                   "--map", "question=q,documents=reviews") == 0
    got = read_jsonl(out)
    assert [(r["row"], r["line"], r["valid"]) for r in got] == [(0, 1, True), (1, 3, False), (2, 4, True)]
    assert got[0]["result"] is True and "not valid JSON" in got[1]["error"]

    parquet = tmp_path / "qa.parquet"
    pd.DataFrame(items).to_parquet(parquet)  # a real list column
    out = tmp_path / "ap_parquet.jsonl"
    assert predict("--model", model_yes, "--task", "AP", "--input", str(parquet), "--out", str(out),
                   "--map", "question=q", "--map", "documents=reviews") == 0
    assert [(r["row"], r["result"]) for r in read_jsonl(out)] == [(0, True), (1, True)]


def test_pm_records_from_flat_columns(model_yes, tmp_path):
    source = write_csv(tmp_path / "pairs.csv", [{"a_title": "quillsoft studio 9", "a_price": "79.99",
                                                 "b_title": "quillsoft studio v9", "b_price": ""}])
    out = tmp_path / "pm.jsonl"
    assert predict("--model", model_yes, "--task", "PM", "--input", str(source), "--out", str(out), "--map",
                   "product1.title=a_title,product1.price=a_price,product2.title=b_title,product2.price=b_price") == 0
    assert read_jsonl(out)[0]["result"] is True


def test_options_and_columns_are_checked_before_the_model_loads(tmp_path, capsys):
    source = write_csv(tmp_path / "r.csv", [{"text": "ok"}])
    nowhere = str(tmp_path / "no-model")
    cases = [(["--map", "stars=text"], "task SA has no field 'stars'"),
             (["--map", "review=body"], "no column 'body'"),
             ([], "no column for the required field 'review'"),
             (["--map", "review"], "expected FIELD=COLUMN")]
    for extra, message in cases:
        assert predict("--model", nowhere, "--task", "SA", "--input", str(source), "--out",
                       str(tmp_path / "o.jsonl"), *extra) == 2
        err = capsys.readouterr().err
        assert message in err and err.startswith("ecellm: error:"), (extra, err)
    assert predict("--model", nowhere, "--task", "SA", "--input", str(tmp_path / "missing.csv"),
                   "--out", str(tmp_path / "o.jsonl")) == 2
    assert "no such file" in capsys.readouterr().err and not (tmp_path / "o.jsonl").exists()


def test_fail_mode_stops_at_the_bad_line_and_keeps_earlier_rows(model_a, tmp_path, caplog):
    source = tmp_path / "r.jsonl"
    source.write_text("\n".join(json.dumps({"review": r}) for r in ["good", "fine", "", "late"]) + "\n")
    out = tmp_path / "o.jsonl"
    assert predict("--model", model_a, "--task", "SA", "--input", str(source), "--out", str(out),
                   "--on-error", "fail") == 2
    assert "line 3: field 'review': is required" in caplog.text and not out.exists()
    partial = read_jsonl(tmp_path / "o.jsonl.partial")
    assert [r["row"] for r in partial[1:]] == [0, 1]


def test_resume_after_a_kill_redoes_no_finished_row(model_a, tmp_path, monkeypatch):
    from ecellm.inference.predictor import Predictor

    source = write_csv(tmp_path / "r.csv", [{"review": r} for r in REVIEWS])
    args = ["--model", model_a, "--task", "SA", "--input", str(source), "--chunk-size", "2"]
    assert predict(*args, "--out", str(tmp_path / "straight.jsonl")) == 0

    original, answered = Predictor.run, []

    def killed_on_third_chunk(self, items, seed=0):
        if len(answered) >= 4:
            raise KeyboardInterrupt  # what a kill looks like to the rows written so far
        answered.extend(item.values["review"] for item in items)
        return original(self, items, seed)

    monkeypatch.setattr(Predictor, "run", killed_on_third_chunk)
    out = tmp_path / "resumed.jsonl"
    with contextlib.suppress(KeyboardInterrupt):  # the CLI may turn the interrupt into an exit status
        assert predict(*args, "--out", str(out)) != 0
    partial = tmp_path / "resumed.jsonl.partial"
    assert not out.exists() and [r["row"] for r in read_jsonl(partial)[1:]] == [0, 1, 2, 3]
    with partial.open("a") as handle:
        handle.write('{"row": 4, "task": "SA", "res')  # torn by the kill mid-write

    monkeypatch.setattr(Predictor, "run", lambda self, items, seed=0: answered.extend(
        item.values["review"] for item in items) or original(self, items, seed))
    answered.clear()
    assert predict(*args, "--out", str(out)) == 0
    assert answered == REVIEWS[4:]  # only the rows the killed run had not finished
    assert read_jsonl(out) == read_jsonl(tmp_path / "straight.jsonl")
    assert not partial.exists()

    assert predict(*args, "--out", str(out)) == 2  # finished output is not overwritten by accident
    other = [*args[:-2], "--chunk-size", "2", "--method", "generate"]
    partial.write_text(json.dumps({"_options": {"task": "SA"}}) + "\n")
    assert predict(*other, "--out", str(out)) == 2  # a partial run with other options is not mixed in
