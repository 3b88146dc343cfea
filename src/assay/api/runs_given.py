"""Runs as the API's verbs take them: a `Run` (its store is used) or a run id (or unique prefix) in `db`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from assay.api.run import Run
from assay.errors import AssayError
from assay.store import Store

RunRef = str | Run
# A SQLAlchemy URL or SQLite path (None: ./assay.db), or an open Store.
Db = str | Store | None


@dataclass(frozen=True)
class GivenRuns:
    store: Store
    # Each run as given (ids may be prefixes; the store resolves them).
    ids: list[str]
    # True when the store was opened here: close it when done with it.
    opened: bool


def given_runs(runs: Sequence[tuple[str, RunRef]], db: Db, *, read_only: bool) -> GivenRuns:
    """The store the (argument name, run) pairs live in, and their ids. Run objects bring their store (and
    then `db` is refused: it could name another); ids alone are looked up in `db`. A writer given a Run read
    from a read-only store reopens that database for writing."""
    objects = [(name, run) for name, run in runs if isinstance(run, Run)]
    for name, run in runs:
        if not isinstance(run, (str, Run)):
            raise AssayError(f"{name}: expected a Run or a run id, got {type(run).__name__}")
    if not objects:
        if isinstance(db, Store):
            return GivenRuns(db, [str(run) for _, run in runs], False)
        # must_exist: a verb reading or judging stored runs never creates an empty database.
        return GivenRuns(Store(db, read_only=read_only, must_exist=True), [str(run) for _, run in runs], True)
    if db is not None:
        raise AssayError(f"db: only with run ids; {objects[0][0]} is a Run, which carries its store")
    first_name, first = objects[0]
    for name, run in objects[1:]:
        if run.store is not first.store and run.store.url != first.store.url:
            raise AssayError(f"{name}: run {run.id} is in another store than {first_name} (run {first.id}); "
                             "give runs of one store")
    ids = [run.id if isinstance(run, Run) else run for _, run in runs]
    if not read_only and first.store.read_only:
        return GivenRuns(Store(first.store.url, must_exist=True), ids, True)
    return GivenRuns(first.store, ids, False)


@contextlib.contextmanager
def store_of(runs: Sequence[tuple[str, RunRef]], db: Db) -> Iterator[GivenRuns]:
    """`given_runs` for reading: a store opened here is closed afterwards."""
    given = given_runs(runs, db, read_only=True)
    try:
        yield given
    finally:
        if given.opened:
            given.store.close()


@contextlib.contextmanager
def judgments_store(db: Db) -> Iterator[Store]:
    """The store whose judgments a verb reads (`db` as for run ids), closed afterwards when opened here."""
    if isinstance(db, Store):
        yield db
        return
    store = Store(db, read_only=True)
    try:
        yield store
    finally:
        store.close()
