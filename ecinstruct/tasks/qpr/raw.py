"""QPR from ESCI: rank 2–4 products with distinct ESCI labels for a query (per-option labels kept).

The paper's construction: reduced ESCI version only; repeat: a random query, a set size k ∈ {2, 3, 4}
(skip if the query has fewer distinct labels), k labels drawn at random among those the query has,
one product per label; a repeated set is skipped. Products are lettered in draw order; the output
lists the letters in E, S, C, I order joined by ``,``. ``option_labels`` keeps the labels in option
order so NDCG can be computed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from ecinstruct.raw import esci
from ecinstruct.raw.base import Examples, Layout, RawProcessor, Sizes, rng_for, test_texts
from ecinstruct.raw.decontam import remove_overlap
from ecinstruct.raw.qc import TaskQC
from ecinstruct.tasks import qpr
from ecinstruct.text import LETTERS, lettered

LABEL_ORDER = qpr.TASK.extras["label_order"]
Groups = dict[str, dict[str, list[tuple[str, str]]]]  # query → label → [(example id, title)]


def output_of(labels: list[str]) -> str:
    """Letters of the options ordered by label E, S, C, I (``["C", "S", "E"]`` → ``"C,B,A"``)."""
    order = sorted(range(len(labels)), key=lambda i: LABEL_ORDER.index(labels[i]))
    return ",".join(LETTERS[i] for i in order)


def sample_sets(groups: Groups, n: int, rng, sizes: tuple[int, ...] = (2, 3, 4)) -> list[dict]:
    """Up to ``n`` distinct product sets, each with distinct labels, as examples (see module doc)."""
    queries = sorted(groups)
    seen: set[frozenset[str]] = set()
    examples: list[dict] = []
    attempts = 0
    while len(examples) < n and queries and attempts < 50 * n:
        attempts += 1
        query = queries[rng.randrange(len(queries))]
        k = rng.choice(sizes)
        labels = [label for label in rng.sample(LABEL_ORDER, len(LABEL_ORDER)) if groups[query].get(label)][:k]
        if len(labels) < k:
            continue
        picked = [rng.choice(sorted(groups[query][label])) for label in labels]
        ids = frozenset(example_id for example_id, _ in picked)
        if ids in seen:
            continue
        seen.add(ids)
        products = lettered([title for _, title in picked])
        examples.append({"input": json.dumps({"query": query, "product list": products}), "options": None,
                        "output": output_of(labels), "option_labels": labels})
    return examples


def group_by_query(rows: list[dict]) -> Groups:
    groups: Groups = defaultdict(lambda: defaultdict(list))
    for r in rows:
        groups[r["query"]][r["esci_label"]].append((str(r["example_id"]), r["product_title"]))
    return {q: dict(labels) for q, labels in groups.items()}


@dataclass(frozen=True)
class QPRProcessor(RawProcessor):
    task = qpr.TASK
    source = esci.SOURCE

    def layouts(self) -> tuple[Layout, ...]:
        return esci.layouts()

    def make_examples(self, files: esci.Files, sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        """Sets drawn from a seeded sample of queries (as many queries as sets wanted; every query has
        several products per label); drawn again with 4× the queries if that proves too few."""
        wanted = {split: sizes.for_split(split) for split in ("train", "validation", "test_ind")}
        factor = 1
        while True:
            first_step = len(qc.steps)
            pools, cut = esci.draw_queries(files, seed, self.code, {s: n * factor + 10 for s, n in wanted.items()},
                                           qc)
            examples = self.sets(pools, sizes, seed, qc)
            if not {s for s in wanted if len(examples[s]) < wanted[s]} & cut:
                return examples
            del qc.steps[first_step:]
            factor *= 4

    def sets(self, pools: dict[str, list[dict]], sizes: Sizes, seed: int, qc: TaskQC) -> Examples:
        examples: Examples = {}
        for split in ("validation", "test_ind"):
            examples[split] = sample_sets(group_by_query(pools[split]), sizes.for_split(split),
                                         rng_for(seed, self.code, f"sets:{split}"))
        # Draw spare training sets so that overlap removal still leaves the requested size.
        train = sample_sets(group_by_query(pools["train"]), int(sizes.train * 1.1) + 10,
                            rng_for(seed, self.code, "sets:train"))
        examples["train"] = remove_overlap(train, test_texts(examples), qc, text_of=lambda s: s["input"],
                                          limit=sizes.train)
        return {split: examples[split] for split in ("train", "validation", "test_ind")}


PROCESSOR = QPRProcessor()
