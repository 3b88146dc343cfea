"""End to end, offline: two runs of the embedded model on a generative task, then `assay battle` with the
embedded model as the judge, in both orders. The 135M judge often fails the format: every reply it gives
is either a verdict or a counted judge error (re-asked once first), never a silent score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from judge_support import TASK_FILE

from assay.judges.store import iter_judgments
from assay.store import Store

pytestmark = pytest.mark.slow


def _assay(*args: str, cwd: Path) -> dict[str, object]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "assay.cli", *args, "--json", "--no-progress"], capture_output=True,
                            text=True, timeout=900, cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_embedded_battle_both_orders_counts_parse_failures(tmp_path: Path) -> None:
    db = str(tmp_path / "assay.db")
    run_a = _assay("run", "-m", "embedded", "-t", str(TASK_FILE), "--limit", "2", "--db", db, cwd=tmp_path)["id"]
    run_b = _assay("run", "-m", "embedded", "--model-args", "dtype=bfloat16", "-t", str(TASK_FILE), "--limit", "2",
                   "--db", db, cwd=tmp_path)["id"]
    battle = _assay("battle", str(run_a), str(run_b), "--judge", "embedded", "--max-tokens", "32", "--db", db,
                    cwd=tmp_path)
    counts = {m["name"]: m["value"] for m in battle["metrics"]}  # type: ignore[union-attr]
    judgments = list(iter_judgments(Store(db, read_only=True), source=str(battle["source"])))
    assert len(judgments) == battle["judgments"] == 4
    assert sorted(j.order or "" for j in judgments) == ["ab", "ab", "ba", "ba"]
    assert {(j.model_a, j.model_b) for j in judgments} == {(f"embedded@{run_a}", f"embedded@{run_b}")}
    assert all(j.rater == "embedded" and j.output_a is not None and j.output_b is not None for j in judgments)
    # Each reply is exactly one of: a verdict, a counted judge error.
    assert all((j.verdict is None) == (j.error is not None) for j in judgments)
    assert counts["n_judge_errors"] == sum(1 for j in judgments if j.error is not None)
    assert counts["n_reasked"] >= counts["n_judge_errors"]
    pairs = counts["wins_a"] + counts["wins_b"] + counts["ties"] + counts["n_pairs_with_judge_error"]
    assert pairs == counts["n_samples"] == 2
