"""Wall time of scoring the full IND+OOD test set size (15,253 predictions) for the non-BERTScore tasks.

The test split sizes: IND 1,000 items per task (PM: 253); OOD 1,000 each for AVE, PRP, SA, SR, AP, AG.
Without AG that is 13,253 predictions; AG's 2,000 rows (BERTScore, model-bound) are replaced by 2,000
extra AVE rows, the slowest non-BERTScore family, so that exactly 15,253 predictions are scored.
Predictions are synthetic (a mix of correct, wrong, sloppy and invalid answers); both modes.

    .venv/bin/python benchmarks/bench_metrics.py
"""

from __future__ import annotations

import json
import os
import platform
import random
import string
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecellm.metrics import score
from ecinstruct.scoring.ranking import gold_ranking

IND = {"AVE": 1000, "PRP": 1000, "PM": 253, "SA": 1000, "SR": 1000, "MPC": 1000, "PSI": 1000, "QPR": 1000,
       "AP": 1000}
OOD = {"AVE": 1000, "PRP": 1000, "SA": 1000, "SR": 1000, "AP": 1000}
AG_ROWS = 2000  # AG IND + OOD test rows, scored here as extra AVE rows
ATTRIBUTES = ("color", "material", "sleeve style", "pattern", "type", "heel height")
SOURCES = ("product title", "product description", "product feature", "product brand")


def _sloppy(rng: random.Random, gold: str) -> str:
    return rng.choice([gold, gold.upper(), f" {gold} ", f"Answer: {gold}", "", "I think so.", gold + "."])


def _letters(rng: random.Random, n: int, letters: str) -> tuple[list, list]:
    gold = [rng.choice(letters) for _ in range(n)]
    return [_sloppy(rng, rng.choice(letters) if rng.random() < 0.4 else g) for g in gold], gold


def _yes_no(rng: random.Random, n: int) -> tuple[list, list]:
    gold = [rng.choice(("yes", "no")) for _ in range(n)]
    return [_sloppy(rng, rng.choice(("yes", "no"))) for _ in gold], gold


def _ave(rng: random.Random, n: int) -> tuple[list, list]:
    preds, gold = [], []
    for _ in range(n):
        triples = [{"attribute": rng.choice(ATTRIBUTES), "value": rng.choice(string.ascii_lowercase) * 5,
                    "source": rng.choice(SOURCES)} for _ in range(rng.randint(1, 3))]
        gold.append(json.dumps(triples))
        guess = [dict(t, value=t["value"].title()) if rng.random() < 0.3 else t for t in triples]
        preds.append(rng.choice([json.dumps(guess), json.dumps(guess[:1]), json.dumps(guess)[:-5], "None"]))
    return preds, gold


def _qpr(rng: random.Random, n: int) -> tuple[list, list, list]:
    labels = [rng.sample("ESCI", rng.choice((2, 2, 3, 4))) for _ in range(n)]
    gold = [gold_ranking(item) for item in labels]
    preds = [rng.choice([g, g[::-1], g.replace(",", ", "), g[:1], "The best is A"]) for g in gold]
    return preds, gold, labels


def make_data(seed: int = 0) -> list[tuple[str, bool, list, list, list | None]]:
    """``(task, ood, predictions, references, option_labels)`` per (task, split)."""
    rng = random.Random(seed)
    makers = {"PM": _yes_no, "PSI": _yes_no, "AP": _yes_no, "AVE": _ave,
              "PRP": lambda r, n: _letters(r, n, "ABC"), "SA": lambda r, n: _letters(r, n, "ABCDE"),
              "MPC": lambda r, n: _letters(r, n, "ABCD"),
              "SR": lambda r, n: _letters(r, n, string.ascii_uppercase[:20])}
    data = []
    stand_in = [("AVE", False, *_ave(rng, AG_ROWS // 2), None), ("AVE", True, *_ave(rng, AG_ROWS // 2), None)]
    for ood, sizes in ((False, IND), (True, OOD)):
        for task, n in sizes.items():
            if task == "QPR":
                preds, gold, labels = _qpr(rng, n)
                data.append((task, ood, preds, gold, labels))
            else:
                data.append((task, ood, *makers[task](rng, n), None))
    return data + stand_in


def run(data: list, mode: str) -> float:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ref mode warns on the (deliberately) empty answers
        for task, ood, preds, gold, labels in data:
            score(task, preds, gold, ood=ood, mode=mode, option_labels=labels)
    return time.perf_counter() - start


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    data = make_data()
    total = sum(len(item[2]) for item in data)
    print(f"machine: {cpu_name()}, {os.cpu_count()} cpu(s), "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print(f"predictions per mode: {total} (13,253 non-AG test rows + {AG_ROWS} AVE rows standing in for AG)")
    times = {}
    for mode in ("reference", "strict"):
        times[mode] = min(run(data, mode) for _ in range(3))  # best of 3: the machine is shared
        print(f"{mode:>9} mode: {times[mode]:.3f} s")
    print(f"both modes: {sum(times.values()):.3f} s")


if __name__ == "__main__":
    main()
