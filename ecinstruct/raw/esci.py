"""Shopping Queries Dataset (ESCI) shared by MPC, PSI and QPR.

Original distribution (https://github.com/amazon-science/esci-data), under ``<raw-dir>/esci/``:
``shopping_queries_dataset_examples.parquet`` (example_id, query, query_id, product_id,
product_locale, esci_label, small_version, large_version, split) and
``shopping_queries_dataset_products.parquet`` (product_id, product_title, …, product_locale).

Paper (SPEC §5.6): US locale; titles' newlines/whitespace/``<p>``/``<br>`` → space; query and title
English; NFKD + ASCII folding; ESCI ``train`` → train pool, ESCI ``test`` halved at random into the
test and validation pools.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path

from ecinstruct.errors import SourceError
from ecinstruct.raw.base import Layout, Source, rng_for
from ecinstruct.raw.io import read_json
from ecinstruct.raw.qc import TaskQC, ascii_fold, clean_fields, english_only, keep_if

SOURCE = Source(
    name="Shopping Queries Dataset (ESCI)",
    origin="https://github.com/amazon-science/esci-data (Reddy et al., 2022)",
    license="Apache-2.0",
)
EXAMPLES = ("esci/shopping_queries_dataset_examples.parquet",)
PRODUCTS = ("esci/shopping_queries_dataset_products.parquet",)
LABELS = ("E", "S", "C", "I")
_LABEL_NAMES = {"exact": "E", "substitute": "S", "complement": "C", "irrelevant": "I"}


def layouts(load) -> tuple[Layout, ...]:
    return (Layout("esci-parquet", (EXAMPLES, PRODUCTS), load),)


@functools.lru_cache(maxsize=2)
def _read_joined(examples_path: str, products_path: str) -> tuple[dict, ...]:
    """US examples joined with their product titles (cached: three tasks read the same files)."""
    import pyarrow.parquet as pq

    try:
        examples = pq.read_table(examples_path, filters=[("product_locale", "=", "us")], columns=[
            "example_id", "query", "product_id", "esci_label", "small_version", "split"]).to_pylist()
        products = pq.read_table(products_path, filters=[("product_locale", "=", "us")],
                                 columns=["product_id", "product_title"]).to_pylist()
    except Exception as err:  # pyarrow's errors for a wrong file or a missing column
        raise SourceError(f"{examples_path} / {products_path}: not the ESCI parquet files ({err})") from None
    titles = {p["product_id"]: p["product_title"] or "" for p in products}
    return tuple({**e, "esci_label": _LABEL_NAMES.get(str(e["esci_label"]).lower(), e["esci_label"]),
                  "product_title": titles.get(e["product_id"], "")} for e in examples)


def load_examples(paths: list[Path], qc: TaskQC) -> list[dict]:
    """The QC'd US examples: cleaned, English, ASCII-folded (each step recorded)."""
    rows = [dict(r) for r in _read_joined(str(paths[0]), str(paths[1]))]
    rows = keep_if(rows, lambda r: r["esci_label"] in LABELS, qc, "US examples with an ESCI label")
    rows = clean_fields(rows, ("query", "product_title"), qc)
    rows = english_only(rows, ("query", "product_title"), qc)
    for r in rows:
        r["query"], r["product_title"] = ascii_fold(r["query"]), ascii_fold(r["product_title"])
    return rows


def pools(rows: list[dict], seed: int, code: str) -> dict[str, list[dict]]:
    """ESCI train → train; ESCI test halved at random → test_ind and validation."""
    train = [r for r in rows if r["split"] == "train"]
    test = sorted((r for r in rows if r["split"] == "test"), key=lambda r: r["example_id"])
    rng_for(seed, code, "test-halves").shuffle(test)
    half = len(test) // 2
    return {"train": train, "test_ind": test[:half], "validation": test[half:]}


def read_judgments(path: str | Path) -> dict[str, dict[str, list[str]]]:
    """An ESCI graded-judgment export (OpenSearch ``judgmentRatings``) → query → label → product ids.

    Gains 100/10/1/0 are read as E/S/C/I (inferred from label proportions; not documented upstream).
    """
    gains = {100.0: "E", 10.0: "S", 1.0: "C", 0.0: "I"}
    data = read_json(path)
    if not isinstance(data, dict) or "judgmentRatings" not in data:
        raise SourceError(f"{path}: expected an object with 'judgmentRatings': [{{query, ratings}}]")
    groups: dict[str, dict[str, list[str]]] = {}
    for entry in data["judgmentRatings"]:
        labels: dict[str, list[str]] = defaultdict(list)
        for rating in entry["ratings"]:
            labels[gains[float(rating["rating"])]].append(rating["docId"])
        groups[entry["query"]] = dict(labels)
    return groups
