"""The English check of the raw build: lingua (default) and the built-in heuristic (fallback)."""

from __future__ import annotations

import csv
import pickle
import sys
from pathlib import Path

import pytest

from ecinstruct.errors import ECInstructError
from ecinstruct.raw import langid
from ecinstruct.raw.langid import HeuristicDetector, get_detector

TABLE = Path(__file__).parent / "fixtures" / "langid" / "product_texts.tsv"


def table() -> list[tuple[str, bool]]:
    with TABLE.open(encoding="utf-8") as handle:
        return [(r["text"], r["language"] == "en") for r in csv.DictReader(handle, delimiter="\t")]


def test_lingua_labels_the_product_table_correctly():
    pytest.importorskip("lingua")
    detector = langid.LinguaDetector()
    rows = table()
    assert sum(english for _, english in rows) == 28 and len(rows) == 58
    wrong = [text for text, english in rows if detector.is_english(text) != english]
    assert wrong == []
    # Too short to tell, so kept as English; empty and digit-only text too.
    assert all(detector.is_english(t) for t in ("Excellent", "Gracias", "", "12 x 3/4 ''"))


def test_heuristic_fallback_keeps_english_and_catches_other_scripts():
    detector = HeuristicDetector()
    rows = table()
    assert all(detector.is_english(text) for text, english in rows if english)
    assert not any(detector.is_english(text) for text, _ in rows if not text.isascii() and
                   sum(c.isascii() for c in text if c.isalpha()) == 0)
    missed = [text for text, english in rows if not english and detector.is_english(text)]
    assert 0 < len(missed) < 20  # why lingua is the default: the heuristic misses foreign text without stop words


def test_default_falls_back_to_the_heuristic_without_lingua(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "lingua", None)  # import lingua → ImportError
    langid.default_detector.cache_clear()
    try:
        assert isinstance(langid.default_detector(), HeuristicDetector)
        assert "lingua-language-detector is not installed" in caplog.text
        with pytest.raises(ECInstructError, match=r"pip install 'ecellm\[raw\]'"):
            get_detector("lingua")
    finally:
        langid.default_detector.cache_clear()


def test_detector_choice_and_pickling():
    assert get_detector("heuristic").name == "heuristic"
    with pytest.raises(ValueError, match="unknown language detector 'fasttext'"):
        get_detector("fasttext")
    pytest.importorskip("lingua")
    detector = get_detector("lingua")
    clone = pickle.loads(pickle.dumps(detector))  # what a worker process receives
    assert clone.name == detector.name and "lingua" in clone.name
    assert clone.is_english("Muy buena calidad, llegó rápido y funciona perfectamente.") is False
