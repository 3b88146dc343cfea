"""A run whose stderr is a log file, not a terminal, prints plain progress lines now and then instead of a
progress bar redrawn in place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    env = {**os.environ, "ASSAY_PROGRESS_SECONDS": "0.2"}
    out = subprocess.run([sys.executable, "-m", "assay.cli", "run", "--model", "scripted:slow=10", "--task", "arith",
                          "--limit", "100", "--chunk-size", "10", "--db", str(tmp_path / "p.db")],
                         capture_output=True, text=True, timeout=120, env=env, check=True)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    counts = [int(m.group(1)) for line in lines if (m := re.match(r"progress: arith (\d+)/100 samples, ", line))]
    assert len(counts) >= 2 and counts == sorted(counts) and counts[-1] == 100, out.stderr
    assert len(counts) == len(lines), "every stderr line is a progress line"
    assert "\r" not in out.stderr and "\x1b[" not in out.stderr  # no bar redrawn in place


def test_short_runs_print_no_progress_lines(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "assay.cli", "run", "--model", "scripted:echo", "--task", "arith",
                          "--limit", "3", "--db", str(tmp_path / "q.db")], capture_output=True, text=True, timeout=120,
                         check=True)
    assert out.stderr == ""


def _progress_lines(stderr: str, task: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"progress: {task} ")]


def test_progress_from_inside_one_backend_call(tmp_path: Path) -> None:
    """All 40 samples are one chunk, so one backend call: the lines still move, request by request, while it runs."""
    env = {**os.environ, "ASSAY_PROGRESS_SECONDS": "0.2"}
    out = subprocess.run([sys.executable, "-m", "assay.cli", "run", "--model", "scripted:slow=50", "--task", "arith",
                          "--limit", "40", "--db", str(tmp_path / "p.db")],
                         capture_output=True, text=True, timeout=120, env=env, check=True)
    answered = [int(m.group(1)) for line in _progress_lines(out.stderr, "arith")
                if (m := re.search(r"answering (\d+)/40 requests", line))]
    assert len(set(answered)) >= 3 and answered == sorted(answered), out.stderr
    assert any(" ETA " in line for line in _progress_lines(out.stderr, "arith")), out.stderr


@pytest.mark.slow
def test_embedded_model_reports_tokens_while_it_runs(tmp_path: Path) -> None:
    """The real model's backend reports the tokens it has run and the prompts it has answered from inside its call."""
    env = {**os.environ, "ASSAY_PROGRESS_SECONDS": "0.5"}
    out = subprocess.run([sys.executable, "-m", "assay.cli", "run", "--model", "embedded", "--task",
                          "niah_single:lengths=512/n=1", "--db", str(tmp_path / "e.db")],
                         capture_output=True, text=True, timeout=600, env=env, check=True)
    lines = _progress_lines(out.stderr, "niah_single:lengths=512/n=1")
    tokens = [int(m.group(1)) for line in lines if (m := re.search(r", (\d+) tokens \(", line))]
    assert tokens and tokens == sorted(tokens) and tokens[0] < tokens[-1], out.stderr
    assert any(re.search(r"answering [1-9]\d*/5 requests", line) for line in lines), out.stderr
