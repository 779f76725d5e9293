"""Is a text English? The quality-control language check of the raw build.

Two detectors answer the same question:

* :class:`LinguaDetector` (default when ``lingua-language-detector`` is installed, the ``raw`` extra):
  a statistical n-gram language identifier whose models ship inside its wheel (no download). It
  compares English with the languages that actually occur in Amazon/ESCI data. A text is non-English
  when it is mostly in a non-Latin script, or when it has at least ``min_words`` words (of letters)
  and lingua's confidence in English is under ``english_ratio`` times that of the winning language
  (a fixed bar on the winner's confidence fails on Romance text, where Spanish, Portuguese and French
  share the mass; a fixed bar on English's fails on Spanish titles with English loanwords). Shorter
  Latin-script texts ("Excellent", "typo .") cannot be told apart from French or Dutch and stay
  English (benchmarks/bench_langid.py measures both detectors on real texts).
* :class:`HeuristicDetector` (fallback, no dependency): non-Latin script, or foreign function words
  outnumbering English ones. Fast and reproducible, but blind to foreign text without those words.

Both treat empty text as English. The detector's name goes into the QC report, since the choice can
change which rows are kept.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Protocol

from ecinstruct.errors import ECInstructError
from ecinstruct.raw.english_words import ENGLISH_WORDS, FOREIGN_WORDS
from ecinstruct.raw.english_words import is_english as heuristic_is_english

logger = logging.getLogger(__name__)
_WORD = re.compile(r"[^\W\d_]{2,}")
# The model reads at most this many characters: the language of a review is settled by its start,
# and lingua's time grows with the length.
MAX_CHARS = 300

# Languages compared with English: the Latin-script languages seen in Amazon US reviews/QA and ESCI
# (es locale) and their neighbours. Text in other scripts is decided before the model (each language
# model costs load time and memory in every worker).
LINGUA_LANGUAGES = ("ENGLISH", "SPANISH", "FRENCH", "GERMAN", "PORTUGUESE", "ITALIAN", "DUTCH", "TURKISH",
                    "POLISH", "VIETNAMESE")


class EnglishDetector(Protocol):
    name: str

    def is_english(self, text: str) -> bool: ...


class HeuristicDetector:
    """The built-in rule (:func:`ecinstruct.raw.qc.is_english`)."""

    name = "heuristic"

    def is_english(self, text: str) -> bool:
        return heuristic_is_english(text)


class LinguaDetector:
    """lingua-language-detector, restricted to :data:`LINGUA_LANGUAGES`.

    The lingua model is built lazily, once per process (worker processes build their own).
    """

    def __init__(self, english_ratio: float = 0.125, min_words: int = 3,
                 languages: tuple[str, ...] = LINGUA_LANGUAGES, low_accuracy: bool = False) -> None:
        from importlib.metadata import version

        import lingua  # noqa: F401  (fail here, at construction, when the extra is missing)

        self.english_ratio = english_ratio
        self.min_words = min_words
        self.languages = languages
        self.low_accuracy = low_accuracy
        self.name = (f"lingua {version('lingua-language-detector')}{' low-accuracy mode' if low_accuracy else ''} "
                     f"(non-English: P(English) < "
                     f"{english_ratio:g} × P(top language) on ≥ {min_words} words, or non-Latin script)")

    def is_english(self, text: str) -> bool:
        letters = [c for c in text if c.isalpha()]
        if not letters:
            return True
        if sum(c.isascii() for c in letters) / len(letters) < 0.5:  # mostly another script
            return False
        words = [w.lower() for w in _WORD.findall(text)]
        if len(words) < self.min_words:
            return True
        if _plainly_english(words):
            return True
        values = _lingua(self.languages, self.low_accuracy).compute_language_confidence_values(text[:MAX_CHARS])
        english = next((v.value for v in values if v.language.name == "ENGLISH"), 0.0)
        return not values or english >= self.english_ratio * values[0].value

    def __reduce__(self):  # pickles as its settings: the model is rebuilt in the worker
        return (LinguaDetector, (self.english_ratio, self.min_words, self.languages, self.low_accuracy))


def _plainly_english(words: list[str]) -> bool:
    """A quarter of the words English function words and none foreign: English without asking the
    model (most English reviews; lingua's high-accuracy mode reads ~1,000 texts/s per core)."""
    english = sum(w in ENGLISH_WORDS for w in words)
    return english * 4 >= len(words) and not any(w in FOREIGN_WORDS for w in words)


@functools.lru_cache(maxsize=4)
def _lingua(languages: tuple[str, ...], low_accuracy: bool = False):
    from lingua import Language, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_languages(*(getattr(Language, name) for name in languages))
    return (builder.with_low_accuracy_mode() if low_accuracy else builder).build()


@functools.lru_cache(maxsize=1)
def default_detector() -> EnglishDetector:
    """lingua when installed, else the heuristic (logged once)."""
    try:
        return LinguaDetector()
    except ImportError:
        logger.warning("lingua-language-detector is not installed (pip install 'ecellm[raw]'): the English "
                       "check uses the built-in heuristic, which can keep foreign text without common words")
        return HeuristicDetector()


def get_detector(name: str | None) -> EnglishDetector:
    """``"lingua"``, ``"heuristic"`` or ``None``/``"auto"`` (lingua when installed)."""
    if name in (None, "auto"):
        return default_detector()
    if name == "heuristic":
        return HeuristicDetector()
    if name == "lingua":
        try:
            return LinguaDetector()
        except ImportError:
            raise ECInstructError("language detector 'lingua' needs lingua-language-detector: "
                                  "pip install 'ecellm[raw]', or choose the heuristic") from None
    raise ValueError(f"unknown language detector {name!r}: expected auto, lingua or heuristic")
