"""SR sample: a purchase history and 20 candidates, one of which is bought next.

Signal: the last items of the history share one sub-category (a product line: e.g. camping gear);
the true next item is the only candidate of that sub-category. OOD users and candidates are all
Tools & Home Improvement. Format of the published rows: Python ``str(list)`` of ``"1st: <item text>"`` and of
20 ``"A: <item text>"`` … ``"T: <item text>"``; item text ``"<title>. <cat1>. <cat2>. <brand>."``
cut to 25 words.
"""

from __future__ import annotations

import random

from ecinstruct.sample.common import brand, letters, pick_types
from ecinstruct.sample.vocab import IND_CATEGORIES, TOOLS, ProductType
from ecinstruct.text import cut_words, ordinal

N_CANDIDATES = 20
# Occasional tails, one long enough to push an item text past the 25-word cut; one carries a quote character, so the
# Python repr of its list element switches to double quotes, as in the published data.
_TAILS = (
    "with Storage Bag and Quick Start Guide, Ideal for Home, Office, Travel and Everyday Use",
    "for Men's and Women's Everyday Use",
    "Upgraded Version with Extra Parts Included",
)


def _item(rng: random.Random, ptype: ProductType, tail: bool = False) -> str:
    # short titles on purpose: 20 candidates per row dominate the size of the shipped sample
    maker = brand(rng, ptype.category)
    title = f"{maker} {rng.choice((ptype.name, *ptype.accessories))}"
    if tail and rng.random() < 0.08:
        title += " " + rng.choice(_TAILS)
    return cut_words(f"{title}. {ptype.category}. {ptype.subcategory}. {maker}.", 25)


def _distinct_items(
    rng: random.Random, types: list[ProductType], n: int, taken: set[str], tail: bool = False
) -> list[str]:
    items: list[str] = []
    while len(items) < n:
        item = _item(rng, rng.choice(types), tail)
        if item not in taken:
            taken.add(item)
            items.append(item)
    return items


def make(rng: random.Random, domain: str, k: int) -> dict:
    pool = pick_types(domain, IND_CATEGORIES, (TOOLS,))
    line = rng.choice(sorted({t.subcategory for t in pool}))
    in_line = [t for t in pool if t.subcategory == line]
    off_line = [t for t in pool if t.subcategory != line]
    taken: set[str] = set()
    # an optional older purchase from elsewhere, then the product line the user is shopping now
    history = _distinct_items(rng, off_line, rng.randint(0, 1), taken)
    history += _distinct_items(rng, in_line, rng.randint(3, 4), taken)
    target = _distinct_items(rng, in_line, 1, taken)[0]
    # only wrong candidates get long tails: a 25-word cut must not hide the sub-category of the
    # history or of the true next item, which is the task's signal
    candidates = _distinct_items(rng, off_line, N_CANDIDATES - 1, taken, tail=True)
    position = rng.randrange(N_CANDIDATES)
    candidates.insert(position, target)
    return {
        "input": str([f"{ordinal(i + 1)}: {item}" for i, item in enumerate(history)]),
        "options": [f"{letter}: {item}" for letter, item in zip(letters(N_CANDIDATES), candidates, strict=True)],
        "output": letters(N_CANDIDATES)[position],
    }
