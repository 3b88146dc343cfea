"""`assay export RUN --format jsonl|csv|parquet -o FILE`: a run's samples, streamed.

jsonl keeps every field as stored (a first line carries the run and its metrics). csv and parquet are
tables for pandas/duckdb: the run id is a column, every score is a column of its own (`scores.NAME`,
numbers), and the fields that stay nested (target, responses, metadata, ...) are JSON text."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.store.repository import Store

FORMATS = ("jsonl", "csv", "parquet")
_COLUMNS = ("task", "sample_id", "idx", "cluster", "prompt", "target", "request_hashes", "responses",
            "extracted", "scores", "error", "error_kind", "metadata")
_TEXT_COLUMNS = ("task", "sample_id", "cluster", "prompt", "target", "request_hashes", "responses", "extracted",
                 "error", "error_kind", "metadata")
SCORE_PREFIX = "scores."


def _as_text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _is_number(value: Any) -> bool:
    return value is None or isinstance(value, (int, float))  # bool is an int: True -> 1.0


def _score_columns(store: Store, run_id: str) -> dict[str, bool]:
    """Every score name in the run (first pass over the scores only) -> whether all its values are numbers."""
    names: dict[str, bool] = {}
    for row in store.iter_samples(run_id, columns=("scores",)):
        for name, value in (row["scores"] or {}).items():
            names[name] = names.get(name, True) and _is_number(value)
    return dict(sorted(names.items()))


def _score_value(value: Any, numeric: bool) -> Any:
    if not numeric:
        return _as_text(value)
    return None if value is None else float(value)


def _flat_rows(store: Store, run_id: str, score_names: dict[str, bool]) -> Iterator[dict[str, Any]]:
    for row in store.iter_samples(run_id, columns=_COLUMNS):
        flat: dict[str, Any] = {"run_id": run_id, "idx": row["idx"]}
        flat.update({column: _as_text(row[column]) for column in _TEXT_COLUMNS})
        scores = row["scores"] or {}
        flat.update({SCORE_PREFIX + name: _score_value(scores.get(name), numeric) for name, numeric in score_names.items()})
        yield flat


def _column_order(score_names: dict[str, bool]) -> list[str]:
    return ["run_id", "task", "sample_id", "idx", "cluster", "prompt", "target", "extracted",
            *(SCORE_PREFIX + name for name in score_names), "error", "error_kind", "request_hashes", "responses", "metadata"]


def export_run(store: Store, run_id: str, fmt: str, output: Path) -> int:
    if fmt not in FORMATS:
        raise AssayError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if not output.parent.resolve().is_dir():
        raise AssayError(f"-o {output}: folder {output.parent} does not exist")
    run = store.get_run(run_id)
    count = 0
    if fmt == "jsonl":
        with output.open("w", encoding="utf-8") as handle:
            header = {"run": {k: v for k, v in run.items()}, "metrics": store.get_metrics(run["id"])}
            handle.write(json.dumps({"type": "run", **header}, ensure_ascii=False, default=str) + "\n")
            for row in store.iter_samples(run["id"], columns=_COLUMNS):
                handle.write(json.dumps({"type": "sample", **row}, ensure_ascii=False, default=str) + "\n")
                count += 1
        return count
    score_names = _score_columns(store, run["id"])
    columns = _column_order(score_names)
    rows = _flat_rows(store, run["id"], score_names)
    if fmt == "csv":
        with output.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
                count += 1
        return count
    import pyarrow as pa
    import pyarrow.parquet as pq

    def column_type(name: str) -> Any:
        if name == "idx":
            return pa.int64()
        if name.startswith(SCORE_PREFIX) and score_names[name.removeprefix(SCORE_PREFIX)]:
            return pa.float64()
        return pa.string()

    schema = pa.schema([(name, column_type(name)) for name in columns])
    with pq.ParquetWriter(output, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            count += 1
            if len(batch) >= 5000:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return count
