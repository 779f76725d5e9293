import json

import pytest

from ecinstruct.errors import RowFormatError
from ecinstruct.schema import RowReport, normalize_row, parse_options, to_published

SA_OPTIONS = ["A: very positive", "B: positive", "C: neutral", "D: negative", "E: very negative"]


def row(**overrides):
    base = {"output": "yes", "input": '{"query": "q", "product": "p"}', "options": None,
            "task": "Product_Substitute_Identification", "setting": "IND_Diverse_Instruction", "split": "train",
            "few_shot_example": None, "instruction": "Answer yes or no."}
    return {**base, **overrides}


def test_parse_options_json_python_literal_list_and_null():
    assert parse_options(json.dumps(SA_OPTIONS)) == SA_OPTIONS
    literal = str(["A: 38''W screen", 'B: a "quoted" item'])
    assert parse_options(literal) == ["A: 38''W screen", 'B: a "quoted" item']
    assert parse_options(["A: x"]) == ["A: x"]
    assert parse_options(None) is None and parse_options("  ") is None


@pytest.mark.parametrize("bad", ["[A: x", "{'a': 1}", "[1, 2]", "__import__('os')"])
def test_unparseable_options_raise_with_the_fix(bad):
    with pytest.raises(RowFormatError, match=r"row 7: .*options"):
        parse_options(bad, row=7)


def test_normalize_keeps_columns_and_adds_id_code_and_list_options():
    record = row(task="Sentiment_Analysis", options=json.dumps(SA_OPTIONS), output="B: positive", input="fine")
    normalized, task, setting = normalize_row(record, 1, index=5)
    assert normalized["id"] == "SA-IND_Diverse_Instruction-train-000005"
    assert normalized["task_code"] == "SA" and task.code == "SA" and setting.domain == "IND"
    assert normalized["options"] == SA_OPTIONS and normalized["option_labels"] is None
    assert to_published(normalized) == record  # options re-serialise byte for byte


def test_aliases_become_the_published_name():
    normalized, _, _ = normalize_row(row(task="Product_Substitue_Identification"), 1)
    assert normalized["task"] == "Product_Substitute_Identification"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({k: v for k, v in row().items() if k != "instruction"}, "missing column\\(s\\) instruction"),
        (row(output=3), "column 'output' is int"),
        (row(few_shot_example=["x"]), "column 'few_shot_example' is list"),
        (row(task="Price_Prediction"), "unknown task 'Price_Prediction'"),
        (row(setting="IND_Random"), "unknown setting 'IND_Random'"),
        (row(split="validation"), "split 'validation' is not one of train, val, test"),
        (row(setting="OOD_Diverse_Instruction", split="train", task="Answer_Generation"), "OOD setting"),
        (row(setting="OOD_Diverse_Instruction", split="test"), "PSI has no OOD test"),
        (row(task="Sentiment_Analysis", options=None), "SA rows need options"),
        ("not an object", "expected a JSON object"),
    ],
)
def test_bad_rows_name_row_and_problem(record, message):
    with pytest.raises(RowFormatError, match=message) as info:
        normalize_row(record, 42)
    assert str(info.value).startswith("row 42: ")


def test_row_report_counts_reasons():
    report = RowReport(read=3, kept=1)
    for bad in (row(task="X"), row(task="Y")):
        try:
            normalize_row(bad, 1)
        except RowFormatError as err:
            report.skip(err)
    assert report.n_skipped == 2
    assert "skipped 2" in report.summary() and len(report.examples) == 2
