"""Does a chatty output commit to one answer? The checks the flexible reading runs before it reads anything.

A closed-answer task has a right answer among a few; an output that hedges ("I cannot tell", "it depends",
"maybe yes"), refuses ("I'm sorry, ..."), keeps two answers open ("yes and no", "A or C", "both A and D") or
rejects every option ("none of the options") gives none of them, and reading an answer into it would score a
guess the model did not make. Every family of :mod:`ecinstruct.answers.flexible` asks :func:`hedged` first; the
option families also ask :func:`alternatives`. The phrase lists are deliberately about *the speaker's
uncertainty*, not about negation: "No, the second listing is a different model." commits to "no", and "The
reviews cannot answer it." commits to AP's "no"; only "I cannot tell" style phrases are hedges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Phrases that say the speaker does not commit (case-insensitive, searched anywhere in the answer text).
_HEDGE_PHRASES = (
    # uncertainty about the answer itself
    r"\bnot (?:sure|certain|clear|obvious|possible to (?:tell|say|know|determine|decide|judge))\b",
    r"\b(?:unsure|uncertain|unclear|ambiguous|inconclusive|undetermined|undecided|indeterminate)\b",
    r"\b(?:maybe|perhaps|possibly)\b",
    r"\bmight (?:be|go|also|either|not)\b|\bcould (?:be|go|also|either)\b(?! used\b)",  # not "could be used"
    r"\bmay or may not\b",
    r"\bit depends\b|\bdepend(?:s|ing)? (?:on|upon)\b",
    r"\b(?:impossible|hard|difficult|tough|tricky) to (?:tell|say|determine|know|decide|judge|rank|choose|pick)\b",
    r"\bhard to say\b",
    r"\bno (?:idea|clue|way to (?:tell|know|say))\b",
    r"\b(?:do not|don't|dont) know\b",
    # inability or refusal of the speaker (first person, or a sentence that starts with it)
    r"\b(?:i|we)(?:'m| am| are|'re)? (?:cannot|can't|can ?not|could not|couldn't|unable|not able)\b",
    r"(?:^|[.!?]\s+)(?:cannot|can't|can ?not|unable to)\b(?! be answered)",  # AP's "Cannot be answered." is a no
    r"\b(?:cannot|can't|can ?not|could not|couldn't) be (?:determined|decided|judged|known|told|said|inferred|"
    r"confirmed|verified)\b",
    r"\b(?:cannot|can't|can ?not) (?:tell|determine|say|decide|judge)\b",
    r"\b(?:not|n't) (?:enough|sufficient) (?:information|info|context|details?|evidence|data)\b",
    r"\b(?:insufficient|without more|need more|needs more|more) (?:information|info|context|details?|data)\b",
    r"\b(?:sorry|apologi[sz]e)\b|\bas an ai\b|\blanguage model\b",
    # two answers kept open, or none taken
    r"\b(?:yes|no) ?(?:and|or|/) ?(?:yes|no)\b|\bneither yes nor no\b",
    r"\bnone of (?:the |these |those )?(?:options|choices|answers|candidates|items|products|above|them|listed)\b",
    r"\bneither of (?:the|them|these|those)\b|\bno (?:option|choice|candidate|answer) (?:fits|applies|matches)\b",
    r"\balso (?:possible|plausible|likely|valid|correct|right)\b|\beither (?:one|way|answer|option)\b",
    r"\bn/a\b",
)
_HEDGE = re.compile("|".join(f"(?:{p})" for p in _HEDGE_PHRASES), re.I)
# Ranking only: a tie leaves the order open.
_TIE = re.compile(r"\b(?:equally|tied?|same (?:relevance|rank|level))\b", re.I)


def hedged(text: str, quoted: Iterable[str] = ()) -> bool:
    """Whether ``text`` hedges, refuses or keeps answers open (:data:`_HEDGE_PHRASES`).

    ``quoted``: texts to ignore (the task's own option texts: an option may say "could be used in
    combination", which is the option, not a hedge)."""
    lowered = text
    for option in quoted:
        if option:
            lowered = re.sub(re.escape(option), " ", lowered, flags=re.I)
    return _HEDGE.search(lowered) is not None


def tied(text: str) -> bool:
    """Whether a ranking declares a tie ("A and B are equally relevant")."""
    return _TIE.search(text) is not None


def alternatives(text: str, letters: str) -> set[str]:
    """Letters offered as alternatives: ``A or C``, ``A and D``, ``A/C``, ``A, C`` (``either``/``both``/``between``
    read the same way), each pair of two different letters."""
    cls = f"[{re.escape(letters)}]"
    pair = re.compile(rf"(?<![A-Za-z0-9])({cls})\)?\s*(?:,\s*)?(?:(?i:or|and|nor)|/|&|,)\s*"
                      rf"(?:(?i:option|choice|answer)\s*)?[(\[]?({cls})(?![A-Za-z0-9])")
    found: set[str] = set()
    for match in pair.finditer(text):
        first, second = match.groups()
        if first != second:
            found.update((first, second))
    return found
