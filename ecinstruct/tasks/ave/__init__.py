"""AVE: attribute value extraction (MAVE product text → JSON list of attribute/value/source)."""

import json

from ecinstruct.scoring import ExtractionScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import Extraction

_SOURCES = (("title", "product title"), ("description", "product description"), ("features", "product feature"),
            ("price", "product price"), ("brand", "product brand"))


def serialize(values: dict) -> tuple[str, None]:
    """Product text by source in the published key order (paragraphs of one source joined by ", "), then
    the target attributes joined by " and "."""
    data = {}
    for name, key in _SOURCES:
        value = values[name]
        if value is not None:
            data[key] = ", ".join(value) if isinstance(value, list) else value
    data["target attributes"] = " and ".join(values["attributes"])
    return json.dumps(data), None


TASK = Task(
    code="AVE",
    order=1,
    name="Attribute_Value_Extraction",
    category="product understanding",
    answer_type="JSON list of {attribute, value, source}",
    headline_metric="F1*",
    has_ood=True,
    ood_definition="attribute names held out of training (unseen attributes)",
    description="Extract the value of target attributes from product title/description/feature/"
    "price/brand, and name the source field of each value.",
    scorer=ExtractionScorer(),
    inputs=TaskInputs(
        fields=(
            Field("title", help="product title"),
            Field("description", kind="texts", required=False, help="product description (one or more paragraphs)"),
            Field("features", kind="texts", required=False, help="product features / bullet points"),
            Field("price", required=False, help="product price"),
            Field("brand", required=False, help="product brand"),
            Field("attributes", kind="texts", help="attribute names to extract, e.g. Color, Material"),
        ),
        serialize=serialize,
        example={"title": "Trailmark 2-Person Dome Tent, Forest Green, Waterproof Rainfly",
                 "description": "A lightweight dome tent with two doors and a full-coverage rainfly.",
                 "brand": "Trailmark", "attributes": ["Color", "Capacity"]},
    ),
    result=Extraction(),
)
