"""The flexible reading: find the answer in a chatty output and return it in the strict form.

Instruction-tuned models that were not trained on ECInstruct's exact answer format answer in sentences
(``The answer is "E: very negative".``, ``No, these two records are different products.``, a JSON list inside
a Markdown fence). The strict reading counts those as invalid; the flexible reading looks for the answer with
the documented rules below and hands the strict scorer the answer it found. When no rule finds an answer the
result is ``None`` and the item stays invalid. Every extractor is idempotent: an answer already in the strict
form is returned unchanged.

Common clean-up (:func:`unwrap`): the body of the first Markdown code fence if there is one, a leading
"Answer:" / "The answer is" / "Response:" phrase, and surrounding quotes, backticks or asterisks.

What does not commit, in every closed-answer family (:mod:`ecinstruct.answers.commitment`): a hedge ("not sure",
"maybe", "it depends", "could be", "hard to say"), a refusal or inability of the speaker ("I cannot tell", "I'm
sorry"), both answers kept open ("yes and no", "A or C", "both A and D", "[...] or [...]"), no answer taken ("none of
the options", "neither of them"). Such an output reads as ``None`` whatever else it says. A plain negation is not a
hedge: "No, the second listing is a different model." commits to "no".

Option letters (PRP, SA, MPC; SR with its per-row items; :mod:`ecinstruct.answers.letters`), first rule that
finds a letter decides (two letters found by one rule: no answer):
  1. a commitment phrase names exactly one letter: "answer is C", "I choose C", "I'd say C", "so C", "C is the
     correct answer" (two letters named so, or the named letter offered with another: no answer);
  2. otherwise two letters offered together ("A or C", "A and D", "A/C", "A, C") give no answer;
  3. the text starts with a letter alone or followed by ``:``, ``.``, ``,``, ``;``, ``)`` or ``]`` (``B``, ``(B)``,
     ``Option D, since ...``), unless another option is quoted as ``X:``;
  4. exactly one letter appears as ``X:`` (a quoted option, ``... is "C: neutral"``);
  5. exactly one letter follows "option", "choice", "is" or "be";
  6. exactly one letter appears at all;
  7. exactly one option's text appears (the longest wins when one option text contains another: "very positive"
     beats "positive"; a text after "not" is ruled out); SR matches the item's name, the part before its first ". ".
  Letters the text rules out ("not A", "A is wrong") are skipped by rules 3-6. A capital A or I followed by a
  lower-case word is read as a word ("A good match", "I think"), not as a letter.
Yes/no (PM, PSI, AP): the first word is yes/no (or yeah/yep/correct/true, nope/false/incorrect; not "no doubt", "no
  idea"); else "yes"/"no" standing as an answer ("I'd say no.", "... is yes") when only one of the two does; else a
  denial of what the question asks ("not the same product", "isn't a substitute", "do not answer", "different")
  means no and an affirmation ("the same product", "match", "is a substitute", "can be answered") means yes.
Ranking (QPR): the option letters standing alone, in order of appearance, duplicates dropped (``1. B 2. A``,
  ``B > A > C``, ``[B, A]``); when every named product carries one relevance word right after it ("A is
  irrelevant, B is exact, C is a substitute") they are ordered by it (exact, substitute, complement,
  irrelevant); a tie ("equally relevant") or "A or B" gives no answer.
JSON (AVE): the whole text, else the first JSON array found in it, else the first JSON object (wrapped in a
  list); re-serialised as compact JSON. The hedge check reads only the text around the JSON (a value may say
  anything).
Free text (AG): the clean-up only.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from itertools import chain

from ecinstruct.answers.commitment import hedged, tied
from ecinstruct.answers.letters import committed_letter, is_letter

_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)(?:```|$)", re.S)
_LEAD = re.compile(r"^\s*(?:(?:the|my)\s+)?(?:final\s+|correct\s+|best\s+)?(?:answer|response|output|prediction)"
                   r"(?:\s+(?:is|would be|will be))?\s*[:\-]?\s*", re.I)
_WRAPPERS = "\"'`*“”‘’ \t\n"
_YES_FIRST = {"yes", "yeah", "yep", "correct", "true"}
_NO_FIRST = {"no", "nope", "false", "incorrect"}
# "No doubt, ...", "No idea": "no" before these words is not the answer "no".
_NO_AS_DETERMINER = {"doubt", "idea", "clue", "way", "question", "matter", "answer", "information", "info", "data",
                     "comment", "response"}
# "yes"/"no" standing as an answer in a sentence: before punctuation or the end, or after "say" / "answer is".
# ("There is no doubt ..." has no answer word: a "no" followed by a word is a determiner unless "say"/"answer is"
# precede it.)
_ANSWER_WORD = re.compile(r"\b(yes|no)\b(?=\s*(?:[.,!;:)\]\"'*”’]|$))|"
                          r"\b(?:say|answer (?:is|would be|will be))\s+(yes|no)\b", re.I)
# A "no" in words: a negation of what the question asks (the same / a match / a substitute / an answer), or a
# word that denies it; a negation of anything else ("I'm not in a position to ...") is no answer.
_DENIAL = re.compile(r"\b(?:different|unrelated|irrelevant|mismatch(?:ed)?|distinct|unanswerable)\b", re.I)
_NEGATION = re.compile(r"\bno\s+(?:match\w*|substitut\w*|relation\w*|mention\w*)\b|"
                       r"(?:\bnot|\bcannot|n't|\bnever|\bno longer)\s+(?:[\w-]+\s+){0,3}?(?:the same|same|match\w*|"
                       r"substitut\w*|replace\w*|answer\w*|mention\w*|relat\w*|relevant|identical|describe\w*|refer\w*|"
                       r"work\w*|fit\w*|compatible|interchangeable|provide\w*|contain\w*|include\w*|address\w*|cover\w*|"
                       r"discuss\w*|state\w*|say\w*|give\w*)\b", re.I)
# A denial word after a negation ("no indication that they are different") is a double negation: not a "no".
_NEGATED_DENIAL = re.compile(r"(?:\b(?:no|not|never)\b|n't)[^.;:!?]*$", re.I)
_AFFIRMATION = re.compile(r"\b(?:the same (?:product|item|entity|model)|identical|match(?:es)?|"
                          r"is a (?:good |suitable |functional )?substitute|can be answered|(?<!un)answerable|"
                          r"answers? the question)\b",
                          re.I)

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
    """The option letter a chatty answer commits to (the option-letter rules of the module docstring), else ``None``."""
    body = unwrap(text)
    if not body or not letters or hedged(body, option_texts):
        return None
    return committed_letter(body, letters, option_texts)


def option_text(option: str) -> str:
    """An option's text without its ``X:`` prefix and trailing period (``"B: positive"`` → ``"positive"``)."""
    return re.sub(r"^\s*[A-Z]\s*:\s*", "", option).strip().rstrip(".").strip()


def item_name(option: str) -> str:
    """An SR item's name: its text up to the first ``". "`` (``"K: Drifton Sleeping Bag. Sports ..."``)."""
    return option_text(option).split(". ", 1)[0].strip()


def yes_no(text: object) -> str | None:
    """``"yes"``/``"no"`` a chatty answer commits to (see the module docstring), else ``None``."""
    body = unwrap(text)
    if not body or hedged(body):
        return None
    words = re.findall(r"[a-z']+", body.lower())
    if words and words[0] in _YES_FIRST:
        return "yes"
    if words and words[0] in _NO_FIRST and (len(words) == 1 or words[1] not in _NO_AS_DETERMINER):
        return "no"
    said = {(m.group(1) or m.group(2)).lower() for m in _ANSWER_WORD.finditer(body)}
    if len(said) == 1:
        return said.pop()
    if said:
        return None  # both words stand as answers
    if _NEGATION.search(body) or any(not _NEGATED_DENIAL.search(body[max(0, m.start() - 40):m.start()])
                                     for m in _DENIAL.finditer(body)):
        return "no"
    return "yes" if _AFFIRMATION.search(body) else None


def ranking(text: object, n_options: int) -> str | None:
    """Comma-separated option letters in the order a chatty answer ranks them, else ``None``."""
    body = unwrap(text)
    if not body or n_options < 1 or hedged(body) or tied(body):
        return None
    letters = "".join(chr(ord("A") + i) for i in range(min(n_options, 26)))
    cls = f"[{letters}]"
    if re.search(rf"(?<![A-Za-z0-9]){cls}\)?\s*(?i:or)\s*[(\[]?{cls}(?![A-Za-z0-9])", body):
        return None  # "A or B first": the order is left open
    mentions: dict[str, int] = {}  # letter → where its first mention ends
    for match in re.finditer(rf"(?<![A-Za-z0-9])({cls})(?![A-Za-z0-9])", body):
        if is_letter(body, match):
            mentions.setdefault(match.group(1), match.end())
    picked = list(mentions)
    grades = [_grade_after(body, end, mentions.values()) for end in mentions.values()]
    if picked and None not in grades:  # every product labelled ("A is irrelevant, B is exact"): rank by label
        picked = [letter for _, letter in sorted(zip(grades, picked, strict=True), key=lambda pair: pair[0])]
    return ",".join(picked) or None


# Relevance words of the ESCI grades, best first: a ranking that labels each product is ordered by them.
_GRADE_WORDS = (r"exact\w*", r"substitut\w*", r"complement\w*", r"irrelevant|unrelated")


def _grade_after(body: str, end: int, ends: object) -> int | None:
    """The grade word right after a letter's mention (up to the next mention), as its rank; ``None``: none."""
    stop = min([e for e in ends if e > end] + [len(body)], default=len(body))
    window = body[end:min(stop, end + 40)].lower()
    found = [k for k, word in enumerate(_GRADE_WORDS) if re.search(rf"\b(?:{word})\b", window)]
    return found[0] if len(found) == 1 else None


def json_list(text: object) -> str | None:
    """Compact JSON of the first list (or object, wrapped in a list) in a chatty answer, else ``None``."""
    body = unwrap(text)
    if body is None or _json_hedged(body):
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


def _json_hedged(body: str) -> bool:
    """A hedge outside the JSON (the text before its first bracket and after its last one: a value may say
    "not sure"), or two JSON values offered as alternatives ("[...] or [...]")."""
    first = min((i for i in (body.find("["), body.find("{")) if i >= 0), default=len(body))
    last = max(body.rfind("]"), body.rfind("}"))
    outside = body[:first] + " " + (body[last + 1:] if last >= first else "")
    return hedged(outside) or _JSON_ALTERNATIVES.search(body) is not None


_JSON_ALTERNATIVES = re.compile(r"[\]}]\s*,?\s*(?i:or|otherwise|alternatively)\b[^\[{]{0,40}[\[{]")


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
