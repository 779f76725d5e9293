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
import sys
from collections.abc import Iterator, Sequence
from itertools import chain

_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)(?:```|$)", re.S)
_LEAD = re.compile(r"^\s*(?:(?:the|my)\s+)?(?:final\s+|correct\s+|best\s+)?(?:answer|response|output|prediction)"
                   r"(?:\s+(?:is|would be|will be))?\s*[:\-]?\s*", re.I)
_WRAPPERS = "\"'`*“”‘’ \t\n"
_YES_FIRST = {"yes", "yeah", "yep", "correct", "true"}
_NO_FIRST = {"no", "nope", "false", "incorrect"}
_NEGATION = re.compile(r"\b(?:not|cannot|neither|different|unrelated|mismatch)\b|n't\b", re.I)
_AFFIRMATION = re.compile(r"\b(?:the same (?:product|item|entity)|match(?:es)?|is a (?:good )?substitute|"
                          r"can be answered|answers the question)\b", re.I)

# What a scan for JSON values needs to see: brackets, quotes, escapes and raw control characters.
_JSON_SYNTAX = re.compile(r'[\[\]{}"\\\x00-\x1f]')
_OPENER_OF = {"]": "[", "}": "{"}


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
    for candidate in chain((body,), _embedded_json(body)):  # lazily: the first value found wins
        try:
            value = json.loads(candidate) if isinstance(candidate, str) else candidate
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, list):
            try:
                return json.dumps(value, ensure_ascii=False)
            except RecursionError:  # nested too deep to write back out
                continue
    return None


def _embedded_json(body: str) -> Iterator[object]:
    """Decoded JSON values starting at each ``[`` (first) then each ``{`` of the text.

    Linear-ish on long texts: one scan finds where each bracket closes (:func:`_bracket_spans`), so a bracket
    that never closes is not decoded at all, and a bracket inside a value that failed where it did is not
    decoded again (the decoder would fail at the same character)."""
    spans, unclosed = _bracket_spans(body)
    decoder = json.JSONDecoder()
    failed: dict[int, int | None] = dict.fromkeys(unclosed)  # opener → decoder error position (None: unknown)
    too_deep = sys.getrecursionlimit()  # the decoder recurses once per level: values this deep fail
    for opener in "[{":
        for start in sorted(p for p in spans if body[p] == opener):
            end, _, height = spans[start]
            error = _inherited_error(start, spans, failed)
            if height >= too_deep or (error is not None and start < error <= end):
                failed[start] = error
                continue
            try:
                yield decoder.raw_decode(body, start)[0]
            except json.JSONDecodeError as err:
                failed[start] = err.pos
            except RecursionError:
                failed[start], too_deep = None, height


def _inherited_error(start: int, spans: dict[int, tuple[int, int | None, int]], failed: dict[int, int | None]
                     ) -> int | None:
    """Where the decoder failed on the nearest enclosing bracket tried so far (``None``: none tried, or unknown)."""
    parent = spans[start][1]
    while parent is not None and parent not in failed:
        parent = spans[parent][1] if parent in spans else None
    return None if parent is None else failed[parent]


def _bracket_spans(body: str) -> tuple[dict[int, tuple[int, int | None, int]], set[int]]:
    """Every bracket of the text that closes, as opener → (closer, enclosing opener, nesting height), and the
    openers that never close (a mismatched closer, the end of the text, or a raw control character inside a
    string stops them: the decoder fails there too).

    JSON strings are followed from each outermost bracket; brackets inside such a string get their own scan
    (they may start a value once the outer one has failed)."""
    tokens = [(m.start(), m.group()) for m in _JSON_SYNTAX.finditer(body)]
    index = {pos: k for k, (pos, ch) in enumerate(tokens) if ch in "[{"}
    spans: dict[int, tuple[int, int | None, int]] = {}
    met: set[int] = set()
    for root in index:
        if root not in met:
            _scan(tokens, index[root], spans, met)
    return spans, met - set(spans)


def _scan(tokens: list[tuple[int, str]], first: int, spans: dict, met: set[int]) -> None:
    stack: list[list] = []  # [opener position, enclosing opener, height, opener]
    in_string, escaped = False, -1
    for k in range(first, len(tokens)):
        pos, ch = tokens[k]
        if in_string:
            if pos == escaped:
                continue
            if ch == "\\":
                escaped = pos + 1
            elif ch == '"':
                in_string = False
            elif ch < " ":
                return  # a raw control character ends every open value
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append([pos, stack[-1][0] if stack else None, 1, ch])
            met.add(pos)
        elif ch in "]}":
            if _OPENER_OF[ch] != stack[-1][3]:
                return  # a mismatched closer ends every open value
            start, parent, height, _ = stack.pop()
            spans[start] = (pos, parent, height)
            if not stack:
                return
            stack[-1][2] = max(stack[-1][2], height + 1)


def free_text(text: object) -> str | None:
    """The clean-up only (AG)."""
    return unwrap(text)
