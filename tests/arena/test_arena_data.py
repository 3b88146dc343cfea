"""The published figures, exactly: AlpacaEval's NullModel row (imported annotations -> `assay winrate`)
and arena-hard's separability, as library calls and through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assay.arena.separability import read_bootstrap_stats, separability
from assay.arena.winrate import winrates
from assay.judges.importers import get_importer

BASELINE = "gpt4_1106_preview"


def assay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**os.environ, "OMP_NUM_THREADS": "1"})


def _check_null_model_row(result: dict) -> None:
    [row] = result["rows"]
    assert row["model"] == "example" and row["rater"] == "weighted_alpaca_eval_gpt4_turbo"
    assert row["win_rate"] == pytest.approx(76.91979180386511, abs=1e-9)
    assert row["standard_error"] == pytest.approx(0.9090102449662572, abs=1e-9)
    assert (row["n_wins"], row["n_wins_base"], row["n_draws"], row["n_total"]) == (676, 129, 0, 805)
    assert row["discrete_win_rate"] == pytest.approx(83.97515527950311, abs=1e-9)
    assert row["avg_length"] == 872
    assert row["length_controlled_win_rate"] is not None and row["lc_error"] is None
    canary = result["canary"]
    assert canary["status"] == "gameable" and "GAMEABLE" in canary["message"]
    assert canary["null_models"][0]["model"] == "example"
    assert canary["null_models"][0]["win_share"] == pytest.approx(676 / 805)


def test_alpaca_eval_null_model_library(arena_dir: Path) -> None:
    rows = get_importer("alpaca_eval")(arena_dir / "alpaca_eval" / "NullModel" / "annotations.json")
    assert len(rows) == 805 and all(j.model_a == BASELINE and j.ok for j in rows)
    _check_null_model_row(winrates(rows, BASELINE))


def test_alpaca_eval_null_model_cli(arena_dir: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "assay.db")
    path = arena_dir / "alpaca_eval" / "NullModel" / "annotations.json"
    imported = assay("import", "judgments", str(path), "--format", "alpaca_eval", "--db", db, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    result = assay("winrate", "--baseline", BASELINE, "--json", "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _check_null_model_row(json.loads(result.stdout))
    table = assay("winrate", "--baseline", BASELINE, "--db", db, cwd=tmp_path)
    assert "76.92" in table.stdout and "676/129/0" in table.stdout and "GAMEABLE" in table.stdout
    board = assay("arena", "--rounds", "50", "--db", db, cwd=tmp_path)
    assert board.returncode == 0, board.stderr
    assert "GAMEABLE" in board.stdout and "separability" in board.stdout


@pytest.mark.parametrize(("benchmark", "models", "overlapping", "pairs"),
                         [("arena_hard", 28, 76, 378), ("mt_bench", 25, 197, 300), ("alpaca_LC", 20, 23, 190)])
def test_arena_hard_separability(arena_dir: Path, benchmark: str, models: int, overlapping: int, pairs: int) -> None:
    intervals = read_bootstrap_stats(arena_dir / "arena_hard" / f"bootstrap_stats_{benchmark}.jsonl")
    assert len(intervals) == models
    result = separability(intervals)
    assert (result["overlapping"], result["pairs"]) == (overlapping, pairs)
    assert result["separability"] == pytest.approx((pairs - overlapping) / pairs)
