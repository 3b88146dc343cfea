"""Pieces every benchmark task shares: memoised sample loading and data files read with errors
that name the file (and the line, for JSONL and bad bytes), each read recorded with its sha256
(`assay.provenance`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay import provenance
from assay.errors import AssayError
from assay.tasks.base import TaskContext
from assay.types import Sample

SampleLoader = Callable[[TaskContext], list[Sample]]


class CachedSamples:
    """Calls a loader once per (data_dir, seed): `size()` and `samples()` share one read. The files
    the loader read are reported to `assay.provenance` on every call, cached or not."""

    def __init__(self, loader: SampleLoader) -> None:
        self.loader = loader
        self._cache: dict[object, tuple[list[Sample], provenance.Reads]] = {}

    def __call__(self, ctx: TaskContext) -> list[Sample]:
        return provenance.memoised(self._cache, (str(ctx.data_dir), ctx.seed), lambda: self.loader(ctx))


def read_bytes(path: Path, what: str) -> bytes:
    """A data file's bytes, recorded (path, sha256) for the run's provenance."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AssayError(f"{what}: cannot read {path}: {exc.strerror}") from None
    provenance.record(str(path.resolve()), provenance.bytes_sha256(data))
    return data


def decode_text(data: bytes, path: Path, what: str) -> str:
    """UTF-8 text, or one line naming the file and the line of the first bad byte."""
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise AssayError(f"{what}: {path} line {line}: a binary file (NUL byte); expected UTF-8 text")
    try:
        return data.decode("utf-8-sig")  # a leading byte-order mark is not part of the text
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise AssayError(f"{what}: {path} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                         "expected UTF-8") from None


def read_text(path: Path, what: str) -> str:
    return decode_text(read_bytes(path, what), path, what)


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(read_text(path, what))
    except json.JSONDecodeError as exc:
        raise AssayError(f"{what}: {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None


def read_jsonl_numbered(path: Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; undecodable bytes, bad JSON or a non-object line is
    a one-line error naming the file and the line."""
    rows = []
    for number, line in enumerate(read_text(path, what).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssayError(f"{what}: {path} line {number}: invalid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise AssayError(f"{what}: {path} line {number}: expected a JSON object, got {type(row).__name__}")
        rows.append((number, row))
    return rows


def read_jsonl(path: Path, what: str) -> list[dict[str, Any]]:
    return [row for _, row in read_jsonl_numbered(path, what)]


def read_rows(path: Path, what: str) -> list[dict[str, Any]]:
    """Records from a .jsonl, .json (a list of objects, or {"examples"|"data": [...]}), .csv or .parquet file."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path, what)
    if suffix == ".json":
        data = read_json(path, what)
        if isinstance(data, dict):
            data = data.get("examples", data.get("data"))
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise AssayError(f"{what}: {path} must hold a list of objects (or {{\"examples\": [...]}})")
        return data
    if suffix == ".csv":
        text = read_text(path, what)
        try:
            return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise AssayError(f"{what}: cannot read CSV {path}: {exc}") from None
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        data = read_bytes(path, what)
        try:
            return pq.read_table(pa.BufferReader(data)).to_pylist()
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise AssayError(f"{what}: cannot read Parquet {path}: {exc}") from None
    raise AssayError(f"{what}: {path}: unsupported data file type {suffix!r}; expected .jsonl, .json, .csv or .parquet")
