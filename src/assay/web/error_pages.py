"""Error pages: a refused request is a page a person can read (the site's layout, what went wrong in a
sentence, where to go next) with the right status code; /api/ paths keep JSON. Nothing here shows a
Python repr or a traceback: validation problems become one line each, naming the parameter."""

from __future__ import annotations

import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay.web.rendering import render

_JSON_PATHS = ("/api/", "/openapi", "/static/")
_REFUSED_VALUE = "a parameter holds a value the database cannot take (e.g. a NUL character)"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(_JSON_PATHS)


def status_title(status: int) -> str:
    if status == 422:  # "Unprocessable Entity" means nothing to a reader
        return "Bad request"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def as_sentence(text: str) -> str:
    """A message as a sentence: capitalised (unless it starts by naming a parameter, `offset: ...`), with a full stop."""
    text = text.strip()
    if text and not re.match(r"[\w.\-]+: ", text):
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _sentence(status: int, detail: Any, path: str) -> str:
    """Starlette's own errors carry only the status phrase ("Not Found"): say what it means here."""
    text = str(detail)
    if status == 404 and text == "Not Found":
        return f"There is no page at {path}."
    if status == 405 and text == "Method Not Allowed":
        return f"{path} does not take this kind of request (open it as a link, or use its form)."
    return as_sentence(text)


def validation_lines(errors: Sequence[Any]) -> list[str]:
    """FastAPI's validation errors as one line each: `offset (query): Input should be ..., got "-1"`."""
    lines = []
    for error in errors:
        where = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
        name = ".".join(where) or "request"
        if error.get("type") == "missing":
            lines.append(f"{name}: this page needs it, e.g. ?{name}=… in the address.")
            continue
        given = error.get("input")
        got = "" if given is None or isinstance(given, (dict, list)) else f', got "{given}"'
        lines.append(as_sentence(f"{name}: {error.get('msg', 'invalid value')}{got}"))
    return lines


def error_page(status: int, lines: Sequence[str]) -> HTMLResponse:
    return HTMLResponse(render("error.html", status=status, title=status_title(status), lines=list(lines)),
                        status_code=status)


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # type: ignore[no-untyped-def]
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
        return error_page(exc.status_code, [_sentence(exc.status_code, exc.detail, request.url.path)])

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):  # type: ignore[no-untyped-def]
        if _wants_json(request):
            return await request_validation_exception_handler(request, exc)
        return error_page(422, validation_lines(exc.errors()))

    @app.exception_handler(DataError)
    async def refused_value(request: Request, exc: DataError):  # type: ignore[no-untyped-def]
        # The database refused a parameter (Postgres rejects NUL characters in text): bad input, not a crash.
        if _wants_json(request):
            return JSONResponse({"detail": _REFUSED_VALUE}, status_code=422)
        return error_page(422, [_REFUSED_VALUE])

