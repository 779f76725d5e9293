"""`ecinstruct.load`: one entry point for the published file, a Hub-layout folder, or a Hub repo."""

from __future__ import annotations

import logging
from pathlib import Path

import datasets

from ecinstruct.errors import ECInstructError, SourceError, SourceUnavailableError
from ecinstruct.paths import missing_local_path
from ecinstruct.settings import get_config

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "NingLab/ECInstruct"
PUBLISHED_FILE = "dataset.json"


def load(
    source: str | Path = DEFAULT_SOURCE,
    name: str = "default",
    *,
    strict: bool = True,
    qpr_labels: str | Path | None = None,
    cache_dir: str | Path | None = None,
    revision: str | None = None,
    streaming: bool = False,
) -> datasets.DatasetDict | datasets.IterableDatasetDict:
    """Load ECInstruct as a ``DatasetDict`` with splits ``train``, ``validation``, ``test_ind``, ``test_ood``.

    Args:
        source: the Hub id of the published dataset (default ``NingLab/ECInstruct``, one
            ``dataset.json``), a local path to such a file (JSON lines or JSON array, optionally .gz),
            or a folder / Hub repo in the ECInstruct Hub layout (written by ``ecinstruct build``).
        name: ``default`` (ECInstruct proper), a task code (``ave``, ``prp``, ...), or one of
            ``single_instruction``, ``unseen_instruction``, ``one_shot``.
        strict: raise on the first malformed row; ``False`` skips malformed rows and logs a summary.
        qpr_labels: the QPR label file; fills ``option_labels`` of QPR test rows of a published file.
        streaming: return an ``IterableDatasetDict`` instead of preparing the data on disk.

    A split is absent when the config has no rows for it.
    """
    config = get_config(name)
    kind, location = _resolve(source, revision)
    if kind == "layout" and qpr_labels is not None:
        raise SourceError(f"qpr_labels {qpr_labels}: {source} is a built folder (Hub layout) whose QPR labels were "
                          "fixed when it was built, so the file would be ignored; leave it out, or rebuild with "
                          "`ecinstruct build --source dataset.json --qpr-labels FILE --out NEW_FOLDER`")
    if kind == "layout":
        if isinstance(location, Path):
            _check_parquet_files(location)
        loaded = datasets.load_dataset(str(location), config.name, cache_dir=_str(cache_dir), revision=revision,
                                       streaming=streaming)
    else:
        loaded = _load_published(location, config.name, strict, qpr_labels, cache_dir, streaming)
    return _drop_empty(loaded) if not streaming else loaded


def _check_parquet_files(folder: Path) -> None:
    """Every parquet file of a local Hub-layout folder opens (its footer is read; cheap), so a damaged one is named
    in one line instead of failing inside ``datasets``."""
    import pyarrow.parquet as pq

    for path in sorted((folder / "data").rglob("*.parquet")):
        try:
            pq.ParquetFile(path).close()
        except Exception as err:  # ArrowInvalid, OSError: what a cut or overwritten file raises
            first = str(err).splitlines()[0] if str(err) else "damaged"
            raise SourceError(f"{path}: not a readable Parquet file ({type(err).__name__}: {first}); build the folder "
                              "again with `ecinstruct build`, or download it again") from None


def _resolve(source: str | Path, revision: str | None) -> tuple[str, str | Path]:
    """Decide what ``source`` is: ("layout", folder-or-repo) or ("file", local path)."""
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / "README.md").is_file() and (path / "data").is_dir():
            return "layout", path
        if (path / PUBLISHED_FILE).is_file():
            return "file", path / PUBLISHED_FILE
        raise SourceError(f"{path}: a folder must be in the ECInstruct Hub layout (README.md + data/) or hold "
                          f"{PUBLISHED_FILE}; build a Hub-layout folder into a new folder with "
                          "`ecinstruct build --source dataset.json --out NEW_FOLDER`")
    if path.is_file():
        return "file", path
    if (problem := missing_local_path(str(source))) is not None:
        raise SourceError(f"{problem}. Pass the published dataset.json, a folder written by `ecinstruct build`, "
                          "or a Hub dataset id")
    if str(source).count("/") == 1 and not str(source).startswith((".", "/")):
        return _resolve_hub(str(source), revision)
    raise SourceError(f"{source!r} is neither an existing file or folder nor a Hub dataset id (org/name)")


def _resolve_hub(repo_id: str, revision: str | None) -> tuple[str, str | Path]:
    from huggingface_hub import HfApi, hf_hub_download

    try:
        files = HfApi().list_repo_files(repo_id, repo_type="dataset", revision=revision)
    except Exception as err:  # offline, missing repo, auth: all end the same way for the user
        missing = type(err).__name__ in ("RepositoryNotFoundError", "RevisionNotFoundError", "GatedRepoError")
        kind = SourceError if missing else SourceUnavailableError  # a wrong id is a usage error; offline is not
        raise kind(f"cannot reach the Hub dataset {repo_id!r} ({type(err).__name__}: {err}). "
                   "Check the id and your connection, or pass a local dataset.json / built folder instead.") from None
    if any(f.endswith(".parquet") for f in files) and "README.md" in files:
        return "layout", repo_id
    if PUBLISHED_FILE in files:
        logger.info("downloading %s from %s", PUBLISHED_FILE, repo_id)
        return "file", Path(hf_hub_download(repo_id, PUBLISHED_FILE, repo_type="dataset", revision=revision))
    raise SourceError(f"Hub dataset {repo_id!r} has neither parquet files with a card nor {PUBLISHED_FILE}")


def _load_published(path, config_name, strict, qpr_labels, cache_dir, streaming):
    from ecinstruct.builder import ECInstruct

    builder = ECInstruct(
        config_name=config_name,
        data_files=str(Path(path).resolve()),
        cache_dir=_str(cache_dir),
        strict=strict,
        qpr_labels=str(Path(qpr_labels).resolve()) if qpr_labels else None,
    )
    if streaming:
        return builder.as_streaming_dataset()
    try:
        builder.download_and_prepare()
    except datasets.exceptions.DatasetGenerationError as err:
        if isinstance(err.__cause__, ECInstructError):  # show our message, not the wrapper's
            raise err.__cause__ from None
        raise
    present = [name for name, info in builder.info.splits.items() if info.num_examples]
    return datasets.DatasetDict({name: builder.as_dataset(split=name) for name in present})


def _drop_empty(dataset_dict: datasets.DatasetDict) -> datasets.DatasetDict:
    return datasets.DatasetDict({k: v for k, v in dataset_dict.items() if len(v)})


def _str(value: str | Path | None) -> str | None:
    return None if value is None else str(value)
