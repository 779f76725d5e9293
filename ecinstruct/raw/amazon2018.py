"""Amazon Review Data (2018) files shared by PRP, SA and SR: where they live and how items read.

Original distribution (https://nijianmo.github.io/amazon/), one file per category, under
``<raw-dir>/amazon2018/``:

* reviews ``<Category>.json.gz`` (or ``<Category>_5.json.gz``, the 5-core file; plain ``.json`` too);
* metadata ``meta_<Category>.json.gz``;
* ratings ``<Category>.csv`` (``item,user,rating,timestamp``, no header).
"""

from __future__ import annotations

from ecinstruct.raw.base import Source
from ecinstruct.raw.qc import clean_text

SOURCE = Source(
    name="Amazon Review Data (2018)",
    origin="https://nijianmo.github.io/amazon/ (Ni, Li, McAuley, EMNLP 2019)",
    license="no license listed; research use",
)
FOLDER = "amazon2018"
IND_CATEGORIES: tuple[str, ...] = ("Electronics", "Home_and_Kitchen", "Sports_and_Outdoors")
OOD_CATEGORY = "Tools_and_Home_Improvement"


def review_files(category: str) -> tuple[str, ...]:
    return tuple(f"{FOLDER}/{category}{suffix}" for suffix in (".json.gz", ".json", "_5.json.gz", "_5.json"))


def meta_files(category: str) -> tuple[str, ...]:
    return (f"{FOLDER}/meta_{category}.json.gz", f"{FOLDER}/meta_{category}.json")


def rating_files(category: str) -> tuple[str, ...]:
    return (f"{FOLDER}/{category}.csv", f"{FOLDER}/{category}.csv.gz")


def _part(value: object) -> str:
    """One part of an item text: HTML-free, no double quotes/newlines, periods trimmed, one ``.``."""
    text = clean_text(value).replace('"', "").strip().strip(".").strip()
    return f"{text}." if text else ""


def item_text(meta: dict) -> str:
    """SR's item text: title, the first two category levels, brand (empty parts leave a blank slot)."""
    categories = meta.get("category") or meta.get("categories") or []
    if categories and isinstance(categories[0], list):  # 2014 metadata: list of category paths
        categories = categories[0]
    levels = [*list(categories[:2]), *[""] * (2 - len(categories[:2]))]
    return " ".join(_part(p) for p in (meta.get("title"), *levels, meta.get("brand")))
