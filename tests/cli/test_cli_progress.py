"""A run whose stderr is a log file, not a terminal, prints plain progress lines now and then instead of a
progress bar redrawn in place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


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
