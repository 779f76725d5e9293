"""The published data's string conventions (word cuts, ordinals, option letters, category names), shared by task
definitions, raw builders and sample generators."""

from __future__ import annotations

import string

LETTERS = string.ascii_uppercase


def cut_words(text: str, n: int) -> str:
    """The paper's cut: over ``n`` space-separated words → the first ``n``, trailing periods
    stripped, ``"..."`` appended; shorter text is unchanged."""
    words = text.split(" ")
    if len(words) <= n:
        return text
    return " ".join(words[:n]).rstrip(".") + "..."


def ordinal(n: int) -> str:
    """``1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def lettered(items: list[str]) -> list[str]:
    """``["A: x", "B: y", ...]``."""
    if len(items) > len(LETTERS):
        raise ValueError(f"at most {len(LETTERS)} lettered items, got {len(items)}")
    return [f"{LETTERS[i]}: {item}" for i, item in enumerate(items)]


def canonical_category(name: str) -> str:
    """``"Cell Phones & Accessories"``, ``"Cell_Phones_and_Accessories"`` → ``"cell_phones_and_accessories"``."""
    return "_".join(name.replace("&", "and").replace("_", " ").lower().split())
