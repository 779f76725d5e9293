"""Shared test fixtures. Tests that read ../shared (the reference bundle) use `shared_dir`, which skips
them when the bundle is absent (a user's machine); CI has it and runs them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECELLM_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ../shared; skips the test when it is not there."""
    if not (SHARED / "reference" / "SPEC.md").is_file():
        pytest.skip("../shared reference bundle not present")
    return SHARED
