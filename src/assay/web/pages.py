"""HTML pages. Each renders the same data its /api twin returns; sorting is done client-side by
/static/app.js, filtering and paging by plain GET forms (so everything works without JavaScript)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse

from assay.web import queries, views
from assay.web.charts import charts_for
from assay.web.compare import web_comparison
from assay.web.leaderboard import build_leaderboard
from assay.web.rendering import render

router = APIRouter(include_in_schema=False)
Text = Annotated[str | None, Query(max_length=200)]
SAMPLES_PER_PAGE = 20


def _page(template: str, **context: object) -> HTMLResponse:
    return HTMLResponse(render(template, **context))


@router.get("/", response_class=HTMLResponse)
def leaderboard_page(request: Request, family: Text = None, backend: Text = None) -> HTMLResponse:
    board = build_leaderboard(request.app.state.engine, family or None, backend or None)
    # Encoded once per task, not once per cell: Jinja's urlencode filter is slow on thousands of cells.
    task_params = {t: urlencode({"task": t}) for t in board.tasks}
    task_names = {t: urlencode({"name": t}) for t in board.tasks}
    return _page("leaderboard.html", board=board, task_params=task_params, task_names=task_names, active="leaderboard")


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> HTMLResponse:
    runs = queries.list_runs(request.app.state.engine, limit=100, offset=offset)
    return _page("runs.html", runs=runs, offset=offset, active="runs")


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, task: Text = None, q: Text = None,
             page: Annotated[int, Query(ge=1, le=10**6)] = 1,
             match: Annotated[Literal["words", "substring"], Query()] = "words") -> HTMLResponse:
    engine = request.app.state.engine
    run = views.run_detail(engine, run_id)
    tasks = [t["task"] for t in run["sample_tasks"]]
    if task and task not in tasks:
        raise HTTPException(404, f"run {run['id']} has no task {task!r}")
    shown_task = task or (tasks[0] if tasks else None)
    sample_page = views.samples(engine, run["id"], shown_task, q, page, SAMPLES_PER_PAGE, None, match)
    charts = {name: charts_for([m for m in run["metrics"] if m["task"] == name]) for name in tasks}
    from assay.perturb.report import paired_entries

    return _page("run.html", run=run, task=shown_task, q=q or "", match=match, sample_page=sample_page, charts=charts,
                 robustness=paired_entries(run["metrics"]),
                 sample_records=views.finite(jsonable_encoder(sample_page["samples"])), active="runs")


@router.get("/model", response_class=HTMLResponse)
def model_page(request: Request, name: Annotated[str, Query(min_length=1, max_length=2000)]) -> HTMLResponse:
    detail = views.model_detail(request.app.state.engine, name)
    charts = {t["task"]: charts_for(t["metrics"]) for t in detail["tasks"]}
    return _page("model.html", detail=detail, charts=charts, active="leaderboard")


@router.get("/task", response_class=HTMLResponse)
def task_page(request: Request, name: Annotated[str, Query(min_length=1, max_length=200)]) -> HTMLResponse:
    detail = views.task_detail(request.app.state.engine, name)
    model_of_run = {m["run_id"]: m["model"] for m in detail["models"]}
    rows = [row for m in detail["models"] for row in m["metrics"]]
    charts = charts_for(rows, label_of=lambda row: model_of_run.get(row["run_id"], row["run_id"]))
    return _page("task.html", detail=detail, charts=charts, active="leaderboard")


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: Annotated[str | None, Query(max_length=64)] = None,
                 b: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    engine = request.app.state.engine
    runs = queries.list_runs(engine, limit=200)
    result = None
    run_a = run_b = None
    if a and b:
        run_a, run_b = views.run_or_404(engine, a), views.run_or_404(engine, b)
        result = web_comparison(request.app.state.store, run_a["id"], run_b["id"])
    return _page("compare.html", runs=runs, a=a or "", b=b or "", run_a=run_a, run_b=run_b, result=result,
                 active="compare")
