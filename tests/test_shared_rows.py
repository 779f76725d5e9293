"""The verbatim ECInstruct rows of the reference bundle, through the same loading path (CI only)."""

import json

import pytest

import ecinstruct
from ecinstruct.prompts import build_prompt
from ecinstruct.published import iter_rows, qpr_output_from_labels, read_qpr_labels
from ecinstruct.schema import RowReport, parse_options, to_published
from ecinstruct.tasks import get_task

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def rows_dir(shared_dir):
    return shared_dir / "reference" / "ecinstruct_rows"


def test_verbatim_ave_rows_load_into_default_and_single_instruction(rows_dir, tmp_path):
    path = rows_dir / "ave_train_rows.jsonl"
    default = ecinstruct.load(path, "ave", cache_dir=tmp_path)
    single = ecinstruct.load(path, "single_instruction", cache_dir=tmp_path)
    assert set(default) == {"train"} and set(single) == {"train"}
    assert len(default["train"]) == 51 and len(single["train"]) == 49
    assert default["train"]["options"] == [None] * 51
    assert len(set(single["train"]["instruction"])) == 1  # single rows all carry the seed


def test_verbatim_rows_round_trip_to_the_published_form(rows_dir):
    records = [json.loads(line) for line in (rows_dir / "ave_train_rows.jsonl").open()]
    normalized = [row for row, _, _ in iter_rows(rows_dir / "ave_train_rows.jsonl")]
    assert [to_published(r) for r in normalized] == records
    prompt = build_prompt(normalized[0], "alpaca")
    assert records[0]["input"] in prompt and "### Options" not in prompt


@pytest.mark.parametrize("name", ["prp", "mpc"])
def test_published_option_strings_equal_the_task_definition(rows_dir, name):
    task = get_task(name)
    for line in (rows_dir / f"{name}_inputs_nongold.jsonl").open():
        record = json.loads(line)
        assert parse_options(record["options"]) == list(task.options)
        assert task.serialize_options(list(task.options)) == record["options"]  # byte-identical serialisation


@pytest.mark.parametrize("name", ["prp", "mpc", "psi", "pm"])
def test_rows_without_setting_are_rejected_clearly_or_skipped(rows_dir, name):
    path = rows_dir / f"{name}_inputs_nongold.jsonl"
    with pytest.raises(ecinstruct.RowFormatError, match="row 1: column 'setting' is NoneType"):
        next(iter_rows(path))
    report = RowReport()
    assert list(iter_rows(path, strict=False, report=report)) == []
    assert report.n_skipped == report.read > 0


def test_official_qpr_labels(rows_dir):
    labels = read_qpr_labels(rows_dir / "qpr_test_labels.json")
    sizes = [len(item) for item in labels]
    assert (len(labels), sizes.count(2), sizes.count(3), sizes.count(4)) == (1000, 666, 288, 46)
    assert all(len(set(item)) == len(item) for item in labels)
    outputs = [qpr_output_from_labels(item) for item in labels]
    assert outputs[0].count(",") == len(labels[0]) - 1
    assert sum(label == "E" for item in labels for label in item) == 849
