"""An 11th task is one folder: a toy task written into a temporary folder, registered, built (from its
sample generator and from its raw builder) and evaluated with the tiny random model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ecinstruct.tasks import TASKS, get_task, register_folder

REPO = Path(__file__).resolve().parents[1]

TOY_INIT = '''
"""TOY: is the product title about a bottle? yes/no."""

from ecinstruct.scoring import YesNoScorer
from ecinstruct.tasks.base import Task
from ecinstruct.tasks.fields import Field, TaskInputs
from ecinstruct.tasks.typed_results import YesNo

TASK = Task(
    code="TOY",
    name="Toy_Bottle_Detection",
    category="product understanding",
    answer_type="yes/no",
    headline_metric="F1",
    has_ood=False,
    description="Decide whether a product title describes a bottle.",
    scorer=YesNoScorer(),
    inputs=TaskInputs(fields=(Field("title", help="product title"),), serialize=lambda v: (v["title"], None)),
    result=YesNo(),
)
'''

TOY_SAMPLE = '''
def make(rng, domain, k):
    bottle = k % 2 == 0
    thing = "Water Bottle" if bottle else rng.choice(["Desk Lamp", "Backpack", "Mouse Pad"])
    return {"input": f"Kelso {rng.randint(1, 10**6)} {thing}", "options": None, "output": "yes" if bottle else "no"}
'''

TOY_RAW = '''
from dataclasses import dataclass

from ecinstruct.raw.base import Layout, RawProcessor, Source, rng_for, split_80_10_10
from ecinstruct.raw.io import iter_jsonl
from ecinstruct.tasks.toy import TASK


@dataclass(frozen=True)
class ToyProcessor(RawProcessor):
    task = TASK
    source = Source(name="toy titles", origin="written by the test", license="CC0-1.0")

    def layouts(self):
        return (Layout("toy-jsonl", (("toy/titles.jsonl",),), lambda paths, qc: list(iter_jsonl(paths[0]))),)

    def make_examples(self, records, sizes, seed, qc):
        examples = [{"input": r["title"], "options": None, "output": "yes" if r["bottle"] else "no"} for r in records]
        train, validation, test = split_80_10_10(examples, rng_for(seed, self.code, "split"))
        return {"train": train[:sizes.train], "validation": validation[:sizes.validation],
                "test_ind": test[:sizes.test]}


PROCESSOR = ToyProcessor()
'''

TOY_INSTRUCTIONS = {
    "seed": "Does the product title describe a bottle? Answer yes or no.",
    "paraphrases": ["Is this product a bottle? Reply yes or no.", "Answer yes if the title names a bottle, else no.",
                    "Say whether the item in the title is a bottle (yes/no).", "Bottle or not? Answer yes or no.",
                    "Tell whether the listed product is a bottle: yes or no."],
    "unseen_index": 4,
}


def write_toy_task(folder: Path) -> Path:
    """The whole toy task: its definition, sample generator, raw builder and instructions."""
    task = folder / "toy"
    task.mkdir(parents=True)
    (task / "__init__.py").write_text(TOY_INIT)
    (task / "sample.py").write_text(TOY_SAMPLE)
    (task / "raw.py").write_text(textwrap.dedent(TOY_RAW))
    (task / "instructions.json").write_text(json.dumps(TOY_INSTRUCTIONS))
    return task


@pytest.fixture
def toy_task(tmp_path):
    folder = write_toy_task(tmp_path / "my_tasks")
    (task,) = register_folder(folder.parent)
    try:
        yield task
    finally:
        TASKS.remove(task)
        for name in [m for m in sys.modules if m == "ecinstruct.tasks.toy" or m.startswith("ecinstruct.tasks.toy.")]:
            del sys.modules[name]


def test_registered_task_joins_the_registry_after_the_paper_tasks(toy_task):
    from ecinstruct.instructions import load_instructions
    from ecinstruct.raw import PROCESSORS
    from ecinstruct.sample import GENERATORS

    assert [t.code for t in TASKS][-2:] == ["AG", "TOY"] and len(TASKS) == 11
    assert get_task("toy_bottle_detection") is toy_task and toy_task.scorer.family == "yes_no_f1"
    assert list(PROCESSORS)[-1] == "TOY" and "TOY" in GENERATORS
    assert load_instructions()["TOY"].unseen == "Tell whether the listed product is a bottle: yes or no."
    assert register_folder(Path(sys.modules["ecinstruct.tasks.toy"].__file__).parent) == (toy_task,)  # idempotent


def test_tasks_command_lists_the_toy_task_and_its_folder(toy_task, capsys):
    from ecinstruct.cli import main

    assert main(["tasks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split("\t")[:4] == ["AVE", "Attribute_Value_Extraction", "F1*", "raw,sample"]
    code, name, metric, builders, folder = lines[-1].split("\t")
    assert (code, name, metric, builders) == ("TOY", "Toy_Bottle_Detection", "F1", "raw,sample")
    assert Path(folder).name == "toy" and (Path(folder) / "instructions.json").is_file()


def test_removed_task_is_gone(tmp_path):
    (task,) = register_folder(write_toy_task(tmp_path))
    TASKS.remove(task)
    del sys.modules["ecinstruct.tasks.toy"]
    assert [t.code for t in TASKS] == ["AVE", "PRP", "PM", "SA", "SR", "MPC", "PSI", "QPR", "AP", "AG"]


def test_bad_folders_say_what_is_expected(tmp_path):
    from ecinstruct.errors import ECInstructError

    with pytest.raises(ECInstructError, match="not a task folder"):
        register_folder(tmp_path)
    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "__init__.py").write_text(TOY_INIT.replace('code="TOY"', 'code="SA"'))
    with pytest.raises(ECInstructError, match="the name 'SA' is taken by task SA"):
        register_folder(clash)
    assert "ecinstruct.tasks.clash" not in sys.modules and len(TASKS) == 10


def test_raw_build_of_the_toy_task(toy_task, tmp_path):
    from ecinstruct.raw.base import Sizes
    from ecinstruct.raw.pipeline import build_examples

    raw = tmp_path / "raw" / "toy"
    raw.mkdir(parents=True)
    lines = [json.dumps({"title": f"Kelso {i} {'Water Bottle' if i % 3 else 'Desk Lamp'}", "bottle": bool(i % 3)})
             for i in range(50)]
    (raw / "titles.jsonl").write_text("\n".join(lines) + "\n")
    build = build_examples(raw.parent, ["TOY"], Sizes(train=20, validation=3, test=4), seed=1)
    assert {split: len(rows) for split, rows in build.examples["TOY"].items()} == {
        "train": 20, "validation": 3, "test_ind": 4}
    rows = list(build.rows())
    # diverse and single instruction (train/validation/test), unseen instruction and 1-shot (test only)
    assert len(rows) == 2 * (20 + 3 + 4) + 4 + 4
    assert {r["task"] for r in rows} == {"Toy_Bottle_Detection"}


def test_build_then_eval_the_toy_task(toy_task, tmp_path):
    from ecellm.evaluation import evaluate
    from ecellm.offline_models import build_tiny_model
    from ecinstruct.export import write_hub_layout
    from ecinstruct.sample import sample_rows

    sizes = {"train": 4, "validation": 2, "test_ind": 6, "test_ood": 0}
    report = write_hub_layout(sample_rows(sizes, seed=0, tasks="TOY"), tmp_path / "hub")
    assert report.counts[("default", "TOY", "test_ind")] == 6
    assert report.counts[("default", "TOY", "train")] == 4
    model = build_tiny_model(tmp_path / "tiny")
    results = evaluate(str(model), str(tmp_path / "hub"), tasks="TOY", splits="test_ind", out=tmp_path / "eval",
                       max_new_tokens=4, n_resamples=50, progress=False, chart=False, batch_size=8,
                       prompt_format="alpaca")
    entry = results.get("TOY", "test_ind", "strict")
    assert entry["n"] == 6 and entry["metric"] == "F1"
    assert entry["score"] is None or 0.0 <= entry["score"] <= 1.0
    doc = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert {(e["task"], e["mode"]) for e in doc["results"]} >= {("TOY", "strict"), ("TOY", "reference")}


def test_task_path_environment_variable(tmp_path):
    write_toy_task(tmp_path / "more")
    env = {**os.environ, "ECINSTRUCT_TASK_PATH": str(tmp_path / "more"), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", "from ecinstruct import TASKS; print(','.join(t.code for t in TASKS))"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "AVE,PRP,PM,SA,SR,MPC,PSI,QPR,AP,AG,TOY"
