"""The flexible reading: find the answer in a chatty output and return it in the strict form.

Instruction-tuned models that were not trained on ECInstruct's exact answer format answer in sentences
(``The answer is "E: very negative".``, ``No, these two records are different products.``, a JSON list inside
a Markdown fence). The strict reading counts those as invalid; the flexible reading looks for the answer with
the documented rules below and hands the strict scorer the answer it found. When no rule finds an answer the
result is ``None`` and the item stays invalid. Every extractor is idempotent: an answer already in the strict
form is returned unchanged.

Common clean-up (:func:`unwrap`): the body of the first Markdown code fence if there is one, a leading
"Answer:" / "The answer is" / "Response:" phrase, and surrounding quotes, backticks or asterisks.

Option letters (PRP, SA, MPC; SR with its per-row items), first rule that applies wins:
  1. the text starts with a letter alone or followed by ``:``, ``.``, ``)`` or ``]`` (``B``, ``(B)``, ``B: positive``);
  2. a phrase names it: "answer is B", "option B", "choice (B)", "I choose B", "select B";
  3. exactly one letter appears as ``X:`` (a quoted option, ``... is "C: neutral"``);
  4. exactly one option's text appears (the longest wins when one option text contains another:
     "very positive" beats "positive"); SR matches the item's name, the part before its first ". ".
Yes/no (PM, PSI, AP): the first word is yes/no (or yeah/yep/correct/true, nope/false/incorrect); else the first
  standalone "yes" or "no"; else a negation ("not", "n't", "cannot", "different", "neither") means no and an
  affirmation ("the same product", "match", "is a substitute", "can be answered") means yes.
Ranking (QPR): the option letters standing alone, in order of appearance, duplicates dropped (``1. B 2. A``,
  ``B > A > C``, ``[B, A]``); a capital letter followed by a lower-case word is read as a word ("A good
  match", "I think"), not as a letter.
JSON (AVE): the whole text, else the first JSON array found in it, else the first JSON object (wrapped in a
  list); re-serialised as compact JSON.
Free text (AG): the clean-up only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)(?:```|$)", re.S)
_LEAD = re.compile(r"^\s*(?:(?:the|my)\s+)?(?:final\s+|correct\s+|best\s+)?(?:answer|response|output|prediction)"
                   r"(?:\s+(?:is|would be|will be))?\s*[:\-]?\s*", re.I)
_WRAPPERS = "\"'`*“”‘’ \t\n"
_YES_FIRST = {"yes", "yeah", "yep", "correct", "true"}
_NO_FIRST = {"no", "nope", "false", "incorrect"}
_NEGATION = re.compile(r"\b(?:not|cannot|neither|different|unrelated|mismatch)\b|n't\b", re.I)
_AFFIRMATION = re.compile(r"\b(?:the same (?:product|item|entity)|match(?:es)?|is a (?:good )?substitute|"
                          r"can be answered|answers the question)\b", re.I)


def unwrap(text: object) -> str | None:
    """The answer part of a chatty output: fence body, lead-in phrase and wrapping quotes removed."""
    if not isinstance(text, str):
        return None
    fence = _FENCE.search(text)
    body = fence.group(1) if fence else text
    body = _LEAD.sub("", body.strip(), count=1)
    return body.strip(_WRAPPERS)


def option_letter(text: object, letters: str, option_texts: Sequence[str] = ()) -> str | None:
    """The option letter a chatty answer names (rules 1-4 of the module docstring), else ``None``."""
    body = unwrap(text)
    if not body or not letters:
        return None
    cls = f"[{re.escape(letters)}]"
    start = re.match(rf"^[(\[]?({cls})(?:[:.)\]]|$)", body) or re.match(rf"^({cls})\s*$", body)
    if start:
        return start.group(1)
    named = re.search(rf"\b(?:answer|option|choice|choose|select|pick|is)\s*(?:is\s*)?[:\-]?\s*[\"'(\[]?({cls})\b"
                      rf"(?![a-z])(?!\s+[a-z])", body, re.I)
    if named and named.group(1) in letters:
        return named.group(1)
    quoted = set(re.findall(rf"(?<![A-Za-z])({cls}):", body))
    if len(quoted) == 1:
        return quoted.pop()
    return _by_text(body, letters, option_texts)


def _by_text(body: str, letters: str, option_texts: Sequence[str]) -> str | None:
    lowered = body.lower()
    found = {letter: t for letter, t in zip(letters, option_texts, strict=False) if t and t.lower() in lowered}
    kept = [letter for letter, t in found.items()
            if not any(t.lower() != u.lower() and t.lower() in u.lower() for u in found.values())]
    return kept[0] if len(kept) == 1 else None


def option_text(option: str) -> str:
    """An option's text without its ``X:`` prefix and trailing period (``"B: positive"`` → ``"positive"``)."""
    return re.sub(r"^\s*[A-Z]\s*:\s*", "", option).strip().rstrip(".").strip()


def item_name(option: str) -> str:
    """An SR item's name: its text up to the first ``". "`` (``"K: Drifton Sleeping Bag. Sports ..."``)."""
    return option_text(option).split(". ", 1)[0].strip()


def yes_no(text: object) -> str | None:
    """``"yes"``/``"no"`` from a chatty answer (see the module docstring), else ``None``."""
    body = unwrap(text)
    if not body:
        return None
    words = re.findall(r"[a-z']+", body.lower())
    if words and words[0] in _YES_FIRST:
        return "yes"
    if words and words[0] in _NO_FIRST:
        return "no"
    standalone = re.search(r"\b(yes|no)\b", body, re.I)
    if standalone:
        return standalone.group(1).lower()
    if _NEGATION.search(body):
        return "no"
    return "yes" if _AFFIRMATION.search(body) else None


def ranking(text: object, n_options: int) -> str | None:
    """Comma-separated option letters in the order a chatty answer names them, else ``None``."""
    body = unwrap(text)
    if not body or n_options < 1:
        return None
    cls = f"[A-{chr(ord('A') + min(n_options, 26) - 1)}]"
    picked = []
    for match in re.finditer(rf"(?<![A-Za-z0-9])({cls})(?![A-Za-z0-9])(?!\s+[a-z])", body):
        if match.group(1) not in picked:
            picked.append(match.group(1))
    return ",".join(picked) or None


def json_list(text: object) -> str | None:
    """Compact JSON of the first list (or object, wrapped in a list) in a chatty answer, else ``None``."""
    body = unwrap(text)
    if body is None:
        return None
    for candidate in (body, *_embedded_json(body)):
        try:
            value = json.loads(candidate) if isinstance(candidate, str) else candidate
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, list):
            return json.dumps(value, ensure_ascii=False)
    return None


def _embedded_json(body: str):
    """Decoded JSON values starting at each ``[`` (first) then each ``{`` of the text."""
    decoder = json.JSONDecoder()
    for opener in "[{":
        for match in re.finditer(re.escape(opener), body):
            try:
                yield decoder.raw_decode(body, match.start())[0]
            except (ValueError, RecursionError):
                continue


def free_text(text: object) -> str | None:
    """The clean-up only (AG)."""
    return unwrap(text)
