"""The CLI contract: names, JSON shapes, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def assay(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=120,
                          check=check)


@pytest.fixture(scope="module")
def db_with_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("cli") / "assay.db"
    out = assay("run", "--model", "scripted:echo", "--task", "arith,arith_mc", "--limit", "12", "--db", str(db),
                "--json", check=True)
    return db, json.loads(out.stdout)["id"]


def test_run_prints_table_and_run_id(tmp_path: Path) -> None:
    out = assay("run", "--model", "scripted:echo", "--task", "arith", "--limit", "3", "--db", str(tmp_path / "a.db"),
                "--no-progress", check=True)
    assert "exact_match" in out.stdout and "run id:" in out.stdout and "95% CI" in out.stdout


def test_json_outputs_have_stable_keys(db_with_run: tuple[Path, str]) -> None:
    db, run_id = db_with_run
    runs = json.loads(assay("list", "runs", "--db", str(db), "--json", check=True).stdout)
    assert runs[0]["id"] == run_id and {"id", "name", "status", "samples"} <= set(runs[0])
    shown = json.loads(assay("show", run_id, "--db", str(db), "--json", check=True).stdout)
    assert {"id", "name", "metrics", "manifest"} <= set(shown)
    manifest = shown["manifest"]
    assert manifest["seed"] == 1234 and "arith" in manifest["tasks"] and manifest["model"]["fingerprint"]
    assert all({"task", "name", "value", "ci_low", "ci_high", "n", "method"} <= set(m) for m in shown["metrics"])
    tasks = json.loads(assay("list", "tasks", "--json", check=True).stdout)
    assert {"arith", "arith_mc"} <= {t["name"] for t in tasks}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_formats(db_with_run: tuple[Path, str], tmp_path: Path, fmt: str) -> None:
    db, run_id = db_with_run
    target = tmp_path / f"out.{fmt}"
    assay("export", run_id, "--db", str(db), "--format", fmt, "-o", str(target), check=True)
    if fmt == "jsonl":
        lines = target.read_text().splitlines()
        assert json.loads(lines[0])["type"] == "run" and len(lines) == 25
    elif fmt == "csv":
        import csv

        with target.open(newline="") as handle:
            assert len(list(csv.DictReader(handle))) == 24
    else:
        import pyarrow.parquet as pq

        assert pq.read_table(target).num_rows == 24


BAD_INPUTS = [
    (["run", "--model", "nosuch:thing", "--task", "arith"], "--model"),
    (["run", "--model", "scripted:echo", "--task", "no_such_task"], "--task"),
    (["run", "--model", "scripted:echo", "--task", "arith", "--data-dir", "/no/such/dir"], "--data-dir"),
    (["run", "--model", "scripted:oracle=/no/such.json", "--task", "arith"], "oracle"),
    (["run", "--model", "hf:/no/such/model", "--task", "arith"], "hf:/no/such/model"),
    (["show", "deadbeef"], "RUN"),
    (["export", "deadbeef", "--format", "xml", "-o", "x.xml"], "--format"),
    (["list", "everything"], "list"),
]


@pytest.mark.parametrize(("args", "named"), BAD_INPUTS)
def test_bad_input_is_one_line_exit_2(db_with_run: tuple[Path, str], args: list[str], named: str) -> None:
    db, run_id = db_with_run
    before = json.loads(assay("show", run_id, "--db", str(db), "--json", check=True).stdout)
    out = assay(*args, "--db", str(db))
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in out.stderr
    after = json.loads(assay("show", run_id, "--db", str(db), "--json", check=True).stdout)
    assert after["samples"] == before["samples"] == 24


@pytest.mark.parametrize("url", ["foo://bar", "/no/such/folder/x.db", "postgresql://nobody@127.0.0.1:1/none"])
def test_bad_db_url(url: str) -> None:
    out = assay("list", "runs", "--db", url)
    assert out.returncode == 2 and "--db" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_parquet_and_csv_carry_run_id_and_score_columns(db_with_run: tuple[Path, str], tmp_path: Path) -> None:
    import csv

    import pyarrow.parquet as pq

    db, run_id = db_with_run
    for fmt in ("parquet", "jsonl", "csv"):
        assay("export", run_id, "--db", str(db), "--format", fmt, "-o", str(tmp_path / f"s.{fmt}"), check=True)
    table = pq.read_table(tmp_path / "s.parquet")
    assert set(table.column("run_id").to_pylist()) == {run_id}
    assert str(table.schema.field("scores.exact_match").type) == "double"
    assert str(table.schema.field("scores.acc").type) == "double"
    by_sample = {(r["task"], r["sample_id"]): r for r in table.to_pylist()}
    samples = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()[1:]]
    assert len(samples) == len(by_sample) == 24
    for sample in samples:
        row = by_sample[(sample["task"], sample["sample_id"])]
        assert {k: row[f"scores.{k}"] for k in sample["scores"]} == sample["scores"]
    with (tmp_path / "s.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header[0] == "run_id" and "scores.exact_match" in header and "scores" not in header
