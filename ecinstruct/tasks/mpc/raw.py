"""MPC from ESCI: the relevance class (E/S/C/I → options A–D) of a product title for a query."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ecinstruct.raw import esci
from ecinstruct.tasks import mpc

LABEL_TO_OPTION = dict(zip(esci.LABELS, mpc.TASK.options, strict=True))


def example_of(row: dict) -> dict:
    return {"input": json.dumps({"query": row["query"], "product title": row["product_title"]}),
            "options": list(mpc.TASK.options), "output": LABEL_TO_OPTION[row["esci_label"]]}


@dataclass(frozen=True)
class MPCProcessor(esci.ExampleSampler):
    task = mpc.TASK

    def to_example(self, row: dict) -> dict:
        return example_of(row)


PROCESSOR = MPCProcessor()
