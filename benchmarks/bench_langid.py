"""Compare the English checks of the raw build: the built-in heuristic and lingua.

Accuracy on a hand-labelled table of English / non-English product texts (tests/fixtures/langid), and
agreement + speed on the texts of the real raw subsets (``--raw-dir``, e.g. ../shared/data/raw), where
the rows the two detectors disagree on are printed for inspection.

    python benchmarks/bench_langid.py --raw-dir ../shared/data/raw
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from ecinstruct.raw.io import iter_csv, iter_jsonl
from ecinstruct.raw.langid import HeuristicDetector, LinguaDetector

TABLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "langid" / "product_texts.tsv"


def real_texts(raw_dir: Path) -> dict[str, list[str]]:
    """The texts the English check sees in each real subset."""
    texts: dict[str, list[str]] = {}
    for path in sorted((raw_dir / "sa_amazon2018_fashion").glob("*.json*")):
        texts["SA reviews"] = [r["reviewText"] for r in iter_jsonl(path) if r.get("reviewText")]
    for path in sorted((raw_dir / "ag_home_qa_pairs").glob("*.txt")):
        rows = list(iter_jsonl(path))
        texts["AG questions"] = [r["question"] for r in rows if r.get("question")]
        texts["AG answers"] = [r["answer"] for r in rows if r.get("answer")]
    for path in sorted((raw_dir / "esci_us_judgments_labels_only").glob("*.json")):
        texts["ESCI queries"] = [g["query"] for g in json.loads(path.read_text())["judgmentRatings"]]
    for path in sorted((raw_dir / "ave_implicitave").glob("*.tsv")):
        texts["AVE titles"] = [r["texts"] for r in iter_csv(path, delimiter="\t")]
    return texts


def timed(detector, texts: list[str]) -> tuple[list[bool], float]:
    start = time.perf_counter()
    verdicts = [detector.is_english(t) for t in texts]
    return verdicts, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--english-ratio", type=float, default=0.125)
    args = parser.parse_args()
    detectors = {"heuristic": HeuristicDetector(), "lingua": LinguaDetector(args.english_ratio),
                 "lingua-low": LinguaDetector(args.english_ratio, low_accuracy=True)}
    for detector in detectors.values():  # model loading is not throughput
        detector.is_english("warm up the models of every language, a long enough text to need them")
    with TABLE.open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle, delimiter="\t"))
    truth = [r["language"] == "en" for r in table]
    print(f"labelled table: {sum(truth)} English, {len(truth) - sum(truth)} other")
    for name, detector in detectors.items():
        verdicts, _ = timed(detector, [r["text"] for r in table])
        wrong = [r["text"] for r, v, t in zip(table, verdicts, truth, strict=True) if v != t]
        print(f"  {name}: accuracy {1 - len(wrong) / len(table):.3f}; wrong: {wrong}")
    for source, texts in real_texts(args.raw_dir).items():
        results = {name: timed(d, texts) for name, d in detectors.items()}
        print(f"{source}: {len(texts)} texts, mean {sum(map(len, texts)) / len(texts):.0f} chars")
        for name, (verdicts, seconds) in results.items():
            print(f"  {name}: non-English {verdicts.count(False)}, {len(texts) / seconds:,.0f} texts/s")
        shown = 0
        for i, text in enumerate(texts):
            answers = {name: r[0][i] for name, r in results.items()}
            if len(set(answers.values())) > 1 and shown < 8:
                shown += 1
                print(f"    English? {answers}: {text[:100]!r}")


if __name__ == "__main__":
    main()
