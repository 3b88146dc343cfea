"""The labelling page (/label) and the agreement page (/agreement, JSON twin /api/agreement).

Pairs to label: every (item, model pair) that a judge has rated pairwise in the store (from `assay battle`
or an import), with a prompt and both outputs stored; its texts come from the first such judgment.
Every annotator sees them in one fixed order (shuffled by a hash of the seed and the pair) and skips
the pairs they have labelled. Which output is shown first is drawn per annotator and pair from a hash
of the seed, the annotator and the pair (deterministic: the same annotator always sees the same side
first); model names are never shown, nor sent to the browser.

A vote is a human judgment: source "label:web", rater = the annotator's name, rater_kind "human", the
verdict in canonical terms (model_a = the alphabetically first model) with the presentation order.
Voting needs a token: the one in ASSAY_LABEL_TOKEN (for annotators) or the admin token; given once
with the annotator's name, it is kept in an HttpOnly, SameSite=Strict cookie. Without either token the
page is read-only (403). The seed is ASSAY_LABEL_SEED (default 0).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from assay.errors import AssayError
from assay.judges.agreement import agreement
from assay.judges.store import add_judgments, iter_judgments
from assay.judges.types import Judgment
from assay.web import views
from assay.web.rendering import render

router = APIRouter()

SOURCE = "label:web"
LABEL_TOKEN_ENV = "ASSAY_LABEL_TOKEN"
SEED_ENV = "ASSAY_LABEL_SEED"
TOKEN_COOKIE = "assay_label_token"
NAME_COOKIE = "assay_annotator"
_NAME = re.compile(r"^[\w .@-]{1,64}$")
_CHOICES = {"first", "tie", "second"}
_MAX_FORM_BYTES = 4096


@dataclass(frozen=True)
class Pair:
    pair_id: str
    item: str
    task: str | None
    model_p: str
    model_q: str
    prompt: str
    output_p: str
    output_q: str


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def pair_id(item: str, model_a: str, model_b: str) -> str:
    p, q = sorted((model_a, model_b))
    return _digest(item, p, q)[:16]


def _seed() -> str:
    return os.environ.get(SEED_ENV, "0")


def pairs_to_label(judgments: list[Judgment]) -> tuple[list[Pair], int]:
    """(pairs in the common labelling order, judged pairs left out for lack of stored texts)."""
    found: dict[str, Pair] = {}
    without_text: set[str] = set()
    for j in judgments:
        if j.kind != "pairwise" or j.rater_kind != "judge" or j.model_b is None:
            continue
        p, q = sorted((j.model_a, j.model_b))
        key = pair_id(j.item, p, q)
        if key in found:
            continue
        if j.prompt is None or j.output_a is None or j.output_b is None:
            without_text.add(key)
            continue
        out_p, out_q = (j.output_a, j.output_b) if j.model_a == p else (j.output_b, j.output_a)
        found[key] = Pair(key, j.item, j.task, p, q, j.prompt, out_p, out_q)
    seed = _seed()
    ordered = sorted(found.values(), key=lambda pair: _digest(seed, "queue", pair.pair_id))
    return ordered, len(without_text - set(found))


def p_first(annotator: str, pair_id: str) -> bool:
    """Whether the annotator sees the alphabetically first model's output first (order "ab")."""
    return int(_digest(_seed(), annotator, pair_id)[:8], 16) % 2 == 0


def _tokens(request: Request) -> list[str]:
    return [t for t in (os.environ.get(LABEL_TOKEN_ENV, ""), request.app.state.admin_token or "") if t]


def _token_ok(request: Request, given: str) -> bool:
    tokens = _tokens(request)
    if not tokens:
        raise HTTPException(403, f"labelling is disabled: the server was started without {LABEL_TOKEN_ENV} "
                                 "or ASSAY_ADMIN_TOKEN")
    return any(hmac.compare_digest(given.encode(), t.encode()) for t in tokens)


def _annotator(request: Request) -> str | None:
    name = request.cookies.get(NAME_COOKIE, "")
    if name and _NAME.match(name) and _token_ok(request, request.cookies.get(TOKEN_COOKIE, "")):
        return name
    return None


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise HTTPException(422, "the form is not UTF-8") from None
    return {name: values[-1] for name, values in fields.items()}


def _judgments(request: Request) -> list[Judgment]:
    return list(iter_judgments(request.app.state.store, kind="pairwise"))


@router.get("/label", response_class=HTMLResponse, include_in_schema=False)
def label_page(request: Request) -> HTMLResponse:
    _token_ok(request, "")  # 403 when labelling is disabled
    annotator = _annotator(request)
    if annotator is None:
        return HTMLResponse(render("label.html", active="label", annotator=None, pair=None, error=None))
    judgments = _judgments(request)
    pairs, without_text = pairs_to_label(judgments)
    done = {pair_id(j.item, j.model_a, j.model_b or "") for j in judgments if j.source == SOURCE and j.rater == annotator}
    todo = [p for p in pairs if p.pair_id not in done]
    pair = todo[0] if todo else None
    shown = None
    if pair is not None:
        first = p_first(annotator, pair.pair_id)
        shown = (pair.output_p, pair.output_q) if first else (pair.output_q, pair.output_p)
    return HTMLResponse(render("label.html", active="label", annotator=annotator, pair=pair, shown=shown,
                               labelled=len(pairs) - len(todo), total=len(pairs), without_text=without_text,
                               error=None))


@router.post("/label/start", include_in_schema=False)
async def label_start(request: Request) -> Response:
    form = await _form(request)
    name = form.get("annotator", "").strip()
    if not _NAME.match(name):
        html = render("label.html", active="label", annotator=None, pair=None,
                      error="annotator: 1 to 64 letters, digits, spaces or . @ - _")
        return HTMLResponse(html, status_code=422)
    if not _token_ok(request, form.get("token", "")):
        html = render("label.html", active="label", annotator=None, pair=None, error="wrong labelling token")
        return HTMLResponse(html, status_code=401)
    response = RedirectResponse("/label", status_code=303)
    for cookie, value in ((TOKEN_COOKIE, form["token"]), (NAME_COOKIE, name)):
        response.set_cookie(cookie, value, httponly=True, samesite="strict", path="/")
    return response


@router.post("/label/vote", include_in_schema=False)
async def label_vote(request: Request) -> Response:
    annotator = _annotator(request)
    if annotator is None:
        raise HTTPException(401, "sign in on /label with your name and the labelling token first")
    form = await _form(request)
    choice = form.get("choice", "")
    if choice not in _CHOICES:
        raise HTTPException(422, f"choice must be one of {', '.join(sorted(_CHOICES))}")
    judgments = _judgments(request)
    pairs, _ = pairs_to_label(judgments)
    pair = next((p for p in pairs if p.pair_id == form.get("pair", "")), None)
    if pair is None:
        raise HTTPException(404, "no such pair to label")
    if any(j.source == SOURCE and j.rater == annotator and pair_id(j.item, j.model_a, j.model_b or "") == pair.pair_id
           for j in judgments):
        raise HTTPException(409, f"{annotator} has already labelled this pair")
    first = p_first(annotator, pair.pair_id)
    if choice == "tie":
        verdict = "tie"
    else:
        p_won = (choice == "first") == first
        verdict = "a" if p_won else "b"
    add_judgments(request.app.state.store, [Judgment(
        source=SOURCE, kind="pairwise", task=pair.task, item=pair.item, model_a=pair.model_p, model_b=pair.model_q,
        rater=annotator, rater_kind="human", prompt=pair.prompt, output_a=pair.output_p, output_b=pair.output_q,
        order="ab" if first else "ba", verdict=verdict)])  # type: ignore[arg-type]
    return RedirectResponse("/label", status_code=303)


def agreement_summary(judgments: list[Judgment]) -> dict[str, Any]:
    """Each judge against the human majority, on the pairs humans labelled."""
    humans = [j for j in judgments if j.rater_kind == "human"]
    judges = {j.rater for j in judgments if j.rater_kind == "judge"}
    summary: dict[str, Any] = {"human_labels": len(humans), "annotators": len({j.rater for j in humans}),
                               "judges": [], "error": None}
    if not humans or not judges:
        return summary
    try:
        report = agreement(judgments, "human", n_resamples=1000)
    except AssayError as exc:  # e.g. only unreadable human votes, or one judge's data imported twice
        summary["error"] = str(exc)
        return summary
    summary["judges"] = [{key: entry.get(key) for key in ("judge", "items", "ratings", "errors", "accuracy",
                                                          "cohen_kappa", "positional_agreement")}
                         for entry in report["judges"]]
    summary["reference_fleiss_kappa"] = report["reference_fleiss_kappa"]
    return summary


@router.get("/agreement", response_class=HTMLResponse, include_in_schema=False)
def agreement_page(request: Request) -> HTMLResponse:
    return HTMLResponse(render("agreement.html", active="agreement", summary=agreement_summary(_judgments(request))))


@router.get("/api/agreement", tags=["api"], summary="Each judge against the human majority (accuracy, Cohen's κ, with CIs)")
def agreement_api(request: Request) -> Response:
    return Response(views.json_bytes(agreement_summary(_judgments(request))), media_type="application/json")
