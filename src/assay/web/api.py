"""The JSON API (`/api/...`): one endpoint behind every page, plus admin-only upload and delete."""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from assay.web import queries, views
from assay.web.compare import web_comparison
from assay.web.leaderboard import build_leaderboard
from assay.web.upload import MAX_UPLOAD_BYTES, UploadError, parse_bundle, store_bundle

router = APIRouter(prefix="/api", tags=["api"])
_bearer = HTTPBearer(auto_error=False, description="The admin token set in ASSAY_ADMIN_TOKEN (write endpoints only)")

RunId = Annotated[str, Query(min_length=1, max_length=64)]
Text = Annotated[str | None, Query(max_length=200)]


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def require_admin(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    expected = request.app.state.admin_token
    if not expected:
        raise HTTPException(403, "writes are disabled: the server was started without ASSAY_ADMIN_TOKEN")
    given = credentials.credentials if credentials is not None else ""
    # Constant-time comparison: the token never leaks through timing.
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong admin token (send `Authorization: Bearer <token>`)",
                            headers={"WWW-Authenticate": "Bearer"})


def _json(data: Any, status_code: int = 200) -> Response:
    return Response(views.json_bytes(data), status_code=status_code, media_type="application/json")


@router.get("/leaderboard", summary="Models × tasks, aggregated with CIs and rank intervals")
def leaderboard(request: Request, family: Text = None, backend: Text = None) -> Response:
    return _json(build_leaderboard(engine_of(request), family or None, backend or None).to_dict())


@router.get("/runs", summary="Stored runs, newest first")
def list_runs(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
              offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    return _json(queries.list_runs(engine_of(request), limit, offset))


@router.get("/runs/{run_id}", summary="A run: manifest, metrics with CIs, tasks")
def get_run(request: Request, run_id: str) -> Response:
    return _json(views.run_detail(engine_of(request), run_id))


Match = Annotated[Literal["words", "substring"], Query(
    description="words: the full-text index (words and \"phrases\", case-insensitive); "
                "substring: case-insensitive substring, a scan of the run")]


@router.get("/runs/{run_id}/samples", summary="A page of a run's samples (search over prompt, response, extracted)")
def run_samples(request: Request, run_id: str, task: Text = None,
                q: Annotated[str | None, Query(max_length=200, description="words and \"phrases\" (see match)")] = None,
                page: Annotated[int, Query(ge=1, le=10**6)] = 1,
                per_page: Annotated[int, Query(ge=1, le=200)] = 50,
                cursor: Annotated[str | None, Query(max_length=600, description="next_cursor of the previous page")] = None,
                match: Match = "words",
                ) -> Response:
    return _json(views.samples(engine_of(request), run_id, task, q, page, per_page, cursor, match))


@router.get("/search", summary="Word search over the samples of every run (count capped: see total_is_lower_bound)")
def search(request: Request,
           q: Annotated[str, Query(min_length=1, max_length=200, description="words and \"phrases\", case-insensitive")],
           run: Annotated[str | None, Query(max_length=64)] = None, task: Text = None,
           per_page: Annotated[int, Query(ge=1, le=200)] = 50,
           after: Annotated[int | None, Query(ge=0, le=2**62, description="next_after of the previous page")] = None,
           match: Annotated[Literal["words", "substring"], Query(description="words only here")] = "words",
           ) -> Response:
    if match != "words":
        # A substring test has no index: over every run it would scan the whole store.
        raise HTTPException(422, "match: substring search is offered within one run only (/api/runs/RUN/samples)")
    return _json(views.search(engine_of(request), q, run, task, per_page, after))


@router.get("/compare", summary="Paired comparison of two runs, task by task")
def compare(request: Request, a: RunId, b: RunId) -> Response:
    engine = engine_of(request)
    run_a, run_b = views.run_or_404(engine, a), views.run_or_404(engine, b)
    return _json(web_comparison(request.app.state.store, run_a["id"], run_b["id"]))


@router.get("/model", summary="A model's latest results per task, with chart data")
def model(request: Request, name: Annotated[str, Query(min_length=1, max_length=2000)]) -> Response:
    return _json(views.model_detail(engine_of(request), name))


@router.get("/task", summary="A task's latest results per model, with chart data")
def task(request: Request, name: Annotated[str, Query(min_length=1, max_length=200)]) -> Response:
    return _json(views.task_detail(engine_of(request), name))


_BUNDLE_BODY = {"requestBody": {"required": True, "description": "the output of `assay export RUN --format jsonl`",
                                "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}}


@router.post("/runs", status_code=201, dependencies=[Depends(require_admin)], openapi_extra=_BUNDLE_BODY,
             summary="Upload a run bundle (admin token; ≤ 50 MB; stored all or nothing)",
             responses={401: {"description": "missing or wrong token"}, 403: {"description": "writes disabled"},
                        409: {"description": "run id already stored"}, 413: {"description": "bundle too large"},
                        422: {"description": "malformed bundle"}})
async def upload_run(request: Request) -> Response:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"bundle larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    body = bytearray()
    # Counted while streaming: a missing or lying Content-Length cannot get past the limit.
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"bundle larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    try:
        header, sample_lines = parse_bundle(bytes(body))
        stored = store_bundle(engine_of(request), header, sample_lines)
    except UploadError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return _json(stored, status_code=201)


@router.delete("/runs/{run_id}", status_code=204, dependencies=[Depends(require_admin)],
               summary="Delete a run with its samples and metrics (admin token)",
               responses={401: {"description": "missing or wrong token"}, 403: {"description": "writes disabled"},
                          404: {"description": "no such run"}})
def delete_run(request: Request, run_id: str) -> Response:
    engine = engine_of(request)
    run = queries.find_run(engine, run_id)
    if run is None or run["id"] != run_id:
        # Deletion takes the exact id only: a prefix must never delete by accident.
        raise HTTPException(404, f"no run with id {run_id!r}")
    request.app.state.store.delete_run(run_id)
    return Response(status_code=204)
