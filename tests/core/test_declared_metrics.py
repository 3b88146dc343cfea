"""Declared metrics: every task declares what it produces (direction, scale, one primary), every stored
metric row carries its declaration, and nothing downstream picks a metric by its name."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.metric_specs import MetricDeclarations
from assay.models import load_model
from assay.runner import Runner, RunOptions
from assay.store import Store
from assay.tasks import TaskContext, get_task, task_entries
from assay.web.leaderboard import build_leaderboard

# Small grids so the long-context tasks run in well under a second on a scripted model.
SMALL = {"niah_multineedle": "lengths=256/n=1", "variable_tracking": "lengths=256/n=1",
         "common_words": "lengths=256/n=1", "frequent_words": "lengths=256/n=1",
         "position_sweep": "lengths=256/n=1"}
LONGCTX_SMALL = "lengths=256+512/depths=0+100/n=1"


def _name(entry_name: str, family: str) -> str:
    if family != "longctx":
        return entry_name
    return f"{entry_name}:{SMALL.get(entry_name, LONGCTX_SMALL)}"


def _offline_tasks() -> list[str]:
    """Every registered task that needs no data folder (the benchmarks are covered with ../shared/data below)."""
    return [_name(e.name, e.family) for e in task_entries()
            if e.family in ("longctx", "builtin") and e.name != "position_sweep"]


def _run(store: Store, model: str, names: list[str], ctx: TaskContext | None = None, limit: int | None = None) -> str:
    loaded = load_model(model)
    tasks = [get_task(n) for n in names]
    options = RunOptions(seed=5, limit=limit, show_progress=False, context=ctx or TaskContext())
    return Runner(loaded, store).run(tasks, options).run_id


def _assert_declared(store: Store, run_id: str) -> None:
    rows = store.get_metrics(run_id)
    assert rows
    by_task: dict[str, list[dict]] = {}
    for row in rows:
        by_task.setdefault(row["task"], []).append(row)
    for task, task_rows in by_task.items():
        undeclared = [r["name"] for r in task_rows if r["aggregation"] == "undeclared"]
        assert not undeclared, f"{task}: undeclared metrics {undeclared}"
        assert sum(1 for r in task_rows if r["primary"]) == 1, task
        names = [r["name"] for r in task_rows]
        assert len(names) == len(set(names)), task


@pytest.mark.parametrize("model", ["scripted:echo", "scripted:constant=The answer is not in the document."])
def test_every_offline_task_declares_everything_it_produces(tmp_path: Path, model: str) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    run_id = _run(store, model, _offline_tasks(), limit=4)
    _assert_declared(store, run_id)


@pytest.mark.shared_data
def test_benchmark_tasks_declare_everything_they_produce(tmp_path: Path, shared_data_dir: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    names = ["gsm8k", "bbh_cot:boolean_expressions", "bbh_direct:boolean_expressions", "musr:team_allocation",
             "musr_gen:team_allocation"]
    run_id = _run(store, "scripted:echo", names, TaskContext(data_dir=shared_data_dir), limit=3)
    _assert_declared(store, run_id)


def test_declarations_need_exactly_one_primary() -> None:
    from assay.metric_specs import score

    with pytest.raises(ValueError, match="exactly one primary"):
        MetricDeclarations("t", [score("a"), score("b")])
    with pytest.raises(ValueError, match="exactly one primary"):
        MetricDeclarations("t", [score("a", primary=True), score("b", primary=True)])


def test_show_json_gives_direction_and_one_primary_on_unanswerable(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'u.db'}"
    run_id = _run(Store(db), "scripted:constant=Paris", ["unanswerable:lengths=256+512/depths=0+100/n=1"])
    result = CliRunner().invoke(app, ["show", run_id, "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["metrics"]
    by_name = {m["name"]: m for m in metrics}
    assert by_name["hallucination"]["higher_is_better"] is False
    assert by_name["false_refusal"]["higher_is_better"] is False
    assert by_name["score"]["higher_is_better"] is True
    assert [m["name"] for m in metrics if m["primary"]] == ["score"]
    # No figure twice: the label rates are the per-sample means, not second rows beside them.
    assert len(by_name) == len(metrics)
    assert not [name for name in by_name if name.endswith("_rate")]
    assert by_name["hallucination"]["n"] == 4  # the unanswerable twins only
    assert by_name["labels"]["extra"]["n_unanswerable"] == 4


def test_leaderboard_ranks_each_task_by_its_declared_primary(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'l.db'}")
    task = "qa_needle:lengths=256+512/depths=0+100/n=1"
    _run(store, "scripted:echo", [task])
    _run(store, "scripted:constant=nothing", [task])
    board = build_leaderboard(store.engine)
    cells = [m["cells"][task] for m in board.models]
    # `decoy_confusion` comes first alphabetically; the declared primary is `score`.
    assert {c["metric"] for c in cells} == {"score"}


def test_lower_is_better_primary_is_ranked_as_one_minus_value() -> None:
    from assay.web.leaderboard import rankable_rows

    row = {"model": "m", "task": "t", "run_id": "r", "metric": "error_rate", "value": 0.2, "ci_low": 0.1,
           "ci_high": 0.3, "n": 10, "method": "wilson", "higher_is_better": False, "scale": "0..1"}
    kept, notes = rankable_rows([row, {**row, "task": "ppl", "scale": "perplexity"}])
    assert [(r["task"], r["metric"], r["value"], r["ci_low"], r["ci_high"]) for r in kept] == \
        [("t", "1 − error_rate", pytest.approx(0.8), pytest.approx(0.7), pytest.approx(0.9))]
    assert notes == ["left out (the primary metric is not on the 0..1 scale of the other tasks): "
                     "m / ppl (error_rate: perplexity)"]


def test_a_store_from_before_declarations_is_migrated_and_its_runs_left_unranked(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store(f"sqlite:///{path}")
    run_id = _run(store, "scripted:echo", ["arith"], limit=3)
    store.engine.dispose()
    # Make it an old store: the metrics table without the declaration columns.
    with sqlite3.connect(path) as conn:
        for column in ("higher_is_better", "primary", "scale", "aggregation"):
            conn.execute(f'ALTER TABLE metrics DROP COLUMN "{column}"')
    reopened = Store(f"sqlite:///{path}")
    rows = reopened.get_metrics(run_id)
    assert rows and all(r["primary"] is None and r["higher_is_better"] is None for r in rows)
    board = build_leaderboard(reopened.engine)
    assert board.models == []
    assert any("stored before metrics were declared" in note for note in board.notes)


def test_run_page_marks_direction_and_the_primary_metric(tmp_path: Path) -> None:
    import re

    from fastapi.testclient import TestClient

    from assay.web import create_app

    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    run_id = _run(store, "scripted:constant=Paris", ["unanswerable:lengths=256/depths=0/n=1"])
    page = TestClient(create_app(store, admin_token="")).get(f"/runs/{run_id}").text
    cells = dict(re.findall(r'<td data-sort="(hallucination|score)">(.*?)</td>', page))
    assert "lower is better" in cells["hallucination"] and "primary" not in cells["hallucination"]
    assert "higher is better" in cells["score"] and "primary" in cells["score"]
