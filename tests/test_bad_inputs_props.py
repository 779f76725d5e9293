"""Property layer over what users feed the predict file readers and the HTTP API: whatever the bytes,
the answer is a clear error (PredictInputError / a 4xx JSON answer) or the correct result, never an
unexpected exception. Kept small (30 examples each) so it runs in seconds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ecellm.inference.files import PredictInputError, Source  # noqa: E402

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
CELLS = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


def _tables():
    return st.lists(NAMES, min_size=1, max_size=4, unique=True).flatmap(
        lambda cols: st.tuples(st.just(cols), st.lists(st.fixed_dictionaries({c: CELLS for c in cols}), min_size=1,
                                                       max_size=6)))


TABLES = _tables()


def read_all(path: Path) -> tuple[list[str], list] | None:
    """What predict reads before the model loads, or None for a clear PredictInputError."""
    try:
        source = Source(path)
        source.check()
        return source.columns(), [(r.row, r.columns, r.error) for r in source.rows()]
    except PredictInputError as err:
        assert str(err).startswith("input "), err  # names the file
        return None


@FAST
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet"]))
def test_any_bytes_give_rows_or_a_clear_error(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("any") / f"input{suffix}"
    path.write_bytes(data)
    found = read_all(path)
    if found is not None:
        for _, columns, error in found[1]:
            assert (columns is None) != (error is None)
            assert columns is None or isinstance(columns, dict)


@FAST
@given(table=TABLES, bom=st.booleans(), tabs=st.booleans())
def test_csv_round_trip(tmp_path_factory, table, bom, tabs):
    columns, rows = table
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, delimiter="\t" if tabs else ",")  # \r\n: CR/LF cells quoted
    writer.writeheader()
    writer.writerows(rows)
    # a tab-separated table is read from .tsv, or from .csv when its header shows the tabs (two columns or more)
    name = "t.tsv" if tabs and (len(columns) == 1 or bom) else "t.csv"
    path = tmp_path_factory.mktemp("csv") / name
    path.write_text(("\ufeff" if bom else "") + text.getvalue(), encoding="utf-8", newline="")
    found = read_all(path)
    assert found is not None
    assert found[0] == columns
    assert [c for _, c, _ in found[1]] == rows


@FAST
@given(table=TABLES)
def test_jsonl_round_trip(tmp_path_factory, table):
    _, rows = table
    path = tmp_path_factory.mktemp("jsonl") / "t.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    found = read_all(path)
    assert found is not None and [c for _, c, _ in found[1]] == rows


@FAST
@given(table=TABLES, cut=st.integers(min_value=0, max_value=100))
def test_parquet_round_trip_and_cut(tmp_path_factory, table, cut):
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, rows = table
    folder = tmp_path_factory.mktemp("pq")
    pq.write_table(pa.Table.from_pylist(rows), folder / "t.parquet")
    found = read_all(folder / "t.parquet")
    assert found is not None and [c for _, c, _ in found[1]] == rows
    data = (folder / "t.parquet").read_bytes()
    (folder / "cut.parquet").write_bytes(data[: len(data) * cut // 100])
    read_all(folder / "cut.parquet")  # a clear error or rows; never another exception


# ------------------------------------------------------------------ the HTTP request schemas
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


def _client():
    pytest.importorskip("fastapi")
    from echo_predictor import EchoPredictor
    from fastapi.testclient import TestClient

    from ecellm.inference.serve import create_app

    return TestClient(create_app(EchoPredictor()), raise_server_exceptions=False)


def _body(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()  # NaN / Infinity as Python writes them


@FAST
@given(task=st.sampled_from(["ave", "prp", "pm", "sa", "sr", "mpc", "psi", "qpr", "ap", "ag", "SA", "nope"]),
       body=JSON_VALUES | st.dictionaries(st.sampled_from(["review", "title", "query", "question", "product1",
                                                            "products", "attributes", "item", "x"]), JSON_VALUES,
                                          max_size=4))
def test_any_json_body_gets_an_answer_or_a_4xx_json_error(task, body):
    with _client() as client:
        response = client.post(f"/v1/{task}", content=_body(body), headers={"content-type": "application/json"})
    assert response.status_code in (200, 400, 404, 422), response.text
    doc = response.json()
    if response.status_code == 200:
        assert doc["task"] == task.upper()
    else:
        assert "detail" in doc


@FAST
@given(task=st.sampled_from(["ave", "prp", "pm", "sa", "sr", "mpc", "psi", "qpr", "ap", "ag"]),
       noise=st.floats(allow_nan=True, allow_infinity=True))
def test_a_valid_example_is_answered_and_a_number_in_a_text_field_is_a_422(task, noise):
    from ecinstruct.tasks import get_task

    example = get_task(task).inputs.example
    with _client() as client:
        assert client.post(f"/v1/{task}", json=example).status_code == 200
        first = next(iter(example))
        broken = {**example, first: noise}
        response = client.post(f"/v1/{task}", content=_body(broken), headers={"content-type": "application/json"})
    assert response.status_code == 422 and "detail" in response.json()
