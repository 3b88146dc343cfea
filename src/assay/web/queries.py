"""Read queries behind the web pages: indexed, paginated, never loading a whole run.

Kept apart from `assay.store.repository` (the writer's API) so the web can shape its reads (window
functions, keyset pages, search) without widening the store's contract.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, literal, or_, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from assay.store.schema import metrics, runs, sample_counts, samples
from assay.store.search import BadSearch, match_condition, parse_search, require_search_index, search_source

# A search counts its matches up to this many and then says "at least": a common word over 10M samples
# must not cost a count of millions.
SEARCH_COUNT_CAP = 10_000
MATCH_MODES = ("words", "substring")

# Columns the sample browser shows (everything but the heavy request hashes).
SAMPLE_COLUMNS = ("task", "sample_id", "idx", "cluster", "prompt", "target", "responses", "extracted",
                  "scores", "error", "error_kind", "metadata")


def find_run(engine: Engine, run_id: str) -> dict[str, Any] | None:
    """A run by exact id, or by a unique id prefix (as git does for commits)."""
    with engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is None and run_id:
            found = conn.execute(select(runs).where(runs.c.id.startswith(run_id, autoescape=True)).limit(2)).mappings().all()
            row = found[0] if len(found) == 1 else None
    return dict(row) if row is not None else None


def list_runs(engine: Engine, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    """Newest first, with sample counts (from the trigger-kept `sample_counts`, never counting samples)."""
    counts = (select(sample_counts.c.run_id, func.sum(sample_counts.c.n).label("n_samples"))
              .group_by(sample_counts.c.run_id).subquery())
    query = (select(runs.c.id, runs.c.created_at, runs.c.finished_at, runs.c.status, runs.c.model_spec,
                    runs.c.tasks, runs.c.seed, func.coalesce(counts.c.n_samples, 0).label("n_samples"))
             .select_from(runs.outerjoin(counts, counts.c.run_id == runs.c.id))
             .order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(limit).offset(offset))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def run_metrics(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    query = select(metrics).where(metrics.c.run_id == run_id).order_by(metrics.c.task, metrics.c.name)
    with engine.connect() as conn:
        return [{k: v for k, v in r.items() if k not in ("pk", "run_id")} for r in conn.execute(query).mappings()]


def run_tasks(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    """Tasks of a run with their sample counts (from `sample_counts`: one row per task)."""
    query = (select(sample_counts.c.task, sample_counts.c.n).where(sample_counts.c.run_id == run_id)
             .order_by(sample_counts.c.task))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


# ---- the latest complete run per (model, task) and its primary metric ---------------------------

def latest_task_runs(engine: Engine, model: str | None = None, task: str | None = None) -> list[dict[str, Any]]:
    """For every (model, task): the newest complete run that has metrics for that task.

    Two small indexed reads and a pass in Python: the (run, task) pairs that have metrics (from the
    uq_metric index) and the complete runs, newest first. Faster on SQLite than a window function
    over every metric row, and the same on Postgres.
    """
    run_query = (select(runs.c.id, runs.c.model_spec, runs.c.created_at).where(runs.c.status == "complete")
                 .order_by(runs.c.created_at.desc(), runs.c.id.desc()))
    if model is not None:
        run_query = run_query.where(runs.c.model_spec == model)
    pair_query = select(metrics.c.run_id, metrics.c.task).distinct()
    if task is not None:
        pair_query = pair_query.where(metrics.c.task == task)
    with engine.connect() as conn:
        complete = conn.execute(run_query).all()
        tasks_of: dict[str, list[str]] = {}
        for run_id, task_name in conn.execute(pair_query):
            tasks_of.setdefault(run_id, []).append(task_name)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for run_id, model_spec, created_at in complete:
        for task_name in tasks_of.get(run_id, ()):
            # Runs come newest first: the first run seen for a (model, task) is its latest.
            latest.setdefault((model_spec, task_name), {"run_id": run_id, "task": task_name, "model": model_spec,
                                                        "created_at": created_at})
    return [latest[key] for key in sorted(latest)]


def primary_metric_rows(engine: Engine, model: str | None = None, task: str | None = None) -> list[dict[str, Any]]:
    """One row per (model, task): the primary metric of the latest complete run, as its task declared it
    (`assay.metric_specs`), with its direction and scale. A run with no primary row (stored before metrics
    were declared, or no sample scored on its primary metric) is listed with no value and `unranked`, the
    reason in words, rather than ranked by a guessed metric."""
    latest = latest_task_runs(engine, model, task)
    wanted = {(r["run_id"], r["task"]): r["model"] for r in latest}
    run_ids = sorted({r["run_id"] for r in latest})
    found: dict[tuple[str, str], dict[str, Any]] = {}
    columns = (metrics.c.run_id, metrics.c.task, metrics.c.name, metrics.c.value, metrics.c.ci_low, metrics.c.ci_high,
               metrics.c.n, metrics.c.method, metrics.c.higher_is_better, metrics.c.scale)
    with engine.connect() as conn:
        for start in range(0, len(run_ids), 500):
            query = (select(*columns)
                     .where(metrics.c.run_id.in_(run_ids[start:start + 500]), metrics.c.primary.is_(True))
                     .order_by(metrics.c.run_id, metrics.c.task, metrics.c.name))
            if task is not None:
                query = query.where(metrics.c.task == task)
            for run_id, task_name, name, value, ci_low, ci_high, n, method, higher, scale in conn.execute(query):
                key = (run_id, task_name)
                if key in wanted and key not in found:
                    found[key] = {"model": wanted[key], "task": task_name, "run_id": run_id, "metric": name,
                                  "value": value, "ci_low": ci_low, "ci_high": ci_high, "n": n, "method": method,
                                  "higher_is_better": higher, "scale": scale}
    missing = [key for key in wanted if key not in found]
    for key, why in _why_no_primary(engine, missing).items():
        # No primary row: listed with no value and the reason, so callers say why it is not ranked.
        found[key] = {"model": wanted[key], "task": key[1], "run_id": key[0], "metric": None, "value": None,
                      "ci_low": None, "ci_high": None, "n": 0, "method": why.method,
                      "higher_is_better": None, "scale": None, "unranked": why.reason,
                      "unranked_detail": why.detail}
    return sorted(found.values(), key=lambda r: (r["model"], r["task"]))


@dataclass(frozen=True)
class NoPrimary:
    """Why a (run, task) has no primary metric row. `method`: "undeclared" (stored before metrics were
    declared), "unscored" (declared, but no sample has a value of its primary metric: every judge verdict
    unreadable, say) or "no_metrics" (no metric rows at all); `reason` in words, `detail` the counts."""

    method: str
    reason: str
    detail: str = ""


def _why_no_primary(engine: Engine, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], NoPrimary]:
    stored: dict[tuple[str, str], list[dict[str, Any]]] = {pair: [] for pair in pairs}
    for row in metrics_for(engine, pairs):
        stored[(row["run_id"], row["task"])].append(row)
    reasons = {}
    for pair, rows in stored.items():
        counts = {r["name"]: int(r["value"]) for r in rows if r["aggregation"] == "count" and r["value"] is not None}
        if not rows:
            reasons[pair] = NoPrimary("no_metrics", "no metric rows stored")
        elif all(r["aggregation"] is None for r in rows):
            reasons[pair] = NoPrimary("undeclared", "stored before metrics were declared: no primary metric; rerun to rank")
        else:
            reasons[pair] = NoPrimary("unscored", "no sample has a value of its primary metric",
                                      f"{counts.get('n_samples', 0)} samples: {counts.get('n_request_errors', 0)} "
                                      f"request errors, {counts.get('n_unparsable', 0)} unparsable or unreadable")
    return reasons


def metrics_for(engine: Engine, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """All metric rows of the given (run_id, task) pairs."""
    if not pairs:
        return []
    query = (select(metrics).where(tuple_(metrics.c.run_id, metrics.c.task).in_(pairs))
             .order_by(metrics.c.task, metrics.c.run_id, metrics.c.name))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


# ---- the sample browser -------------------------------------------------------------------------

class BadCursor(ValueError):
    pass


def encode_cursor(task: str, idx: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([task, idx]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        task, idx = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadCursor("cursor: not a cursor returned by this API") from None
    if not isinstance(task, str) or not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < 2**62:
        raise BadCursor("cursor: not a cursor returned by this API")
    return task, idx


def _first_response_text() -> ColumnElement[Any]:
    # JSON path $[0].text: json_extract on SQLite, ->0->>'text' on Postgres.
    return samples.c.responses[(0, "text")].as_string()


def _text_condition(engine: Engine, query_text: str, match: str, run_id: str) -> ColumnElement[bool]:
    """`words`: the full-text index (assay.store.search: words and "phrases", case-insensitive).
    `substring`: the old case-insensitive substring test, a scan of the rows it is given; offered
    within one run only (the run's rows bound it), for text the word rules cannot find (`e-mail`, `x.y`)."""
    if match == "words":
        parsed = parse_search(query_text)
        require_search_index(engine)
        return match_condition(engine.dialect.name, parsed, run_id)
    if match == "substring":
        # % and _ taken literally.
        return or_(samples.c.prompt.icontains(query_text, autoescape=True),
                   samples.c.extracted.icontains(query_text, autoescape=True),
                   _first_response_text().icontains(query_text, autoescape=True))
    raise BadSearch(f"match: expected one of {', '.join(MATCH_MODES)}, not {match!r}")


def _sample_filter(engine: Engine, run_id: str, task: str | None, query_text: str | None,
                   match: str = "words") -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [samples.c.run_id == run_id]
    if task:
        conditions.append(samples.c.task == task)
    if query_text:
        conditions.append(_text_condition(engine, query_text, match, run_id))
    return conditions


def _capped_count(conn: Any, conditions: list[ColumnElement[bool]]) -> tuple[int, bool]:
    """(matches, whether that is a lower bound): counted up to SEARCH_COUNT_CAP and no further."""
    found = select(samples.c.pk).where(*conditions).limit(SEARCH_COUNT_CAP + 1).subquery()
    n = int(conn.execute(select(func.count()).select_from(found)).scalar_one())
    return min(n, SEARCH_COUNT_CAP), n > SEARCH_COUNT_CAP


@dataclass
class SamplePage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    next_cursor: str | None
    # True when a search found more than SEARCH_COUNT_CAP: `total` is then "at least".
    total_is_lower_bound: bool = False


def sample_page(engine: Engine, run_id: str, task: str | None = None, query_text: str | None = None,
                page: int = 1, per_page: int = 50, cursor: str | None = None, with_total: bool = True,
                match: str = "words") -> SamplePage:
    """One page of a run's samples in (task, idx) order, on the (run_id, task, idx) index.

    `cursor` (keyset: rows after a (task, idx)) wins over `page` (offset): it costs the same on the
    last page as on the first. `query_text` searches as `match` says (see _text_condition); raises
    BadSearch when it has nothing to search for.
    """
    conditions = _sample_filter(engine, run_id, task, query_text, match)
    query = select(*(samples.c[c] for c in SAMPLE_COLUMNS)).where(*conditions)
    if cursor:
        after_task, after_idx = decode_cursor(cursor)
        query = query.where(tuple_(samples.c.task, samples.c.idx) > tuple_(literal(after_task), literal(after_idx)))
    else:
        query = query.offset((page - 1) * per_page)
    # One extra row tells whether a next page exists without counting.
    query = query.order_by(samples.c.task, samples.c.idx).limit(per_page + 1)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        total, capped = -1, False
        if with_total and query_text:
            total, capped = _capped_count(conn, conditions)
        elif with_total:
            counted = select(func.coalesce(func.sum(sample_counts.c.n), 0)).where(sample_counts.c.run_id == run_id)
            if task:
                counted = counted.where(sample_counts.c.task == task)
            total = int(conn.execute(counted).scalar_one())
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    next_cursor = encode_cursor(rows[-1]["task"], rows[-1]["idx"]) if has_more and rows else None
    return SamplePage(rows, total, page, per_page, next_cursor, capped)


@dataclass
class SearchPage:
    """Store-wide search results, oldest stored first; `after` is the keyset cursor of the next page."""

    rows: list[dict[str, Any]]
    total: int
    total_is_lower_bound: bool
    per_page: int
    after: int | None


def search_samples(engine: Engine, query_text: str, run_id: str | None = None, task: str | None = None,
                   per_page: int = 50, after: int | None = None) -> SearchPage:
    """Samples of every run whose text matches `query_text` (words mode only: the index bounds it),
    in storage order, a page at a time; the count stops at SEARCH_COUNT_CAP."""
    parsed = parse_search(query_text)
    require_search_index(engine)
    source, matches, key = search_source(engine.dialect.name, parsed, run_id or None)
    conditions = [matches]
    if run_id:
        conditions.append(samples.c.run_id == run_id)
    if task:
        conditions.append(samples.c.task == task)
    found = select(key).select_from(source).where(*conditions).limit(SEARCH_COUNT_CAP + 1).subquery()
    query = (select(samples.c.pk, samples.c.run_id, *(samples.c[c] for c in SAMPLE_COLUMNS))
             .select_from(source).where(*conditions))
    if after is not None:
        query = query.where(key > after)
    with engine.connect() as conn:
        # Counted first (the planner reads the index for rare words, and stops at the cap for common ones):
        # with few matches, the page is sorted from the index's matches (`key + 0` keeps PostgreSQL from
        # walking the primary key over millions of rows that its statistics guess might match).
        n = int(conn.execute(select(func.count()).select_from(found)).scalar_one())
        order = key if n > SEARCH_COUNT_CAP or engine.dialect.name != "postgresql" else key + 0
        rows = [dict(r) for r in conn.execute(query.order_by(order).limit(per_page + 1)).mappings()]
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    return SearchPage(rows, min(n, SEARCH_COUNT_CAP), n > SEARCH_COUNT_CAP, per_page,
                      rows[-1]["pk"] if has_more and rows else None)


def iter_scores(engine: Engine, run_id: str, task: str,
                batch_size: int = 5000) -> Iterator[tuple[str, dict[str, Any], str | None, str | None]]:
    """(sample_id, scores, error_kind, cluster) of one task, streamed."""
    query = (select(samples.c.sample_id, samples.c.scores, samples.c.error_kind, samples.c.cluster)
             .where(samples.c.run_id == run_id, samples.c.task == task).order_by(samples.c.idx))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        for sample_id, scores, error_kind, cluster in result:
            yield sample_id, scores or {}, error_kind, cluster
