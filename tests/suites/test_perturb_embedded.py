"""End to end on the embedded model (slow): --perturb and sycophancy:TASK in one run, every paired row
with a finite interval, stored and printed."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from assay.cli import main
from assay.store import Store

pytestmark = pytest.mark.slow


def test_embedded_model_perturbed_and_sycophancy_rows(tmp_path: Path, capsys) -> None:
    db = tmp_path / "e.db"
    main(["run", "-m", "embedded", "--task", "arith_mc", "--perturb", "typos,option_shuffle", "--limit", "8",
          "--db", str(db), "--no-progress"])
    assert "perturbation arith_mc · typos (acc): clean" in capsys.readouterr().out
    main(["run", "-m", "embedded", "--task", "sycophancy:arith_mc", "--limit", "8", "--db", str(db), "--no-progress"])
    assert "sycophancy sycophancy:arith_mc · wrong_opinion (acc)" in capsys.readouterr().out
    store = Store(str(db), read_only=True)
    rows = [m for run in store.list_runs() for m in store.get_metrics(run["id"])]
    paired = [m for m in rows if m["name"].split("/")[0] in ("perturb_diff", "syco_diff", "flip_rate")]
    assert len(paired) == 2 * 2 + 2 * 2
    for row in paired:
        assert row["n"] == 8 and row["ci_low"] <= row["value"] <= row["ci_high"]
        assert math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"])
    assert all(m["aggregation"] != "undeclared" for m in rows)
