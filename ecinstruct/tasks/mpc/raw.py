"""MPC from ESCI: the relevance class (E/S/C/I → options A–D) of a product title for a query."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ecinstruct.raw import esci
from ecinstruct.raw.base import Layout, RawProcessor, Samples, Sizes, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.qc import TaskQC
from ecinstruct.tasks import mpc

# Examples drawn per split = size × MARGIN + 100, so that QC and overlap drops leave the size.
MARGIN = 1.5
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
        return esci.layouts()

    def to_sample(self, row: dict) -> dict:
        return sample_of(row)

    def make_samples(self, files: esci.Files, sizes: Sizes, seed: int, qc: TaskQC) -> Samples:
        """A seeded sample per split, drawn while streaming; drawn again with a larger margin in the
        rare case that QC and overlap removal leave fewer rows than requested while more exist."""
        wanted = {split: sizes.for_split(split) for split in ("train", "validation", "test_ind")}
        margin = MARGIN
        while True:
            first_step = len(qc.steps)
            pools, cut = esci.draw_examples(files, seed, self.code,
                                            {s: int(n * margin) + 100 for s, n in wanted.items()}, qc)
            samples: Samples = {split: [self.to_sample(r) for r in pools[split][:wanted[split]]]
                                for split in ("validation", "test_ind")}
            samples["train"] = remove_overlap((self.to_sample(r) for r in pools["train"]), test_texts(samples), qc,
                                              text_of=lambda s: s["input"], limit=wanted["train"])
            short = {s for s in wanted if len(samples[s]) < wanted[s]}
            if not short & cut:
                return {split: samples[split] for split in ("train", "validation", "test_ind")}
            del qc.steps[first_step:]
            margin *= 4


PROCESSOR = ExampleSampler()
