"""Ctrl-C (SIGINT) or SIGTERM on a real `assay run` subprocess: the run is stored as `interrupted`, the
printed command resumes it, the resumed run says so when it starts, and the result equals an
uninterrupted run. Running the complete command once more reuses the run instead of storing a copy."""

from __future__ import annotations

import json
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ASSAY = [sys.executable, "-m", "assay.cli"]
# scripted:slow sleeps 10 ms per generate request: arith's 200 samples take ~2 s.
ARGS = ["run", "--model", "scripted:slow=10", "--task", "arith,arith_mc", "--chunk-size", "10", "--no-progress", "--json"]
TOTAL = 400


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from samples").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _rows(db: Path, run_id: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select task, sample_id, scores, extracted from samples where run_id = ? "
                            "order by task, idx", (run_id,)).fetchall()


def _runs(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("select id, status from runs").fetchall()


def _metrics(result: dict) -> list[dict]:
    return [{k: m[k] for k in ("task", "name", "value", "ci_low", "ci_high", "n")} for m in result["metrics"]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    db = tmp_path_factory.mktemp("reference") / "reference.db"
    done = subprocess.run([*ASSAY, *ARGS, "--db", str(db)], capture_output=True, text=True, timeout=120, check=True)
    return db, json.loads(done.stdout)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_then_resume_matches_uninterrupted(tmp_path: Path, reference: tuple[Path, dict], signum: int) -> None:
    db = tmp_path / "interrupted.db"
    process = subprocess.Popen([*ASSAY, *ARGS, "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while _stored(db) < 30 and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    stored = _stored(db)
    assert 0 < stored < TOTAL, f"the signal landed outside the run ({stored} samples stored)"
    assert process.returncode == 130, stderr
    [(run_id, status)] = _runs(db)
    assert status == "interrupted"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert f"run {run_id} interrupted: {stored} of {TOTAL} samples stored" in lines[0]
    command = shlex.split(lines[0].split("resume with: ", 1)[1])
    assert command[:2] == ["assay", "run"] and command[-2:] == ["--db", str(db)]

    # The printed command resumes the run; the first thing it says is that it does.
    resumed = subprocess.Popen([*ASSAY, *command[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert resumed.stderr is not None
    first_line = resumed.stderr.readline()
    still_running = resumed.poll() is None
    out, rest = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, rest
    assert first_line.strip() == f"resuming run {run_id}: {stored} of {TOTAL} samples stored"
    assert still_running, "the resume was announced only after the run had finished"
    result = json.loads(out)
    assert result["id"] == run_id and result["resumed"] is True
    assert _runs(db) == [(run_id, "complete")]

    reference_db, reference_result = reference
    assert _rows(db, run_id) == _rows(reference_db, reference_result["id"])
    assert _metrics(result) == _metrics(reference_result)

    # The same command once more: the complete run is reused, nothing new is stored.
    again = subprocess.run([*ASSAY, *command[1:]], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(again.stdout)["id"] == run_id and json.loads(again.stdout)["reused"] is True
    assert f"identical to run {run_id}" in again.stderr
    assert _runs(db) == [(run_id, "complete")] and _stored(db) == TOTAL


def test_rerun_flag_stores_a_new_run(tmp_path: Path) -> None:
    db = tmp_path / "twice.db"
    args = [*ASSAY, "run", "--model", "scripted:echo", "--task", "arith", "--limit", "3", "--json", "--db", str(db)]
    first = json.loads(subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout)
    second = json.loads(subprocess.run([*args, "--rerun"], capture_output=True, text=True, timeout=120, check=True).stdout)
    assert second["id"] != first["id"] and second["reused"] is False
    assert second["stats"]["cache_hits"] == 3 and _metrics(second) == _metrics(first)
