"""The SR word-overlap rule (benchmarks/sr_overlap_baseline.py): the yardstick that says SR's answer is in the
prompt's words, so its hits and ties must be counted right."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from sr_overlap_baseline import overlap_hit


def test_the_candidate_sharing_the_history_words_is_picked():
    history = ["1st: Fluke voltage tester. Electrical.", "2nd: Fluke clamp meter. Electrical."]
    candidates = ["A: Duck tape, single roll.", "B: Fluke multimeter. Electrical.", "C: Caulk gun."]
    assert overlap_hit(history, candidates, gold=1) == 1.0
    assert overlap_hit(history, candidates, gold=0) == 0.0


def test_a_tie_is_shared():
    history = ["1st: Fluke meter."]
    candidates = ["A: Fluke probe.", "B: Fluke lead.", "C: Duck tape."]
    assert overlap_hit(history, candidates, gold=0) == 0.5 and overlap_hit(history, candidates, gold=2) == 0.0
