"""Every usage error is one line and exit code 2, the CLI framework's own included; near misses get a
suggestion; read-only commands never create a database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import assay


def assay_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, env={**os.environ, "ASSAY_DB": ""})


def _one_line_exit_2(out: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.stderr and "╭" not in out.stderr and out.stdout == ""
    return lines[0]


@pytest.mark.parametrize(("args", "named"), [
    (["run", "--limit", "0"], "--limit"),
    (["run", "--concurrency", "0"], "--concurrency"),
    (["run", "--limit", "many"], "--limit"),
    (["run", "--lmit", "3"], "--lmit"),
    (["export", "abc123"], "--output"),
    (["list"], "what"),
    (["show"], "RUN"),
    (["power", "--baseline", "x"], "--baseline"),
    (["suite", "dump", "--seed", "x"], "--seed"),
    (["nosuchcommand"], "nosuchcommand"),
])
def test_framework_usage_errors_are_one_line(tmp_path: Path, args: list[str], named: str) -> None:
    line = _one_line_exit_2(assay_cli(*args, cwd=tmp_path))
    assert named in line and "--help" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "suggestion"), [
    (["run", "--model", "scripted:echo", "--task", "arth"], "did you mean arith?"),
    (["run", "--model", "scripted:echo", "--task", "bbh_cot:boolean_expresions"], "did you mean bbh_cot:boolean_expressions?"),
    (["run", "--model", "embeded", "--task", "arith"], "did you mean embedded?"),
    (["run", "--model", "scripted:ecno", "--task", "arith"], "did you mean scripted:echo?"),
    (["run", "--model", "scripted:echo", "--task", "arith", "--model-args", "delay=1"], "did you mean delay_s?"),
    (["list", "rnus"], "did you mean runs?"),
])
def test_near_misses_get_a_suggestion(tmp_path: Path, args: list[str], suggestion: str) -> None:
    assert suggestion in _one_line_exit_2(assay_cli(*args, "--db", str(tmp_path / "a.db")))
    assert not (tmp_path / "a.db").exists()


def test_postgres_scheme_gets_a_hint(tmp_path: Path) -> None:
    line = _one_line_exit_2(assay_cli("list", "runs", "--db", "postgres://user:secret@127.0.0.1:1/db"))
    assert "postgresql://" in line and "secret" not in line


def test_version() -> None:
    out = assay_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"assay {assay.__version__}"


@pytest.mark.parametrize("args", [
    ["list", "runs", "--db", "sqlite:///nonexistent.db"],
    ["list", "runs", "--db", "typo.db"],
    ["list", "runs"],
    ["show", "abc", "--db", "typo.db"],
    ["export", "abc", "-o", "out.jsonl", "--db", "typo.db"],
    ["report", "abc", "-o", "out.html", "--db", "typo.db"],
    ["heatmap", "abc", "--db", "typo.db"],
    ["serve", "--db", "typo.db", "--port", "1"],
])
def test_read_only_commands_create_nothing(tmp_path: Path, args: list[str]) -> None:
    if args[0] == "serve":
        pytest.importorskip("uvicorn", reason="assay serve needs the web extra")
    line = _one_line_exit_2(assay_cli(*args, cwd=tmp_path))
    assert "--db" in line and "does not exist" not in line and "no database" in line
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_an_assay_database(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("create table notes (x text)")
    line = _one_line_exit_2(assay_cli("list", "runs", "--db", str(other)))
    assert "not an assay database" in line



def test_compare_with_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    line = _one_line_exit_2(assay_cli("compare", "a", "b", "--db", f"sqlite:///{missing}"))
    assert "does not exist" in line or "typo.db" in line
    assert not missing.exists()
