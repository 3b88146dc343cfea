"""Helpers for tests that drive the real `assay` command in a subprocess and check that a refused
command left the store as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from assay.store import Store


def assay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env)


def run_json(*args: str, cwd: Path) -> dict[str, Any]:
    """`assay run ... --json`, which must succeed; its JSON answer."""
    result = assay("run", *args, "--json", "--no-progress", cwd=cwd)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Exit code 2, exactly one non-empty line on stderr (`error: ...`), no traceback."""
    assert result.returncode == 2, result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and "Traceback" not in result.stderr
    return lines[0]


def store_state(db: Path) -> list[tuple[str, str, int, int]] | None:
    """(run id, status, samples, metric rows) of every stored run; None when there is no store file."""
    if not db.exists():
        return None
    store = Store(str(db), read_only=True)
    return [(run["id"], run["status"], store.count_samples(run["id"]), len(store.get_metrics(run["id"])))
            for run in store.list_runs()]


def prompts(db: Path, run_id: str) -> list[str]:
    store = Store(str(db), read_only=True)
    return [row["prompt"] for row in store.iter_samples(run_id, columns=("prompt",))]


def manifest(db: Path, run_id: str) -> dict[str, Any]:
    return Store(str(db), read_only=True).get_run(run_id)["manifest"]
