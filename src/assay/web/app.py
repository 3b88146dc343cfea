"""The FastAPI app: leaderboard, run pages with a sample browser, comparisons, and a JSON API behind
every page. Read-only unless ASSAY_ADMIN_TOKEN is set; everything (CSS, JS) is served from the
package, no CDN."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from assay.store import Store
from assay.web import api, arena, labelling, pages
from assay.web.error_pages import install_error_pages

ADMIN_TOKEN_ENV = "ASSAY_ADMIN_TOKEN"
STATIC_DIR = Path(__file__).resolve().parent / "static"

# Pages load only their own scripts and styles; model outputs can never bring in code.
_SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def writes_enabled(admin_token: str | None = None) -> bool:
    """Whether the app may write: an admin token (uploads, deletions) or a labelling token (votes) is set."""
    token = admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV, "")
    return bool(token or os.environ.get(labelling.LABEL_TOKEN_ENV, ""))


def create_app(db: str | Store | None = None, admin_token: str | None = None) -> FastAPI:
    """`db`: a Store or a database URL (default: $ASSAY_DB or sqlite:///assay.db), opened read-only (never
    created nor changed) unless writes are enabled. `admin_token`: enables write endpoints; default
    $ASSAY_ADMIN_TOKEN; empty or unset = read-only."""
    store = db if isinstance(db, Store) else Store(db, read_only=not writes_enabled(admin_token))
    token = admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV, "")
    # /docs and /redoc load their scripts from a CDN: off. The schema stays at /openapi.json.
    app = FastAPI(title="assay", summary="Leaderboard, run browser and comparisons of language-model evaluations.",
                  version="1", docs_url=None, redoc_url=None)
    app.state.store = store
    app.state.engine = store.engine
    app.state.admin_token = token or None
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(labelling.router)  # /label, /agreement, /api/agreement (issue 11)
    app.include_router(arena.router)  # /arena, /arena/battles, /api/arena (issue 12)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    install_error_pages(app)
    return app
