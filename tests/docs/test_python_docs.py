"""The Python in the docs runs as written: every ```python block of docs/python.md, in order, as one script (the
blocks build on each other), and the README's Python example on the embedded model. Each runs in a fresh process
whose working folder holds `examples/`, as a user's clone does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.M | re.S)


def run_script(code: str, folder: Path) -> str:
    (folder / "examples").symlink_to(ROOT / "examples")
    (folder / "script.py").write_text(code, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "script.py"], cwd=folder, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_python_md_blocks_run_in_order(tmp_path: Path) -> None:
    blocks = python_blocks(ROOT / "docs" / "python.md")
    assert len(blocks) >= 8, "docs/python.md lost its examples"
    stdout = run_script("\n".join(blocks), tmp_path)
    assert re.search(r"^arith_mc acc = [\d.]+, 95% CI \[[\d.]+, [\d.]+\], n=8", stdout, flags=re.M), stdout[:2000]
    assert "heatmap of score" in stdout and (tmp_path / "report.html").stat().st_size > 10_000
    assert re.search(r"^arith_mc acc: [-+][\d.]+ \[[-+][\d.]+, [-+][\d.]+\] ", stdout, flags=re.M), stdout[-3000:]
    assert re.search(r"^\d+ judgments$", stdout, flags=re.M), stdout[-3000:]


@pytest.mark.slow
def test_readme_python_example_on_the_embedded_model(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = python_blocks(ROOT / "README.md")
    assert len(example.strip().splitlines()) <= 16, "the README's Python example is meant to be about 15 lines"
    assert not re.search(r"^\s*(from assay\.|import assay\.)", example, flags=re.M), "only `import assay`"
    assert "## What you can do" in readme
    stdout = run_script(example, tmp_path)
    intervals = re.findall(r"^(\w+) (arith|arith_mc) (\w+): [\d.]+, 95% CI \[[\d.]+, [\d.]+\], n=20$", stdout, flags=re.M)
    assert len({run for run, _, _ in intervals}) == 2 and len(intervals) == 6, stdout
    paired = re.findall(r"^(arith|arith_mc) (\w+): [-+][\d.]+ \[[-+][\d.]+, [-+][\d.]+\], p=[\d.]+$", stdout, flags=re.M)
    assert len(paired) == 3, stdout
