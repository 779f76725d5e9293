"""PM: product matching (are an Amazon and a Google record the same product?)."""

import json

from ecinstruct.scoring import YesNoScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import YesNo
from ecinstruct.text import cut_words

RECORD_KEYS = ("title", "description", "manufacturer", "price")
DESCRIPTION_WORDS = 50  # the published descriptions are cut to 50 words


def _record(values: dict) -> dict:
    record = dict(values)
    if record["description"]:
        record["description"] = cut_words(record["description"], DESCRIPTION_WORDS)
    return {key: record[key] or "nan" for key in RECORD_KEYS}  # missing values read "nan" in the data


def serialize(values: dict) -> tuple[str, None]:
    """Both records with the four published keys, descriptions cut to 50 words, missing values ``"nan"``."""
    return json.dumps({"product 1": _record(values["product1"]), "product 2": _record(values["product2"])}), None


_HELP = "product record: title (required), description, manufacturer, price"

TASK = Task(
    code="PM",
    order=3,
    name="Product_Matching",
    category="product understanding",
    answer_type="yes/no",
    headline_metric="F1",
    has_ood=False,
    description="Decide whether two product records (title, description, manufacturer, price) "
    "describe the same product.",
    scorer=YesNoScorer(),
    inputs=TaskInputs(
        fields=(Field("product1", kind="record", keys=RECORD_KEYS, help=_HELP),
                Field("product2", kind="record", keys=RECORD_KEYS, help=_HELP)),
        serialize=serialize,
        example={"product1": {"title": "quillsoft photo studio 9 deluxe", "manufacturer": "quillsoft",
                              "price": "79.99"},
                 "product2": {"title": "quillsoft photo studio deluxe v9 for windows", "price": "64.5"}},
    ),
    result=YesNo(),
)
