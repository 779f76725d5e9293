"""``python -m ecinstruct.sample --out PATH [--seed N] [--sizes train=48,validation=8,...]``.

Regenerates the embedded sample (the shipped file is ``--out ecinstruct/data/sample/dataset.jsonl``
with the defaults).
"""

from __future__ import annotations

import argparse
import logging

from ecinstruct.sample import DEFAULT_SIZES, sample_rows, write_published
from ecinstruct.settings import SPLITS


def _sizes(text: str) -> dict[str, int]:
    sizes = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        split, _, number = part.partition("=")
        if split not in SPLITS or not number.isdigit():
            raise argparse.ArgumentTypeError(f"{part!r}: use SPLIT=N with SPLIT one of {', '.join(SPLITS)}")
        sizes[split] = int(number)
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecinstruct.sample", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", type=_sizes, default={},
                        help="per-split sample counts, e.g. train=48,validation=8 "
                             f"(defaults {','.join(f'{k}={v}' for k, v in DEFAULT_SIZES.items())})")
    parser.add_argument("--tasks", default=None, help="comma-separated task codes (default: all)")
    parser.add_argument("--format", choices=("jsonl", "array"), default="jsonl")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    write_published(args.out, sample_rows(args.sizes, args.seed, args.tasks), args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
