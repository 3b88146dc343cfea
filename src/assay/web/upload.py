"""Upload of a run bundle as written by `assay export RUN --format jsonl`: validated line by line
(pydantic), then stored in one transaction, so a malformed or conflicting bundle stores nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import DataError, IntegrityError

from assay.store.schema import metrics, runs, samples

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_INSERT_BATCH = 1000
# The widest integer a store column holds (SQLite: 64 bits; Postgres refuses past 32 with a DataError).
_Int = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class UploadError(ValueError):
    """A bundle that cannot be stored; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunRecord(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: Literal["running", "complete", "failed"]
    config_key: str = Field(max_length=64)
    model_spec: str = Field(min_length=1, max_length=2000)
    tasks: list[str]
    seed: _Int
    manifest: dict[str, Any]


class MetricRecord(_Strict):
    task: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    stderr: float | None = None
    n: _Int
    method: str = Field(max_length=64)
    extra: dict[str, Any] = Field(default_factory=dict)
    # The declaration (assay.metric_specs); absent in bundles exported before metrics were declared.
    higher_is_better: bool | None = None
    primary: bool | None = None
    scale: str | None = Field(default=None, max_length=32)
    aggregation: str | None = Field(default=None, max_length=16)


class RunLine(_Strict):
    type: Literal["run"]
    run: RunRecord
    metrics: list[MetricRecord] = Field(default_factory=list)


class SampleLine(_Strict):
    type: Literal["sample"]
    task: str = Field(min_length=1, max_length=200)
    sample_id: str = Field(min_length=1, max_length=200)
    idx: int = Field(ge=0, le=2**63 - 1)
    cluster: str | None = Field(default=None, max_length=200)
    prompt: str | None = None
    target: Any = None
    request_hashes: list[str] = Field(default_factory=list)
    responses: list[dict[str, Any]]
    extracted: str | None = None
    scores: dict[str, float | None]
    error: str | None = None
    error_kind: str | None = Field(default=None, max_length=32)
    metadata: dict[str, Any] = Field(default_factory=dict)


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "line"
    return f"{where}: {first['msg']}"


def _has_lone_surrogate(data: Any) -> bool:
    """JSON may spell a lone surrogate (\\ud800); it is not text, and no database column or page can hold it."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse_bundle(body: bytes) -> tuple[RunLine, list[SampleLine]]:
    """Validate every line; the first problem raises UploadError naming the line and field."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError("body: not UTF-8 text; expected the JSON lines written by `assay export --format jsonl`") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise UploadError("body: empty; expected a {\"type\": \"run\"} line followed by {\"type\": \"sample\"} lines")
    header: RunLine | None = None
    sample_lines: list[SampleLine] = []
    seen: set[tuple[str, str]] = set()
    for number, line in lines:
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UploadError(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise UploadError(f"line {number}: expected a JSON object")
        if _has_lone_surrogate(data):
            raise UploadError(f"line {number}: a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), "
                              "which is not text and cannot be stored")
        try:
            if header is None:
                if data.get("type") != "run":
                    raise UploadError(f"line {number}: the first line must have \"type\": \"run\"")
                header = RunLine.model_validate(data)
                continue
            sample = SampleLine.model_validate(data)
        except ValidationError as exc:
            raise UploadError(f"line {number}: {_first_error(exc)}") from None
        if sample.task not in header.run.tasks:
            raise UploadError(f"line {number}: task {sample.task!r} is not among the run's tasks {header.run.tasks}")
        key = (sample.task, sample.sample_id)
        if key in seen:
            raise UploadError(f"line {number}: sample {sample.sample_id!r} of task {sample.task!r} appears twice")
        seen.add(key)
        sample_lines.append(sample)
    assert header is not None
    return header, sample_lines


def store_bundle(engine: Engine, header: RunLine, sample_lines: list[SampleLine]) -> dict[str, Any]:
    """Insert run, samples and metrics in one transaction (all or nothing)."""
    run = header.run
    try:
        with engine.begin() as conn:
            if conn.execute(select(runs.c.id).where(runs.c.id == run.id)).first() is not None:
                raise UploadError(f"run.id: a run with id {run.id!r} is already stored", status=409)
            conn.execute(insert(runs).values(**run.model_dump()))
            rows = [{"run_id": run.id, **s.model_dump(exclude={"type"})} for s in sample_lines]
            for start in range(0, len(rows), _INSERT_BATCH):
                conn.execute(insert(samples), rows[start:start + _INSERT_BATCH])
            if header.metrics:
                conn.execute(insert(metrics), [{"run_id": run.id, **m.model_dump()} for m in header.metrics])
    except IntegrityError as exc:
        # Duplicate metric names within a task, or a concurrent upload of the same id.
        first_line = str(exc.orig).splitlines()[0] if exc.orig else "constraint violated"
        raise UploadError(f"bundle: conflicts with stored data ({first_line})", status=409) from None
    except DataError as exc:
        # A value the database refuses (Postgres: NUL characters in text, NaN inside JSON).
        first_line = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
        raise UploadError(f"bundle: a value cannot be stored ({first_line})") from None
    return {"id": run.id, "samples": len(sample_lines), "metrics": len(header.metrics)}
