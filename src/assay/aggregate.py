"""Corpus-level metrics computed from stored sample rows (never from the model), so re-scoring and
new statistics need no re-run. Every row carries its declaration (direction, scale, primary) from the
task that produced it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from assay.metric_specs import MetricDeclarations
from assay.stats.summary import summarize
from assay.store import Store
from assay.tasks.base import Task

_ROW_COLUMNS = ("sample_id", "scores", "cluster", "error_kind", "metadata", "extracted")


def _empty_row(task_name: str, n: int) -> dict[str, Any]:
    return {"task": task_name, "value": None, "ci_low": None, "ci_high": None, "stderr": None, "n": n,
            "method": "task", "extra": {}}


def task_metric_rows(task: Task, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean ± CI per score name (samples whose request failed are excluded and counted), counts of
    errors and unparsable outputs, and the task's own aggregates, each with its declaration.

    A task aggregate that raises is reported as an `aggregate_error` row (its one-line message), never
    dropped silently and never allowed to lose the stored samples."""
    values: dict[str, list[float]] = defaultdict(list)
    clusters: dict[str, list[str | None]] = defaultdict(list)
    n_failed = sum(1 for r in rows if r["error_kind"] == "request_failed")
    n_unparsable = sum(1 for r in rows if r["error_kind"] == "unparsable")
    for row in rows:
        if row["error_kind"] == "request_failed":
            continue
        for name, value in (row["scores"] or {}).items():
            if value is None:
                continue
            values[name].append(float(value))
            clusters[name].append(row["cluster"])
    out = []
    for name in sorted(values):
        summary = summarize(values[name], clusters[name])
        out.append({"task": task.name, "name": name, **summary.to_dict(), "extra": {}})
    for name, count in (("n_samples", len(rows)), ("n_request_errors", n_failed), ("n_unparsable", n_unparsable)):
        out.append({"task": task.name, "name": name, "value": count, "ci_low": None, "ci_high": None,
                    "stderr": None, "n": len(rows), "method": "count", "extra": {}})
    try:
        aggregates = task.aggregate(rows)
    except Exception as exc:  # a task's own statistics: whatever it raises is reported, not fatal
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        aggregates = [{"name": "aggregate_error",
                       "extra": {"note": f"{task.name}: task-level metrics failed ({exc.__class__.__name__}: {message}); "
                                         "per-sample metrics are unaffected"}}]
    out.extend({**_empty_row(task.name, len(rows)), **extra} for extra in aggregates)
    return MetricDeclarations(task.name, task.metrics()).declare(out)


def compute_run_metrics(store: Store, run_id: str, tasks: Sequence[Task]) -> list[dict[str, Any]]:
    """Recompute and store the metrics of a run from its stored samples, with the run's task objects."""
    metric_rows: list[dict[str, Any]] = []
    for task in tasks:
        rows = list(store.iter_samples(run_id, task.name, columns=_ROW_COLUMNS))
        metric_rows.extend(task_metric_rows(task, rows))
    store.replace_metrics(run_id, metric_rows)
    return metric_rows
