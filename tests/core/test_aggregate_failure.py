"""A task-level aggregate that raises is reported — printed by `assay run` and stored as a metric row
with the task and the exception's one-line message — never dropped silently, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.store import Store
from assay.tasks.builtin.arithmetic import ArithmeticTask


def test_a_failing_aggregate_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: ArithmeticTask, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        raise ValueError("cannot summarise these rows\nsecond line of detail")

    monkeypatch.setattr(ArithmeticTask, "aggregate", broken)
    db = tmp_path / "assay.db"
    result = CliRunner().invoke(app, ["run", "--model", "scripted:echo", "--task", "arith", "--limit", "3",
                                      "--db", str(db), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    message = "arith: task-level metrics failed (ValueError: cannot summarise these rows)"
    assert message in " ".join(result.output.split())
    assert "second line of detail" not in result.output
    store = Store(str(db), read_only=True)
    (run,) = store.list_runs()
    rows = {row["name"]: row for row in store.get_metrics(run["id"])}
    assert message in rows["aggregate_error"]["extra"]["note"]
    # The per-sample metrics are still there.
    assert rows["exact_match"]["n"] == 3
