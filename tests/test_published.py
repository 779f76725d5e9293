import gzip
import json

import pytest

from ecinstruct.errors import RowFormatError, SourceError
from ecinstruct.published import iter_records, iter_rows, qpr_output_from_labels, read_qpr_labels
from ecinstruct.schema import RowReport


def test_json_lines_and_json_array_give_the_same_rows(tmp_path, sample_file, sample_rows):
    lines = [r for _, r in iter_records(sample_file)]
    array = tmp_path / "dataset.json"
    array.write_text(json.dumps(lines, indent=1))
    compressed = tmp_path / "dataset.json.gz"
    compressed.write_bytes(gzip.compress(sample_file.read_bytes()))
    assert lines == [r for _, r in iter_records(array)] == [r for _, r in iter_records(compressed)]
    assert len(lines) == len(sample_rows)


def test_ids_are_positions_within_task_setting_split(sample_file):
    ids = [row["id"] for row, _, _ in iter_rows(sample_file)]
    assert len(ids) == len(set(ids))
    assert "AVE-IND_Diverse_Instruction-train-000000" in ids
    assert "QPR-IND_Single_Instruction-test-000002" in ids


def test_malformed_line_is_named(tmp_path, sample_file):
    lines = sample_file.read_text().splitlines()
    lines[3] = lines[3][:-5]
    bad = tmp_path / "bad.json"
    bad.write_text("\n".join(lines))
    with pytest.raises(RowFormatError, match="row 4: not valid JSON"):
        list(iter_records(bad))


def test_lenient_mode_skips_and_counts(tmp_path, sample_rows):
    rows = [dict(r) for r in sample_rows[:10]]
    rows[2]["task"] = "Unknown_Task"
    rows[5]["options"] = "[broken"
    rows[7].pop("instruction")
    path = tmp_path / "d.json"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(RowFormatError, match="row 3: unknown task"):
        list(iter_rows(path))
    report = RowReport()
    kept = list(iter_rows(path, strict=False, report=report))
    assert len(kept) == 7 and report.read == 10 and report.n_skipped == 3
    assert "skipped 3" in report.summary()


def test_missing_file_says_what_to_pass(tmp_path):
    with pytest.raises(SourceError, match=r"no such file\. Pass the published dataset\.json"):
        list(iter_records(tmp_path / "nope.json"))


def test_qpr_labels_fill_option_labels_and_are_checked(tmp_path, sample_file, sample_rows):
    qpr_tests = [r for r in sample_rows if r["task"] == "Query_Product_Rank" and r["split"] == "test"
                 and r["setting"] == "IND_Diverse_Instruction"]
    labels = [r["option_labels"] for r in qpr_tests]
    rows = {row["id"]: row for row, _, _ in iter_rows(sample_file, qpr_labels=labels)}
    assert rows["QPR-IND_Diverse_Instruction-test-000001"]["option_labels"] == labels[1]
    shuffled = labels[1:] + labels[:1]
    if any(qpr_output_from_labels(a) != qpr_output_from_labels(b) for a, b in zip(labels, shuffled, strict=True)):
        with pytest.raises(RowFormatError, match="disagrees with label-file entry"):
            list(iter_rows(sample_file, qpr_labels=shuffled))


def test_qpr_output_from_labels():
    assert qpr_output_from_labels(["C", "S", "E"]) == "C,B,A"
    assert qpr_output_from_labels(["E", "S"]) == "A,B"
    assert qpr_output_from_labels(["I", "E", "S", "C"]) == "B,C,D,A"


def test_label_file_is_validated(tmp_path):
    path = tmp_path / "labels.json"
    path.write_text('[["E", "X"]]')
    with pytest.raises(SourceError, match="lists of labels from E, S, C, I"):
        read_qpr_labels(path)
