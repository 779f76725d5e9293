"""Which option letter a (cleaned, non-hedging) chatty answer commits to: the option-letter rules of
:mod:`ecinstruct.answers.flexible`, one small function per rule, tried in order.

A rule finds a set of letters. One letter: that is the answer. Several: the answer is ambiguous and the item
stays invalid (a later, weaker rule is not asked). None: the next rule is asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ecinstruct.answers.commitment import alternatives

# A capital A or I followed by a lower-case word is the article or the pronoun ("A good match", "I think"),
# unless the word is one that follows a letter answer ("A because ...", "B then A then C").
_AFTER_LETTER = {"because", "since", "as", "is", "or", "and", "seems", "would", "fits", "matches", "best", "then",
                 "followed", "over", "before", "after", "ahead", "comes", "first", "second", "third", "fourth", "last"}
_NEGATED_BEFORE = re.compile(r"(?:\bnot|n't|\bnever|\bno longer)\s+(?:\w+\s+)?$")
_LEAD = r"[\"'(\[*]*"


def committed_letter(body: str, letters: str, option_texts: Sequence[str] = ()) -> str | None:
    """The letter ``body`` commits to, else ``None``."""
    cls = f"[{re.escape(letters)}]"
    offered = alternatives(body, letters)
    committed = {letter_of(m) for m in _commit_pattern(cls).finditer(body) if is_letter(body, m)}
    if committed:  # "the answer is C" wins over letters met in the reasoning, unless it is one of two offered
        return committed.pop() if len(committed) == 1 and not committed & offered else None
    if offered:
        return None
    rejected = {letter_of(m) for m in _reject_pattern(cls).finditer(body)}
    rules: tuple[Callable[[str, str], set[str]], ...] = (_at_start, _quoted, _named, _anywhere)
    for rule in rules:
        found = rule(body, cls) - rejected
        if found:
            return found.pop() if len(found) == 1 else None
    return _by_text(body, letters, option_texts)


def letter_of(match: re.Match) -> str:
    """The letter a pattern with one letter group per alternative found."""
    return next(group for group in match.groups() if group is not None)


def is_letter(body: str, match: re.Match) -> bool:
    """Whether a matched capital is an option letter, not the article "A" or the pronoun "I"."""
    letter = letter_of(match)
    if letter not in "AI":
        return True
    following = re.match(r"\s+([a-z]+)", body[match.end(match.groups().index(letter) + 1):])
    return following is None or following.group(1) in _AFTER_LETTER


def _commit_pattern(cls: str) -> re.Pattern:
    """Phrases that commit to a letter: "answer is C", "I choose C", "so C", "C is the correct answer"."""
    return re.compile(
        rf"(?:(?i:answer|choice|pick|selection|prediction|option)\s*(?:(?i:is|would be|will be)|=|:)|"
        rf"(?i:choose|chose|select|pick|go with|going with|opt for|settle on|recommend|suggest|say)|"
        rf"(?:^|[,;.]\s*)(?i:so|therefore|thus|hence)\s*,?)\s*(?:(?i:option|choice)\s*)?{_LEAD}({cls})(?![A-Za-z0-9])"
        rf"|(?<![A-Za-z0-9])({cls})\)?\s+(?i:is|would be|seems)\s+(?i:the\s+)?"
        rf"(?i:correct|right|best|most likely|likeliest|answer)\b")


def _reject_pattern(cls: str) -> re.Pattern:
    """Letters a reasoning rules out: "not A", "A is wrong", "rule out B"."""
    return re.compile(rf"(?i:not|n't|rule out|ruled out|exclude|eliminate)\s+(?:(?i:option|choice)\s*)?[(\[]?"
                      rf"({cls})(?![A-Za-z0-9])|(?<![A-Za-z0-9])({cls})\)?\s+(?i:is|seems)\s+"
                      rf"(?i:wrong|incorrect|not|unlikely|out)\b")


def _at_start(body: str, cls: str) -> set[str]:
    """A letter opening the answer (``B``, ``(B)``, ``Option D, since ...``), with any other quoted ``X:`` option
    (two quoted options leave it open)."""
    start = re.match(rf"^[(\[]?(?:(?i:option|choice)\s*)?[(\[]?({cls})(?:[:.,;)\]]|\s|$)", body)
    if not start or not is_letter(body, start):
        return set()
    return {start.group(1)} | _quoted(body, cls)


def _quoted(body: str, cls: str) -> set[str]:
    """Options quoted in their ``X:`` form (``... is "C: neutral"``)."""
    return set(re.findall(rf"(?<![A-Za-z])({cls}):", body))


def _named(body: str, cls: str) -> set[str]:
    """Letters after "option", "choice", "is" or "be"."""
    mention = rf"\b(?:(?i:option|choice)\s*|(?i:is|be)\s+)[(\[]?({cls})(?![A-Za-z0-9])"
    return {m.group(1) for m in re.finditer(mention, body) if is_letter(body, m)}


def _anywhere(body: str, cls: str) -> set[str]:
    """Every letter standing alone in the text."""
    return {m.group(1) for m in re.finditer(rf"(?<![A-Za-z0-9])({cls})(?![A-Za-z0-9])", body) if is_letter(body, m)}


def _by_text(body: str, letters: str, option_texts: Sequence[str]) -> str | None:
    """The one option whose text the answer names: the longest text wins where one holds another ("very
    positive" over "positive"), and a text after a negation ("not negative") is ruled out."""
    lowered = body.lower()
    spans = []  # (start, end, letter) of every mention
    for letter, option in zip(letters, option_texts, strict=False):
        if option:
            spans += [(m.start(), m.end(), letter) for m in re.finditer(re.escape(option.lower()), lowered)]
    kept = {letter for start, end, letter in spans
            if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
            and not _NEGATED_BEFORE.search(lowered[max(0, start - 16):start])}
    return kept.pop() if len(kept) == 1 else None
