"""The acceptance as CLI output: `assay import judgments … && assay agreement --json` on the real data
(subprocesses of the real CLI) gives the published figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assay.store import Store


def assay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, timeout=300)


def _import_and_agree(tmp_path: Path, path: Path, fmt: str, *agreement_args: str) -> dict:
    db = str(tmp_path / f"{fmt}.db")
    imported = assay("import", "judgments", str(path), "--format", fmt, "--db", db)
    assert imported.returncode == 0, imported.stderr
    out = assay("agreement", "--db", db, "--json", *agreement_args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _entry(report: dict, judge: str) -> dict:
    return next(e for e in report["judges"] if e["judge"] == judge)


def _k_n(estimate: dict) -> str:
    return f"{estimate['k']}/{estimate['n']}"


def test_cli_llmbar_mt_bench(judges_dir: Path, tmp_path: Path) -> None:
    report = _import_and_agree(tmp_path, judges_dir / "llmbar" / "Processed" / "MT-Bench", "llmbar")
    assert report["reference"] == "label"
    entry = _entry(report, "GPT-4/Vanilla_NoRules")
    assert [_k_n(entry["accuracy"]["ab"]), _k_n(entry["accuracy"]["ba"]), _k_n(entry["both_orders"]),
            _k_n(entry["positional_agreement"])] == ["159/200", "165/200", "149/200", "174/200"]
    assert f"{entry['accuracy']['average']['value']:.1%}" == "81.0%"
    assert round(entry["cohen_kappa"]["ab"]["value"], 2) == 0.59
    assert entry["bias"]["position"]["first_position_win_rate"]["n"] == 400


def test_cli_llmbar_natural_swap(judges_dir: Path, tmp_path: Path) -> None:
    report = _import_and_agree(tmp_path, judges_dir / "llmbar" / "LLMBar" / "Natural", "llmbar", "--judge", "GPT-4/Swap")
    entry = _entry(report, "GPT-4/Swap")
    assert [_k_n(entry["accuracy"]["ab"]), _k_n(entry["accuracy"]["ba"]), _k_n(entry["both_orders"]),
            _k_n(entry["positional_agreement"])] == ["94/100", "95/100", "93/100", "97/100"]
    assert entry["accuracy"]["average"]["value"] == pytest.approx(0.945)


def test_cli_prd(judges_dir: Path, tmp_path: Path) -> None:
    report = _import_and_agree(tmp_path, judges_dir / "prd" / "vicuna80", "prd")
    assert report["reference"] == "human"
    entry = _entry(report, "gpt4")
    assert entry["accuracy"]["all"]["value"] == 0.6425
    assert entry["fleiss_kappa"]["value"] == 0.4062941127626006
    assert {m: v["value"] for m, v in entry["win_rate"]["reference"].items()} == {
        "gpt4": 0.821875, "claude": 0.6890625, "vicuna-13b": 0.3890625, "gpt35": 0.3140625, "bard": 0.2859375}
    assert {m: v["value"] for m, v in entry["win_rate"]["judge"].items()} == {
        "gpt4": 0.85625, "claude": 0.70859375, "vicuna-13b": 0.3484375, "gpt35": 0.3421875, "bard": 0.24453125}
    assert entry["bias"]["self_preference"]["family"] == "gpt"


def test_cli_usage_errors(judges_dir: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "e.db")
    missing = assay("agreement", "--db", db)
    assert missing.returncode == 2 and "no database" in missing.stderr
    Store(db).close()
    empty = assay("agreement", "--db", db)
    assert empty.returncode == 2 and "no judgments stored" in empty.stderr
    assay("import", "judgments", str(judges_dir / "llmbar" / "LLMBar" / "Natural"), "--format", "llmbar", "--db", db)
    for args, message in ((("--judge", "nobody"), "--judge nobody: no judgments by that rater"),
                          (("--reference", "nobody"), "--reference nobody: no readable pairwise verdicts"),
                          (("--source", "import:x"), "--source import:x: not stored")):
        out = assay("agreement", "--db", db, *args)
        assert out.returncode == 2 and message in out.stderr and out.stderr.count("\n") == 1, out.stderr
    text = assay("bias", "--db", db)
    assert text.returncode == 0 and "first-position win rate" in text.stdout
