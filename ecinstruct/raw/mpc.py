"""MPC from ESCI: the relevance class (E/S/C/I → options A–D) of a product title for a query."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ecinstruct.raw import esci
from ecinstruct.raw.base import Layout, RawProcessor, Samples, Sizes, rng_for, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.qc import TaskQC
from ecinstruct.tasks import mpc

LABEL_TO_OPTION = dict(zip(esci.LABELS, mpc.TASK.options, strict=True))


def sample_of(row: dict) -> dict:
    return {"input": json.dumps({"query": row["query"], "product title": row["product_title"]}),
            "options": list(mpc.TASK.options), "output": LABEL_TO_OPTION[row["esci_label"]]}


@dataclass(frozen=True)
class ExampleSampler(RawProcessor):
    """MPC and PSI: an independent random sample of ESCI examples per split, one sample per example."""

    task = mpc.TASK
    source = esci.SOURCE

    def layouts(self) -> tuple[Layout, ...]:
        return esci.layouts(esci.load_examples)

    def to_sample(self, row: dict) -> dict:
        return sample_of(row)

    def make_samples(self, records: list[dict], sizes: Sizes, seed: int, qc: TaskQC) -> Samples:
        pools = esci.pools(records, seed, self.code)
        rng = rng_for(seed, self.code, "sample")
        samples: Samples = {}
        for split in ("validation", "test_ind"):
            pool = pools[split]
            samples[split] = [self.to_sample(r) for r in rng.sample(pool, min(len(pool), sizes.for_split(split)))]
        train = list(pools["train"])
        rng.shuffle(train)
        samples["train"] = remove_overlap((self.to_sample(r) for r in train), test_texts(samples), qc,
                                          text_of=lambda s: s["input"], limit=sizes.train)
        return {split: samples[split] for split in ("train", "validation", "test_ind")}


PROCESSOR = ExampleSampler()
