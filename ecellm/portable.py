"""Published files without the publisher's machine in them: no absolute local paths, no home folders.

Training and evaluation record where things were on this machine (``/home/me/runs/xs``, a model cache);
those are useful locally and must not reach a Hub repository. :func:`portable` rewrites every absolute
path inside a JSON-like value to its last component (``xs``), wherever it appears in a string.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# An absolute POSIX path (/a/b, ~/a) or a Windows one (C:\a\b), not part of a URL or of a relative path.
_SEGMENT = r"[^\s'\"/\\,;:()\[\]{}]+"
_POSIX = re.compile(rf"(?<![\w.:/~-])(?:~/|/){_SEGMENT}(?:/{_SEGMENT})*/?")
_WINDOWS = re.compile(r"(?<![\w])[A-Za-z]:\\(?:[^\s'\"\\,;()\[\]{}]+\\)*[^\s'\"\\,;()\[\]{}]*")


def portable_text(text: str) -> str:
    """``text`` with each absolute local path replaced by its last component."""
    if text.startswith(("/", "~/")) and "\n" not in text and len(text) > 1:  # a whole value that is a path
        return Path(text.rstrip("/")).name or "<local>"
    def last(match: re.Match) -> str:
        found = match.group(0).rstrip("/\\")
        name = re.split(r"[/\\]", found)[-1] if found not in ("", "~", "/") else ""
        return name or "<local>"

    return _WINDOWS.sub(last, _POSIX.sub(last, text))


def portable(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings, numbers) with :func:`portable_text` on every string."""
    if isinstance(value, str):
        return portable_text(value)
    if isinstance(value, Path):
        return portable_text(str(value))
    if isinstance(value, dict):
        return {portable(k) if isinstance(k, str) else k: portable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable(v) for v in value]
    return value


def has_local_path(text: str) -> bool:
    """Whether ``text`` still holds an absolute local path (used by tests and as a last check)."""
    return bool(_POSIX.search(text) or _WINDOWS.search(text))
