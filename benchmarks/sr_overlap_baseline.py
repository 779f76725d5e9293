"""How much of SR is in the prompt's words: a rule with no training picks the candidate whose words most appear
in the purchase history, and its hit rate at 1 is compared with chance (1 in 20) on the same rows a model is
scored on. A model at chance while this rule is well above it has not learned to use what the prompt holds.

    .venv/bin/python benchmarks/sr_overlap_baseline.py --data runs/reproduce/data --split test_ind --rows 100

Ties are shared (a tie of k candidates that holds the right one counts 1/k).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def item_text(entry: str) -> str:
    """``"3rd: Fluke 1AC..."`` or ``"C: Fluke 1AC..."`` → ``"Fluke 1AC..."`` (history ordinals too, which
    :func:`ecinstruct.answers.flexible.option_text` leaves: it strips only a letter prefix)."""
    return entry.split(": ", 1)[1] if ": " in entry else entry


def overlap_hit(history: list[str], candidates: list[str], gold: int) -> float:
    """1/k when the right candidate is among the k candidates with the largest share of words seen in history."""
    seen = set().union(*(words(item_text(h)) for h in history))
    shares = [len(words(item_text(c)) & seen) / max(1, len(words(item_text(c)))) for c in candidates]
    best = [i for i, share in enumerate(shares) if share == max(shares)]
    return 1 / len(best) if gold in best else 0.0


def parse_row(row: dict) -> tuple[list[str], list[str], int]:
    """(purchase history, lettered candidates, index of the right one) of one SR row."""
    from ecinstruct.scoring.base import row_options

    options = row_options(row)
    history = ast.literal_eval(row["input"]) if isinstance(row["input"], str) else list(row["input"])
    return history, options, [o.split(":", 1)[0] for o in options].index(row["output"].strip())


def load_sr_rows(parser: argparse.ArgumentParser, data, split: str, n: int) -> list[dict]:
    """The first ``n`` SR rows of ``split`` in the built folder ``data``, or the parser's one-line error (the
    overlap rule and both SR probes read their rows this way)."""
    import ecinstruct

    loaded = ecinstruct.load(data, "default")
    if split not in loaded:
        parser.error(f"--split {split!r}: {data} has {', '.join(loaded)}")
    rows = [dict(r) for r in loaded[split] if r["task_code"] == "SR"][:n]
    if not rows:
        parser.error(f"no SR rows in the {split} split of {data}")
    return rows


def refuse_existing(parser: argparse.ArgumentParser, *paths) -> None:
    """The one-line error for an output file that exists already (the probes never write over one)."""
    for given in paths:
        if given is not None and given.exists():
            parser.error(f"{given} exists; choose a new file (this probe never writes over one)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="a built ECInstruct folder (`ecinstruct build-raw --out`)")
    parser.add_argument("--split", default="test_ind")
    parser.add_argument("--rows", type=int, default=100, help="the first N SR rows, as `ecellm eval --max-samples`")
    args = parser.parse_args(argv)
    rows = load_sr_rows(parser, args.data, args.split, args.rows)
    parsed = [parse_row(row) for row in rows]
    hits = [overlap_hit(history, options, gold) for history, options, gold in parsed]
    chance = sum(1 / len(options) for _, options, _ in parsed) / len(rows)
    print(f"SR {args.split}, {len(rows)} rows: word-overlap rule HR@1 {sum(hits) / len(rows):.3f}, "
          f"chance {chance:.3f}")


if __name__ == "__main__":
    main()
