"""``ecellm publish dataset|model``: stage a folder for the Hub, then upload it (or stop at the staged folder).

Registered into ``ecellm`` by :func:`register`.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``publish`` (with ``dataset`` and ``model``) to the ``ecellm`` command line."""
    publish = subparsers.add_parser(
        "publish", help="publish a dataset folder or a model to the Hugging Face Hub",
        description="Stage the exact folder for the Hub (card rendered and validated), then upload it in one "
                    "commit; --dry-run stops at the staged folder. The token comes from HF_TOKEN or `hf auth login`.")
    kinds = publish.add_subparsers(dest="publish_kind", required=True)

    dataset = kinds.add_parser("dataset", help="a Hub-layout folder written by `ecinstruct build`")
    dataset.add_argument("dir", help="the folder (README.md + data/**/*.parquet)")
    _common(dataset)
    dataset.set_defaults(func=cmd_publish)

    model = kinds.add_parser("model", help="an adapter folder (`ecellm train` output) or a merged model folder")
    model.add_argument("dir", help="adapter folder (adapter_config.json) or merged model folder (config.json)")
    model.add_argument("--results", help="`ecellm eval` results JSON: per-task scores for the card and model-index")
    model.add_argument("--baseline", help="results JSON of the base model (zero-shot), shown as 'before' in the card")
    model.add_argument("--base-model", help="Hub id of the base model, when the adapter records a local path")
    _common(model)
    model.set_defaults(func=cmd_publish)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", required=True, help="target repository, ORG/NAME")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--dry-run", action="store_true",
                        help="only write the exact folder that would be uploaded (to --out), upload nothing")
    parser.add_argument("--out", help="where to write the staged folder (default with --dry-run: "
                                      "runs/publish/ORG__NAME; otherwise a temporary folder); must be new, empty "
                                      "or an earlier staging")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an --out folder holding other files (it is moved aside, not deleted)")


def cmd_publish(args: argparse.Namespace, rest: list[str] | None = None) -> int:
    from ecellm.publish import publish_dataset, publish_model

    if args.publish_kind == "dataset":
        result = publish_dataset(args.dir, args.repo, private=args.private, dry_run=args.dry_run, out=args.out,
                                 overwrite=args.overwrite)
    else:
        result = publish_model(args.dir, args.repo, results=args.results, baseline=args.baseline,
                               base_model=args.base_model, private=args.private, dry_run=args.dry_run,
                               out=args.out, overwrite=args.overwrite)
    if result.dry_run:
        print(f"dry run: {len(result.files)} files staged for {result.repo_type} {result.repo_id} in {result.folder}")
        for name in result.files:
            print(f"  {name}")
    else:
        print(f"published {result.repo_type} {result.repo_id}: {result.url} (commit {result.commit})")
    return 0

