"""Raw-source files of the real distributions' shapes and sizes, made from the sample vocabulary.

For benchmarks and memory tests of ``build-raw``: the Amazon Review 2018 files of the paper's four
categories (reviews ``<Category>.json.gz``, metadata ``meta_<Category>.json.gz``, ratings
``<Category>.csv``) and ESCI's two parquet files, with the same fields, formats and (at ``scale=1``)
row counts of the largest real files. The text is invented (:mod:`ecinstruct.sample.vocab`); no
record comes from a real source. Files are written as they are generated, in constant memory.

    write_raw_tree("/tmp/raw", Shape.full().scaled(0.01), seed=0)
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, fields, replace
from pathlib import Path

from tqdm.auto import tqdm

from ecinstruct.raw import amazon2018
from ecinstruct.sample.common import product_title
from ecinstruct.sample.vocab import (
    BRANDS,
    PRODUCT_TYPES,
    REVIEW_CLOSERS,
    REVIEW_MIDDLES,
    REVIEW_OPENERS,
    REVIEW_PURPOSES,
)

CATEGORIES = (*amazon2018.IND_CATEGORIES, amazon2018.OOD_CATEGORY)
_VOCAB_CATEGORY = {"Electronics": "Electronics", "Home_and_Kitchen": "Home & Kitchen",
                   "Sports_and_Outdoors": "Sports & Outdoors",
                   "Tools_and_Home_Improvement": "Tools & Home Improvement"}


@dataclass(frozen=True)
class Shape:
    """Rows per file: per Amazon category (reviews, ratings, metadata items) and for ESCI."""

    reviews: int
    ratings: int
    items: int
    esci_examples: int
    esci_products: int

    @classmethod
    def full(cls) -> Shape:
        """The largest real files: Amazon 2018 Electronics (~20.99 M reviews, ~20.99 M ratings,
        ~786 k products) and ESCI (~2.62 M judgements, ~1.81 M products)."""
        return cls(reviews=20_994_353, ratings=20_994_353, items=786_445, esci_examples=2_621_288,
                   esci_products=1_814_924)

    def scaled(self, factor: float) -> Shape:
        return replace(self, **{f.name: max(1, round(getattr(self, f.name) * factor)) for f in fields(self)})


def write_raw_tree(root: str | Path, shape: Shape, seed: int = 0, *, parts: tuple[str, ...] = ("amazon2018", "esci")
                   ) -> dict[str, int]:
    """Write the files under ``root`` (``amazon2018/``, ``esci/``); returns bytes per file."""
    root = Path(root)
    sizes: dict[str, int] = {}
    if "amazon2018" in parts:
        for number, category in enumerate(CATEGORIES):
            rng = random.Random(f"{seed}:{category}")
            folder = root / amazon2018.FOLDER
            folder.mkdir(parents=True, exist_ok=True)
            catalog = _Catalog(rng, category, number, shape.items)
            catalog.write_meta(folder / f"meta_{category}.json.gz")
            catalog.write_reviews(folder / f"{category}.json.gz", shape.reviews)
            catalog.write_ratings(folder / f"{category}.csv", shape.ratings)
            for name in (f"meta_{category}.json.gz", f"{category}.json.gz", f"{category}.csv"):
                sizes[f"amazon2018/{name}"] = (folder / name).stat().st_size
    if "esci" in parts:
        folder = root / "esci"
        folder.mkdir(parents=True, exist_ok=True)
        sizes.update(_write_esci(folder, shape, random.Random(f"{seed}:esci")))
    return sizes


class _Catalog:
    """One category's invented products: ids, titles, category levels, brands."""

    def __init__(self, rng: random.Random, category: str, number: int, n_items: int) -> None:
        self.rng, self.category, self.n_items = rng, category, n_items
        vocab_category = _VOCAB_CATEGORY[category]
        self.types = [t for t in PRODUCT_TYPES if t.category == vocab_category]
        self.brands = BRANDS[vocab_category]
        self.prefix = f"B{number}"

    def asin(self, i: int) -> str:
        return f"{self.prefix}{i:08d}"

    def popular_item(self) -> int:
        """Item numbers skewed towards the first ones, as real popularity is (so a k-core exists)."""
        return int(self.n_items * self.rng.random() ** 3)

    def write_meta(self, path: Path) -> None:
        rng = self.rng
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
            for i in tqdm(range(self.n_items), desc=path.name, unit=" items", mininterval=2, disable=None):
                ptype = self.types[i % len(self.types)]
                brand = self.brands[i % len(self.brands)]
                links = [self.asin(self.popular_item()) for _ in range(rng.randint(0, 12))]
                similar = "".join(f'<td><a href="/dp/{a}/ref=sims">x</a></td>' for a in links[:4])
                record = {
                    "category": [self.category.replace("_", " "), ptype.subcategory, ptype.name],
                    "description": [f"{rng.choice(ptype.specs)} {ptype.name} by {brand}. " * rng.randint(1, 6)],
                    "title": f"{product_title(rng, brand, ptype)} {i}",
                    "also_buy": links[4:8], "also_view": links[8:], "brand": brand,
                    "feature": list(ptype.specs), "rank": f"{rng.randint(1, 900000):,} in {self.category}",
                    "price": f"${rng.randint(5, 400)}.99", "asin": self.asin(i),
                    "similar_item": f"<table>{similar}</table>" if similar else "",
                }
                out.write(json.dumps(record) + "\n")

    def review_text(self, stars: int, ptype) -> str:
        rng = self.rng
        middle = " ".join(rng.choice(REVIEW_MIDDLES).format(p=rng.choice(REVIEW_PURPOSES)) for _ in range(3))
        return (f"{rng.choice(REVIEW_OPENERS[stars]).format(t=ptype.name.lower())} {middle} "
                f"{rng.choice(REVIEW_CLOSERS[stars])}")

    def write_reviews(self, path: Path, n: int) -> None:
        rng = self.rng
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
            for i in tqdm(range(n), desc=path.name, unit=" reviews", mininterval=2, disable=None):
                item = self.popular_item()
                stars = rng.choice((5, 5, 5, 4, 4, 3, 2, 1))
                text = self.review_text(stars, self.types[item % len(self.types)])
                record = {"overall": float(stars), "verified": True, "reviewTime": "01 2, 2016",
                          "reviewerID": f"A{rng.randrange(max(1, n // 4)):013X}", "asin": self.asin(item),
                          "reviewerName": "Customer", "reviewText": text,
                          "summary": f"{stars} stars", "unixReviewTime": 1451692800 + i}
                out.write(json.dumps(record) + "\n")

    def write_ratings(self, path: Path, n: int) -> None:
        rng = self.rng
        n_users = max(1, n // 4)
        with open(path, "w", encoding="utf-8") as out:
            for i in tqdm(range(n), desc=path.name, unit=" ratings", mininterval=2, disable=None):
                user = int(n_users * rng.random() ** 2)
                out.write(f"{self.asin(self.popular_item())},A{user:013X},{rng.randint(1, 5)}.0,{1300000000 + i}\n")


def _write_esci(folder: Path, shape: Shape, rng: random.Random) -> dict[str, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = PRODUCT_TYPES
    n_queries = max(1, shape.esci_examples // 20)
    locales = ("us", "us", "us", "us", "us", "us", "us", "es", "jp", "jp")

    def product_rows(start: int, stop: int) -> dict[str, list]:
        rows = {k: [] for k in ("product_id", "product_title", "product_description", "product_bullet_point",
                                "product_brand", "product_color", "product_locale")}
        for i in range(start, stop):
            ptype = types[i % len(types)]
            brand = BRANDS[ptype.category][i % 8]
            rows["product_id"].append(f"E{i:09d}")
            rows["product_title"].append(f"{product_title(rng, brand, ptype)} {i}")
            rows["product_description"].append(f"{rng.choice(ptype.specs)} {ptype.name}." if i % 2 else None)
            rows["product_bullet_point"].append("; ".join(ptype.specs))
            rows["product_brand"].append(brand)
            rows["product_color"].append(None)
            rows["product_locale"].append(locales[i % len(locales)])
        return rows

    def example_rows(start: int, stop: int) -> dict[str, list]:
        rows = {k: [] for k in ("example_id", "query", "query_id", "product_id", "product_locale", "esci_label",
                                "small_version", "large_version", "split")}
        for i in range(start, stop):
            query = i // 20 % n_queries
            product = rng.randrange(shape.esci_products)
            ptype = types[query % len(types)]  # a query's text is fixed by its id
            rows["example_id"].append(i)
            rows["query"].append(f"{ptype.specs[query % 3].lower()} {ptype.name.lower()} {query}")
            rows["query_id"].append(query)
            rows["product_id"].append(f"E{product:09d}")
            rows["product_locale"].append(locales[product % len(locales)])
            rows["esci_label"].append(rng.choice(("E", "E", "E", "S", "C", "I")))
            rows["small_version"].append(int(query % 3 == 0))
            rows["large_version"].append(1)
            rows["split"].append("test" if query % 10 < 3 else "train")
        return rows

    sizes = {}
    for name, n, make in (("shopping_queries_dataset_products.parquet", shape.esci_products, product_rows),
                          ("shopping_queries_dataset_examples.parquet", shape.esci_examples, example_rows)):
        writer = None
        for start in tqdm(range(0, n, 100_000), desc=name, unit=" ×100k rows", disable=None):
            table = pa.table(make(start, min(n, start + 100_000)))
            writer = writer or pq.ParquetWriter(folder / name, table.schema)
            writer.write_table(table)
        writer.close()
        sizes[f"esci/{name}"] = (folder / name).stat().st_size
    return sizes
