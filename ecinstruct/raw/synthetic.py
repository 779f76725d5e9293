"""Raw-source files of the real distributions' shapes and sizes, made from the sample vocabulary.

For benchmarks and memory tests of ``build-raw``: the Amazon Review 2018 files of the paper's four
categories (reviews ``<Category>.json``, metadata ``meta_<Category>.json``, plain or gzip; ratings
``<Category>.csv``) and ESCI's two parquet files, with the same fields, formats and (at ``scale=1``)
row counts of the largest real files. The text is invented (:mod:`ecinstruct.sample.vocab`); no
record comes from a real source. Files are written as they are generated, in constant memory, a
block of rows at a time (a full-size category, ~21 M reviews and ~21 M ratings, in a few minutes).

    write_raw_tree("/tmp/raw", Shape.full().scaled(0.01), seed=0)
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
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
    """Rows per file: per Amazon category (reviews, ratings, metadata items) and for ESCI.

    ``rating_users``: how many users the ratings of a category come from (0: a quarter of the
    ratings); popularity is skewed, so a few users rate many items and most rate one or two.
    """

    reviews: int
    ratings: int
    items: int
    esci_examples: int
    esci_products: int
    rating_users: int = 0

    @classmethod
    def full(cls) -> Shape:
        """The largest real files: Amazon 2018 Electronics (~20.99 M reviews, ~20.99 M ratings,
        ~786 k products) and ESCI (~2.62 M judgements, ~1.81 M products)."""
        return cls(reviews=20_994_353, ratings=20_994_353, items=786_445, esci_examples=2_621_288,
                   esci_products=1_814_924)

    def scaled(self, factor: float) -> Shape:
        return replace(self, **{f.name: max(1, round(getattr(self, f.name) * factor)) for f in fields(self)
                                if getattr(self, f.name)})


def write_raw_tree(root: str | Path, shape: Shape, seed: int = 0, *, parts: tuple[str, ...] = ("amazon2018", "esci"),
                   gzip_level: int | None = None, categories: tuple[str, ...] = CATEGORIES) -> dict[str, int]:
    """Write the files under ``root`` (``amazon2018/``, ``esci/``); returns bytes per file.

    The Amazon JSON files are plain ``.json`` by default (the readers take both; writing gzip is what
    bounds the generator's speed); ``gzip_level`` 1-9 writes ``.json.gz`` as distributed.
    ``categories``: which of the four Amazon categories to write (each draws from its own seed).
    """
    root = Path(root)
    sizes: dict[str, int] = {}
    if "amazon2018" in parts:
        folder = root / amazon2018.FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".json" if gzip_level is None else ".json.gz"
        for category in categories:
            number = CATEGORIES.index(category)
            catalog = _Catalog(np.random.default_rng([seed, number]), category, number, shape.items)
            names = (f"meta_{category}{suffix}", f"{category}{suffix}", f"{category}.csv")
            catalog.write_meta(folder / names[0], gzip_level)
            catalog.write_reviews(folder / names[1], shape.reviews, gzip_level)
            catalog.write_ratings(folder / names[2], shape.ratings, shape.rating_users or shape.ratings // 4)
            for name in names:
                sizes[f"amazon2018/{name}"] = (folder / name).stat().st_size
    if "esci" in parts:
        folder = root / "esci"
        folder.mkdir(parents=True, exist_ok=True)
        sizes.update(_write_esci(folder, shape, random.Random(f"{seed}:esci")))
    return sizes


def _open(path: Path, gzip_level: int | None):
    return gzip.open(path, "wt", encoding="utf-8", compresslevel=gzip_level) if gzip_level else \
        open(path, "w", encoding="utf-8")


def _blocks(n: int, desc: str, unit: str) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of blocks of ``_BLOCK`` rows, with a progress bar."""
    with tqdm(total=n, desc=desc, unit=unit, mininterval=2, disable=None) as progress:
        for start in range(0, n, _BLOCK):
            stop = min(n, start + _BLOCK)
            yield start, stop
            progress.update(stop - start)


_BLOCK = 100_000  # rows drawn at once with numpy: the per-row work left is one string format
_POOL = 512  # pre-rendered titles / descriptions / review texts per product type


class _Catalog:
    """One category's invented products: ids, titles, category levels, brands.

    Random choices are drawn a block of rows at a time with numpy, and the text comes from pools
    rendered once (a few hundred per product type), so that writing a line is one string format:
    fast enough to write the 21 M-line files of a full-size category in minutes.
    """

    def __init__(self, rng: np.random.Generator, category: str, number: int, n_items: int) -> None:
        self.rng, self.category, self.n_items = rng, category, n_items
        vocab_category = _VOCAB_CATEGORY[category]
        self.types = [t for t in PRODUCT_TYPES if t.category == vocab_category]
        self.brands = BRANDS[vocab_category]
        self.prefix = f"B{number}"
        text_rng = random.Random(f"{category}:{number}")
        self.titles = [[product_title(text_rng, self.brands[k % len(self.brands)], t) for k in range(_POOL)]
                       for t in self.types]
        self.reviews = {stars: [[json.dumps(self.review_text(text_rng, stars, t)) for _ in range(_POOL // 4)]
                                for t in self.types] for stars in REVIEW_OPENERS}

    def asin(self, i: int) -> str:
        return f"{self.prefix}{i:08d}"

    def popular_items(self, shape: int | tuple[int, ...]) -> np.ndarray:
        """Item numbers skewed towards the first ones, as real popularity is (so a k-core exists)."""
        return (self.n_items * self.rng.random(shape) ** 3).astype(np.int64)

    def write_meta(self, path: Path, gzip_level: int | None = None) -> None:
        rng = self.rng
        with _open(path, gzip_level) as out:
            for start, stop in _blocks(self.n_items, path.name, " items"):
                n = stop - start
                n_links, links = rng.integers(0, 13, n).tolist(), self.popular_items((n, 12)).tolist()
                picks, repeats = rng.integers(0, _POOL, (n, 2)).tolist(), rng.integers(1, 7, n).tolist()
                ranks, prices = rng.integers(1, 900_000, n).tolist(), rng.integers(5, 401, n).tolist()
                lines = []
                for k, i in enumerate(range(start, stop)):
                    ptype = self.types[i % len(self.types)]
                    brand = self.brands[picks[k][0] % len(self.brands)]  # the title's brand
                    ids = [self.asin(j) for j in links[k][:n_links[k]]]
                    similar = "".join(f'<td><a href="/dp/{a}/ref=sims">x</a></td>' for a in ids[:4])
                    spec = ptype.specs[picks[k][1] % len(ptype.specs)]
                    lines.append(json.dumps({
                        "category": [self.category.replace("_", " "), ptype.subcategory, ptype.name],
                        "description": [f"{spec} {ptype.name} by {brand}. " * repeats[k]],
                        "title": f"{self.titles[i % len(self.types)][picks[k][0]]} {i}",
                        "also_buy": ids[4:8], "also_view": ids[8:], "brand": brand,
                        "feature": list(ptype.specs), "rank": f"{ranks[k]:,} in {self.category}",
                        "price": f"${prices[k]}.99", "asin": self.asin(i),
                        "similar_item": f"<table>{similar}</table>" if similar else "",
                    }))
                out.write("\n".join(lines) + "\n")

    @staticmethod
    def review_text(rng: random.Random, stars: int, ptype) -> str:
        middle = " ".join(rng.choice(REVIEW_MIDDLES).format(p=rng.choice(REVIEW_PURPOSES)) for _ in range(3))
        return (f"{rng.choice(REVIEW_OPENERS[stars]).format(t=ptype.name.lower())} {middle} "
                f"{rng.choice(REVIEW_CLOSERS[stars])}")

    def write_reviews(self, path: Path, n: int, gzip_level: int | None = None) -> None:
        rng, n_users, n_types = self.rng, max(1, n // 4), len(self.types)
        star_values = np.array((5, 5, 5, 4, 4, 3, 2, 1))
        with _open(path, gzip_level) as out:
            for start, stop in _blocks(n, path.name, " reviews"):
                size = stop - start
                items = self.popular_items(size).tolist()
                stars = star_values[rng.integers(0, len(star_values), size)].tolist()
                users, texts = rng.integers(0, n_users, size).tolist(), rng.integers(0, _POOL // 4, size).tolist()
                out.write("".join(
                    f'{{"overall": {s}.0, "verified": true, "reviewTime": "01 2, 2016", '
                    f'"reviewerID": "A{u:013X}", "asin": "{self.prefix}{item:08d}", "reviewerName": "Customer", '
                    f'"reviewText": {self.reviews[s][item % n_types][t]}, "summary": "{s} stars", '
                    f'"unixReviewTime": {1451692800 + i}}}\n'
                    for i, item, s, u, t in zip(range(start, stop), items, stars, users, texts, strict=True)))

    def write_ratings(self, path: Path, n: int, n_users: int) -> None:
        rng, n_users = self.rng, max(1, n_users)
        with open(path, "w", encoding="utf-8") as out:
            for start, stop in _blocks(n, path.name, " ratings"):
                size = stop - start
                users = (n_users * rng.random(size) ** 2).astype(np.int64).tolist()
                items, values = self.popular_items(size).tolist(), rng.integers(1, 6, size).tolist()
                out.write("".join(f"{self.prefix}{item:08d},A{u:013X},{r}.0,{1300000000 + i}\n"
                                  for i, item, u, r in zip(range(start, stop), items, users, values, strict=True)))


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
