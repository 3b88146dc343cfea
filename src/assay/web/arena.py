"""The arena page (/arena, JSON twin /api/arena): Bradley–Terry ratings with intervals, rank intervals,
separability, style control, the pairwise win-rate matrix as an SVG heatmap, the null-model canary and
the judges' agreement, from every stored pairwise judgment (judges and the labelling page's human votes);
/arena/battles lists the battles and /arena/battles/{pk} shows one: the prompt, both outputs and the
rater's verdict and reasoning. The engine is `assay.arena.leaderboard`, shared with `assay arena`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, or_, select

from assay.arena.battles import HOW_TO_STORE_BATTLES, NoRatableBattles, describe_skipped
from assay.errors import AssayError
from assay.judges.store import iter_judgments
from assay.judges.types import Judgment
from assay.store.schema import judgments as judgments_table
from assay.web import views
from assay.web.rendering import render

router = APIRouter()
PER_PAGE = 50
ROUNDS = 1000
_CELL = 34


def heat_colour(rate: float | None) -> str:
    """0 → red, ½ → white, 1 → blue (an SVG fill attribute: the CSP forbids inline styles)."""
    if rate is None:
        return "#eeeeee"
    toward = (59, 110, 200) if rate >= 0.5 else (205, 70, 60)
    share = min(1.0, abs(rate - 0.5) * 2.0)
    r, g, b = (round(255 + (c - 255) * share) for c in toward)
    return f"#{r:02x}{g:02x}{b:02x}"


def _heatmap(board: dict[str, Any]) -> dict[str, Any]:
    models = board["matrix"]["models"]
    cells = [{"x": 160 + j * _CELL, "y": 20 + i * _CELL, "rate": rate, "fill": heat_colour(rate),
              "row": models[i], "column": models[j],
              "text": "" if rate is None else f"{round(100 * rate)}"}
             for i, row in enumerate(board["matrix"]["win_rate"]) for j, rate in enumerate(row)]
    return {"models": models, "cells": cells, "cell": _CELL, "width": 170 + len(models) * _CELL,
            "height": 30 + len(models) * _CELL + 130}


def _board(request: Request, task: str | None, rounds: int) -> tuple[dict[str, Any] | None, dict[str, int]]:
    """The arena board, or None with the skip counts when no stored battle has a verdict to rate (none
    stored, or every verdict a rater error): an empty state, not a bad request."""
    rows = [j for j in iter_judgments(request.app.state.store, kind="pairwise") if task is None or j.task == task]
    if not rows:
        return None, {}
    from assay.arena.leaderboard import arena_leaderboard

    try:
        board = arena_leaderboard(rows, rounds=rounds)
    except NoRatableBattles as exc:
        return None, exc.skipped
    except AssayError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    board["task"] = task
    return board, {}


def _tasks(request: Request) -> list[str]:
    with request.app.state.engine.connect() as conn:
        return sorted(t for (t,) in conn.execute(select(judgments_table.c.task).distinct()
                                                 .where(judgments_table.c.kind == "pairwise")) if t)


@router.get("/arena", response_class=HTMLResponse, include_in_schema=False)
def arena_page(request: Request, task: str | None = None,
               rounds: int = Query(ROUNDS, ge=10, le=5000)) -> HTMLResponse:
    board, skipped = _board(request, task or None, rounds)
    return HTMLResponse(render("arena.html", active="arena", board=board, task=task or None, tasks=_tasks(request),
                               heatmap=_heatmap(board) if board else None, skipped=skipped,
                               n_skipped=sum(skipped.values()), skipped_text=describe_skipped(skipped)))


@router.get("/api/arena", tags=["api"], summary="Arena leaderboard: Bradley–Terry ratings with CIs, separability, "
                                                "style control, win-rate matrix, null-model canary, agreement")
def arena_api(request: Request, task: str | None = None, rounds: int = Query(ROUNDS, ge=10, le=5000)) -> Response:
    board, skipped = _board(request, task or None, rounds)
    if board is None:
        raise HTTPException(status_code=404, detail=str(NoRatableBattles(skipped)) + (f" (task {task})" if task else ""))
    return Response(views.json_bytes(board), media_type="application/json")


def _battle_view(pk: int, judgment: Judgment) -> dict[str, Any]:
    winner = {"a": judgment.model_a, "b": judgment.model_b, "tie": "tie"}.get(judgment.verdict or "")
    return {"pk": pk, "j": judgment, "winner": winner}


@router.get("/arena/battles", response_class=HTMLResponse, include_in_schema=False)
def battles_page(request: Request, model: str | None = None, task: str | None = None,
                 page: int = Query(1, ge=1)) -> HTMLResponse:
    table = judgments_table
    query = select(table).where(table.c.kind == "pairwise")
    if model:
        query = query.where(or_(table.c.model_a == model, table.c.model_b == model))
    if task:
        query = query.where(table.c.task == task)
    with request.app.state.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(table.c.pk).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).mappings().all()
    battles = [_battle_view(int(r["pk"]), Judgment.from_row(dict(r))) for r in rows]
    pages = max(1, -(-int(total) // PER_PAGE))
    return HTMLResponse(render("arena_battles.html", active="arena", battles=battles, total=total, page=page,
                               pages=pages, model=model or None, task=task or None, how_to=HOW_TO_STORE_BATTLES))


@router.get("/arena/battles/{pk}", response_class=HTMLResponse, include_in_schema=False)
def battle_page(request: Request, pk: int) -> HTMLResponse:
    with request.app.state.engine.connect() as conn:
        row = conn.execute(select(judgments_table).where(judgments_table.c.pk == pk)).mappings().first()
    if row is None or row["kind"] != "pairwise":
        raise HTTPException(status_code=404, detail=f"no pairwise battle {pk}")
    return HTMLResponse(render("arena_battle.html", active="arena", b=_battle_view(pk, Judgment.from_row(dict(row)))))
