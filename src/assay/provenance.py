"""Which data a task read: the sha256 of every data file and haystack folder, recorded where the
bytes are read, so a run's identity (spec hash, resume key) changes when its data does.

Readers (`assay.tasks.benchmarks.common`, the haystack loader) call `record(path, sha256)`; the
runner wraps the loading of each task's data in `recording()` and gets back {path: sha256}.
Loaders that memoise their result keep what they read with it (`memoised`) and report it again on
every hit, so a second run in the same process records the same files. Outside `recording()`,
`record` does nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from assay.types import canonical_json, sha256_hex

Reads = dict[str, str]
T = TypeVar("T")

# Every open recording (innermost last): a read is recorded in each, so nested loads add up.
_OPEN: ContextVar[tuple[Reads, ...]] = ContextVar("assay_data_reads", default=())


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def folder_sha256(files: Mapping[str, str]) -> str:
    """One digest for a folder: its files' relative paths and contents, independent of where it lies."""
    return sha256_hex(canonical_json(dict(sorted(files.items()))))


def record(path: str, sha256: str) -> None:
    for reads in _OPEN.get():
        reads[path] = sha256


def record_all(reads: Mapping[str, str]) -> None:
    for path, sha256 in reads.items():
        record(path, sha256)


@contextmanager
def recording() -> Iterator[Reads]:
    """Collect {path: sha256} of everything read inside the block."""
    reads: Reads = {}
    token = _OPEN.set((*_OPEN.get(), reads))
    try:
        yield reads
    finally:
        _OPEN.reset(token)


def memoised(cache: dict[object, tuple[T, Reads]], key: object, load: Callable[[], T]) -> T:
    """`load()` once per key; its reads are recorded on the first call and replayed on every hit."""
    if key not in cache:
        with recording() as reads:
            value = load()
        cache[key] = (value, dict(reads))
    value, reads = cache[key]
    record_all(reads)
    return value
