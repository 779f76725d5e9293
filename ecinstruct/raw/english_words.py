"""The built-in English check: function-word votes and the share of ASCII letters.

Its own module so that both the QC steps (:mod:`ecinstruct.raw.qc`) and the language detectors
(:mod:`ecinstruct.raw.langid`, which uses it as the fallback and as a fast path) import it without
importing each other.
"""

from __future__ import annotations

import re

# Frequent function words. English ones vote for English; the others (Spanish, French, German,
# Portuguese, Italian — the languages that occur in Amazon US data) vote against.
ENGLISH_WORDS = frozenset((
    "the", "a", "an", "and", "or", "of", "to", "in", "for", "with", "on", "is", "it", "this", "that",
    "are", "was", "be", "as", "at", "by", "from", "i", "you", "my", "not", "but", "have", "has",
    "they", "we", "very", "will", "can", "your", "its",
))
FOREIGN_WORDS = frozenset((
    "el", "los", "las", "del", "que", "y", "para", "con", "por", "una", "es", "muy", "pero", "le",
    "les", "des", "et", "est", "pour", "avec", "une", "du", "au", "der", "die", "das", "und", "ist",
    "mit", "nicht", "ein", "eine", "zu", "auf", "sehr", "il", "di", "che", "non", "della", "per",
    "sono", "não", "com", "uma", "em", "os", "ao",
))
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def is_english(text: str) -> bool:
    """A deterministic English check (empty text counts as English, as with the paper's detector).

    Non-English if under 90% of the letters are ASCII, or if foreign function words outnumber English
    ones (at least two of them). Built in rather than a language-ID model: fast, dependency-free and
    reproducible; it targets the non-English rows found in Amazon US data, not every language.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    if sum(c.isascii() for c in letters) / len(letters) < 0.9:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    other = sum(w in FOREIGN_WORDS for w in words)
    return other < 2 or other <= sum(w in ENGLISH_WORDS for w in words)
