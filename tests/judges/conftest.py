"""Fixtures of the judge tests: the real judge-agreement data under ../shared/data/judges."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def judges_dir(shared_data_dir: Path) -> Path:
    path = shared_data_dir / "judges"
    if not (path / "NOTES.md").is_file():
        pytest.fail(f"{path}: the judges data (llmbar/, prd/) is missing from ../shared/data")
    return path
