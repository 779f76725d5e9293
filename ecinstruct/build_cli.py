"""``ecinstruct build`` and ``ecinstruct stats``: write a Hub-layout folder from published data, print its counts."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from ecinstruct.cli_support import one_line
from ecinstruct.errors import SourceError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``build`` and ``stats`` to the CLI's subparsers."""
    build = subparsers.add_parser("build", help="write a Hub-layout folder (parquet per config/split + card)")
    build.add_argument("--source", default="NingLab/ECInstruct",
                       help="published dataset.json (JSON lines or array, .gz ok), Hub id, or Hub-layout folder")
    build.add_argument("--out", required=True,
                       help="output folder: new, empty, or an earlier build (replaced atomically); never the source")
    build.add_argument("--overwrite", action="store_true",
                       help="replace an --out folder holding other files (it is moved aside as OUT.replaced-<time>)")
    build.add_argument("--qpr-labels", help="QPR label file; fills option_labels of the QPR test rows")
    build.add_argument("--lenient", action="store_true", help="skip and count malformed rows instead of failing")
    build.set_defaults(func=cmd_build)

    stats = subparsers.add_parser("stats", help="print the task × split row counts of a Hub-layout folder")
    stats.add_argument("folder")
    stats.set_defaults(func=cmd_stats)


def _source_records(source: str) -> tuple[Iterator[tuple[int, dict]], str]:
    """(numbered records, description) of a published file, a Hub id or a Hub-layout folder."""
    from ecinstruct.loading import _resolve
    from ecinstruct.published import iter_records

    kind, location = _resolve(source, None)
    if kind == "file":
        return iter_records(location), f"`{Path(location).name}`"
    return _layout_records(location), f"the ECInstruct Hub-layout repository `{Path(str(source)).name}`"


def _layout_records(location: str | Path) -> Iterator[tuple[int, dict]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ecinstruct.settings import GROUPS

    folder = Path(location)
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(str(location), repo_type="dataset"))
    files = sorted((p for p in folder.glob("data/*/*.parquet") if p.parent.name in GROUPS),
                   key=lambda p: GROUPS.index(p.parent.name))
    if not files:
        raise SourceError(f"{location}: no data/<group>/*.parquet files; expected a folder written by "
                          "`ecinstruct build`")
    number = 0
    for path in files:
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as err:
            raise SourceError(f"{path}: not a readable parquet file ({one_line(err)}); rebuild the folder") from None
        for row in table.to_pylist():
            number += 1
            yield number, row


def cmd_build(args: argparse.Namespace) -> int:
    from ecinstruct.atomic import check_output_folder
    from ecinstruct.export import write_hub_layout
    from ecinstruct.published import read_qpr_labels

    inputs = [p for p in (args.source, args.qpr_labels) if p and Path(p).expanduser().exists()]
    check_output_folder(args.out, inputs=inputs, overwrite=args.overwrite)  # before reading anything
    records, name = _source_records(args.source)
    labels = read_qpr_labels(args.qpr_labels) if args.qpr_labels else None
    report = write_hub_layout(records, args.out, strict=not args.lenient, source_name=name, qpr_labels=labels,
                              numbered=True, overwrite=args.overwrite, inputs=inputs)
    _print_stats(report.counts)
    print(f"{report.rows.summary()}\nwrote {args.out}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from ecinstruct.export import read_counts

    if not Path(args.folder).is_dir():
        raise SourceError(f"{args.folder}: no such folder; expected a Hub-layout folder written by `ecinstruct build`")
    counts = read_counts(args.folder)
    if not counts:
        raise SourceError(f"{args.folder}: no data/<group>/<task>-<split>.parquet files; expected a folder written "
                          "by `ecinstruct build`")
    _print_stats(counts)
    return 0


def _print_stats(counts: dict[tuple[str, str, str], int]) -> None:
    from ecinstruct.settings import GROUPS, SPLITS
    from ecinstruct.tasks import TASKS

    for group in GROUPS:
        rows = {code: {s: n for (g, c, s), n in counts.items() if g == group and c == code} for code in
                [t.code for t in TASKS]}
        rows = {code: r for code, r in rows.items() if r}
        if not rows:
            continue
        print(f"\n{group}\n{'task':<6}" + "".join(f"{s:>12}" for s in SPLITS))
        for code, r in rows.items():
            print(f"{code:<6}" + "".join(f"{r.get(s, '—'):>12}" for s in SPLITS))
        print(f"{'total':<6}" + "".join(f"{sum(r.get(s, 0) for r in rows.values()):>12}" for s in SPLITS))
