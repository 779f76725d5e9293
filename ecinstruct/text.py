"""The published data's string conventions (word cuts, ordinals, option letters, option lists, category names),
shared by task definitions, scorers, raw builders and sample generators."""

from __future__ import annotations

import ast
import json
import string

from ecinstruct.errors import RowFormatError

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


def parse_options(value: object, row: int | str = "?") -> list[str] | None:
    """Parse a published ``options`` value into a list of strings (``None`` for null/empty).

    Accepts a JSON list string (PRP, SA, MPC), a Python-literal list string (SR; parsed with
    ``ast.literal_eval``, which evaluates literals only), or an already-parsed list.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            try:
                parsed = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raise RowFormatError(
                    row, f"options {value[:80]!r} is neither a JSON list nor a Python list literal",
                    "Write options as a JSON list of strings, e.g. [\"A: ...\", \"B: ...\"], or null.",
                ) from None
    if not isinstance(parsed, list) or not all(isinstance(o, str) for o in parsed):
        raise RowFormatError(
            row, f"options must be a list of strings, got {type(parsed).__name__}: {str(value)[:80]!r}",
            "Write options as a list of option strings such as [\"A: ...\", \"B: ...\"], or null.",
        )
    return parsed or None
