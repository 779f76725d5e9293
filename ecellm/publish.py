"""Publish ECInstruct folders and eCeLLM models to the Hugging Face Hub, the way users pull them back.

Two steps, the same for datasets and models:

1. **stage**: write the exact folder that goes to the Hub (files picked from the source, the card rendered and
   validated offline). A dry run stops here and leaves the folder for inspection; it loads with plain
   ``datasets.load_dataset(folder, config)`` / ``from_pretrained(folder)``, exactly as the repo will.
2. **upload**: ``create_repo(exist_ok=True)`` + one ``upload_folder`` commit. A Hub commit is all or nothing
   and unchanged files are skipped, so a failed upload leaves the repo as it was and re-running is safe;
   transient network errors are retried here a few times.

The token comes from the usual places (``HF_TOKEN``, ``huggingface-cli login``); it is never printed, logged
or written into the staged folder.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ecellm.artifacts import TrainingSummary, is_adapter, read_adapter_config
from ecellm.errors import EcellmError, EcellmRuntimeError
from ecinstruct.atomic import MARKER, replace_folder

logger = logging.getLogger(__name__)

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
RETRIES = 2  # extra attempts after a transient failure (connection errors, 5xx)
RETRY_WAIT_S = 1.0

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors", "model.safetensors.index.json",
               "model-*.safetensors")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                   "chat_template.json", "tokenizer.model", "vocab.json", "merges.txt", "added_tokens.json")
RESULTS_FILE = "eval_results.json"
BASELINE_FILE = "eval_results_baseline.json"


class PublishError(EcellmError, RuntimeError):
    """A publish that cannot go ahead (bad input); the message says what to do."""


class PublishUploadError(EcellmRuntimeError, PublishError):
    """An upload that failed (network, permissions) although the staged folder was fine."""


@dataclass
class PublishResult:
    """What was staged and, unless dry-run, committed. ``folder`` is None when the staging folder was temporary."""

    repo_id: str
    repo_type: Literal["dataset", "model"]
    folder: Path | None
    files: list[str]
    dry_run: bool
    url: str | None = None
    commit: str | None = None


# --------------------------------------------------------------------------------------------- staging
def check_repo_id(repo_id: str) -> str:
    if not REPO_ID.match(repo_id or ""):
        raise PublishError(f"--repo {repo_id!r}: expected ORG/NAME (letters, digits, '-', '_', '.'), e.g. "
                           "my-org/ECInstruct")
    return repo_id


def stage_dataset(src: str | Path, out: str | Path, repo_id: str, *, overwrite: bool = False) -> Path:
    """Stage a Hub-layout folder (``ecinstruct build``): README.md naming ``repo_id`` + ``data/**/*.parquet``."""
    from ecinstruct.card_checks import check, dataset_card_problems
    from ecinstruct.dataset_card import retarget_dataset_card

    src = Path(src)
    readme = src / "README.md"
    parquet = sorted(src.glob("data/**/*.parquet"))
    if not readme.is_file() or not parquet:
        raise PublishError(f"{src}: not an ECInstruct Hub-layout folder (README.md + data/**/*.parquet). Build one "
                           "into a new folder with `ecinstruct build --source dataset.json --out NEW_FOLDER` and "
                           "publish that")
    card = retarget_dataset_card(readme.read_text(encoding="utf-8"), repo_id)
    check(dataset_card_problems(card, folder=src), str(readme))

    def write(tmp: Path) -> None:
        for path in parquet:
            target = tmp / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        (tmp / "README.md").write_text(card, encoding="utf-8")

    return replace_folder(out, write, overwrite=overwrite, inputs=[src], writer="ecellm publish")


def model_kind(src: Path) -> Literal["adapter", "merged"]:
    """``adapter`` (a PEFT folder) or ``merged`` (a full model folder); one clear error for anything else."""
    if is_adapter(src):
        return "adapter"
    if (src / "config.json").is_file() and (any(src.glob("*.safetensors")) or any(src.glob("pytorch_model*.bin"))):
        return "merged"
    raise PublishError(f"{src}: neither a PEFT adapter folder (adapter_config.json + adapter weights) nor a model "
                       "folder (config.json + weights). Pass the output folder of `ecellm train` or its merged/ folder")


def stage_model(
    src: str | Path,
    out: str | Path,
    repo_id: str,
    *,
    results: str | Path | None = None,
    baseline: str | Path | None = None,
    base_model: str | None = None,
    card_overrides: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Stage a model folder: weights (adapter or merged), tokenizer, training summary, results, model card."""
    from ecellm.publishing.model_card import render_model_card
    from ecinstruct.card_checks import check, model_card_problems

    src = Path(src)
    if not src.is_dir():
        raise PublishError(f"{src}: no such model folder")
    kind = model_kind(src)
    files = _model_files(src, kind)
    recorded = _read_summary(src)
    summary = _portable_summary(recorded, base_model)
    adapter_config = _adapter_config(src, base_model) if kind == "adapter" else None
    check_results_match(src, results, baseline, recorded)
    inputs = _card_inputs(src, repo_id, kind, summary, adapter_config, results, baseline, base_model,
                          recipe_file=recorded.get("recipe"))
    for key, value in (card_overrides or {}).items():
        setattr(inputs, key, value)
    card = render_model_card(inputs)
    check(model_card_problems(card), f"model card of {repo_id}")

    def write(tmp: Path) -> None:
        for path in files:
            shutil.copy2(path, tmp / path.name)
        if adapter_config is not None:
            (tmp / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2) + "\n", encoding="utf-8")
        if summary:
            TrainingSummary.from_dict(summary).save(tmp)
        for source, name in ((results, RESULTS_FILE), (baseline, BASELINE_FILE)):
            if source:
                (tmp / name).write_text(json.dumps(_portable_results(source, base_model), indent=2) + "\n",
                                        encoding="utf-8")
        (tmp / "README.md").write_text(card, encoding="utf-8")

    return replace_folder(out, write, overwrite=overwrite, inputs=[src, results, baseline], writer="ecellm publish")


def check_results_match(src: Path, results: str | Path | None, baseline: str | Path | None,
                        summary: dict[str, Any]) -> None:
    """``--results`` must be an eval of ``src``, ``--baseline`` an eval of another (the base) model on the same
    tasks: a mismatch recorded in the results files is refused before anything is staged."""
    from ecellm.evaluation.results import read_results_json

    docs = {}
    for option, path in (("--results", results), ("--baseline", baseline)):
        if path is not None:
            try:
                docs[option] = read_results_json(path)
            except EcellmError as err:
                raise PublishError(f"{option} {err}") from None
    if "--results" in docs:
        model = _recorded_model(docs["--results"])
        if _is_other_model(model, src):
            raise PublishError(f"--results {results}: an evaluation of {model.get('path') or model.get('name')!r}, not "
                               f"of the published folder {src}; pass the results.json of `ecellm eval --model {src}`")
        trained = _task_codes(summary.get("tasks"))
        evaluated = _result_tasks(docs["--results"])
        if trained and evaluated and not trained & evaluated:
            raise PublishError(f"--results {results}: tasks {', '.join(sorted(evaluated))}, none of which the model "
                               f"was trained on ({', '.join(sorted(trained))}); pass the results of its own tasks")
    if "--baseline" in docs:
        model = _recorded_model(docs["--baseline"])
        if model and not _is_other_model(model, src) and (model.get("path") or model.get("fingerprint")):
            raise PublishError(f"--baseline {baseline}: an evaluation of the published model itself; pass the "
                               "results of its base model (zero-shot)")
        if "--results" in docs:
            ours, theirs = _result_tasks(docs["--results"]), _result_tasks(docs["--baseline"])
            if ours and theirs and not ours & theirs:
                raise PublishError(f"--baseline {baseline}: tasks {', '.join(sorted(theirs))}, none of those in "
                                   f"--results ({', '.join(sorted(ours))}); pass a baseline run on the same tasks")


def _recorded_model(doc: dict[str, Any]) -> dict[str, Any]:
    model = doc.get("model")
    return model if isinstance(model, dict) else {}


def _is_other_model(model: dict[str, Any], src: Path) -> bool:
    """Whether a results file's ``model`` record names a model other than the folder ``src`` (only recorded
    evidence counts: a record with just a name that differs is not enough)."""
    if not model:
        return False
    path = model.get("path")
    if path and _same_folder(Path(str(path)), src):
        return False
    recorded = model.get("fingerprint")
    if recorded:
        from ecellm.engines.model_loader import describe_model, fingerprint

        try:
            if fingerprint(describe_model(src)) == recorded:
                return False
        except Exception:  # an unreadable folder is reported by the staging itself
            return False
    if not path and not recorded:
        return False
    return Path(str(path or "")).name != src.name or not path


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.expanduser().resolve() == b.expanduser().resolve()
    except OSError:
        return False


def _task_codes(tasks: Any) -> set[str]:
    from ecinstruct.tasks import TASKS

    names = {t.name: t.code for t in TASKS} | {t.code: t.code for t in TASKS}
    items = tasks.split(",") if isinstance(tasks, str) else tasks if isinstance(tasks, list | tuple) else []
    return {names[str(t).strip()] for t in items if str(t).strip() in names}


def _result_tasks(doc: dict[str, Any]) -> set[str]:
    entries = doc.get("results")
    return _task_codes([e.get("task") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else [])


def _model_files(src: Path, kind: str) -> list[Path]:
    patterns = (ADAPTER_FILES if kind == "adapter" else MODEL_FILES) + TOKENIZER_FILES
    files = sorted({p for pattern in patterns for p in src.glob(pattern) if p.is_file()})
    if kind == "merged" and not any(p.suffix == ".safetensors" for p in files):
        files += sorted(src.glob("pytorch_model*.bin"))
    if not any(p.name.startswith(("adapter_model", "model", "pytorch_model")) for p in files):
        raise PublishError(f"{src}: no weights file found (adapter_model.safetensors / model.safetensors)")
    if not (src / "tokenizer_config.json").is_file():
        raise PublishError(f"{src}: no tokenizer (tokenizer_config.json); save the tokenizer with the model so "
                           "users get the exact one it was trained with")
    return files


def _read_summary(src: Path) -> dict[str, Any]:
    found = TrainingSummary.find(src, strict=True)  # a merged/ folder keeps its summary one level up
    return found.to_dict() if found else {}


def _adapter_config(src: Path, base_model: str | None) -> dict[str, Any]:
    config = read_adapter_config(src)
    base = base_model or config.get("base_model_name_or_path") or ""
    if not REPO_ID.match(base) or Path(base).expanduser().exists():
        raise PublishError(f"the adapter's base model is {base!r}, not a Hub model id: users could not load it. "
                           "Pass --base-model ORG/NAME (the Hub id of the model it was trained on)")
    config["base_model_name_or_path"] = base
    return config


def _portable_summary(summary: dict[str, Any], base_model: str | None = None) -> dict[str, Any]:
    """The training summary without machine-local paths (cache folders, home directories); ``base_model``
    (``--base-model``) replaces a base recorded as a local folder."""
    from ecellm.portable import portable

    clean = {k: v for k, v in summary.items() if k not in ("base_model_path",)}
    if base_model and clean:
        clean["base_model"] = base_model
    if isinstance(clean.get("recipe"), str):
        clean["recipe"] = Path(clean["recipe"]).name
    return portable(clean)


def _portable_results(path: str | Path, base_model: str | None) -> Any:
    """An ``ecellm eval`` results file as published: local paths reduced to names, the base model as its Hub id."""
    from ecellm.portable import portable

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PublishError(f"{path}: cannot read the results file ({type(err).__name__}); pass the results.json "
                           "written by `ecellm eval --out DIR`") from None
    model = doc.get("model") if isinstance(doc, dict) else None
    if base_model and isinstance(model, dict) and model.get("base"):
        model.update(base=base_model, base_path=base_model)
    return portable(doc)


def _card_inputs(src, repo_id, kind, summary, adapter_config, results, baseline, base_model, recipe_file=None):
    from ecellm.publishing import ModelCardInputs, load_results, scores_from_results

    base = base_model or (adapter_config or {}).get("base_model_name_or_path") or summary.get("base_model")
    if not base or not REPO_ID.match(base):
        raise PublishError(f"{src}: cannot tell the base model (no training summary naming it); pass --base-model")
    dataset = summary.get("dataset_name") or "NingLab/ECInstruct"
    return ModelCardInputs(
        repo_id=repo_id,
        base_model=base,
        kind=kind,
        prompt_format=summary.get("prompt_format", "alpaca"),
        scores=scores_from_results(load_results(results)) if results else [],
        baseline=scores_from_results(load_results(baseline)) if baseline else [],
        recipe=recipe_table(summary, adapter_config, recipe_file),
        dataset_id=dataset if REPO_ID.match(str(dataset)) else None,
        dataset_label="the embedded ECInstruct sample of the `ecellm` package" if dataset == "sample"
        else f"`{Path(str(dataset)).name}`",
    )


def recipe_table(summary: dict[str, Any], adapter_config: dict[str, Any] | None,
                 recipe_file: str | None = None) -> dict[str, Any]:
    """The hyperparameters a card shows, from the training summary, the adapter config and the recipe YAML
    (``recipe_file``: where training read it, when that differs from the summary's portable name)."""
    lora = summary.get("lora") or {}
    adapter_config = adapter_config or {}
    yaml_recipe = _recipe_yaml(recipe_file or summary.get("recipe"))
    table: dict[str, Any] = {
        "base model": summary.get("base_model") or adapter_config.get("base_model_name_or_path"),
        "method": "LoRA (PEFT)",
        "LoRA r / alpha / dropout": "{} / {} / {}".format(
            lora.get("r", adapter_config.get("r")), lora.get("alpha", adapter_config.get("lora_alpha")),
            lora.get("dropout", adapter_config.get("lora_dropout"))),
        "LoRA target modules": lora.get("target_modules") or sorted(adapter_config.get("target_modules") or []),
        "prompt format": summary.get("prompt_format"),
        "training data": "{} / config `{}` / tasks: {}".format(summary.get("dataset_name"),
                                                              summary.get("dataset_config"), summary.get("tasks")),
        "training rows": summary.get("train_rows"),
        "learning rate, schedule": "{}, {} (warm-up {})".format(
            yaml_recipe.get("learning_rate"), yaml_recipe.get("lr_scheduler_type"),
            yaml_recipe.get("warmup_steps", yaml_recipe.get("warmup_ratio"))),
        "epochs / optimizer steps": f"{yaml_recipe.get('num_train_epochs')} / {summary.get('global_step')}",
        "effective batch size": summary.get("effective_batch_size"),
        "max length": summary.get("max_length"),
        "precision": summary.get("precision"),
        "final training loss": _loss(summary.get("metrics") or {}),
        "libraries": ", ".join(f"{k} {v}" for k, v in (summary.get("versions") or {}).items()),
    }
    return {k: v for k, v in table.items() if v not in (None, "", "None", "None / None / None", [])
            and "None" not in str(v)}


def _recipe_yaml(recipe: str | None) -> dict[str, Any]:
    """The recipe's YAML fields when the file is still where training read it (a shipped or local recipe)."""
    import yaml

    if not recipe:
        return {}
    candidates = [Path(recipe), Path(__file__).parent / "recipes" / Path(recipe).name]
    for path in candidates:
        if path.is_file():
            return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {}


def _loss(metrics: dict[str, Any]) -> str | None:
    value = metrics.get("train_loss")
    return f"{value:.4f}" if isinstance(value, int | float) else None


# --------------------------------------------------------------------------------------------- upload
def upload(folder: Path, repo_id: str, repo_type: str, *, private: bool = False, token: str | None = None,
           message: str | None = None) -> tuple[str, str]:
    """Create the repo if needed and commit ``folder`` in one commit; returns (repo url, commit id)."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)  # None → HF_TOKEN or the saved login; never echoed
    message = message or f"Upload {repo_type} with ecellm"

    def attempt() -> tuple[str, str]:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, repo_type=repo_type, folder_path=str(folder),
                                 commit_message=message, ignore_patterns=[MARKER])
        return str(url), info.oid

    return _with_retries(attempt, repo_id, folder)


def _with_retries(attempt: Callable[[], tuple[str, str]], repo_id: str, folder: Path) -> tuple[str, str]:
    for number in range(RETRIES + 1):
        try:
            return attempt()
        except Exception as err:  # classified below: only transient network/server errors are retried
            transient = _is_transient(err)
            if transient and number < RETRIES:
                logger.warning("upload to %s failed (%s); retrying (%d/%d)", repo_id, _describe(err), number + 1,
                               RETRIES)
                time.sleep(RETRY_WAIT_S * (number + 1))
                continue
            hint = ("The Hub was unreachable or failed" if transient else "The Hub refused the upload")
            raise PublishUploadError(
                f"publishing {folder} to {repo_id} failed: {_describe(err)}. {hint}; nothing was committed (a Hub "
                "commit is all or nothing) and the local folder is unchanged, so running the same command again is "
                "safe. Check the connection, HF_ENDPOINT, and that your token (HF_TOKEN or `hf auth login`) may "
                "write to this repository.") from None
    raise AssertionError("unreachable")


NETWORK_ERRORS = {"ConnectError", "ReadError", "WriteError", "RemoteProtocolError", "TimeoutException",
                  "NetworkError", "TransportError", "ConnectionError", "ConnectionResetError"}


def _is_transient(err: BaseException | None) -> bool:
    """A network failure or a 5xx/429 answer, anywhere in the cause chain (LFS uploads wrap their errors)."""
    from huggingface_hub.errors import HfHubHTTPError

    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, HfHubHTTPError):
            status = getattr(err.response, "status_code", None)
            return status is None or status >= 500 or status == 429
        if {cls.__name__ for cls in type(err).__mro__} & NETWORK_ERRORS:
            return True
        err = err.__cause__ or err.__context__
    return False


def _describe(err: BaseException) -> str:
    """``Type: first line`` of an error and its causes, with any token scrubbed out."""
    parts, seen = [], set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        parts.append(f"{type(err).__name__}: {first}" if first else type(err).__name__)
        err = err.__cause__ or err.__context__
    return _scrub(" <- ".join(parts[:3]))


def _scrub(text: str) -> str:
    from huggingface_hub import get_token

    for secret in {get_token(), os.environ.get("HF_TOKEN")} - {None, ""}:
        text = text.replace(secret, "***")
    return re.sub(r"hf_[A-Za-z0-9]{8,}", "hf_***", text)


# --------------------------------------------------------------------------------------------- entry points
def publish_dataset(src: str | Path, repo_id: str, *, private: bool = False, dry_run: bool = False,
                    out: str | Path | None = None, token: str | None = None, overwrite: bool = False) -> PublishResult:
    """Stage a Hub-layout dataset folder for ``repo_id`` and (unless ``dry_run``) upload it.

    ``out`` must be new, empty or an earlier staging of ours (``overwrite=True`` moves other folders aside)."""
    check_repo_id(repo_id)
    return _publish(lambda folder: stage_dataset(src, folder, repo_id, overwrite=overwrite), repo_id, "dataset",
                    private=private, dry_run=dry_run, out=out, token=token)


def publish_model(src: str | Path, repo_id: str, *, results: str | Path | None = None,
                  baseline: str | Path | None = None, base_model: str | None = None, private: bool = False,
                  dry_run: bool = False, out: str | Path | None = None, token: str | None = None,
                  overwrite: bool = False) -> PublishResult:
    """Stage an adapter or merged model folder (with its card and results) for ``repo_id`` and upload it."""
    check_repo_id(repo_id)
    return _publish(lambda folder: stage_model(src, folder, repo_id, results=results, baseline=baseline,
                                               base_model=base_model, overwrite=overwrite),
                    repo_id, "model", private=private, dry_run=dry_run, out=out, token=token)


def _publish(stage: Callable[[Path], Path], repo_id: str, repo_type: Literal["dataset", "model"], *, private: bool,
             dry_run: bool, out: str | Path | None, token: str | None) -> PublishResult:
    if dry_run and out is None:
        out = Path("runs/publish") / repo_id.replace("/", "__")
    with tempfile.TemporaryDirectory(prefix="ecellm-publish-") as tmp:
        folder = stage(Path(out) if out else Path(tmp) / "repo")
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != MARKER)
        logger.info("staged %d files for %s in %s", len(files), repo_id, folder)
        if dry_run:
            return PublishResult(repo_id, repo_type, folder, files, dry_run=True)
        url, commit = upload(folder, repo_id, repo_type, private=private, token=token)
        logger.info("committed %s to %s (%s)", commit, repo_id, url)
        return PublishResult(repo_id, repo_type, Path(out) if out else None, files, dry_run=False, url=url,
                             commit=commit)
