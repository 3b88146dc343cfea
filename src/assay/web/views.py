"""What each page shows, as plain data: the JSON API returns it, the HTML pages render it."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from fastapi import HTTPException
from sqlalchemy import Engine

from assay.store.search import BadSearch
from assay.web import queries


def finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: non-finite floats become null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def json_bytes(data: Any) -> bytes:
    """Strict JSON (NaN/Infinity become null) without a per-field encoder pass: the leaderboard has
    thousands of cells, and fastapi's jsonable_encoder costs more than the query."""
    try:
        text = json.dumps(data, allow_nan=False, ensure_ascii=False, default=_json_default, separators=(",", ":"))
    except ValueError:
        text = json.dumps(finite(data), allow_nan=False, ensure_ascii=False, default=_json_default, separators=(",", ":"))
    return text.encode("utf-8")


def run_or_404(engine: Engine, run_id: str) -> dict[str, Any]:
    run = queries.find_run(engine, run_id)
    if run is None:
        raise HTTPException(404, f"no run with id {run_id!r}")
    return run


def run_detail(engine: Engine, run_id: str) -> dict[str, Any]:
    run = run_or_404(engine, run_id)
    return {**run, "metrics": queries.run_metrics(engine, run["id"]), "sample_tasks": queries.run_tasks(engine, run["id"])}


def sample_view(row: dict[str, Any]) -> dict[str, Any]:
    """A stored sample as the browser shows it: response texts pulled out of the response records."""
    responses = row.get("responses") or []
    return {**row, "response_texts": [r.get("text") for r in responses if isinstance(r, dict)],
            "response_errors": [r.get("error") for r in responses if isinstance(r, dict) and r.get("error")]}


def samples(engine: Engine, run_id: str, task: str | None, q: str | None, page: int, per_page: int,
            cursor: str | None, match: str = "words") -> dict[str, Any]:
    run = run_or_404(engine, run_id)
    try:
        result = queries.sample_page(engine, run["id"], task or None, q or None, page, per_page, cursor or None,
                                     match=match)
    except (queries.BadCursor, BadSearch) as exc:
        raise HTTPException(422, str(exc)) from None
    return {"run_id": run["id"], "task": task or None, "q": q or None, "match": match, "page": result.page,
            "per_page": result.per_page, "total": result.total, "total_is_lower_bound": result.total_is_lower_bound,
            "next_cursor": result.next_cursor, "samples": [sample_view(r) for r in result.rows]}


def search(engine: Engine, q: str, run_id: str | None, task: str | None, per_page: int, after: int | None) -> dict[str, Any]:
    """Store-wide word search (every run), a page at a time by keyset (`after`)."""
    try:
        result = queries.search_samples(engine, q, run_id or None, task or None, per_page, after)
    except BadSearch as exc:
        raise HTTPException(422, str(exc)) from None
    return {"q": q, "run_id": run_id or None, "task": task or None, "per_page": result.per_page, "total": result.total,
            "total_is_lower_bound": result.total_is_lower_bound, "next_after": result.after,
            "samples": [sample_view(r) for r in result.rows]}


def model_detail(engine: Engine, model: str) -> dict[str, Any]:
    latest = queries.latest_task_runs(engine, model=model)
    if not latest:
        raise HTTPException(404, f"no complete run of model {model!r}")
    rows = queries.metrics_for(engine, [(r["run_id"], r["task"]) for r in latest])
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_task.setdefault(row["task"], []).append({k: v for k, v in row.items() if k != "pk"})
    return {"model": model, "tasks": [{"task": r["task"], "run_id": r["run_id"], "created_at": r["created_at"],
                                       "metrics": by_task.get(r["task"], [])} for r in latest]}


def _best_first(primary: dict[str, Any] | None) -> float:
    """Sort key: best first by the primary metric's declared direction; rows without a value last."""
    if primary is None or primary["value"] is None or primary["higher_is_better"] is None:
        return math.inf
    return -primary["value"] if primary["higher_is_better"] else primary["value"]


def task_detail(engine: Engine, task: str) -> dict[str, Any]:
    latest = queries.latest_task_runs(engine, task=task)
    if not latest:
        raise HTTPException(404, f"no complete run of task {task!r}")
    primary = {r["model"]: r for r in queries.primary_metric_rows(engine, task=task)}
    rows = queries.metrics_for(engine, [(r["run_id"], r["task"]) for r in latest])
    by_run: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_run.setdefault(row["run_id"], []).append({k: v for k, v in row.items() if k != "pk"})
    models = [{"model": r["model"], "run_id": r["run_id"], "created_at": r["created_at"],
               "primary": primary.get(r["model"]), "metrics": by_run.get(r["run_id"], [])} for r in latest]
    models.sort(key=lambda m: _best_first(m["primary"]))
    return {"task": task, "models": models}
