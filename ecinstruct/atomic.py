"""Files and folders that are written whole or not at all, and never replace anything the user owns.

The one home of write-then-rename in the project. Single files: :func:`atomic_write_bytes` /
:func:`atomic_write_text` (a unique temporary sibling, flushed to disk, renamed over the target). Shared cache
folders that several processes may create at once: :func:`atomic_folder` (first writer wins, the others
reuse its folder). Output folders a command owns: :func:`replace_folder`, below.

A folder is built in a staging sibling (``.NAME.staging-PID-XXXX``) and moved into place at the end, so
an interrupted write leaves the previous folder intact. Every folder we write carries a marker file
(:data:`MARKER`) listing the files we put there. An existing output folder is replaced only when it is
empty or when the marker covers every file in it; a folder holding the command's own input, the current
folder, the home folder, or files we did not write is refused with one clear error. ``overwrite=True``
(``--overwrite``) replaces a folder of foreign files too, but moves it aside as ``NAME.replaced-STAMP``
instead of deleting it. Staging folders left by a killed run are removed the next time, and a folder
caught half-way through the final swap is put back.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ecinstruct.errors import OutputFolderError

logger = logging.getLogger(__name__)

MARKER = ".ecellm-output.json"
_STAGING = "staging"
_OLD = "old"


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a unique temporary sibling, flush it to disk and rename it over ``path``: readers never
    see half a file, and a failed write leaves the old file and no temporary behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_folder(target: Path, write: Callable[[Path], None]) -> Path:
    """``target`` if it exists, else written by ``write`` under a temporary name and renamed into place, so
    concurrent processes never see half of it (when two race, the first rename wins and the other reuses it)."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(tmp)
        tmp.rename(target)
    except OSError:
        if not target.is_dir():  # another process may have won the race; anything else is a real error
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def replace_folder(out: str | Path, write: Callable[[Path], None], *, overwrite: bool = False,
                   inputs: Iterable[str | Path | None] = (), writer: str = "ecinstruct") -> Path:
    """Run ``write(tmp)`` in a staging sibling, then move it to ``out`` (see the module docstring).

    ``inputs`` are the paths the command reads (its source): ``out`` may not be or contain any of them.
    If ``write`` fails, ``out`` keeps its previous content and the staging folder is removed.
    """
    out = Path(out)
    check_output_folder(out, inputs=inputs, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out)
    tmp = _sibling(out, _STAGING)
    tmp.mkdir()
    try:
        _write_marker(tmp, writer, staging=True)
        write(tmp)
        _write_marker(tmp, writer, staging=False)
        _swap_in(tmp, out, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def check_output_folder(out: str | Path, *, inputs: Iterable[str | Path | None] = (), overwrite: bool = False,
                        option: str = "--out") -> None:
    """Raise :class:`OutputFolderError` unless ``out`` may be written (see the module docstring)."""
    out = Path(out)
    where = _resolved(out)
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{option} {out} is a file; expected a folder to write (a new or empty one)")
    _refuse_special(out, where, option)
    for source in inputs:
        if source is None:
            continue
        src = _resolved(Path(source))
        if src == where or where in src.parents:
            raise OutputFolderError(f"{option} {out} holds the input {source}: replacing it would delete the input. "
                                    "Write to a new folder instead, e.g. a sibling")
    if not out.is_dir():
        return
    foreign = foreign_files(out)
    if foreign and not overwrite:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise OutputFolderError(f"{option} {out} already holds files this command did not write ({shown}); nothing "
                                "was changed. Choose a new or empty folder, or pass --overwrite to replace it (the "
                                f"old folder is then kept as {out.name}.replaced-<time>)")


def foreign_files(folder: Path) -> list[str]:
    """Files in ``folder`` that no marker of ours lists (empty for an empty folder or one of ours)."""
    listed = set(_read_marker(folder).get("files", []))
    found = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())
    return [f for f in found if f != MARKER and f not in listed]


def clean_stale(out: str | Path) -> list[Path]:
    """Remove staging folders of ``out`` left by killed runs; put back a folder caught mid-swap. Returns what
    was removed. Only folders carrying our marker and the id of a process that no longer runs are touched."""
    out = Path(out)
    removed = []
    if not out.parent.is_dir():
        return removed
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.({_STAGING}|{_OLD})-(\d+)-\w+$")
    for path in sorted(out.parent.iterdir()):
        if _legacy_staging(path, out.name):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            continue
        match = pattern.match(path.name)
        if not match or not path.is_dir() or _alive(int(match.group(2))) or not (path / MARKER).is_file():
            continue
        if match.group(1) == _OLD and not out.exists():
            path.rename(out)  # killed between the two renames of a swap: the old folder is still the output
            logger.warning("restored %s from an interrupted replacement", out)
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
        logger.info("removed %s, left by an interrupted run", path)
    return removed


def _legacy_staging(path: Path, name: str) -> bool:
    """A staging folder of an older version (``tempfile.mkdtemp`` name, no marker) holding only a partial
    dataset build: README.md and data/**/*.parquet, nothing else."""
    if not re.fullmatch(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}", path.name) or not path.is_dir():
        return False
    files = [p.relative_to(path) for p in path.rglob("*") if not p.is_dir()]
    return all(str(f) == "README.md" or (f.parts[0] == "data" and f.suffix == ".parquet") for f in files)


def _swap_in(tmp: Path, out: Path, overwrite: bool) -> None:
    if not out.exists():
        tmp.rename(out)
        return
    if foreign_files(out):  # checked again: files may have appeared while we wrote
        if not overwrite:
            check_output_folder(out)  # raises with the list of files
        backup = out.with_name(f"{out.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
        out.rename(backup)
        tmp.rename(out)
        logger.warning("--overwrite: moved the previous %s to %s (nothing was deleted)", out, backup)
        return
    old = _sibling(out, _OLD)
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _refuse_special(out: Path, where: Path, option: str) -> None:
    cwd = Path.cwd().resolve()
    special = {cwd: "the current folder", Path.home().resolve(): "your home folder"}
    if where in special or where.parent == where:
        what = special.get(where, "the file-system root")
        raise OutputFolderError(f"{option} {out} is {what}; a command never replaces it. Name a new sub-folder, "
                                f"e.g. {option} {out / 'output'}")
    if where in cwd.parents:
        raise OutputFolderError(f"{option} {out} contains the current folder; a command never replaces it. Name a "
                                f"new sub-folder, e.g. {option} {out / 'output'}")


def _resolved(path: Path) -> Path:
    return Path(os.path.abspath(path.expanduser())).resolve()


def _sibling(out: Path, kind: str) -> Path:
    return out.with_name(f".{out.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def _write_marker(folder: Path, writer: str, *, staging: bool) -> None:
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir() and p.name != MARKER)
    doc = {"written_by": writer, "staging": staging, "files": [] if staging else files}
    (folder / MARKER).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def _read_marker(folder: Path) -> dict:
    try:
        doc = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) and isinstance(doc.get("files", []), list) else {}


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


# ------------------------------------------------------------------ the one output guard of every command
# Outputs never replace an input of the same command, a run's own files, or a file the command did not write,
# whatever the flag. Folders replaced whole: check_output_folder / replace_folder (above). Single files
# (predict's answers, compare's table): check_output_file. Folders a command adds to and resumes (eval's
# --out, train's output_dir): check_run_folder.


def check_output_file(out: str | Path, *, inputs: Iterable[str | Path | None] = (), overwrite: bool = False,
                      option: str = "--out", writer: str = "this command",
                      ours: Callable[[Path], bool] | None = None) -> None:
    """Raise :class:`OutputFolderError` unless the file ``out`` may be (re)written.

    Refused whatever ``overwrite`` says: ``out`` is an input of the command (or lies in an input folder and
    exists: a run's own file), or exists and ``ours(out)`` says the command did not write it. An existing
    file of ours is replaced only with ``overwrite``."""
    out = Path(out)
    if out.is_dir():
        raise OutputFolderError(f"{option} {out} is a folder; expected a file to write, e.g. {option} "
                                f"{out / 'output'}")
    where = _resolved(out)
    for source in inputs:
        if source is None:
            continue
        src = _resolved(Path(source))
        if src == where or (out.exists() and Path(source).exists() and _same_file(out, Path(source))):
            raise OutputFolderError(f"{option} {out} is the input {source} of this command; an input is never "
                                    f"replaced (not even with --overwrite): choose another {option}")
        if out.exists() and src in where.parents:
            raise OutputFolderError(f"{option} {out} is a file of the input {source}; an input's own files are never "
                                    f"replaced (not even with --overwrite): choose another {option}")
    if not out.exists():
        return
    if ours is not None and not _quietly(ours, out):
        raise OutputFolderError(f"{option} {out} already exists and was not written by {writer}; it is never "
                                f"replaced (not even with --overwrite): choose another {option}, or move the file "
                                "away yourself")
    if not overwrite:
        raise OutputFolderError(f"{option} {out} already exists (an earlier output of {writer}); pass --overwrite to "
                                f"replace it, or choose another {option}")


def check_run_folder(out: str | Path, *, inputs: Iterable[str | Path | None] = (), option: str = "--out",
                     writer: str = "this command", writes: Iterable[str] = (), own_marks: Iterable[str] = ()) -> None:
    """Raise :class:`OutputFolderError` unless ``out`` may hold a run's files (a folder the command adds to and
    resumes in): not a file, not the current/home folder, not an input or a folder holding one, not a folder
    another command wrote (a dataset of ``ecinstruct build``) and not a dataset in the Hub layout. A file the
    command ``writes`` at the top of the folder may be there only in an earlier run of it (the folder holds one
    of ``own_marks``, glob patterns); otherwise it is the user's and would be replaced."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"{option} {out} is a file; expected a folder for the run's files (a new one)")
    where = _resolved(out)
    _refuse_special(out, where, option)
    for source in inputs:
        if source is None or not Path(source).exists():
            continue
        src = _resolved(Path(source))
        if src == where or where in src.parents:
            raise OutputFolderError(f"{option} {out} is or holds the input {source}; a run never writes over its "
                                    f"inputs: choose a new folder, e.g. {option} runs/{out.name or 'run'}")
    if not out.is_dir():
        return
    other = _read_marker(out).get("written_by")
    if other and other != writer:
        raise OutputFolderError(f"{option} {out} was written by `{other}`; {writer} never writes into it: choose a "
                                "new folder")
    if (out / "data").is_dir() and any((out / "data").rglob("*.parquet")):
        raise OutputFolderError(f"{option} {out} holds a dataset (data/*.parquet); {writer} never writes into it: "
                                "choose a new folder")
    marks = list(own_marks)
    clash = [name for name in writes if (out / name).exists()]
    if clash and not any(any(out.glob(mark)) for mark in marks):
        raise OutputFolderError(f"{option} {out} holds {clash[0]}, which {writer} would replace, and is not a run of "
                                f"{writer}; nothing was changed: choose a new folder")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _quietly(check: Callable[[Path], bool], path: Path) -> bool:
    try:
        return bool(check(path))
    except (OSError, ValueError):
        return False


def first_line_json(path: Path, keys: Iterable[str]) -> bool:
    """Whether ``path`` is empty or its first line is a JSON object with every key of ``keys`` (how a command
    recognises a JSON-lines file it wrote)."""
    with path.open("rb") as handle:
        line = handle.readline(1 << 20)
    if not line.strip():
        return True
    doc = json.loads(line)
    return isinstance(doc, dict) and all(k in doc for k in keys)


def starts_with(prefix: str) -> Callable[[Path], bool]:
    """``ours`` for :func:`check_output_file`: the file is empty or starts with ``prefix``."""

    def check(path: Path) -> bool:
        with path.open("rb") as handle:
            head = handle.read(len(prefix.encode()))
        return not head or head == prefix.encode()

    return check
