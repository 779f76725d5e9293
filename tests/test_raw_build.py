"""The whole raw build on the fixtures: rows of every setting, determinism, CLI, datasets builder."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest

from ecinstruct.errors import SourceError
from ecinstruct.raw.base import Sizes
from ecinstruct.raw.pipeline import available_tasks, build_examples
from ecinstruct.schema import normalize_row

FIXTURES = Path(__file__).parent / "fixtures" / "raw"
SMALL = Sizes(train=6, validation=2, test=2, ood=2)
FIXTURE_TASKS = ["AVE", "PRP", "PM", "SA", "SR", "AP", "AG"]  # ESCI fixtures are parquet, made in test_raw_processors


def test_available_tasks_on_fixtures():
    assert list(available_tasks(FIXTURES)) == FIXTURE_TASKS


def test_rows_are_valid_published_rows():
    build = build_examples(FIXTURES, ["SA", "SR"], SMALL, seed=3)
    rows = list(build.rows())
    for number, row in enumerate(rows):
        normalize_row({k: v for k, v in row.items() if k != "option_labels"}, number)
    settings = {r["setting"] for r in rows if r["task"] == "Sequential_Recommendation"}
    assert len(settings) == 8
    one_shot = next(r for r in rows if r["setting"] == "IND_Diverse_Instruction_1-shot")
    assert set(json.loads(one_shot["few_shot_example"])) == {"input", "options", "output"}
    assert build.decontam.total("exact") == 0


def test_same_seed_same_rows_other_seed_differs():
    first = list(build_examples(FIXTURES, FIXTURE_TASKS, SMALL, seed=1).rows())
    again = list(build_examples(FIXTURES, FIXTURE_TASKS, SMALL, seed=1).rows())
    other = list(build_examples(FIXTURES, FIXTURE_TASKS, SMALL, seed=2).rows())
    assert first == again
    assert first != other


def test_explicit_task_without_source_is_an_error():
    with pytest.raises(SourceError, match=r"MPC .*esci/shopping_queries_dataset_examples\.parquet.*Apache-2\.0"):
        build_examples(FIXTURES, ["MPC"], SMALL)
    with pytest.raises(SourceError, match="no such directory"):
        build_examples(FIXTURES / "nope", None, SMALL)


def test_missing_tasks_are_skipped_and_listed():
    build = build_examples(FIXTURES, None, SMALL)
    assert list(build.examples) == FIXTURE_TASKS
    assert set(build.skipped) == {"MPC", "PSI", "QPR"}
    sections = build.card_sections()
    assert set(sections) == {"Raw build", "Quality control", "Decontamination"}
    assert "MPC" in sections["Raw build"] and "english-only" in sections["Quality control"]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cli_writes_loadable_hub_layout_byte_identically(tmp_path):
    pytest.importorskip("ecinstruct.export")
    import datasets

    from ecinstruct.raw import cli

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    outs = []
    for name in ("a", "b"):
        args = parser.parse_args(["build-raw", "--raw-dir", str(FIXTURES), "--out", str(tmp_path / name),
                                  "--tasks", "pm,sa", "--sizes", "train=6,validation=2,test=2,ood=2", "--seed", "5"])
        assert args.func(args) == 0
        outs.append(tmp_path / name)
    assert _digest(outs[0]) == _digest(outs[1])
    card = (outs[0] / "README.md").read_text()
    assert "Decontamination" in card and "Quality control" in card
    ds = datasets.load_dataset(str(outs[0]), "sa")
    assert ds["test_ood"].num_rows == 2 and ds["train"].num_rows == 6


def test_datasets_builder(tmp_path):
    from ecinstruct.raw.builder import ECInstructRaw

    builder = ECInstructRaw(config_name="pm", raw_dir=str(FIXTURES), sizes="train=6,validation=2,test=2",
                            seed=1, cache_dir=str(tmp_path))
    builder.download_and_prepare()
    ds = builder.as_dataset()
    assert set(ds) == {"train", "validation", "test_ind"}
    assert ds["train"].num_rows == 6 and set(ds["train"]["task_code"]) == {"PM"}
    assert ds["train"][0]["id"].startswith("PM-IND_Diverse_Instruction-train-")
