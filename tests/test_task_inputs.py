"""Task input fields: validation with the field named, the exact ECInstruct serialisation, and result reading."""

from __future__ import annotations

import ast
import json
import math

import pytest

from ecinstruct.tasks import TASKS, get_task
from ecinstruct.tasks.fields import FieldError


def fields_of(row: dict) -> dict:
    """The user fields an ECInstruct row was made from (the inverse of each task's serialisation)."""
    task = get_task(row["task"])
    raw = row["input"]
    if task.code == "SA":
        return {"review": raw}
    if task.code == "SR":
        history = [item.split(": ", 1)[1] for item in ast.literal_eval(raw)]
        return {"history": history, "candidates": [o.split(": ", 1)[1] for o in ast.literal_eval(row["options"])]}
    data = json.loads(raw)
    if task.code == "AVE":
        keys = {"product title": "title", "product description": "description", "product feature": "features",
                "product price": "price", "product brand": "brand"}
        values = {keys[k]: v for k, v in data.items() if k in keys}
        return {**values, "attributes": data["target attributes"].split(" and ")}
    return {
        "PRP": lambda: {"product1": data["Product 1:"], "product2": data["Product 2:"]},
        "PM": lambda: {"product1": data["product 1"], "product2": data["product 2"]},
        "MPC": lambda: {"query": data["query"], "product": data["product title"]},
        "PSI": lambda: {"query": data["query"], "product": data["product"]},
        "QPR": lambda: {"query": data["query"], "products": [p.split(": ", 1)[1] for p in data["product list"]]},
        "AP": lambda: {"question": data["question"], "documents": data["document"]},
        "AG": lambda: {"question": data["question"], "documents": data["document"]},
    }[task.code]()


def _has_nan(row: dict) -> bool:  # PM rows may carry a bare NaN description; users give "missing" instead
    return "NaN" in row["input"]


def test_fields_rebuild_every_sample_row_byte_for_byte(sample_rows):
    checked = {t.code: 0 for t in TASKS}
    for row in sample_rows:
        if row["split"] != "train" or _has_nan(row):
            continue
        task = get_task(row["task"])
        built = task.input_row(task.inputs.clean(fields_of(row)))
        assert built["input"] == row["input"], (task.code, row["input"])
        assert built["options"] == row["options"], task.code
        checked[task.code] += 1
    assert all(n > 0 for n in checked.values()), checked


def test_every_task_declares_fields_example_and_result_reader():
    for task in TASKS:
        assert task.inputs.fields and task.result is not None
        row = task.input_row(task.inputs.clean(task.inputs.example))
        assert row["task"] == task.name and row["input"]
        assert (row["options"] is not None) == task.has_options


@pytest.mark.parametrize(("task", "values", "field", "words"), [
    ("AVE", {"attributes": ["Color"]}, "title", "required"),
    ("AVE", {"title": "t"}, "attributes", "required"),
    ("SA", {"review": "   "}, "review", "required"),
    ("SA", {"review": "ok", "stars": 5}, "stars", "unknown field"),
    ("SA", {"review": ["a list"]}, "review", "expected text"),
    ("PM", {"product1": {"title": "a"}, "product2": {"price": "3"}}, "product2.title", "required"),
    ("PM", {"product1": {"title": "a", "colour": "red"}, "product2": {"title": "b"}}, "product1.colour", "unknown key"),
    ("PM", {"product1": "not json", "product2": {"title": "b"}}, "product1", "expected an object"),
    ("SR", {"history": ["a"], "candidates": ["only one"]}, "candidates", "2 to 20"),
    ("SR", {"history": ["a"], "candidates": [f"c{i}" for i in range(21)]}, "candidates", "2 to 20"),
    ("AP", {"question": "q", "documents": "[1, 2"}, "documents", "not valid JSON"),
    ("QPR", {"query": "q", "products": {"a": 1}}, "products", "list of texts"),
])
def test_bad_fields_name_the_field(task, values, field, words):
    with pytest.raises(FieldError) as info:
        get_task(task).inputs.clean(values)
    assert info.value.field == field
    assert words in str(info.value) and field in str(info.value)


def test_file_shapes_are_accepted():
    """CSV cells: a JSON list string or one text for lists, flat record columns, numbers, NaN for missing."""
    ave = get_task("AVE").inputs.clean({"title": "Tent", "attributes": '["Color", "Capacity"]', "price": 59.5,
                                        "brand": math.nan, "features": "Two doors"})
    assert ave["attributes"] == ["Color", "Capacity"] and ave["price"] == "59.5"
    assert ave["brand"] is None and ave["features"] == ["Two doors"]
    pm = get_task("PM").inputs.clean({"product1.title": "a", "product1.price": 3, "product2": '{"title": "b"}'})
    assert pm["product1"] == {"title": "a", "description": None, "manufacturer": None, "price": "3"}
    row = get_task("PM").input_row(pm)
    assert json.loads(row["input"])["product 2"] == {"title": "b", "description": "nan", "manufacturer": "nan",
                                                     "price": "nan"}
    with pytest.raises(FieldError, match="both as an object"):
        get_task("PM").inputs.clean({"product1": {"title": "a"}, "product1.title": "b", "product2": {"title": "c"}})


def test_long_texts_are_cut_as_in_the_published_data():
    long = " ".join(f"w{i}" for i in range(40))
    row = get_task("SR").input_row(get_task("SR").inputs.clean({"history": [long], "candidates": [long, "b."]}))
    first = ast.literal_eval(row["input"])[0]
    assert first == "1st: " + " ".join(f"w{i}" for i in range(25)) + "..."
    assert ast.literal_eval(row["options"])[1] == "B: b."


@pytest.mark.parametrize(("task", "answer", "result", "valid"), [
    ("PM", "yes", True, True), ("PSI", " No ", False, True), ("AP", "maybe", None, False),
    ("SA", "B: positive", "positive", True), ("SA", "F", None, False), ("PRP", "C", "similar", True),
    ("MPC", "B: The product is somewhat relevant.", "substitute", True),
    ("SR", "B", {"index": 1, "item": "Trailmark Dome Tent. Sports & Outdoors. Camping. Trailmark."}, True),
    ("SR", "D", None, False),
    ("QPR", "B,A,C", [1, 0, 2], True), ("QPR", "B,A", [1, 0], False), ("QPR", "B,B,A,C", [1, 0, 2], False),
    ("AG", "  It fits.  ", "It fits.", True), ("AG", " ", None, False),
    ("AVE", '[{"attribute": "color", "value": "forest green", "source": "product title"}, '
            '{"attribute": "capacity", "value": "None", "source": "None"}]',
     [{"attribute": "color", "value": "forest green", "source": "product title"},
      {"attribute": "capacity", "value": None, "source": None}], True),
    ("AVE", '[{"attribute": "color"}]', [], False), ("AVE", "green", None, False),
])
def test_results_are_typed(task, answer, result, valid):
    task = get_task(task)
    values = task.inputs.clean(task.inputs.example)
    got, ok = task.result.read(task, answer, values)
    if task.code == "QPR" and got is not None:
        assert [r["item"] for r in got] == [values["products"][i] for i in result]
        got = [r["index"] for r in got]
    assert (got, ok) == (result, valid)
