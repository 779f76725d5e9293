"""PSI from ESCI: is the product a functional substitute (label S) for the query? yes/no."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ecinstruct.raw.esci import ExampleSampler
from ecinstruct.tasks import psi


def example_of(row: dict) -> dict:
    return {"input": json.dumps({"query": row["query"], "product": row["product_title"]}),
            "options": None, "output": "yes" if row["esci_label"] == "S" else "no"}


@dataclass(frozen=True)
class PSIProcessor(ExampleSampler):
    task = psi.TASK

    def to_example(self, row: dict) -> dict:
        return example_of(row)


PROCESSOR = PSIProcessor()
