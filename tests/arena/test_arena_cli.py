"""`assay arena` / `assay winrate` usage errors: one line, exit code 2, nothing stored changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from arena_support import worked_example

from assay.judges.store import replace_judgments, sources
from assay.store import Store


def _assay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1"})


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_usage_errors(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    assert "no database" in _one_error(_assay("arena", "--db", db, cwd=tmp_path))
    store = Store(db)
    assert "no judgments stored" in _one_error(_assay("winrate", "--baseline", "A", "--db", db, cwd=tmp_path))
    replace_judgments(store, "test", worked_example())
    store.close()
    cases = {
        ("arena", "--method", "glicko"): "--method",
        ("arena", "--ties", "third"): "--ties",
        ("arena", "--task", "nope"): "--task nope",
        ("arena", "--source", "nope"): "--source nope",
        ("arena", "--null-model", "ghost"): "--null-model ghost",
        ("arena", "--canary-threshold", "1.5"): "--canary-threshold",
        ("arena", "--rounds", "0"): "--rounds",
        ("arena", "--ties", "davidson"): "no battle was a tie",
        ("arena", "--method", "elo", "--ties", "davidson"): "--ties davidson",
        ("winrate", "--baseline", "Z"): "--baseline",
        ("winrate", "--baseline", "A", "--null-model", "ghost"): "--null-model ghost",
        ("winrate", "--baseline", "A", "--canary-threshold", "-1"): "--canary-threshold",
    }
    for args, expected in cases.items():
        assert expected in _one_error(_assay(*args, "--db", db, cwd=tmp_path)), args
    assert sources(Store(db)) == ["test"]


@pytest.mark.parametrize("method", ["bt", "elo"])
def test_arena_table(tmp_path: Path, method: str) -> None:
    db = f"sqlite:///{tmp_path / 'assay.db'}"
    store = Store(db)
    replace_judgments(store, "test", worked_example())
    store.close()
    out = _assay("arena", "--method", method, "--rounds", "30", "--db", db, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "22 battles" in out.stdout and "separability" in out.stdout
    assert "style control: not available" in out.stdout  # no outputs stored
    assert "canary: no null model" in out.stdout and "agreement: not available" in out.stdout
