"""Fixtures of the arena tests: the real arena data under ../shared/data/arena, and choix (the reference
Bradley–Terry fit; the test extra installs it, so CI must have it)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def arena_dir(shared_data_dir: Path) -> Path:
    path = shared_data_dir / "arena"
    if not (path / "NOTES.md").is_file():
        pytest.fail(f"{path}: the arena data (alpaca_eval/, arena_hard/) is missing from ../shared/data")
    return path


@pytest.fixture(scope="session")
def choix() -> ModuleType:
    try:
        return importlib.import_module("choix")
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("choix is in the test extra: CI must have it")
        pytest.skip("choix is not installed (pip install -e '.[test]')")
