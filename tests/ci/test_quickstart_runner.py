""".ci/quickstart.py: the README's command (a) is read from the Quickstart block and run step by step in the
clone, each step timed with its peak RSS, in a user's environment; a failing step stops it with its status."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / ".ci" / "quickstart.py"
# The step that allocates ~200 MB shows in the peak RSS; the environment is the user's (no OMP_NUM_THREADS).
README = '''# tool

## Quickstart

```bash
# (a) install, then the main job
{command}

# (b) everything
bash .ci/run
```

## What you can do
'''
ALLOCATE = """python3 -c 'import os; b = bytearray(200 * 2**20); print("threads", os.environ.get("OMP_NUM_THREADS"))'"""


def run(clone: Path, command: str) -> subprocess.CompletedProcess[str]:
    clone.mkdir(exist_ok=True)
    (clone / "README.md").write_text(README.format(command=command))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(RUNNER), "--root", str(clone), "--log", str(clone.parent / "out.log")],
                          capture_output=True, text=True, env=env, check=False, timeout=120)


def test_each_step_runs_in_the_clone_with_its_time_and_peak_rss(tmp_path: Path) -> None:
    out = run(tmp_path / "clone", f"echo one > made.txt && {ALLOCATE}")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "clone" / "made.txt").read_text() == "one\n"
    assert "quickstart: README command (a), verbatim: echo one > made.txt && python3 -c" in out.stdout
    steps = re.findall(r"quickstart: `(.*?)`: exit (\d+), wall [\d.]+ s, peak RSS (\d+) MiB", out.stdout)
    assert [(step, code) for step, code, _ in steps] == [("echo one > made.txt", "0"), (ALLOCATE, "0")]
    assert int(steps[1][2]) >= 200 > int(steps[0][2])
    assert "threads None" in (tmp_path / "out.log").read_text()


def test_a_failing_step_stops_the_command_with_its_status(tmp_path: Path) -> None:
    out = run(tmp_path / "clone", "bash -c 'exit 3' && echo never > made.txt")
    assert out.returncode == 3
    assert "exit 3" in out.stdout and not (tmp_path / "clone" / "made.txt").exists()


def test_a_clone_with_a_stored_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / "clone").mkdir()
    (tmp_path / "clone" / "assay.db").write_bytes(b"")
    out = run(tmp_path / "clone", "echo one > made.txt")
    assert out.returncode == 2 and "assay.db already in" in out.stderr
    assert not (tmp_path / "clone" / "made.txt").exists()


def test_the_command_is_the_projects_readme_line() -> None:
    sys.path.insert(0, str(RUNNER.parent))
    try:
        from quickstart import quickstart_command
    finally:
        sys.path.remove(str(RUNNER.parent))
    assert quickstart_command((ROOT / "README.md").read_text()) == "bash scripts/install.sh && .venv/bin/assay run"
