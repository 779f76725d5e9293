"""Fuzz the data loaders: whatever bytes or JSON a file holds, reading it ends in rows or in one of our
errors (ECInstructError), never in an internal exception."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecinstruct.errors import ECInstructError
from ecinstruct.published import iter_records, iter_rows, read_qpr_labels

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
COLUMNS = ["task", "setting", "split", "instruction", "input", "options", "output", "few_shot_example"]
row_like = st.fixed_dictionaries({}, optional={c: json_values | st.sampled_from(
    ["Answer_Generation", "IND_Diverse_Instruction", "train", "test", "val", "", "[\"a\", \"b\"]"]) for c in COLUMNS})


def _read_all(path) -> int:
    try:
        return sum(1 for _ in iter_rows(path, strict=True))
    except ECInstructError as err:
        assert str(err).strip()  # a message, never empty
        return -1


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path, data):
    path = tmp_path / "dataset.json"
    path.write_bytes(data)
    _read_all(path)
    array = tmp_path / "array.json"
    array.write_bytes(b"[" + data)  # the streaming JSON-array path
    _read_all(array)
    gz = tmp_path / "dataset.json.gz"
    gz.write_bytes(gzip.compress(data)[: max(1, len(data) // 2)])  # also: a compressed stream cut anywhere
    _read_all(gz)


@FUZZ
@given(values=st.lists(json_values | row_like, max_size=5), as_array=st.booleans())
def test_random_json(tmp_path, values, as_array):
    path = tmp_path / "dataset.json"
    text = json.dumps(values) if as_array else "\n".join(json.dumps(v) for v in values)
    path.write_text(text, encoding="utf-8")
    _read_all(path)


@FUZZ
@given(rows=st.lists(row_like, min_size=1, max_size=4))
def test_lenient_reading_never_raises_on_a_row(tmp_path, rows):
    path = tmp_path / "dataset.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert sum(1 for _ in iter_rows(path, strict=False)) <= len(rows)


@FUZZ
@given(data=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_qpr_label_file(tmp_path, data):
    path = tmp_path / "labels.json"
    path.write_bytes(data)
    try:
        labels = read_qpr_labels(path)
    except ECInstructError:
        return
    assert all(set(item) <= set("ESCI") for item in labels)


def test_records_are_numbered_from_one(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"a": 1}\n\n{"b": 2}\n')
    assert [n for n, _ in iter_records(path)] == [1, 3]  # line numbers, blank lines skipped


@pytest.mark.parametrize("content", [b"", b"   \n", b"\xff\xfe{\x00", b"[", b"{", b"[{]", b"\x1f\x8b\x08"])
def test_small_broken_files_are_source_or_row_errors(tmp_path, content):
    path = tmp_path / "dataset.json"
    path.write_bytes(content)
    with pytest.raises(ECInstructError):
        list(iter_records(path))
